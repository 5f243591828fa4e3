"""The policy stage: severity gate, --ignore-unfixed, VEX, ignore rules, then the exit code.

Order per finding: `--severity` and `--ignore-unfixed` filter first (recorded in `filtered`), then the
latest applicable VEX statement (not_affected/fixed suppress; affected/under_investigation keep the finding
and mark it in `extra["vex_status"]`), then the first unexpired ignore rule that matches (`suppressed`).
Expired ignore rules never suppress; each one yields a warning, also appended to the report's warnings.
"""

from __future__ import annotations

from dataclasses import replace

from lashing.model import Finding, FindingKind, Report
from lashing.policy._glob import glob_match
from lashing.policy.interface import IgnoreRule, Policy, PolicyOutcome, Suppression
from lashing.policy.purl import PurlPattern, parse_purl
from lashing.policy.vex_match import VexMatcher


def apply_policy(report: Report, policy: Policy) -> PolicyOutcome:
    """Keep the findings the policy lets through; say what was removed, by what, and the exit code."""
    gate = PolicyGate(policy, VexMatcher(policy.vex, report))
    kept: list[Finding] = []
    suppressed: list[Suppression] = []
    filtered: list[Suppression] = []
    for finding in report.findings:
        verdict, item = gate.decide(finding)
        if verdict == "keep":
            kept.append(item)  # type: ignore[arg-type]
        else:
            (filtered if verdict == "filtered" else suppressed).append(item)  # type: ignore[arg-type]
    warnings = gate.warnings()
    out = replace(report, findings=tuple(kept), warnings=(*report.warnings, *warnings))
    return PolicyOutcome(
        report=out,
        suppressed=tuple(suppressed),
        filtered=tuple(filtered),
        expired=gate.expired,
        unused_ignores=gate.unused(),
        warnings=warnings,
        exit_code=gate.exit_code(bool(kept)),
    )


class PolicyGate:
    """The policy's decision on one finding at a time: apply_policy's loop, and usable where findings are
    produced (the config scan's worker processes filter their own findings with it)."""

    def __init__(self, policy: Policy, vex: VexMatcher) -> None:
        self.policy = policy
        self.expired = tuple(rule for rule in policy.ignores if rule.is_expired(policy.today))
        self._active = [rule for rule in policy.ignores if not rule.is_expired(policy.today)]
        self._index = IgnoreIndex(self._active)
        self._vex = vex
        self._used: set[int] = set()

    def decide(self, finding: Finding) -> tuple[str, Finding | Suppression]:
        """("keep", the finding, marked when VEX says affected) or ("filtered" | "suppressed", why)."""
        policy = self.policy
        if policy.severities is not None and finding.severity not in policy.severities:
            return "filtered", Suppression(finding, f"severity {finding.severity.name} not selected", "--severity")
        if policy.ignore_unfixed and finding.kind is FindingKind.VULNERABILITY and not has_fix(finding):
            return "filtered", Suppression(finding, "no fixed version", "--ignore-unfixed")
        statement = self._vex.decide(finding) if policy.vex else None
        if statement is not None and statement.status.suppresses:
            return "suppressed", Suppression(finding, f"{statement.status.value}: {statement.reason}", statement.source)
        if statement is not None:
            extra = {**finding.extra, "vex_status": statement.status.value, "vex_source": statement.source}
            finding = replace(finding, extra=extra)
        hit = self._index.first_match(finding)
        if hit is not None:
            self._used.add(hit)
            return "suppressed", Suppression(finding, self._active[hit].reason, self._active[hit].source)
        return "keep", finding

    @property
    def keeps_everything(self) -> bool:
        """True when `decide` keeps every finding as it is (no severity or fix filter, VEX or active ignore)."""
        policy = self.policy
        return policy.severities is None and not policy.ignore_unfixed and not policy.vex and not self._active

    def keep(self, finding: Finding) -> Finding | None:
        verdict, item = self.decide(finding)
        return item if verdict == "keep" else None  # type: ignore[return-value]

    def exit_code(self, kept_any: bool) -> int:
        """The policy's exit code when findings remain, else 0."""
        return self.policy.exit_code if kept_any else 0

    def warnings(self) -> tuple[str, ...]:
        """One warning per expired ignore rule (expired rules never suppress)."""
        return tuple(expired_warning(rule) for rule in self.expired)

    def unused(self) -> tuple[IgnoreRule, ...]:
        """Active ignore rules that matched nothing decided here."""
        return tuple(rule for i, rule in enumerate(self._active) if i not in self._used)


def has_fix(finding: Finding) -> bool:
    return bool(finding.fixed_versions) or finding.fix_state == "fixed"


def expired_warning(rule: IgnoreRule) -> str:
    return f"{rule.source}: ignore entry for {rule.label} expired on {rule.expires}; it no longer suppresses findings"


class IgnoreIndex:
    """Rules indexed by their exact ids (upper-cased), so large ignore files stay cheap; globs are tried always."""

    def __init__(self, rules: list[IgnoreRule]) -> None:
        self._rules = rules
        self._exact: dict[str, list[int]] = {}
        self._globs: list[int] = []
        for i, rule in enumerate(rules):
            if any("*" in p or "?" in p for p in rule.ids):
                self._globs.append(i)
            else:
                for value in rule.ids:
                    self._exact.setdefault(value.upper(), []).append(i)

    def first_match(self, finding: Finding) -> int | None:
        """The index of the first rule (in file order) that matches the finding."""
        if not self._rules:
            return None
        candidates = {i for name in (finding.id, *finding.aliases) for i in self._exact.get(name.upper(), ())}
        candidates.update(self._globs)
        return next((i for i in sorted(candidates) if rule_matches(self._rules[i], finding)), None)


def rule_matches(rule: IgnoreRule, finding: Finding) -> bool:
    """Every constraint the rule gives must hold (any of its values)."""
    if rule.kinds is not None and finding.kind not in rule.kinds:
        return False
    names = (finding.id, *finding.aliases)
    if not any(glob_match(pattern, name, ignore_case=True) for pattern in rule.ids for name in names):
        return False
    if rule.packages and not any(_package_matches(pattern, finding) for pattern in rule.packages):
        return False
    if rule.paths and not any(glob_match(p, path, paths=True) for p in rule.paths for path in _paths(finding)):
        return False
    if rule.resources:
        resource = finding.extra.get("resource", "")
        return bool(resource) and any(glob_match(p, resource, paths=True) for p in rule.resources)
    return True


def _package_matches(pattern: str | PurlPattern, finding: Finding) -> bool:
    pkg = finding.package
    if pkg is None:
        return False
    if isinstance(pattern, PurlPattern):
        candidate = parse_purl(pkg.purl) if pkg.purl else None
        return candidate is not None and pattern.matches(candidate)
    return glob_match(pattern, pkg.name) or bool(pkg.source_name and glob_match(pattern, pkg.source_name))


def _paths(finding: Finding) -> list[str]:
    paths = [finding.location.path] if finding.location is not None else []
    if finding.package is not None:
        paths += [loc.path for loc in finding.package.locations]
    return paths
