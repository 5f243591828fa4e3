"""Cluster objects through the configuration rule catalog: pod templates, ConfigMaps, control-plane pods and configs.

Each object becomes a `Document` (its data, and the line of every key path) handed to the config scanner's own
target builder (`kubernetes.targets_from_document`) and engine (`evaluate`), so a cluster object gets exactly the
rules, lines and annotation suppressions a manifest file gets. Snapshot objects keep lines only six keys deep; when
the object's file is still readable, it is parsed once more for exact lines (`privileged: true`, a flag's item).

RBAC targets are left to the RBAC analyzer (effective access through bindings and aggregation, same rule ids).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping
from typing import Any

from lashing.analyzers.config import controlplane, kubernetes
from lashing.analyzers.config.engine import Settings, evaluate, to_finding
from lashing.analyzers.config.podspec import as_dict, as_list
from lashing.analyzers.config.suppress import annotation_ids, is_suppressed
from lashing.analyzers.config.target import Target
from lashing.analyzers.config.yamldoc import Document, DocumentError, load_documents
from lashing.model import Finding
from lashing.sources.cluster import ClusterSnapshot, KubeObject
from lashing.sources.cluster.snapshot import CLUSTER_SCOPED_KINDS, MAX_FILE_BYTES

WORKLOAD_KINDS = kubernetes.WORKLOAD_KINDS
CONTROLLER_KINDS = frozenset(WORKLOAD_KINDS) - {"Pod", "PodTemplate"}
# Target kinds taken from the config scanner; rbac-role / rbac-binding are the RBAC analyzer's.
TARGET_KINDS = frozenset({"pod-spec", "configmap", "apiserver", "etcd", "controller-manager", "scheduler", "kubelet",
                          "encryption-config"})
CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")
Lines = dict[tuple[Any, ...], int]


def owned(obj: KubeObject, snapshot: ClusterSnapshot) -> bool:
    """A Pod of a ReplicaSet, a ReplicaSet of a Deployment...: its controller in the snapshot is reported instead.

    Mirror pods of static pods are owned by their Node: they stay (they are the control plane's manifests)."""
    owners = obj.metadata.get("ownerReferences")
    for owner in owners if isinstance(owners, list) else []:
        if isinstance(owner, dict) and owner.get("controller") and owner.get("kind") in CONTROLLER_KINDS \
                and snapshot.get(str(owner["kind"]), str(owner.get("name")), obj.namespace) is not None:
            return True
    return False


class FileLines:
    """Full-depth key-path lines of the objects of a snapshot's files, read once per file."""

    def __init__(self) -> None:
        self._files: dict[str, dict[tuple[str, str, str], Lines]] = {}

    def of(self, obj: KubeObject) -> Lines | None:
        if obj.location is None or obj.builtin:
            return None
        path = obj.location.path
        if path not in self._files:
            self._files[path] = self._read(path)
        return self._files[path].get(obj.key)

    @staticmethod
    def _read(path: str) -> dict[tuple[str, str, str], Lines]:
        out: dict[tuple[str, str, str], Lines] = {}
        try:
            if not os.path.isfile(path) or os.path.getsize(path) > MAX_FILE_BYTES:
                return out
            with open(path, "rb") as stream:
                text = stream.read().decode("utf-8", errors="replace")
        except OSError:
            return out
        try:
            for doc in load_documents(text):
                _index(doc, out)
        except DocumentError:
            pass  # the snapshot loader already warned; keep what was read
        return out


def _index(doc: Document, out: dict[tuple[str, str, str], Lines]) -> None:
    data = doc.data
    if not isinstance(data, dict):
        return
    kind = data.get("kind")
    buckets: dict[tuple[Any, ...], Lines] = {}
    if isinstance(kind, str) and kind.endswith("List") and isinstance(data.get("items"), list):
        for path, line in doc.lines.items():
            if len(path) >= 2 and path[0] == "items" and isinstance(path[1], int):
                buckets.setdefault(path[:2], {})[path[2:]] = line
        item_kind = kind[:-4]
        items = [(item, ("items", i)) for i, item in enumerate(data["items"]) if isinstance(item, dict)]
    else:
        buckets[()] = dict(doc.lines)
        item_kind, items = "", [(data, ())]
    for item, prefix in items:
        meta = as_dict(item.get("metadata"))
        item_k = item.get("kind") or item_kind
        name = meta.get("name")
        if not isinstance(item_k, str) or not isinstance(name, str):
            continue
        namespace = "" if item_k in CLUSTER_SCOPED_KINDS else str(meta.get("namespace") or "default")
        out[(item_k, namespace, name)] = buckets.get(prefix, {})


def document(obj: KubeObject, lines: Lines | None) -> Document:
    lines = dict(lines if lines is not None else obj.lines)
    start = obj.location.line if obj.location and obj.location.line else 1
    return Document(dict(obj.data), lines, start, max([start, *lines.values()]))


def _kubelet_targets(obj: KubeObject, path: str) -> Iterator[Target]:
    """kubeadm's `kube-system/kubelet-config[-1.xx]` ConfigMap: the KubeletConfiguration every node starts with."""
    if obj.kind != "ConfigMap" or obj.namespace != "kube-system" or not obj.name.startswith("kubelet-config"):
        return
    text = as_dict(obj.data.get("data")).get("kubelet")
    if not isinstance(text, str):
        return
    try:
        docs = [d for d in load_documents(text) if isinstance(d.data, dict)]
    except DocumentError:
        return
    for doc in docs[:1]:
        line = obj.location_of("data", "kubelet").line if obj.location_of("data", "kubelet") else None
        target = controlplane.config_target(path, {**doc.data, "kind": "KubeletConfiguration"}, line,
                                            lambda _field, line=line: line, {})
        target.resource = obj.ref
        yield target


def object_targets(obj: KubeObject, lines: Lines | None,
                   accounts: kubernetes.Accounts | None = None) -> Iterator[Target]:
    path = obj.location.path if obj.location else obj.ref
    doc = document(obj, lines)
    for target in kubernetes.targets_from_document(path, doc, accounts):
        if target.kind in TARGET_KINDS:
            target.resource = obj.ref
            yield target
    yield from _kubelet_targets(obj, path)


def _finding(obj: KubeObject, hit_finding: Finding, images: Mapping[str, str]) -> Finding:
    extra = {**hit_finding.extra, "resource": obj.ref, "namespace": obj.namespace, "kind_name": obj.kind}
    if obj.kind in WORKLOAD_KINDS:
        extra["workload"] = obj.ref
    container = extra.get("container")
    if container and container in images:
        extra["image"] = images[container]
    return dataclasses.replace(hit_finding, extra=extra)


def container_images(obj: KubeObject) -> dict[str, str]:
    """Container name -> image of a workload's pod template (init and ephemeral containers included)."""
    if obj.kind not in WORKLOAD_KINDS:
        return {}
    spec: Any = obj.data
    for key in kubernetes.POD_TEMPLATES[obj.kind][1]:
        spec = as_dict(spec).get(key)
    out = {}
    for field in CONTAINER_FIELDS:
        for raw in as_list(as_dict(spec).get(field)):
            raw = as_dict(raw)
            if isinstance(raw.get("name"), str) and isinstance(raw.get("image"), str) and raw["image"].strip():
                out[raw["name"]] = raw["image"].strip()
    return out


def config_findings(snapshot: ClusterSnapshot, settings: Settings | None = None,
                    scopes: set[str] | None = None) -> list[Finding]:
    """Every config-rule finding of the snapshot's workloads, ConfigMaps and control-plane objects."""
    settings = settings or Settings()
    file_lines = FileLines()
    out: list[Finding] = []
    kinds = sorted(WORKLOAD_KINDS | {"ConfigMap"} | controlplane.CONFIG_KINDS)
    accounts = kubernetes.service_account_automount(
        document(sa, {}) for sa in snapshot.of_kind("ServiceAccount") if not sa.builtin)
    for obj in snapshot.of_kind(*kinds):
        if obj.builtin or (obj.kind in WORKLOAD_KINDS and owned(obj, snapshot)):
            continue
        images = container_images(obj)
        for target in object_targets(obj, file_lines.of(obj), accounts):
            if scopes is not None:
                scopes.add(target.kind)
            ignored = annotation_ids(target.annotations)
            for hit in evaluate(target, settings):
                if is_suppressed(hit.rule, ignored):
                    continue
                out.append(_finding(obj, to_finding(hit), images))
    return out


def image_references(snapshot: ClusterSnapshot) -> dict[str, list[str]]:
    """Image reference -> the workloads (`Kind/namespace/name`) running it, for later `lashing image` scans."""
    out: dict[str, set[str]] = {}
    for obj in snapshot.of_kind(*sorted(WORKLOAD_KINDS)):
        if obj.builtin or owned(obj, snapshot):
            continue
        for image in container_images(obj).values():
            out.setdefault(image, set()).add(obj.ref)
    return {image: sorted(refs) for image, refs in sorted(out.items())}
