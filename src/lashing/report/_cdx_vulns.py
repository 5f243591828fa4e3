"""CycloneDX `vulnerabilities[]` from vulnerability findings: one entry per (id, affected component)."""

from __future__ import annotations

import re
from collections.abc import Callable

from cyclonedx.exception.model import InvalidUriException
from cyclonedx.model import Property, XsUri
from cyclonedx.model.impact_analysis import ImpactAnalysisAffectedStatus
from cyclonedx.model.vulnerability import (
    BomTarget,
    BomTargetVersionRange,
    Vulnerability,
    VulnerabilityAdvisory,
    VulnerabilityRating,
    VulnerabilityReference,
    VulnerabilitySeverity,
    VulnerabilitySource,
)

from lashing.model import Finding, FindingKind, Package, Report, Severity

_SEVERITY = {
    Severity.UNKNOWN: VulnerabilitySeverity.UNKNOWN,
    Severity.LOW: VulnerabilitySeverity.LOW,
    Severity.MEDIUM: VulnerabilitySeverity.MEDIUM,
    Severity.HIGH: VulnerabilitySeverity.HIGH,
    Severity.CRITICAL: VulnerabilitySeverity.CRITICAL,
}

# id prefix -> (source name, URL template)
_SOURCES = {
    "CVE": ("NVD", "https://nvd.nist.gov/vuln/detail/{}"),
    "GHSA": ("GitHub", "https://github.com/advisories/{}"),
    "DSA": ("Debian", "https://security-tracker.debian.org/tracker/{}"),
    "DLA": ("Debian", "https://security-tracker.debian.org/tracker/{}"),
    "TEMP": ("Debian", "https://security-tracker.debian.org/tracker/{}"),
    "USN": ("Ubuntu", "https://ubuntu.com/security/notices/{}"),
    "RHSA": ("Red Hat", "https://access.redhat.com/errata/{}"),
    "PYSEC": ("OSV", "https://osv.dev/vulnerability/{}"),
    "RUSTSEC": ("OSV", "https://osv.dev/vulnerability/{}"),
    "GO": ("OSV", "https://osv.dev/vulnerability/{}"),
    "MAL": ("OSV", "https://osv.dev/vulnerability/{}"),
    "OSV": ("OSV", "https://osv.dev/vulnerability/{}"),
}


def uri(text: str) -> XsUri | None:
    """An http(s) URL the library accepts, or None."""
    if not text.startswith(("https://", "http://")):
        return None
    try:
        return XsUri(text)
    except InvalidUriException:
        return None


def vuln_source(vuln_id: str) -> VulnerabilitySource:
    """The database an id comes from, guessed from its prefix (with a link when the prefix is known)."""
    prefix = vuln_id.split("-", 1)[0].upper()
    name, template = _SOURCES.get(prefix, (prefix or "unknown", ""))
    linkable = template and re.fullmatch(r"[A-Za-z0-9._:-]+", vuln_id)
    return VulnerabilitySource(name=name, url=uri(template.format(vuln_id)) if linkable else None)


def _recommendation(finding: Finding, pkg: Package | None) -> str | None:
    parts = []
    if finding.fixed_versions:
        target = pkg.name if pkg else "the package"
        parts.append(f"Upgrade {target} to {' or '.join(finding.fixed_versions)} or later.")
    if finding.remediation:
        parts.append(finding.remediation)
    return " ".join(parts) or None


def _affects(ref: str, finding: Finding, pkg: Package | None) -> BomTarget:
    status = ImpactAnalysisAffectedStatus
    versions = []
    if pkg and pkg.version:
        versions.append(BomTargetVersionRange(version=pkg.version, status=status.AFFECTED))
    for fixed in finding.fixed_versions:
        if fixed:
            versions.append(BomTargetVersionRange(version=fixed, status=status.UNAFFECTED))
    return BomTarget(ref=ref, versions=versions)


def vulnerability(finding: Finding, ref: str, pkg: Package | None) -> Vulnerability:
    advisories = [VulnerabilityAdvisory(url=url) for url in map(uri, finding.references) if url is not None]
    aliases = [VulnerabilityReference(id=a, source=vuln_source(a)) for a in finding.aliases if a]
    props = [("lashing:fix_state", finding.fix_state)]
    props += [(f"lashing:finding:extra:{k}", v) for k, v in sorted(finding.extra.items())]
    return Vulnerability(
        bom_ref=f"lashing:vuln/{finding.id}@{ref}",
        id=finding.id,
        source=vuln_source(finding.id),
        references=aliases,
        ratings=[VulnerabilityRating(severity=_SEVERITY[finding.severity])],
        description=finding.title or None,
        detail=finding.description or None,
        recommendation=_recommendation(finding, pkg),
        advisories=advisories,
        affects=[_affects(ref, finding, pkg)],
        properties=[Property(name=k, value=v) for k, v in props if v],
    )


def vulnerabilities(report: Report, ref_for: Callable[[Package], str], image_ref: str) -> list[Vulnerability]:
    """Vulnerability findings as CycloneDX entries, deduplicated by (id, affected ref).

    `ref_for` gives the bom-ref of a finding's package; findings without a package affect the image.
    """
    out: dict[str, Vulnerability] = {}
    for finding in report.findings:
        if finding.kind != FindingKind.VULNERABILITY or not finding.id:
            continue
        pkg = finding.package
        vuln = vulnerability(finding, ref_for(pkg) if pkg else image_ref, pkg)
        out.setdefault(str(vuln.bom_ref.value), vuln)
    return list(out.values())
