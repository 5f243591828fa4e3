"""RBAC objects normalized for CEL: every rule field a lower-cased list, bindings' subjects complete."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from lashing.analyzers.config.podspec import as_dict, as_list, as_str
from lashing.analyzers.config.target import FieldLine, Target

ROLE_KINDS = frozenset({"Role", "ClusterRole"})
BINDING_KINDS = frozenset({"RoleBinding", "ClusterRoleBinding"})
KINDS = ROLE_KINDS | BINDING_KINDS
_RULE_FIELDS = ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs")


def _strings(value: Any, lower: bool) -> list[str]:
    items = [str(v) for v in as_list(value) if v is not None]
    return [v.lower() for v in items] if lower else items


def normalize_role(obj: dict[str, Any]) -> dict[str, Any]:
    """{kind, metadata, rules: [{apiGroups, resources, verbs, resourceNames, nonResourceURLs}]}.

    Resources are lower-cased (they are case-insensitive in practice), verbs too; apiGroups keep "".
    """
    rules = []
    for raw in as_list(obj.get("rules")):
        raw = as_dict(raw)
        rules.append({f: _strings(raw.get(f), lower=f in ("resources", "verbs")) for f in _RULE_FIELDS})
    return {"kind": obj.get("kind"), "metadata": _metadata(obj), "rules": rules}


def normalize_binding(obj: dict[str, Any]) -> dict[str, Any]:
    """{kind, metadata, roleRef: {kind, name}, subjects: [{kind, name, namespace}]}."""
    ref = as_dict(obj.get("roleRef"))
    subjects = [{"kind": as_str(s.get("kind")) or "", "name": as_str(s.get("name")) or "",
                 "namespace": as_str(s.get("namespace")) or ""}
                for s in as_list(obj.get("subjects")) if isinstance(s, dict)]
    return {"kind": obj.get("kind"), "metadata": _metadata(obj),
            "roleRef": {"kind": as_str(ref.get("kind")) or "", "name": as_str(ref.get("name")) or ""},
            "subjects": subjects}


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    meta = as_dict(obj.get("metadata"))
    return {"name": as_str(meta.get("name")) or "", "namespace": as_str(meta.get("namespace"))}


def targets(path: str, obj: dict[str, Any], line: int | None, field_line: FieldLine,
            annotations: Mapping[str, Any]) -> Iterator[Target]:
    """One rbac-role or rbac-binding target."""
    from lashing.analyzers.config.kubernetes import resource_name

    kind = obj.get("kind")
    if kind in ROLE_KINDS:
        yield Target("rbac-role", path, resource_name(obj), normalize_role(obj), line, None, field_line,
                     annotations=annotations)
    elif kind in BINDING_KINDS:
        yield Target("rbac-binding", path, resource_name(obj), normalize_binding(obj), line, None, field_line,
                     annotations=annotations)
