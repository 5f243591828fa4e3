"""CycloneDX VEX: `vulnerabilities[]` with `analysis.state` and `affects[].ref` (purls, bom-refs or BOM-Links).

States map to OpenVEX statuses: not_affected and false_positive -> not_affected; resolved and
resolved_with_pedigree -> fixed; exploitable -> affected; in_triage -> under_investigation. Entries without an
analysis state are plain vulnerability listings and are skipped. The timestamp is the analysis' lastUpdated or
firstIssued, else the vulnerability's updated or published, else the BOM's metadata timestamp.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lashing.policy.interface import PolicyError, VexProduct, VexStatement, VexStatus
from lashing.policy.vex import MAX_COMPONENTS, MAX_STATEMENTS, as_list, as_text, component_from_ids, parse_timestamp

STATES = {
    "not_affected": VexStatus.NOT_AFFECTED,
    "false_positive": VexStatus.NOT_AFFECTED,
    "resolved": VexStatus.FIXED,
    "resolved_with_pedigree": VexStatus.FIXED,
    "exploitable": VexStatus.AFFECTED,
    "in_triage": VexStatus.UNDER_INVESTIGATION,
}
_OLDEST = datetime.min.replace(tzinfo=UTC)


def parse_cyclonedx_vex(doc: dict[str, Any], where: str) -> tuple[VexStatement, ...]:
    vulnerabilities = as_list(doc.get("vulnerabilities"), "vulnerabilities", where)
    if len(vulnerabilities) > MAX_STATEMENTS:
        raise PolicyError(f"{where}: more than {MAX_STATEMENTS} vulnerabilities")
    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    default_time = parse_timestamp(metadata.get("timestamp"), f"{where}: metadata.timestamp") or _OLDEST
    purl_by_ref = _bom_refs(doc, where)
    source = f"vex:{doc.get('serialNumber') or where}"
    out: list[VexStatement] = []
    for number, raw in enumerate(vulnerabilities, 1):
        at = f"{where} vulnerability {number}"
        if not isinstance(raw, dict):
            raise PolicyError(f"{at}: expected an object")
        analysis = raw.get("analysis")
        if not isinstance(analysis, dict) or analysis.get("state") is None:
            continue
        state = analysis["state"]
        if state not in STATES:
            raise PolicyError(f"{at}: unknown analysis.state {str(state)[:40]!r} (use one of {', '.join(STATES)})")
        aliases = []
        for ref in as_list(raw.get("references"), "references", at):
            if isinstance(ref, dict) and isinstance(ref.get("id"), str):
                aliases.append(ref["id"])
        products = []
        for affect in as_list(raw.get("affects"), "affects", at):
            if not isinstance(affect, dict):
                raise PolicyError(f"{at}: an 'affects' entry must be an object")
            ref = as_text(affect.get("ref"), "affects.ref", at)
            products.append(VexProduct(component_from_ids([purl_by_ref.get(_local_ref(ref), ref)], {})))
        if not products:
            raise PolicyError(f"{at}: no 'affects'")
        when = (
            parse_timestamp(analysis.get("lastUpdated"), f"{at}: analysis.lastUpdated")
            or parse_timestamp(analysis.get("firstIssued"), f"{at}: analysis.firstIssued")
            or parse_timestamp(raw.get("updated"), f"{at}: updated")
            or parse_timestamp(raw.get("published"), f"{at}: published")
            or default_time
        )
        justification = analysis.get("justification") if isinstance(analysis.get("justification"), str) else ""
        detail = analysis.get("detail") if isinstance(analysis.get("detail"), str) else ""
        out.append(
            VexStatement(
                vulnerability=as_text(raw.get("id"), "id", at),
                aliases=tuple(aliases),
                products=tuple(products),
                status=STATES[state],
                timestamp=when,
                source=source,
                justification=justification or (state if state == "false_positive" else ""),
                impact_statement=detail,
            )
        )
    return tuple(out)


def _local_ref(ref: str) -> str:
    """A BOM-Link (urn:cdx:serial/version#bom-ref) names a bom-ref after the '#'."""
    return ref.split("#", 1)[1] if ref.startswith("urn:cdx:") and "#" in ref else ref


def _bom_refs(doc: dict[str, Any], where: str) -> dict[str, str]:
    """bom-ref -> purl for metadata.component and every (nested) component, iteratively and bounded."""
    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    stack: list[Any] = [metadata.get("component"), *as_list(doc.get("components"), "components", where)]
    out: dict[str, str] = {}
    seen = 0
    while stack:
        component = stack.pop()
        seen += 1
        if seen > MAX_COMPONENTS:
            raise PolicyError(f"{where}: more than {MAX_COMPONENTS} components")
        if not isinstance(component, dict):
            continue
        ref, purl = component.get("bom-ref"), component.get("purl")
        if isinstance(ref, str) and isinstance(purl, str):
            out[ref] = purl
        children = component.get("components")
        if isinstance(children, list):
            stack.extend(children)
    return out
