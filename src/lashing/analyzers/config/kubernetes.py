"""Kubernetes manifests to targets: workloads (pod templates at any depth), RBAC, ConfigMaps, configs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from lashing.analyzers.config import controlplane, rbac
from lashing.analyzers.config.podspec import (
    CONTAINER_ROLES,
    INHERITED,
    all_containers,
    as_dict,
    as_list,
    normalize_pod_spec,
)
from lashing.analyzers.config.target import ContainerTarget, Target
from lashing.analyzers.config.yamldoc import Document

# kind -> path of the pod template's metadata and spec inside the object
POD_TEMPLATES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Pod": (("metadata",), ("spec",)),
    "PodTemplate": (("template", "metadata"), ("template", "spec")),
    "CronJob": (("spec", "jobTemplate", "spec", "template", "metadata"),
                ("spec", "jobTemplate", "spec", "template", "spec")),
    **{kind: (("spec", "template", "metadata"), ("spec", "template", "spec"))
       for kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job",
                    "DeploymentConfig")},  # DeploymentConfig: OpenShift's apps.openshift.io/v1
}
WORKLOAD_KINDS = frozenset(POD_TEMPLATES)


def _get(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        data = as_dict(data).get(key)
    return data


def resource_name(obj: dict[str, Any]) -> str:
    """`Kind/namespace/name` (namespace left out when absent), as findings' `extra.resource`."""
    meta = as_dict(obj.get("metadata"))
    parts = [str(obj.get("kind") or "?"), str(meta.get("namespace") or ""), str(meta.get("name") or "")]
    return "/".join(p for p in parts if p) if parts[1] else f"{parts[0]}/{parts[2]}"


def iter_objects(doc: Document) -> Iterator[tuple[dict[str, Any], tuple[Any, ...]]]:
    """Each Kubernetes object of a document with its path, expanding `List` kinds (and `*List`)."""
    data = doc.data
    if not isinstance(data, dict):
        return
    kind = data.get("kind")
    if isinstance(kind, str) and (kind == "List" or kind.endswith("List")) and isinstance(data.get("items"), list):
        for index, item in enumerate(data["items"]):
            if isinstance(item, dict) and isinstance(item.get("kind"), str):
                yield item, ("items", index)
        return
    if isinstance(data.get("kind"), str) and "apiVersion" in data:
        yield data, ()


_FIELD_PARTS: dict[str, tuple[str, ...]] = {}
_FIELD_PARTS_LIMIT = 10_000


def field_parts(field: str) -> tuple[str, ...]:
    """`a.b.c` -> ("a", "b", "c"), memoized: the fields asked are the catalog's and checks' few dozen."""
    parts = _FIELD_PARTS.get(field)
    if parts is None:
        parts = tuple(field.split("."))
        if len(_FIELD_PARTS) >= _FIELD_PARTS_LIMIT:
            _FIELD_PARTS.clear()
        _FIELD_PARTS[field] = parts
    return parts


def _field_line(doc: Document, prefix: tuple[Any, ...], fallback: int | None):
    def line(field: str) -> int | None:
        return doc.line_of(prefix + field_parts(field)) if field else fallback

    return line


def _container_field_line(doc: Document, prefix: tuple, pod_prefix: tuple, fallback: int | None):
    """Container field -> line; an inherited security field not set on the container points at the pod's."""
    lines_get = doc.lines.get

    def line(field: str) -> int | None:
        parts = _FIELD_PARTS.get(field) or field_parts(field)
        exact = lines_get(prefix + parts)
        if exact is not None:
            return exact
        if len(parts) < 2:
            return fallback
        if parts[0] == "securityContext" and parts[1] in INHERITED:
            pod_line = lines_get(pod_prefix + parts)
            if pod_line is not None:
                return pod_line
        for end in range(len(parts) - 1, 0, -1):  # doc.line_of(prefix + parts[:-1]), the fields' part first
            parent = lines_get(prefix + parts[:end])
            if parent is not None:
                return parent
        return doc.line_of(prefix)

    return line


Accounts = dict[tuple[str, str], bool]  # (namespace, name) -> the ServiceAccount's automountServiceAccountToken


def service_account_automount(docs: Iterable[Document]) -> Accounts:
    """ServiceAccounts defined in the same file that set automountServiceAccountToken: a pod that leaves
    the field unset inherits the account's value, as Kubernetes does."""
    found: Accounts = {}
    for doc in docs:
        for obj, _ in iter_objects(doc):
            value = obj.get("automountServiceAccountToken")
            if obj.get("kind") == "ServiceAccount" and isinstance(value, bool):
                meta = as_dict(obj.get("metadata"))
                found[(str(meta.get("namespace") or ""), str(meta.get("name") or ""))] = value
    return found


def workload_target(path: str, doc: Document, obj: dict[str, Any], prefix: tuple, accounts: Accounts | None = None
                    ) -> Target:
    """A pod-spec target for a workload object; `prefix` is where the object sits in the document."""
    kind = str(obj.get("kind"))
    meta_path, spec_path = POD_TEMPLATES[kind]
    template_meta = as_dict(_get(obj, meta_path))
    top_meta = as_dict(obj.get("metadata"))
    metadata = {**top_meta, "annotations": {**as_dict(top_meta.get("annotations")),
                                            **as_dict(template_meta.get("annotations"))}}
    raw_spec = _get(obj, spec_path)
    data = normalize_pod_spec(raw_spec, metadata, kind)
    spec = data["spec"]
    if spec["automountServiceAccountToken"] is None and accounts:
        account = (str(top_meta.get("namespace") or ""), spec["serviceAccountName"])
        spec["automountServiceAccountToken"] = accounts.get(account)
    spec_prefix = (*prefix, *spec_path)
    start = doc.lines.get(prefix) if prefix else doc.start_line
    containers = []
    raw_spec = as_dict(raw_spec)
    for field, _role in CONTAINER_ROLES:
        for index, raw in enumerate(as_list(raw_spec.get(field))):
            if isinstance(raw, dict):
                c_prefix = (*spec_prefix, field, index)
                containers.append((c_prefix, doc.lines.get(c_prefix, start)))
    normalized = all_containers(data)
    targets = [
        ContainerTarget(c["name"], c["role"], c, line,
                        _container_field_line(doc, c_prefix, spec_prefix, line))
        for c, (c_prefix, line) in zip(normalized, containers, strict=True)
    ]
    return Target(
        kind="pod-spec", path=path, resource=resource_name(obj), data=data, line=start,
        end_line=doc.end_line if not prefix else None,
        field_line=_field_line(doc, spec_prefix, start), containers=targets,
        annotations=metadata["annotations"],
    )


def targets_from_document(path: str, doc: Document, accounts: Accounts | None = None) -> Iterator[Target]:
    """Every target a document holds: workloads, RBAC, ConfigMaps, control-plane pods and configs
    (`accounts`: the ServiceAccounts of the same file, see service_account_automount)."""
    for obj, prefix in iter_objects(doc):
        kind = obj["kind"]  # a string: iter_objects yields nothing else (`kind: [..]` in a hostile file)
        start = doc.lines.get(prefix) if prefix else doc.start_line
        annotations = as_dict(as_dict(obj.get("metadata")).get("annotations"))
        field_line = _field_line(doc, prefix, start)
        if kind in WORKLOAD_KINDS:
            target = workload_target(path, doc, obj, prefix, accounts)
            yield target
            yield from controlplane.static_pod_targets(path, target, obj, doc, prefix, POD_TEMPLATES[kind][1])
        elif kind in rbac.KINDS:
            yield from rbac.targets(path, obj, start, field_line, annotations)
        elif kind == "ServiceAccount":
            value = obj.get("automountServiceAccountToken")
            yield Target("serviceaccount", path, resource_name(obj),
                         {"kind": kind, "metadata": as_dict(obj.get("metadata")),
                          "automountServiceAccountToken": value if isinstance(value, bool) else None},
                         start, None, field_line, annotations=annotations)
        elif kind == "ConfigMap":
            yield Target("configmap", path, resource_name(obj),
                         {"kind": kind, "metadata": as_dict(obj.get("metadata")), "data": as_dict(obj.get("data"))},
                         start, None, field_line, annotations=annotations)
        elif kind in controlplane.CONFIG_KINDS:
            yield controlplane.config_target(path, obj, start, field_line, annotations)
