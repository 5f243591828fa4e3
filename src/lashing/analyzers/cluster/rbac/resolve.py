"""Effective RBAC: roles after aggregation, bindings resolved, grants per subject, and who-can queries.

Semantics follow the API server's RBAC authorizer: a ClusterRoleBinding grants its ClusterRole everywhere,
a RoleBinding grants its Role or ClusterRole in its own namespace only (never cluster-scoped resources nor
non-resource URLs); an aggregated ClusterRole holds the rules of every ClusterRole its label selectors
pick, recursively (what the aggregation controller converges to). Subjects match by user name
(`system:serviceaccount:NS:NAME` for service accounts) or by group, implicit groups included.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from lashing.analyzers.cluster.rbac.model import (
    CLUSTER,
    CLUSTER_SCOPED_RESOURCES,
    MAX_RULES,
    MAX_SUBJECTS,
    Binding,
    Grant,
    Permission,
    PolicyRule,
    Ref,
    Subject,
)
from lashing.sources.cluster.snapshot import ClusterSnapshot, KubeObject

# resource -> API group, for who-can queries that name no group (as kubectl would resolve them)
WELL_KNOWN_GROUPS: dict[str, str] = {
    **dict.fromkeys(("pods", "secrets", "configmaps", "services", "serviceaccounts", "nodes", "namespaces",
                     "endpoints", "events", "persistentvolumes", "persistentvolumeclaims", "replicationcontrollers",
                     "limitranges", "resourcequotas", "podtemplates", "bindings", "componentstatuses", "users",
                     "groups"), ""),
    **dict.fromkeys(("deployments", "daemonsets", "statefulsets", "replicasets", "controllerrevisions"), "apps"),
    **dict.fromkeys(("jobs", "cronjobs"), "batch"),
    **dict.fromkeys(("roles", "clusterroles", "rolebindings", "clusterrolebindings"), "rbac.authorization.k8s.io"),
    **dict.fromkeys(("networkpolicies", "ingresses", "ingressclasses"), "networking.k8s.io"),
    **dict.fromkeys(("validatingwebhookconfigurations", "mutatingwebhookconfigurations",
                     "validatingadmissionpolicies", "validatingadmissionpolicybindings"),
                    "admissionregistration.k8s.io"),
    **dict.fromkeys(("certificatesigningrequests", "signers"), "certificates.k8s.io"),
    **dict.fromkeys(("tokenreviews", "selfsubjectreviews"), "authentication.k8s.io"),
    **dict.fromkeys(("subjectaccessreviews", "selfsubjectaccessreviews", "localsubjectaccessreviews",
                     "selfsubjectrulesreviews"), "authorization.k8s.io"),
    "customresourcedefinitions": "apiextensions.k8s.io", "horizontalpodautoscalers": "autoscaling",
    "poddisruptionbudgets": "policy", "leases": "coordination.k8s.io", "endpointslices": "discovery.k8s.io",
    "storageclasses": "storage.k8s.io", "csidrivers": "storage.k8s.io", "csinodes": "storage.k8s.io",
    "volumeattachments": "storage.k8s.io", "priorityclasses": "scheduling.k8s.io", "runtimeclasses": "node.k8s.io",
    "apiservices": "apiregistration.k8s.io",
}


def selector_matches(selector: Any, labels: dict[str, str]) -> bool:
    """A metav1.LabelSelector: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist); {} matches all."""
    if not isinstance(selector, dict):
        return False
    match_labels = selector.get("matchLabels")
    if isinstance(match_labels, dict) and any(labels.get(str(k)) != str(v) for k, v in match_labels.items()):
        return False
    expressions = selector.get("matchExpressions")
    for expr in expressions if isinstance(expressions, list) else []:
        if not isinstance(expr, dict):
            return False
        key, op = str(expr.get("key")), expr.get("operator")
        values = [str(v) for v in expr.get("values") or []] if isinstance(expr.get("values"), list) else []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def _principal(subject: Subject) -> tuple[str, str]:
    """What a binding subject matches on: a user name (service accounts are users) or a group name."""
    return ("group", subject.name) if subject.kind == "Group" else ("user", subject.username)


class RbacIndex:
    """Roles, aggregated rules and bindings of one snapshot, resolved once; `warnings` lists broken references."""

    def __init__(self, snapshot: ClusterSnapshot) -> None:
        self.snapshot = snapshot
        self.warnings: list[str] = []
        self.cluster_roles = {o.name: o for o in snapshot.of_kind("ClusterRole")}
        self.roles = {(o.namespace, o.name): o for o in snapshot.of_kind("Role")}
        self._own: dict[str, tuple[PolicyRule, ...]] = {}
        self._aggregated: dict[str, tuple[PolicyRule, ...]] = {}
        self._selected = self._selection_graph()
        self.bindings = [b for b in map(self._binding, snapshot.of_kind("ClusterRoleBinding", "RoleBinding")) if b]
        self._by_principal: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for index, binding in enumerate(self.bindings):
            for position, subject in enumerate(binding.subjects):
                self._by_principal.setdefault(_principal(subject), []).append((index, position))

    # roles ---------------------------------------------------------------------------------------------
    def _rules_of(self, obj: KubeObject) -> tuple[PolicyRule, ...]:
        raw = obj.data.get("rules")
        if raw is not None and not isinstance(raw, list):
            self.warnings.append(f"{obj.ref}: rules is not a list; treated as empty")
            return ()
        raw = raw or []
        if len(raw) > MAX_RULES:
            self.warnings.append(f"{obj.ref}: more than {MAX_RULES} rules; the rest are ignored")
        rules = []
        for item in raw[:MAX_RULES]:
            rule = PolicyRule.parse(item)
            if rule is None:
                self.warnings.append(f"{obj.ref}: a rule that is not a mapping; ignored")
            else:
                rules.append(rule)
        return tuple(dict.fromkeys(rules))

    def _selection_graph(self) -> dict[str, list[str]]:
        graph: dict[str, list[str]] = {}
        labelled = [(name, obj.labels) for name, obj in self.cluster_roles.items() if obj.labels]
        for name, obj in self.cluster_roles.items():
            rule = obj.data.get("aggregationRule")
            if not isinstance(rule, dict):
                continue
            selectors = rule.get("clusterRoleSelectors")
            selectors = selectors if isinstance(selectors, list) else []
            graph[name] = [other for other, labels in labelled
                           if other != name and any(selector_matches(s, labels) for s in selectors)]
        return graph

    def own_rules(self, name: str) -> tuple[PolicyRule, ...]:
        if name not in self._own:
            self._own[name] = self._rules_of(self.cluster_roles[name])
        return self._own[name]

    def cluster_role_rules(self, name: str) -> tuple[PolicyRule, ...] | None:
        """A ClusterRole's rules with aggregation resolved; None when there is no such role."""
        if name not in self.cluster_roles:
            return None
        if name not in self._selected:
            return self.own_rules(name)
        if name not in self._aggregated:
            seen, stack, rules = {name}, [name], list(self.own_rules(name))
            while stack:
                for other in self._selected.get(stack.pop(), ()):
                    if other not in seen:
                        seen.add(other)
                        stack.append(other)
                        rules.extend(self.own_rules(other))
            self._aggregated[name] = tuple(dict.fromkeys(rules))
        return self._aggregated[name]

    def role_rules(self, ref: Ref) -> tuple[PolicyRule, ...] | None:
        if ref.kind == "ClusterRole":
            return self.cluster_role_rules(ref.name)
        obj = self.roles.get((ref.namespace, ref.name))
        return self._rules_of(obj) if obj is not None else None

    # bindings ------------------------------------------------------------------------------------------
    def _binding(self, obj: KubeObject) -> Binding | None:
        ref = Ref(obj.kind, obj.name, obj.namespace)
        role_ref = obj.data.get("roleRef")
        if not isinstance(role_ref, dict) or not isinstance(role_ref.get("name"), str):
            self.warnings.append(f"{ref}: no valid roleRef; ignored")
            return None
        role_kind = role_ref.get("kind")
        if role_kind not in ("Role", "ClusterRole") or (ref.kind == "ClusterRoleBinding" and role_kind == "Role"):
            self.warnings.append(f"{ref}: roleRef kind {role_kind!r} is not valid here; ignored")
            return None
        role = Ref(role_kind, role_ref["name"], obj.namespace if role_kind == "Role" else "")
        rules = self.role_rules(role)
        if rules is None:
            self.warnings.append(f"{ref}: refers to {role}, which the snapshot does not hold; it grants nothing")
            rules = ()
        subjects, lines = [], []
        raw_subjects = obj.data.get("subjects")
        for position, raw in enumerate(raw_subjects[:MAX_SUBJECTS] if isinstance(raw_subjects, list) else []):
            subject = self._subject(ref, raw)
            if subject is not None:
                subjects.append(subject)
                lines.append(obj.lines.get(("subjects", position)))
        role_obj = self.cluster_roles.get(role.name) if role.kind == "ClusterRole" else \
            self.roles.get((role.namespace, role.name))
        return Binding(ref, role, tuple(subjects), rules, obj.location, obj.builtin,
                       role_obj is not None and role_obj.builtin, tuple(lines))

    def _subject(self, ref: Ref, raw: Any) -> Subject | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
            self.warnings.append(f"{ref}: a subject without a name; ignored")
            return None
        kind = raw.get("kind")
        if kind == "ServiceAccount":
            namespace = raw.get("namespace") if isinstance(raw.get("namespace"), str) and raw["namespace"] else \
                ref.namespace  # a RoleBinding's service account defaults to the binding's namespace
            if not namespace:
                self.warnings.append(f"{ref}: service account {raw['name']!r} without a namespace; ignored")
                return None
            return Subject("ServiceAccount", raw["name"], namespace)
        if kind in ("User", "Group"):
            return Subject(kind, raw["name"])
        self.warnings.append(f"{ref}: subject kind {kind!r} is not User, Group or ServiceAccount; ignored")
        return None

    # queries -------------------------------------------------------------------------------------------
    def grants_for(self, subject: Subject, groups: Iterable[str] = ()) -> list[Grant]:
        """Every binding that applies to `subject` (directly, by user name, or through its groups)."""
        principals = {_principal(subject)} if subject.kind != "Group" else {("group", subject.name)}
        principals |= {("group", g) for g in (*subject.groups(), *groups)}
        out = []
        for principal in sorted(principals):
            for index, position in self._by_principal.get(principal, ()):
                binding = self.bindings[index]
                out.append(self._grant(binding, position, binding.effective_rules))
        return sorted(out, key=_grant_key)

    def _grant(self, binding: Binding, position: int, rules: tuple[PolicyRule, ...]) -> Grant:
        line = binding.subject_lines[position] if position < len(binding.subject_lines) else None
        location = binding.location
        if location is not None and line is not None:
            location = replace(location, line=line, end_line=line)
        return Grant(binding.subjects[position], binding.role, binding.ref, binding.scope, rules, location,
                     binding.builtin)

    def who_can(self, verb: str, resource: str, namespace: str | None = None, subresource: str | None = None,
                api_group: str | None = None, name: str | None = None) -> list[Grant]:
        """Every (subject, binding) allowed `verb` on `resource` (`pods/exec`, `deployments.apps`, `/metrics`)."""
        verb = verb.strip()
        if resource.startswith("/"):
            return self._who_can_url(verb, resource)
        base, sub, group = parse_resource(resource)
        subresource = subresource if subresource is not None else sub
        api_group = api_group if api_group is not None else group
        if api_group is None:
            api_group = WELL_KNOWN_GROUPS.get(base)
        combined = f"{base}/{subresource}" if subresource else base
        cluster_scoped = combined in CLUSTER_SCOPED_RESOURCES or base in CLUSTER_SCOPED_RESOURCES
        out = []
        for binding in self.bindings:
            if binding.scope != CLUSTER and (cluster_scoped or (namespace is not None and
                                                                binding.scope != namespace)):
                continue
            matched = tuple(r for r in binding.effective_rules
                            if r.allows(verb, api_group, base, subresource or "", name))
            if matched:
                out.extend(self._grant(binding, i, matched) for i in range(len(binding.subjects)))
        return sorted(out, key=_grant_key)

    def _who_can_url(self, verb: str, url: str) -> list[Grant]:
        out = []
        for binding in self.bindings:
            if binding.scope == CLUSTER:
                matched = tuple(r for r in binding.rules if r.allows_url(verb, url))
                if matched:
                    out.extend(self._grant(binding, i, matched) for i in range(len(binding.subjects)))
        return sorted(out, key=_grant_key)


def _grant_key(grant: Grant) -> tuple:
    return (grant.subject, grant.scope, str(grant.binding), str(grant.role))


def parse_resource(text: str) -> tuple[str, str, str | None]:
    """`deployments.apps/scale` -> ("deployments", "scale", "apps"); group None when the text names none."""
    head, _, sub = text.strip().partition("/")
    base, dot, group = head.partition(".")
    return base, sub, (group if dot else None)


def permission_set(grants: Iterable[Grant]) -> frozenset[Permission]:
    """Grants expanded to single permissions; cluster-scoped resources granted by a RoleBinding are dropped."""
    out: set[Permission] = set()
    for grant in grants:
        for rule in grant.rules:
            if rule.non_resource_urls and grant.scope == CLUSTER:
                out.update(Permission(CLUSTER, v, url=u) for v in rule.verbs for u in rule.non_resource_urls)
            for resource in rule.resources:
                if grant.scope != CLUSTER and resource in CLUSTER_SCOPED_RESOURCES:
                    continue
                out.update(Permission(grant.scope, v, g, resource, n)
                           for v in rule.verbs for g in rule.api_groups for n in (rule.resource_names or ("",)))
    return frozenset(out)


def who_can(snapshot: ClusterSnapshot | RbacIndex, verb: str, resource: str, namespace: str | None = None,
            subresource: str | None = None, api_group: str | None = None, name: str | None = None) -> list[Grant]:
    """Who may `verb` `resource` (in `namespace`, or anywhere when None); see RbacIndex.who_can."""
    index = snapshot if isinstance(snapshot, RbacIndex) else RbacIndex(snapshot)
    return index.who_can(verb, resource, namespace, subresource, api_group, name)


def effective_permissions(snapshot: ClusterSnapshot | RbacIndex, subject: Subject,
                          groups: Iterable[str] = ()) -> frozenset[Permission]:
    """Every permission `subject` holds (with its implicit groups and `groups`), expanded."""
    index = snapshot if isinstance(snapshot, RbacIndex) else RbacIndex(snapshot)
    return permission_set(index.grants_for(subject, groups))
