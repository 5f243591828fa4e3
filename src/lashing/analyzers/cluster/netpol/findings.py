"""Network-policy posture findings (kind CONFIG, ids `LSH-NETPOL-*`) over a NetworkModel.

| id | severity | when |
|---|---|---|
| LSH-NETPOL-NO-POLICY | MEDIUM | a namespace has workloads and no NetworkPolicy (implies the two below) |
| LSH-NETPOL-NO-DEFAULT-DENY-INGRESS | LOW | a namespace with policies has none isolating every pod for ingress |
| LSH-NETPOL-NO-DEFAULT-DENY-EGRESS | LOW | the same for egress |
| LSH-NETPOL-ALLOW-ALL-INGRESS | MEDIUM | a rule admits every peer, every port: `- {}`, or all pods of all namespaces |
| LSH-NETPOL-ALLOW-ALL-EGRESS | LOW | the same for egress |
| LSH-NETPOL-INGRESS-FROM-INTERNET | MEDIUM | every public IPv4 address may open a connection to the workload |
| LSH-NETPOL-EGRESS-TO-INTERNET | LOW | the workload may connect to every public IPv4 address |

A "default deny" is a policy with an empty podSelector that isolates the direction and has no allow-all rule
(it may allow specific peers: every pod is still isolated).
"""

from __future__ import annotations

from lashing.analyzers.cluster.netpol.engine import NetworkModel
from lashing.analyzers.cluster.netpol.ipspace import PUBLIC_V4, IPSet
from lashing.analyzers.cluster.netpol.objects import Policy, Rule, Workload
from lashing.model import Finding, FindingKind, Location, Severity

DOC = "https://kubernetes.io/docs/concepts/services-networking/network-policies/"


def _finding(id_: str, severity: Severity, title: str, description: str, location: Location | None,
             remediation: str, **extra: str) -> Finding:
    return Finding(id=id_, kind=FindingKind.CONFIG, severity=severity, title=title, description=description,
                   location=location, remediation=remediation, references=(DOC,), extra=extra)


def _allows_all(rule: Rule) -> str:
    """Why a rule admits every peer on every port ("" if it does not)."""
    if rule.ports is not None:
        return ""
    if rule.peers is None:
        return "an empty rule ({}) admits every pod of every namespace and every IP address on every port"
    for peer in rule.peers:
        if peer.namespaces is not None and peer.namespaces.is_empty and (peer.pods is None or peer.pods.is_empty):
            return "namespaceSelector {} admits every pod of every namespace on every port"
    return ""


def _default_deny(policy: Policy, ingress: bool) -> bool:
    if policy.selector is None or not policy.selector.is_empty:
        return False
    if not (policy.isolates_ingress if ingress else policy.isolates_egress):
        return False
    return not any(_allows_all(r) for r in (policy.ingress if ingress else policy.egress))


def _namespace_findings(model: NetworkModel) -> list[Finding]:
    out = []
    workloads: dict[str, list[Workload]] = {}
    for w in model.workloads:
        workloads.setdefault(w.namespace, []).append(w)
    policies: dict[str, list[Policy]] = {}
    for p in model.policies:
        policies.setdefault(p.namespace, []).append(p)
    for name, members in sorted(workloads.items()):
        ns = model.namespaces.get(name)
        location = (ns.location if ns is not None and ns.location else None) or members[0].location
        resource = f"Namespace/{name}"
        if not policies.get(name):
            out.append(_finding(
                "LSH-NETPOL-NO-POLICY", Severity.MEDIUM, f"Namespace {name} has no NetworkPolicy",
                f"{len(members)} workload(s) in {name} accept and open any connection: no NetworkPolicy "
                "isolates them, for ingress or egress.", location,
                "Add a default-deny NetworkPolicy (podSelector: {}, policyTypes: [Ingress, Egress]) and allow "
                "the flows the workloads need.", resource=resource, namespace=name))
            continue
        for ingress, direction in ((True, "ingress"), (False, "egress")):
            if not any(_default_deny(p, ingress) for p in policies[name]):
                open_ = [w.key for w in members if not model.policies_for(w, ingress)]
                out.append(_finding(
                    f"LSH-NETPOL-NO-DEFAULT-DENY-{direction.upper()}", Severity.LOW,
                    f"Namespace {name} has no default-deny {direction} policy",
                    f"No NetworkPolicy of {name} selects every pod for {direction}; {len(open_)} of "
                    f"{len(members)} workload(s) are not isolated for {direction}"
                    + (f" ({', '.join(open_[:5])}{', ...' if len(open_) > 5 else ''})." if open_ else "."),
                    location, f"Add a NetworkPolicy with podSelector: {{}} and policyTypes: [{direction.title()}].",
                    resource=resource, namespace=name))
    return out


def _policy_findings(model: NetworkModel) -> list[Finding]:
    out = []
    for policy in model.policies:
        for ingress, rules in ((True, policy.ingress), (False, policy.egress)):
            for rule in rules:
                why = _allows_all(rule)
                if not why:
                    continue
                direction = "ingress" if ingress else "egress"
                out.append(_finding(
                    f"LSH-NETPOL-ALLOW-ALL-{direction.upper()}", Severity.MEDIUM if ingress else Severity.LOW,
                    f"NetworkPolicy {policy.key} allows all {direction}",
                    f"{direction}[{rule.index}] of {policy.key}: {why}; it cancels the isolation of the pods "
                    f"it selects ({policy.selector}).", rule.location or policy.location,
                    "Name the peers (podSelector / namespaceSelector with labels) and ports this rule must admit.",
                    resource=f"NetworkPolicy/{policy.key}", namespace=policy.namespace, policy=policy.name))
    return out


def _internet_findings(model: NetworkModel) -> list[Finding]:
    out = []
    for w in model.workloads:
        for ingress in (True, False):
            reach: IPSet = model.external_ingress(w) if ingress else model.external_egress(w)
            if (PUBLIC_V4 - reach):
                continue
            if model.policies_for(w, ingress):
                sample = next(r for r in model.ip_ranges if r.version == 4 and PUBLIC_V4.overlaps(r)
                              and reach.covers(r))
                side = model.ingress(sample, w) if ingress else model.egress(w, sample)
                cause = f"allowed by {', '.join(side.allowed_by)}"
                first = next((p for p in model.policies if p.key in side.allowed_by), None)
                location = (first.location if first else None) or w.location
            else:
                cause = f"no NetworkPolicy isolates it for {'ingress' if ingress else 'egress'}"
                location = w.location
            if ingress:
                out.append(_finding(
                    "LSH-NETPOL-INGRESS-FROM-INTERNET", Severity.MEDIUM, f"{w.key} accepts connections from any IP",
                    f"Every public IPv4 address (0.0.0.0/0 outside private ranges) may connect to {w.key}: {cause}.",
                    location, "Isolate the workload for ingress and admit only the ipBlocks and peers it serves.",
                    resource=f"{w.kind}/{w.namespace}/{w.name}", namespace=w.namespace, workload=w.key))
            else:
                out.append(_finding(
                    "LSH-NETPOL-EGRESS-TO-INTERNET", Severity.LOW, f"{w.key} may connect to any IP",
                    f"{w.key} may open connections to every public IPv4 address: {cause}.", location,
                    "Isolate the workload for egress and allow only the destinations it needs (and DNS).",
                    resource=f"{w.kind}/{w.namespace}/{w.name}", namespace=w.namespace, workload=w.key))
    return out


def netpol_findings(model: NetworkModel) -> list[Finding]:
    """Every network-policy finding, sorted by severity (highest first), then resource."""
    findings = [*_namespace_findings(model), *_policy_findings(model), *_internet_findings(model)]
    findings.sort(key=lambda f: (-f.severity, f.extra.get("resource", ""), f.id))
    return findings
