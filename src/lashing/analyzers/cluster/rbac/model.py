"""RBAC values: subjects, policy rules with the API server's matching semantics, bindings and grants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from lashing.model import Location

MAX_RULES = 5_000  # rules per role
MAX_ITEMS = 1_000  # entries per rule field
MAX_SUBJECTS = 5_000  # subjects per binding
CLUSTER = "cluster"  # the scope of a ClusterRoleBinding grant
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS = "system:anonymous"
ALL_SERVICE_ACCOUNTS = "system:serviceaccounts"
# Resources that exist outside namespaces: a RoleBinding can never grant them.
CLUSTER_SCOPED_RESOURCES = frozenset({
    "nodes", "nodes/proxy", "nodes/status", "nodes/metrics", "nodes/stats", "nodes/log", "namespaces",
    "namespaces/status", "namespaces/finalize", "persistentvolumes", "persistentvolumes/status", "clusterroles",
    "clusterrolebindings", "validatingwebhookconfigurations", "mutatingwebhookconfigurations",
    "validatingadmissionpolicies", "validatingadmissionpolicybindings", "certificatesigningrequests",
    "certificatesigningrequests/approval", "certificatesigningrequests/status", "signers",
    "customresourcedefinitions", "apiservices", "storageclasses", "priorityclasses", "ingressclasses",
    "runtimeclasses", "csidrivers", "csinodes", "volumeattachments", "podsecuritypolicies", "users", "groups",
    "uids", "userextras", "tokenreviews", "subjectaccessreviews", "selfsubjectaccessreviews",
    "selfsubjectrulesreviews", "selfsubjectreviews", "componentstatuses",
})


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return ()
    return tuple(dict.fromkeys(str(v) for v in value[:MAX_ITEMS] if isinstance(v, str | int | float)))


@dataclass(frozen=True)
class PolicyRule:
    """One rule of a Role or ClusterRole; fields keep the manifest's order, without duplicates."""

    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: Any) -> PolicyRule | None:
        if not isinstance(raw, dict):
            return None
        return cls(_strings(raw.get("verbs")), _strings(raw.get("apiGroups")), _strings(raw.get("resources")),
                   _strings(raw.get("resourceNames")), _strings(raw.get("nonResourceURLs")))

    def verb_matches(self, verb: str) -> bool:
        return "*" in self.verbs or verb in self.verbs

    def group_matches(self, group: str | None) -> bool:
        """`group` None means any group (a resource whose group the caller does not know)."""
        return "*" in self.api_groups or (group in self.api_groups if group is not None else bool(self.api_groups))

    def resource_matches(self, resource: str, subresource: str = "") -> bool:
        """`*`, the exact `resource[/subresource]`, or `*/subresource`; `pods/*` is not a wildcard to RBAC."""
        combined = f"{resource}/{subresource}" if subresource else resource
        for rule_resource in self.resources:
            if rule_resource in ("*", combined):
                return True
            if subresource and rule_resource == f"*/{subresource}":
                return True
        return False

    def name_matches(self, name: str | None) -> bool:
        """A rule with resourceNames only matches requests naming one of them (never list/create by collection)."""
        return not self.resource_names or (name is not None and name in self.resource_names)

    def allows(self, verb: str, group: str | None, resource: str, subresource: str = "", name: str | None = None) \
            -> bool:
        return (self.verb_matches(verb) and self.group_matches(group) and self.resource_matches(resource, subresource)
                and self.name_matches(name))

    def allows_url(self, verb: str, url: str) -> bool:
        if not self.verb_matches(verb):
            return False
        for rule_url in self.non_resource_urls:
            if rule_url in ("*", url) or (rule_url.endswith("*") and url.startswith(rule_url[:-1])):
                return True
        return False

    def to_dict(self) -> dict[str, list[str]]:
        out = {"verbs": list(self.verbs), "apiGroups": list(self.api_groups), "resources": list(self.resources),
               "resourceNames": list(self.resource_names), "nonResourceURLs": list(self.non_resource_urls)}
        return {k: v for k, v in out.items() if v}


@dataclass(frozen=True, order=True)
class Subject:
    """A binding subject: kind User, Group or ServiceAccount (namespace only for service accounts)."""

    kind: str
    name: str
    namespace: str = ""

    @property
    def username(self) -> str:
        """The user name the API server sees for this subject ('' for groups)."""
        if self.kind == "ServiceAccount":
            return f"system:serviceaccount:{self.namespace}:{self.name}"
        return self.name if self.kind == "User" else ""

    def groups(self) -> tuple[str, ...]:
        """Groups every request of this subject carries (service accounts' and users' implicit ones)."""
        if self.kind == "ServiceAccount":
            return (ALL_SERVICE_ACCOUNTS, f"{ALL_SERVICE_ACCOUNTS}:{self.namespace}", AUTHENTICATED)
        if self.kind == "User":
            return (UNAUTHENTICATED,) if self.name == ANONYMOUS else (AUTHENTICATED,)
        return ()

    @property
    def is_broad(self) -> bool:
        """Everyone, every authenticated user, or every service account (of a namespace)."""
        return (self.kind == "Group" and (self.name in (AUTHENTICATED, UNAUTHENTICATED)
                                          or self.name.startswith(ALL_SERVICE_ACCOUNTS))) \
            or (self.kind == "User" and self.name == ANONYMOUS)

    @property
    def is_system(self) -> bool:
        """A control-plane identity (system:masters, system:kube-scheduler, system:nodes ...), not a broad group."""
        return self.kind in ("User", "Group") and self.name.startswith("system:") and not self.is_broad

    def __str__(self) -> str:
        return f"{self.kind}:{self.namespace}/{self.name}" if self.namespace else f"{self.kind}:{self.name}"

    @classmethod
    def parse(cls, text: str) -> Subject:
        """`User:alice`, `Group:devs`, `ServiceAccount:ns/name` (or `ns:name`, or `system:serviceaccount:ns:name`)."""
        if text.startswith("system:serviceaccount:") and text.count(":") == 3:
            _, _, ns, name = text.split(":")
            return cls("ServiceAccount", name, ns)
        kind, _, rest = text.partition(":")
        kinds = {"user": "User", "group": "Group", "serviceaccount": "ServiceAccount", "sa": "ServiceAccount"}
        if kind.lower() not in kinds or not rest:
            raise ValueError(f"subject {text!r}: use User:NAME, Group:NAME or ServiceAccount:NAMESPACE/NAME")
        kind = kinds[kind.lower()]
        if kind == "ServiceAccount":
            ns, sep, name = rest.replace(":", "/", 1).partition("/")
            if not sep or not ns or not name:
                raise ValueError(f"subject {text!r}: a service account is ServiceAccount:NAMESPACE/NAME")
            return cls(kind, name, ns)
        return cls(kind, rest)


@dataclass(frozen=True)
class Ref:
    """A role or binding: kind, name and namespace ('' for cluster-scoped ones)."""

    kind: str
    name: str
    namespace: str = ""

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class Binding:
    """A RoleBinding or ClusterRoleBinding with its role resolved (rules after aggregation)."""

    ref: Ref
    role: Ref
    subjects: tuple[Subject, ...]
    rules: tuple[PolicyRule, ...]
    location: Location | None = None
    builtin: bool = False
    role_builtin: bool = False
    subject_lines: tuple[int | None, ...] = ()

    @property
    def scope(self) -> str:
        return CLUSTER if self.ref.kind == "ClusterRoleBinding" else self.ref.namespace

    @property
    def effective_rules(self) -> tuple[PolicyRule, ...]:
        """Rules that can take effect at this scope: a RoleBinding grants no non-resource URL."""
        if self.scope == CLUSTER:
            return self.rules
        return tuple(r for r in self.rules if r.resources)


@dataclass(frozen=True)
class Grant:
    """Access a subject holds: through `role`, bound by `binding`, in `scope` (a namespace or 'cluster')."""

    subject: Subject
    role: Ref
    binding: Ref
    scope: str
    rules: tuple[PolicyRule, ...] = ()
    location: Location | None = None
    builtin: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "subject": {"kind": self.subject.kind, "name": self.subject.name,
                        **({"namespace": self.subject.namespace} if self.subject.namespace else {})},
            "role": str(self.role), "binding": str(self.binding), "scope": self.scope,
            "rules": [r.to_dict() for r in self.rules], "builtin": self.builtin,
        }
        if self.location is not None:
            out["location"] = f"{self.location.path}:{self.location.line}" if self.location.line else \
                self.location.path
        return out


class Permission(NamedTuple):
    """One expanded permission: a verb on a resource (group, resource[/sub], name or '') or a URL, in a scope."""

    scope: str
    verb: str
    api_group: str = ""
    resource: str = ""
    resource_name: str = ""
    url: str = ""
