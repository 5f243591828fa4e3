"""SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

One run, one `reportingDescriptor` per distinct finding id (a CVE is one rule however many packages it
affects), one result per finding. Choices a reader of the output should know:

* `level` follows lashing's severity: CRITICAL/HIGH -> error, MEDIUM -> warning, LOW/UNKNOWN -> note.
* A rule's `properties["security-severity"]` (what GitHub ranks alerts by) is the finding's CVSS base
  score when that score falls in the band of lashing's severity (GitHub's bands: 0.1-3.9 low, 4-6.9
  medium, 7-8.9 high, 9-10 critical), else the band's representative value, so GitHub and the policy
  gate never disagree; a rule shared by several findings takes the highest.
* `artifactLocation.uri` is the relative path of the file that declared the package or holds the
  problem (inside the image for image scans); a finding with no path points at the scanned artifact.
  The image and layer ride in `logicalLocations` (kinds "image" and "layer") and result properties.
* `partialFingerprints["lashing/v1"]` hashes the rule id, the package's purl without version and
  qualifiers (so an upgrade that leaves a CVE open keeps its alert), the path, and for config and
  secret findings the resource/container or the redacted match, never a line number.
* `automationDetails.id` is `lashing/<artifact>/`, the artifact without tag or digest: scans of two
  images in one repository stay apart, scans of two tags of one image replace each other.
* Output is deterministic: rules sorted by id, results by rule, path, line and fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from typing import IO, Any
from urllib.parse import quote

from packageurl import PackageURL

from lashing import __version__
from lashing.model import Finding, FindingKind, Report, Severity
from lashing.report.interface import ReportFormat

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://lashing.dev"
FINGERPRINT_KEY = "lashing/v1"
MAX_DESCRIPTION = 1000  # GitHub truncates rule descriptions beyond this
MAX_HELP_ROWS = 50

LEVELS = {
    Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
    Severity.LOW: "note", Severity.UNKNOWN: "note",
}
# Representative security-severity per lashing severity (the middle of GitHub's band, as Trivy uses).
SEVERITY_SCORES = {
    Severity.CRITICAL: 9.5, Severity.HIGH: 8.0, Severity.MEDIUM: 5.5, Severity.LOW: 2.0, Severity.UNKNOWN: 0.0,
}
_RULE_NAMES = {
    FindingKind.CONFIG: "Misconfiguration", FindingKind.SECRET: "Secret", FindingKind.MALWARE: "Malware",
    FindingKind.HYGIENE: "ImageHygiene",
}
_PRECISION = {
    FindingKind.VULNERABILITY: "very-high", FindingKind.CONFIG: "very-high", FindingKind.SECRET: "high",
    FindingKind.MALWARE: "medium", FindingKind.HYGIENE: "high",
}
_ADVISORY_URLS = {
    "CVE": "https://nvd.nist.gov/vuln/detail/{}", "GHSA": "https://github.com/advisories/{}",
    "DSA": "https://security-tracker.debian.org/tracker/{}", "DLA": "https://security-tracker.debian.org/tracker/{}",
    "USN": "https://ubuntu.com/security/notices/{}", "RHSA": "https://access.redhat.com/errata/{}",
}
_URI_SAFE = "/@+=,;~!$&'()*"  # no ':': a first segment with one would read as a scheme
_SURROGATES = re.compile("[\ud800-\udfff]")


def severity_band(score: float) -> Severity:
    """GitHub's security-severity bands as lashing severities (0.0 is 'none': UNKNOWN)."""
    return Severity.from_score(score)


def security_severity(finding: Finding) -> float:
    """The CVSS score when it agrees with the finding's severity band, else the band's representative value."""
    try:
        score = float(finding.extra.get("cvss_score", ""))
    except ValueError:
        score = -1.0
    if 0.0 <= score <= 10.0 and severity_band(score) == finding.severity:
        return score
    return SEVERITY_SCORES[finding.severity]


def level(severity: Severity) -> str:
    return LEVELS[severity]


def rule_id(finding: Finding) -> str:
    return finding.id.strip() or f"LSH-{finding.kind.value.upper()}-UNKNOWN"


def advisory_url(finding: Finding) -> str:
    """The first http(s) reference, else a well-known page for the id's database, else OSV for advisories."""
    for ref in finding.references:
        if ref.startswith(("https://", "http://")) and " " not in ref:
            return ref
    ident = rule_id(finding)
    if finding.kind != FindingKind.VULNERABILITY or not re.fullmatch(r"[A-Za-z0-9._:-]+", ident):
        return ""
    template = _ADVISORY_URLS.get(ident.split("-", 1)[0].upper(), "https://osv.dev/vulnerability/{}")
    return template.format(ident)


def artifact_uri(path: str) -> str:
    """A path as a relative URI reference (leading '/' and './' dropped, backslashes to '/', percent-encoded)."""
    text = path.replace("\\", "/")
    while text.startswith(("/", "./")):
        text = text[2:] if text.startswith("./") else text[1:]
    if not text:
        return ""
    try:  # undecodable bytes (surrogate-escaped by the walker) are percent-encoded as the bytes they were
        return quote(text, safe=_URI_SAFE, errors="surrogateescape")
    except UnicodeEncodeError:
        return quote(text, safe=_URI_SAFE, errors="replace")


def artifact_label(name: str) -> str:
    """The scanned artifact's name without digest or tag (`reg/team/app:1.2@sha256:..` -> `reg/team/app`)."""
    text = name.split("@sha256:", 1)[0].strip()
    head, sep, last = text.rpartition("/")
    if ":" in last:
        last = last.rsplit(":", 1)[0]
    label = f"{head}{sep}{last}".strip("./") or "artifact"
    return re.sub(r"[^A-Za-z0-9._/:@+-]+", "-", label)


def _clip(text: str, limit: int = MAX_DESCRIPTION) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _versionless_purl(finding: Finding) -> str:
    pkg = finding.package
    if pkg is None:
        return ""
    try:
        purl = PackageURL.from_string(pkg.purl) if pkg.purl else None
    except ValueError:
        purl = None
    if purl is not None:
        return PackageURL(type=purl.type, namespace=purl.namespace, name=purl.name).to_string()
    return f"{pkg.type.value}/{pkg.name}"


def _path(finding: Finding) -> str:
    if finding.location is not None and finding.location.path:
        return finding.location.path
    pkg = finding.package
    return pkg.locations[0].path if pkg is not None and pkg.locations else ""


def _layer(finding: Finding) -> str:
    if finding.location is not None and finding.location.layer_diff_id:
        return finding.location.layer_diff_id
    pkg = finding.package
    return pkg.layer.diff_id if pkg is not None and pkg.layer is not None else ""


def fingerprint(finding: Finding) -> str:
    """Stable across runs: rule id, versionless purl, path and the finding's own discriminator."""
    extra = finding.extra
    detail = [extra.get("resource", ""), extra.get("container", "")] if finding.kind == FindingKind.CONFIG else []
    if finding.kind == FindingKind.SECRET:
        detail = [extra.get("match", "")]
    parts = [rule_id(finding), _versionless_purl(finding), artifact_uri(_path(finding)), *detail]
    blob = json.dumps(parts, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return hashlib.sha256(blob).hexdigest()[:32]


def _tags(finding: Finding) -> list[str]:
    """security, the kind, and the ecosystem: the package type, or the config source (kubernetes, dockerfile...)."""
    tags = ["security", finding.kind.value]
    if finding.package is not None:
        tags.append(finding.package.type.value)
    elif 0 < len(finding.extra.get("source", "")) <= 40:
        tags.append(finding.extra["source"])
    return tags


def _help(findings: Sequence[Finding], aliases: Sequence[str], url: str) -> tuple[str, str]:
    """Rule help as plain text and markdown: description, affected packages with fixes, remediation, link."""
    first = findings[0]
    text = [first.description.strip() or first.title or rule_id(first)]
    markdown = [f"**{_md(first.title or rule_id(first))}**", "", _md(first.description.strip())]
    rows = sorted({_affected_row(f) for f in findings if f.package is not None})
    if rows:
        markdown += ["", "| Package | Installed | Fixed version |", "| --- | --- | --- |"]
        for name, installed, fixed in rows[:MAX_HELP_ROWS]:
            markdown.append(f"| {_md(name)} | {_md(installed)} | {_md(fixed or 'no fix yet')} |")
            text.append(f"{name} {installed}: " + (f"fixed in {fixed}" if fixed else "no fix yet"))
        if len(rows) > MAX_HELP_ROWS:
            markdown.append(f"| … {len(rows) - MAX_HELP_ROWS} more | | |")
    remediation = next((f.remediation for f in findings if f.remediation), "")
    if remediation:
        text.append(f"Remediation: {remediation}")
        markdown += ["", f"**Remediation:** {_md(remediation)}"]
    if aliases:
        text.append("Also known as: " + ", ".join(aliases))
        markdown += ["", "Also known as: " + ", ".join(_md(a) for a in aliases)]
    if url:
        text.append(f"More: {url}")
        markdown += ["", f"[{_md(rule_id(first))}]({url.replace(')', '%29')})"]
    return "\n".join(text), "\n".join(markdown).strip()


def _affected_row(finding: Finding) -> tuple[str, str, str]:
    pkg = finding.package
    assert pkg is not None
    installed = finding.extra.get("installed_version") or pkg.version
    return pkg.name, installed, ", ".join(finding.fixed_versions)


def _md(text: str) -> str:
    """Text safe inside a markdown table cell or emphasis."""
    return re.sub(r"([\\`*_\[\]|<>])", r"\\\1", " ".join(text.split()))


def build_rule(findings: Sequence[Finding]) -> dict[str, Any]:
    """One reportingDescriptor for the findings sharing a rule id."""
    findings = sorted(findings, key=lambda f: (-f.severity, -len(f.description), f.title, f.description))
    first = findings[0]
    aliases = sorted({a for f in findings for a in f.aliases if a and a != first.id})
    url = next((u for u in map(advisory_url, findings) if u), "")
    text, markdown = _help(findings, aliases, url)
    worst = first.severity
    tags = list(dict.fromkeys(t for f in findings for t in _tags(f)))[:20]
    properties: dict[str, Any] = {
        "tags": tags,
        "precision": _PRECISION.get(first.kind, "high"),
        "security-severity": f"{max(security_severity(f) for f in findings):.1f}",
        "problem.severity": {"error": "error", "warning": "warning"}.get(level(worst), "recommendation"),
        "severity": worst.name,
        "kind": first.kind.value,
    }
    if aliases:
        properties["aliases"] = aliases  # peer ids: Trivy AVD/KSV, Checkov CKV_*, Kubescape C-*, hadolint, CIS
    rule: dict[str, Any] = {
        "id": rule_id(first),
        "name": _rule_name(first),
        "shortDescription": {"text": _clip(first.title or rule_id(first))},
        "fullDescription": {"text": _clip(first.description or first.title or rule_id(first))},
        "defaultConfiguration": {"level": level(worst)},
        "help": {"text": text, "markdown": markdown},
        "properties": properties,
    }
    if url:
        rule["helpUri"] = url
    return rule


def _rule_name(finding: Finding) -> str:
    if finding.kind == FindingKind.VULNERABILITY:
        pkg = finding.package
        return "OsPackageVulnerability" if pkg is not None and pkg.type.is_os else "LanguagePackageVulnerability"
    return _RULE_NAMES.get(finding.kind, "Finding")


def _message(finding: Finding) -> str:
    pkg = finding.package
    if finding.kind == FindingKind.VULNERABILITY and pkg is not None:
        installed = finding.extra.get("installed_version") or pkg.version
        fixed = ", ".join(finding.fixed_versions) or {"wont_fix": "none (won't fix)"}.get(finding.fix_state, "none")
        lines = [
            f"Package: {pkg.name}", f"Installed Version: {installed}", f"Vulnerability: {rule_id(finding)}",
            f"Severity: {finding.severity.name}", f"Fixed Version: {fixed}",
        ]
        if pkg.source_name and pkg.source_name != pkg.name:
            lines.insert(1, f"Source Package: {pkg.source_name}")
        if finding.title:
            lines.append(f"Title: {finding.title}")
        return "\n".join(lines)
    head = finding.title or rule_id(finding)
    facts = [f"{key}: {finding.extra[key]}" for key in ("resource", "container", "detail", "match") if
             finding.extra.get(key)]
    return "\n".join([f"{head} ({finding.severity.name})", *facts]) if facts else f"{head} ({finding.severity.name})"


def _location(finding: Finding, report: Report) -> dict[str, Any]:
    uri = artifact_uri(_path(finding)) or artifact_uri(artifact_label(report.artifact.name)) or "artifact"
    physical: dict[str, Any] = {"artifactLocation": {"uri": uri}}
    loc = finding.location
    if loc is not None and loc.line is not None and loc.line >= 1:
        region = {"startLine": loc.line}
        if loc.end_line is not None and loc.end_line >= loc.line:
            region["endLine"] = loc.end_line
        physical["region"] = region
    out: dict[str, Any] = {"physicalLocation": physical}
    logical = []
    if report.artifact.kind not in ("directory", "sbom", "config", ""):
        logical.append({"name": report.artifact.name, "kind": "image"})
    layer = _layer(finding)
    if layer:
        logical.append({"name": layer, "fullyQualifiedName": f"{report.artifact.name}@{layer}", "kind": "layer"})
    if logical:
        out["logicalLocations"] = logical
    return out


def _result_properties(finding: Finding, report: Report) -> dict[str, Any]:
    props: dict[str, Any] = {"severity": finding.severity.name, "kind": finding.kind.value}
    pkg = finding.package
    if pkg is not None:
        props.update({"package": pkg.name, "packageType": pkg.type.value, "installedVersion": pkg.version})
        if pkg.purl:
            props["purl"] = pkg.purl
        if pkg.source_name:
            props["sourcePackage"] = pkg.source_name
        if pkg.layer is not None and pkg.layer.created_by:
            props["layerCreatedBy"] = pkg.layer.created_by
    if finding.fixed_versions:
        props["fixedVersions"] = list(finding.fixed_versions)
    if finding.fix_state:
        props["fixState"] = finding.fix_state
    if finding.aliases:
        props["aliases"] = list(finding.aliases)
    layer = _layer(finding)
    if layer:
        props["layerDiffId"] = layer
    if report.artifact.name:
        props["artifact"] = report.artifact.name
    for key, value in sorted(finding.extra.items()):
        if value and key not in ("installed_version",):
            props.setdefault(_camel(key), value)
    return props


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


def build_result(finding: Finding, index: int, report: Report) -> dict[str, Any]:
    return {
        "ruleId": rule_id(finding),
        "ruleIndex": index,
        "level": level(finding.severity),
        "message": {"text": _message(finding)},
        "locations": [_location(finding, report)],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(finding)},
        "properties": _result_properties(finding, report),
    }


def _run_properties(report: Report) -> dict[str, Any]:
    art = report.artifact
    artifact = {"name": art.name, "kind": art.kind, "digest": art.digest, "configDigest": art.config_digest,
                "repoTags": list(art.repo_tags), "architecture": art.architecture, "os": art.os}
    props: dict[str, Any] = {"artifact": {k: v for k, v in artifact.items() if v}}
    if report.os is not None:
        os_info = {"family": report.os.family, "version": report.os.version, "name": report.os.name}
        props["os"] = {k: v for k, v in os_info.items() if v}
    if report.layers:
        props["layers"] = [{"index": layer.index, "diffId": layer.diff_id} for layer in report.layers]
    return props


def build_log(report: Report) -> dict[str, Any]:
    """The SARIF log as plain JSON-ready data."""
    groups: dict[str, list[Finding]] = {}
    for finding in report.findings:
        groups.setdefault(rule_id(finding), []).append(finding)
    rule_ids = sorted(groups)
    index_of = {rid: i for i, rid in enumerate(rule_ids)}
    results = [build_result(f, index_of[rule_id(f)], report) for f in report.findings]
    results.sort(key=_result_order)
    version = report.tool_version or __version__
    driver = {
        "name": "lashing", "fullName": f"lashing {version}", "version": version,
        "semanticVersion": version, "informationUri": INFORMATION_URI,
        "rules": [build_rule(groups[rid]) for rid in rule_ids],
    }
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "automationDetails": {
            "id": f"lashing/{artifact_label(report.artifact.name)}/",
            "description": {"text": f"lashing scan of {report.artifact.kind or 'artifact'} {report.artifact.name}"},
        },
        "invocations": [_invocation(report.warnings)],
        "columnKind": "utf16CodeUnits",
        "results": results,
        "properties": _run_properties(report),
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _invocation(warnings: Iterable[str]) -> dict[str, Any]:
    notes = [{"level": "warning", "message": {"text": w}} for w in warnings]
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if notes:
        invocation["toolExecutionNotifications"] = notes
    return invocation


def _result_order(result: dict[str, Any]) -> tuple[Any, ...]:
    physical = result["locations"][0]["physicalLocation"]
    region = physical.get("region", {})
    return (result["ruleIndex"], physical["artifactLocation"]["uri"], region.get("startLine", 0),
            result["partialFingerprints"][FINGERPRINT_KEY], result["message"]["text"])


def render(report: Report, indent: int | None = 2) -> str:
    """The SARIF log as JSON text (UTF-8 kept; lone surrogates from undecodable paths replaced)."""
    text = json.dumps(build_log(report), indent=indent, ensure_ascii=False)
    return _SURROGATES.sub("\ufffd", text)


class SarifFormat(ReportFormat):
    name = "sarif"
    description = "SARIF 2.1.0 (GitHub code scanning: security-severity, stable fingerprints, one rule per id)"

    def write(self, report: Report, stream: IO[str]) -> None:
        stream.write(render(report))
        stream.write("\n")
