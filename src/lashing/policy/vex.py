"""VEX input: OpenVEX (v0.2.0, and the v0.0.x string forms) and, detected by `bomFormat`, CycloneDX VEX.

Validated on load: `@context` (https://openvex.dev/ns...), `@id`, the `statements` list, each statement's
vulnerability, status (not_affected needs a justification label or an impact_statement), products and a
timestamp (its own `last_updated`/`timestamp`, else the document's). A statement without products is refused:
a standalone file has no encapsulating document to inherit them from.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lashing.policy._io import read_text
from lashing.policy.interface import PolicyError, VexComponent, VexProduct, VexStatement, VexStatus
from lashing.policy.purl import parse_purl

MAX_VEX_BYTES = 32 * 1024 * 1024
MAX_STATEMENTS = 100_000
MAX_COMPONENTS = 1_000_000
CONTEXT_PREFIX = "https://openvex.dev/ns"
JUSTIFICATIONS = frozenset(
    {
        "component_not_present",
        "vulnerable_code_not_present",
        "vulnerable_code_not_in_execute_path",
        "vulnerable_code_cannot_be_controlled_by_adversary",
        "inline_mitigations_already_exist",
    }
)


def load_vex(path: Path) -> tuple[VexStatement, ...]:
    """Read an OpenVEX or CycloneDX VEX JSON document into statements."""
    where = str(path)
    text = read_text(path, MAX_VEX_BYTES)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"{where}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise PolicyError(f"{where}: invalid JSON: nested too deeply") from None
    if not isinstance(doc, dict):
        raise PolicyError(f"{where}: expected a JSON object (an OpenVEX or CycloneDX VEX document)")
    if doc.get("bomFormat") == "CycloneDX":
        from lashing.policy.cyclonedx_vex import parse_cyclonedx_vex

        return parse_cyclonedx_vex(doc, where)
    return parse_openvex(doc, where)


def parse_openvex(doc: dict[str, Any], where: str) -> tuple[VexStatement, ...]:
    context = doc.get("@context")
    if not isinstance(context, str) or not context.startswith(CONTEXT_PREFIX):
        shown = context[:80] if isinstance(context, str) else type(context).__name__
        raise PolicyError(f"{where}: not an OpenVEX document ('@context' must be {CONTEXT_PREFIX}/..., got {shown})")
    doc_id = doc.get("@id")
    if not isinstance(doc_id, str) or not doc_id.strip():
        raise PolicyError(f"{where}: OpenVEX document has no '@id'")
    statements = doc.get("statements")
    if not isinstance(statements, list):
        raise PolicyError(f"{where}: OpenVEX document has no 'statements' list")
    if len(statements) > MAX_STATEMENTS:
        raise PolicyError(f"{where}: more than {MAX_STATEMENTS} statements")
    default_time = parse_timestamp(doc.get("timestamp"), f"{where}: document 'timestamp'")
    reader = _StatementReader(where, f"vex:{doc_id.strip()}", default_time)
    return tuple(reader.read(number, raw) for number, raw in enumerate(statements, 1))


class _StatementReader:
    """Turns statement objects into VexStatements, counting components against the bound."""

    def __init__(self, where: str, source: str, default_time: datetime | None) -> None:
        self.where, self.source, self.default_time = where, source, default_time
        self.components = 0

    def read(self, number: int, raw: object) -> VexStatement:
        at = f"{self.where} statement {number}"
        if not isinstance(raw, dict):
            raise PolicyError(f"{at}: expected an object")
        name, aliases = _vulnerability(raw.get("vulnerability"), at)
        status = _status(raw.get("status"), at)
        justification = _optional_text(raw, "justification", at)
        impact = _optional_text(raw, "impact_statement", at)
        if justification and justification not in JUSTIFICATIONS:
            raise PolicyError(f"{at}: unknown justification {justification[:60]!r} (use one of {_labels()})")
        if status is VexStatus.NOT_AFFECTED and not (justification or impact):
            raise PolicyError(f"{at}: not_affected needs a 'justification' or an 'impact_statement'")
        shared = [self._component(c, at) for c in as_list(raw.get("subcomponents"), "subcomponents", at)]
        products = tuple(self._product(p, shared, at) for p in as_list(raw.get("products"), "products", at))
        if not products:
            raise PolicyError(f"{at}: no 'products'")
        when = parse_timestamp(raw.get("last_updated"), f"{at}: 'last_updated'") or parse_timestamp(
            raw.get("timestamp"), f"{at}: 'timestamp'"
        )
        when = when or self.default_time
        if when is None:
            raise PolicyError(f"{at}: no 'timestamp', and the document has none to inherit")
        return VexStatement(
            vulnerability=name,
            aliases=aliases,
            products=products,
            status=status,
            timestamp=when,
            source=self.source,
            justification=justification,
            impact_statement=impact,
            action_statement=_optional_text(raw, "action_statement", at),
        )

    def _product(self, raw: object, shared: list[VexComponent], at: str) -> VexProduct:
        component = self._component(raw, at)
        subs = list(shared)
        if isinstance(raw, dict):
            subs += [self._component(c, at) for c in as_list(raw.get("subcomponents"), "subcomponents", at)]
        return VexProduct(component, tuple(subs))

    def _component(self, raw: object, at: str) -> VexComponent:
        self.components += 1
        if self.components > MAX_COMPONENTS:
            raise PolicyError(f"{self.where}: more than {MAX_COMPONENTS} products and subcomponents")
        if isinstance(raw, str):
            return component_from_ids([raw], {})
        if not isinstance(raw, dict):
            raise PolicyError(f"{at}: a product or subcomponent must be an object or a string")
        ids: list[str] = []
        if raw.get("@id") is not None:
            ids.append(as_text(raw["@id"], "@id", at))
        identifiers = raw.get("identifiers") or {}
        hashes = raw.get("hashes") or {}
        if not isinstance(identifiers, dict) or not isinstance(hashes, dict):
            raise PolicyError(f"{at}: 'identifiers' and 'hashes' must be objects")
        ids += [as_text(value, f"identifiers.{key}", at) for key, value in identifiers.items()]
        digests = {str(k): as_text(v, f"hashes.{k}", at) for k, v in hashes.items()}
        if not ids and not digests:
            raise PolicyError(f"{at}: a product or subcomponent has no '@id', 'identifiers' or 'hashes'")
        return component_from_ids(ids, digests)


def component_from_ids(ids: list[str], hashes: dict[str, str]) -> VexComponent:
    """Split identifiers into purls and others, and collect every digest they carry ("sha256:<hex>")."""
    purls, others, digests = [], [], []
    for value in ids:
        purl = parse_purl(value) if value.startswith("pkg:") else None
        if purl is not None:
            purls.append(purl)
            if purl.type == "oci" and purl.version:
                digests.append(purl.version)
            continue
        others.append(value)
        if "@sha256:" in value:  # an image reference by digest
            digests.append(value.rsplit("@", 1)[1].lower())
        elif value.lower().startswith("sha256:"):
            digests.append(value.lower())
    for algorithm, value in hashes.items():
        digests.append(f"{algorithm.lower().replace('-', '')}:{value.lower()}")
    return VexComponent(tuple(purls), tuple(others), tuple(digests))


def _vulnerability(raw: object, at: str) -> tuple[str, tuple[str, ...]]:
    if isinstance(raw, str) and raw.strip():  # v0.0.x: the id as a string
        return raw.strip(), ()
    if not isinstance(raw, dict):
        raise PolicyError(f"{at}: 'vulnerability' must be an object with a 'name'")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PolicyError(f"{at}: 'vulnerability' has no 'name'")
    aliases = as_list(raw.get("aliases"), "vulnerability.aliases", at)
    return name.strip(), tuple(as_text(a, "vulnerability.aliases", at) for a in aliases)


def _status(raw: object, at: str) -> VexStatus:
    try:
        return VexStatus(raw)
    except ValueError:
        names = ", ".join(s.value for s in VexStatus)
        raise PolicyError(f"{at}: 'status' must be one of {names} (got {str(raw)[:40]!r})") from None


def parse_timestamp(raw: object, what: str) -> datetime | None:
    if raw is None or raw == "":
        return None
    try:
        if not isinstance(raw, str):
            raise ValueError(raw)
        when = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise PolicyError(f"{what} is not an RFC 3339 timestamp ({str(raw)[:40]})") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def as_list(raw: object, key: str, at: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise PolicyError(f"{at}: {key!r} must be a list")
    return raw


def as_text(raw: object, key: str, at: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise PolicyError(f"{at}: {key!r} must be a non-empty string")
    return raw.strip()


def _optional_text(raw: dict[str, Any], key: str, at: str) -> str:
    value = raw.get(key)
    if value is None or value == "":
        return ""
    return as_text(value, key, at)


def _labels() -> str:
    return ", ".join(sorted(JUSTIFICATIONS))
