"""Match an inventory against the advisory database: one `Finding` per (package, vulnerability).

Steps per package: build its lookup (`ecosystems.query_for`), fetch the affected entries for its name,
keep those of the right release, evaluate `versions` and ranges with the ecosystem's comparator, and note
the first fixed version above the installed one. Records that describe the same vulnerability are then
merged: the finding id is the CVE when one is known (OSV `aliases`, or the `upstream`/`related` CVEs of a
distro advisory such as DSA/DLA/ALSA, which is split into one finding per CVE), every other id is an alias.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from lashing.analyzers.vulns.ecosystems import Query, distro_ecosystems, distro_package_type, query_for
from lashing.analyzers.vulns.eol import eol_warning
from lashing.analyzers.vulns.ranges import range_verdict
from lashing.analyzers.vulns.severity import Rating, cvss_rating, rate, source_rating
from lashing.analyzers.vulns.versions import comparator_for
from lashing.db.store import Advisory, AdvisoryStore, AffectedRow
from lashing.model import Finding, FindingKind, OSInfo, Package, Report, Severity

MAX_REFERENCES = 20
FIX_STATES = ("fixed", "not_fixed", "wont_fix")


@dataclass(frozen=True)
class Hit:
    """One affected entry of one advisory that covers the installed version."""

    advisory: Advisory
    row: AffectedRow
    fixed: tuple[str, ...]
    fix_state: str


def affected_hit(row: AffectedRow, version: str) -> tuple[bool, tuple[str, ...]]:
    """Whether `version` is affected by one entry and, if so, the first fixed version above it in each range
    that covers it (in every range when only the explicit `versions` list names it)."""
    cmp = comparator_for(row.ecosystem)
    listed = version in row.versions
    if cmp is None:
        return listed, ()
    verdicts = [
        range_verdict(version, r, cmp)
        for r in row.ranges
        if isinstance(r, dict) and r.get("type") in ("SEMVER", "ECOSYSTEM")
    ]
    covering = [fix for inside, fix in verdicts if inside]
    if not covering and not listed:
        return False, ()
    fixes = covering if covering else [fix for _, fix in verdicts]
    return True, tuple(dict.fromkeys(fix for fix in fixes if fix is not None))


def _same_build_kind(row: AffectedRow, modular: bool) -> bool:
    """RHEL-family advisories for module-stream builds (`.module_el8...` releases) apply only to packages
    installed from a module stream, and the others only to non-modular packages (as Trivy and dnf judge it);
    an entry without a fixed version applies to both."""
    fixed = [e["fixed"] for r in row.ranges if isinstance(r, dict) for e in r.get("events") or ()
             if isinstance(e, dict) and isinstance(e.get("fixed"), str)]  # fmt: skip
    return not fixed or any(".module" in f for f in fixed) == modular


def _fix_state(row: AffectedRow, fixed: tuple[str, ...]) -> str:
    if fixed:
        return "fixed"
    for specific in (row.database_specific, row.ecosystem_specific):
        state = specific.get("fix_state") if isinstance(specific, dict) else None
        if state in FIX_STATES:
            return str(state)
    return "not_fixed"


class Matcher:
    """Matches packages of one OS context against an open `AdvisoryStore`."""

    def __init__(self, store: AdvisoryStore, os_info: OSInfo | None) -> None:
        self.store = store
        self.os_info = os_info
        self._distro = distro_ecosystems(os_info)
        self._os_type = distro_package_type(os_info)
        self._advisory = lru_cache(maxsize=None)(store.advisory)
        self._rows = store.affected_for
        self._hits = lru_cache(maxsize=None)(self._query_hits)  # binary packages of one source share a query
        self._ratings = lru_cache(maxsize=None)(store.ratings_for_alias)

    def query(self, pkg: Package) -> Query | None:
        return query_for(pkg, self._distro, self._os_type)

    def hits(self, pkg: Package) -> list[Hit]:
        """Every advisory entry that covers the package's installed version (withdrawn ones skipped)."""
        query = self.query(pkg)
        return [] if query is None else self._hits(query)

    def _query_hits(self, query: Query) -> list[Hit]:
        out: list[Hit] = []
        for row in self._rows(query.ecosystem_base, query.name, query.ecosystems):
            if row.withdrawn or (query.ecosystems is not None and row.ecosystem not in query.ecosystems):
                continue
            if query.modular is not None and not _same_build_kind(row, query.modular):
                continue
            affected, fixed = affected_hit(row, query.version)
            if not affected:
                continue
            advisory = self._advisory(row.advisory_id)
            if advisory is not None:
                out.append(Hit(advisory, row, fixed, _fix_state(row, fixed)))
        return out

    def findings(self, packages: Iterable[Package]) -> list[Finding]:
        out: list[Finding] = []
        for pkg in packages:
            out.extend(self._merge(pkg, self.hits(pkg)))
        return out

    def _merge(self, pkg: Package, hits: Sequence[Hit]) -> list[Finding]:
        groups: dict[str, list[Hit]] = {}
        for hit in hits:
            for key in vulnerability_ids(hit.advisory):
                groups.setdefault(key, []).append(hit)
        return [self._finding(pkg, key, group) for key, group in sorted(groups.items())]

    def _finding(self, pkg: Package, vuln_id: str, group: list[Hit]) -> Finding:
        aliases: list[str] = []
        for hit in group:
            for alias in (hit.advisory.id, *hit.advisory.aliases):
                if alias != vuln_id and alias not in aliases:
                    aliases.append(alias)
        fixed = sorted({v for hit in group for v in hit.fixed}, key=_sort_key(group[0].row.ecosystem))
        states = {hit.fix_state for hit in group}
        fix_state = "fixed" if fixed else ("not_fixed" if "not_fixed" in states else next(iter(sorted(states))))
        distro = pkg.type.is_os
        rating = max((rate(hit.advisory, distro) for hit in group), key=lambda r: (r.severity, r.score or 0.0))
        if rating.severity == Severity.UNKNOWN and vuln_id.startswith("CVE-"):
            rating = self._related_rating(vuln_id, {h.advisory.id for h in group}) or rating
        primary = next((h.advisory for h in group if h.advisory.summary), group[0].advisory)
        references = _references(hit.advisory for hit in group)
        location = pkg.locations[0] if pkg.locations else None
        if location is not None and pkg.layer is not None and pkg.layer.diff_id and location.layer_diff_id is None:
            location = replace(location, layer_diff_id=pkg.layer.diff_id)
        extra = {
            "installed_version": pkg.version,
            "ecosystem": group[0].row.ecosystem,
            "records": ",".join(sorted({h.advisory.id for h in group})),
            "data_source": ",".join(sorted({h.advisory.source for h in group})),
            "severity_source": rating.source,
        }
        if rating.vector:
            extra["cvss_vector"] = rating.vector
        if rating.score is not None:
            extra["cvss_score"] = f"{rating.score:.1f}"
        title = primary.summary or (primary.details.split("\n", 1)[0][:200] if primary.details else vuln_id)
        return Finding(
            id=vuln_id,
            kind=FindingKind.VULNERABILITY,
            severity=rating.severity,
            title=title,
            description=primary.details[:4000],
            package=pkg,
            location=location,
            aliases=tuple(aliases),
            references=references,
            fixed_versions=tuple(fixed),
            fix_state=fix_state,
            extra=extra,
        )

    def _related_rating(self, cve: str, seen: set[str]) -> Rating | None:
        """A rating borrowed from another record of the same CVE when the matched ones carry none (a DSA
        has no severity): the highest CVSS score among them, else another source's own rating."""
        scored: list[Rating] = []
        named: list[Rating] = []
        for other_id, severity, db_severity, withdrawn in self._ratings(cve)[:20]:
            if other_id in seen or withdrawn:
                continue
            found = cvss_rating(severity)
            if found is not None and found.severity != Severity.UNKNOWN:
                scored.append(replace(found, source=f"{found.source}:{other_id}"))
                continue
            found = source_rating(severity, db_severity)
            if found is not None and found.severity != Severity.UNKNOWN:
                named.append(replace(found, source=f"{found.source}:{other_id}"))
        if scored:
            return max(scored, key=lambda r: r.score or 0.0)
        return max(named, key=lambda r: r.severity) if named else None


def vulnerability_ids(advisory: Advisory) -> list[str]:
    """The finding ids one record contributes to (see the module docstring)."""
    if advisory.id.startswith("CVE-"):
        return [advisory.id]
    cves = sorted(a for a in advisory.aliases if a.startswith("CVE-"))
    if cves:
        return cves[:1]
    upstream = sorted({a for a in (*advisory.upstream, *advisory.related) if a.startswith("CVE-")})
    return upstream or [advisory.id]


def _references(advisories: Iterable[Advisory]) -> tuple[str, ...]:
    urls: list[str] = []
    for advisory in advisories:
        for ref in advisory.references:
            url = ref.get("url") if isinstance(ref, dict) else None
            if isinstance(url, str) and url.startswith(("https://", "http://")) and url not in urls:
                urls.append(url)
    return tuple(urls[:MAX_REFERENCES])


def _sort_key(ecosystem: str):
    from functools import cmp_to_key

    cmp = comparator_for(ecosystem)
    return cmp_to_key(cmp) if cmp else str


def match_report(report: Report, store: AdvisoryStore) -> Report:
    """The report with vulnerability findings added, plus warnings (unsupported or end-of-life distro)."""
    matcher = Matcher(store, report.os)
    findings = matcher.findings(report.packages)
    warnings = list(report.warnings)
    if report.os is not None and report.os.family and matcher._distro is None:
        warnings.append(
            f"no advisory data source for {report.os.family} {report.os.version}: OS packages were not matched"
        )
    eol = eol_warning(report.os)
    if eol:
        warnings.append(eol)
    return replace(report, findings=(*report.findings, *findings), warnings=tuple(warnings))
