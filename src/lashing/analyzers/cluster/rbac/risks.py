"""Risk findings on effective access: the catalogue in risks.yaml evaluated on every binding and workload."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from lashing.analyzers.cluster.rbac.model import (
    ANONYMOUS,
    CLUSTER,
    CLUSTER_SCOPED_RESOURCES,
    UNAUTHENTICATED,
    Binding,
    PolicyRule,
    Subject,
)
from lashing.analyzers.cluster.rbac.resolve import RbacIndex
from lashing.analyzers.config.kubernetes import POD_TEMPLATES
from lashing.model import Finding, FindingKind, Location, Severity
from lashing.sources.cluster.snapshot import ClusterSnapshot, KubeObject
from lashing.yamlload import safe_load

# Roles meant for everyone: the config rule's three, plus the OIDC discovery role the Kubernetes documentation
# suggests binding to system:unauthenticated (it serves the issuer's public keys only).
PUBLIC_ROLES = frozenset({"system:public-info-viewer", "system:discovery", "system:basic-user",
                          "system:service-account-issuer-discovery"})
CLUSTER_ADMIN = "LSH-RBAC-CLUSTER-ADMIN-BINDING"
ANONYMOUS_SUBJECT = "LSH-RBAC-ANONYMOUS-SUBJECT"
ADMIN = "LSH-RBAC-GRANT-ADMIN"
WILDCARD = "LSH-RBAC-GRANT-WILDCARD"
MOUNTED = "LSH-RBAC-SA-TOKEN-RISKY"
SOURCE = "rbac-analysis"


@dataclass(frozen=True)
class Pattern:
    verbs: tuple[str, ...]
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]


@dataclass(frozen=True)
class Risk:
    """One entry of risks.yaml."""

    id: str
    title: str
    severity: Severity
    description: str = ""
    remediation: str = ""
    aliases: tuple[str, ...] = ()
    kubiscan: tuple[str, ...] = ()
    role_rule: str = ""
    check: str = ""
    patterns: tuple[Pattern, ...] = ()
    named: bool = False  # rules limited by resourceNames count too (binding one named privileged role suffices)

    def matches(self, rule: PolicyRule, cluster: bool) -> bool:
        """Whether one rule, granted cluster-wide or in a namespace, carries this risk."""
        if self.check == "wildcard":
            return bool(rule.resources) and ("*" in rule.verbs or "*" in rule.resources)
        for pattern in self.patterns:
            for resource in pattern.resources:
                if not cluster and resource in CLUSTER_SCOPED_RESOURCES:
                    continue
                base, _, sub = resource.partition("/")
                name = rule.resource_names[0] if self.named and rule.resource_names else None
                if any(rule.allows(v, g, base, sub, name) for v in pattern.verbs for g in pattern.api_groups):
                    return True
        return False


def _tuple(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value or ())


@cache
def load_risks() -> tuple[Risk, ...]:
    """The risk catalogue, in file order."""
    text = resources.files("lashing.analyzers.cluster.rbac").joinpath("risks.yaml").read_text(encoding="utf-8")
    out = []
    for raw in safe_load(text):
        patterns = tuple(Pattern(_tuple(p.get("verbs")), _tuple(p.get("apiGroups")), _tuple(p.get("resources")))
                         for p in raw.get("any") or ())
        out.append(Risk(raw["id"], raw["title"], Severity.parse(raw["severity"]), raw.get("description", ""),
                        raw.get("remediation", ""), _tuple(raw.get("aliases")), _tuple(raw.get("kubiscan")),
                        raw.get("role_rule", ""), raw.get("check", ""), patterns, bool(raw.get("named"))))
    return tuple(out)


def risk(risk_id: str) -> Risk:
    return next(r for r in load_risks() if r.id == risk_id)


def rule_risks(rules: Iterable[PolicyRule], cluster: bool = True) -> dict[str, tuple[PolicyRule, ...]]:
    """Risk id -> the rules that carry it; full wildcard access hides the narrower wildcard risk."""
    rules = tuple(rules)
    out: dict[str, tuple[PolicyRule, ...]] = {}
    for entry in load_risks():
        if entry.patterns or entry.check == "wildcard":
            hits = tuple(r for r in rules if entry.matches(r, cluster))
            if hits:
                out[entry.id] = hits
    if ADMIN in out:
        out.pop(WILDCARD, None)
    return out


def describe(rules: Iterable[PolicyRule]) -> str:
    """`get,list secrets; create pods/exec` (at most five rules)."""
    parts = []
    for rule in list(rules)[:5]:
        what = ",".join(rule.resources) or ",".join(rule.non_resource_urls)
        names = f" [{','.join(rule.resource_names)}]" if rule.resource_names else ""
        parts.append(f"{','.join(rule.verbs)} {what}{names}")
    return "; ".join(parts)


@dataclass
class RbacAnalysis:
    """Findings of one snapshot, the index they came from, and what could not be resolved."""

    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    index: RbacIndex | None = None


class _Analyzer:
    def __init__(self, index: RbacIndex) -> None:
        self.index = index
        self.snapshot = index.snapshot
        self._role_risks: dict[tuple[str, bool], dict[str, tuple[PolicyRule, ...]]] = {}
        self.findings: list[Finding] = []

    def risks_of(self, binding: Binding) -> dict[str, tuple[PolicyRule, ...]]:
        key = (str(binding.role), binding.scope == CLUSTER)
        if key not in self._role_risks:
            self._role_risks[key] = rule_risks(binding.effective_rules, binding.scope == CLUSTER)
        return self._role_risks[key]

    def finding(self, entry: Risk, location: Location | None, severity: Severity, detail: str,
                extra: dict[str, str], who: str) -> None:
        aliases = entry.aliases + tuple(f"KubiScan:{k}" for k in entry.kubiscan)
        self.findings.append(Finding(
            id=entry.id, kind=FindingKind.CONFIG, severity=severity, title=f"{entry.title}: {who}",
            description=entry.description, location=location, aliases=tuple(dict.fromkeys(aliases)),
            remediation=entry.remediation, extra={"source": SOURCE, "detail": detail, **extra}))

    def binding(self, binding: Binding) -> None:
        if binding.builtin:
            return
        obj = self.snapshot.get(binding.ref.kind, binding.ref.name, binding.ref.namespace)
        where = (lambda *p: obj.location_of(*p)) if obj is not None else (lambda *p: binding.location)
        base = {"resource": str(binding.ref), "binding": str(binding.ref), "role": str(binding.role),
                "scope": binding.scope}
        cluster_admin = binding.role.kind == "ClusterRole" and binding.role.name == "cluster-admin"
        if cluster_admin:
            holders = [s for s in binding.subjects if not (s.kind == "Group" and s.name == "system:masters")]
            if holders:
                self.finding(risk(CLUSTER_ADMIN), where("roleRef"), risk(CLUSTER_ADMIN).severity,
                             f"{', '.join(map(str, holders))} hold cluster-admin through {binding.ref}",
                             {**base, "subjects": ", ".join(map(str, holders))}, ", ".join(map(str, holders)))
        anonymous = [s for s in binding.subjects if s.name in (ANONYMOUS, UNAUTHENTICATED)]
        if anonymous and binding.role.name not in PUBLIC_ROLES:
            self.finding(risk(ANONYMOUS_SUBJECT), where("subjects"), risk(ANONYMOUS_SUBJECT).severity,
                         f"{', '.join(map(str, anonymous))} bound to {binding.role}",
                         {**base, "subjects": ", ".join(map(str, anonymous))}, ", ".join(map(str, anonymous)))
        if cluster_admin:
            return
        held = self.risks_of(binding)
        if ADMIN in held:  # full access: the narrower risks add nothing
            held = {ADMIN: held[ADMIN]}
        for position, subject in enumerate(binding.subjects):
            if subject.is_system:
                continue
            line = binding.subject_lines[position] if position < len(binding.subject_lines) else None
            location = obj.location_of("subjects", position) if obj is not None and line else where("subjects")
            for risk_id, rules in held.items():
                entry = risk(risk_id)
                severity = Severity.CRITICAL if subject.is_broad else entry.severity
                scope = "cluster-wide" if binding.scope == CLUSTER else f"in namespace {binding.scope}"
                self.finding(entry, location, severity,
                             f"{subject} {scope} via {binding.ref} -> {binding.role}: {describe(rules)}",
                             {**base, "subject": str(subject), "permissions": describe(rules)}, f"{subject} ({scope})")

    def workload(self, obj: KubeObject, sa_risks: dict[Subject, dict[str, list[str]]]) -> None:
        if self._owned(obj):
            return
        spec_path = POD_TEMPLATES[obj.kind][1]
        spec: Any = obj.data
        for key in spec_path:
            spec = spec.get(key) if isinstance(spec, dict) else None
        if not isinstance(spec, dict):
            return
        name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        if not isinstance(name, str):
            return
        subject = Subject("ServiceAccount", name, obj.namespace)
        automount = spec.get("automountServiceAccountToken")
        account = self.snapshot.get("ServiceAccount", name, obj.namespace)
        if automount is None and account is not None:
            automount = account.data.get("automountServiceAccountToken")
        if automount is False:
            return
        if subject not in sa_risks:
            sa_risks[subject] = self._account_risks(subject)
        held = sa_risks[subject]
        if not held:
            return
        entries = [risk(i) for i in held]
        severity = max(e.severity for e in entries)
        field_name = "serviceAccountName" if "serviceAccountName" in spec else "serviceAccount"
        location = obj.location_of(*spec_path, field_name) if field_name in spec else obj.location
        detail = "; ".join(f"{i} via {', '.join(sorted(set(b)))}" for i, b in held.items())
        self.finding(risk(MOUNTED), location, severity,
                     f"{obj.ref} runs as {subject} with its token mounted: {detail}",
                     {"resource": obj.ref, "workload": obj.ref, "subject": str(subject),
                      "service_account": f"{obj.namespace}/{name}", "risks": ", ".join(held)},
                     f"{obj.ref} as {subject}")

    def _owned(self, obj: KubeObject) -> bool:
        """Pods of a ReplicaSet, ReplicaSets of a Deployment...: the owner in the snapshot is reported instead."""
        owners = obj.metadata.get("ownerReferences")
        for owner in owners if isinstance(owners, list) else []:
            if isinstance(owner, dict) and owner.get("controller") and isinstance(owner.get("kind"), str) \
                    and self.snapshot.get(owner["kind"], str(owner.get("name")), obj.namespace) is not None:
                return True
        return False

    def _account_risks(self, subject: Subject) -> dict[str, list[str]]:
        held: dict[str, list[str]] = {}
        for grant in self.index.grants_for(subject):
            if grant.role.kind == "ClusterRole" and grant.role.name == "cluster-admin":
                held.setdefault(CLUSTER_ADMIN, []).append(str(grant.binding))
                continue
            for risk_id in rule_risks(grant.rules, grant.scope == CLUSTER):
                held.setdefault(risk_id, []).append(str(grant.binding))
        return held


def analyze(snapshot: ClusterSnapshot | RbacIndex) -> RbacAnalysis:
    """Every effective-access finding of a snapshot: bindings, then workloads' mounted service accounts."""
    index = snapshot if isinstance(snapshot, RbacIndex) else RbacIndex(snapshot)
    analyzer = _Analyzer(index)
    for binding in index.bindings:
        analyzer.binding(binding)
    sa_risks: dict[Subject, dict[str, list[str]]] = {}
    for obj in index.snapshot.of_kind(*POD_TEMPLATES):
        analyzer.workload(obj, sa_risks)
    findings = sorted(analyzer.findings, key=lambda f: (-f.severity, f.id, f.location.path if f.location else "",
                                                        (f.location.line or 0) if f.location else 0,
                                                        f.extra.get("subject", "")))
    return RbacAnalysis(findings, list(index.warnings), index)
