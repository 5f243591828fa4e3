"""A cluster as data: every object indexed by kind, namespace and name, with the file and line it came from.

`load_snapshot` reads a directory of manifests or one file (YAML or JSON, multi-document, `List` and `*List`
kinds such as `kubectl get ... -o json` output or raw API list responses whose items carry no kind);
`write_snapshot` writes one file per kind. Secrets keep metadata and type only; no value is ever stored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lashing.analyzers.config.yamldoc import DocumentError, load_documents
from lashing.errors import UsageError
from lashing.model import Location

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_FILES = 20_000
MAX_OBJECTS = 500_000
MAX_CONFIGMAP_VALUE = 64 * 1024  # bytes of one ConfigMap value kept; longer values are cut
MAX_WARNINGS = 1_000
SUFFIXES = (".yaml", ".yml", ".json")
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", "vendor", "__pycache__"})
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
CLUSTER_SCOPED_KINDS = frozenset({
    "Namespace", "Node", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass",
    "CustomResourceDefinition", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "PriorityClass",
    "IngressClass", "RuntimeClass", "APIService", "CSIDriver", "CSINode", "CertificateSigningRequest",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "PodSecurityPolicy", "VolumeAttachment",
})
_LINE_DEPTH = 6  # key paths kept per object for locations: subjects.1, spec.template.spec.serviceAccountName

Key = tuple[str, str, str]  # (kind, namespace, name); namespace "" for cluster-scoped objects


@dataclass(frozen=True)
class KubeObject:
    """One Kubernetes object. `data` is the sanitized object; `lines` maps key paths inside it to lines."""

    kind: str
    name: str
    namespace: str = ""
    api_version: str = ""
    data: Mapping[str, Any] = field(default_factory=dict, hash=False)
    location: Location | None = field(default=None, compare=False)
    lines: Mapping[tuple[Any, ...], int] = field(default_factory=dict, compare=False, hash=False, repr=False)
    builtin: bool = field(default=False, compare=False)

    @property
    def key(self) -> Key:
        return (self.kind, self.namespace, self.name)

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.data.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def labels(self) -> dict[str, str]:
        labels = self.metadata.get("labels")
        return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}

    @property
    def ref(self) -> str:
        """`Kind/namespace/name`, or `Kind/name` for cluster-scoped objects."""
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"

    def location_of(self, *path: Any) -> Location | None:
        """The object's location narrowed to the line of `path` (its deepest recorded prefix)."""
        if self.location is None:
            return None
        for cut in range(min(len(path), _LINE_DEPTH), 0, -1):
            line = self.lines.get(tuple(path[:cut]))
            if line is not None:
                return Location(self.location.path, line=line, end_line=line)
        return self.location


@dataclass
class ClusterSnapshot:
    """Objects by kind, namespace and name; `warnings` lists what could not be read or was left out."""

    source: str = ""
    warnings: list[str] = field(default_factory=list)
    server_version: str = ""
    _by_kind: dict[str, dict[tuple[str, str], KubeObject]] = field(default_factory=dict, repr=False)

    def add(self, obj: KubeObject, *, replace: bool = True) -> bool:
        """Index `obj`; a second object with the same key replaces the first unless `replace` is false."""
        bucket = self._by_kind.setdefault(obj.kind, {})
        key = (obj.namespace, obj.name)
        if key in bucket and not replace:
            return False
        if len(self) >= MAX_OBJECTS and key not in bucket:
            self.warn(f"more than {MAX_OBJECTS} objects; {obj.ref} and later ones left out")
            return False
        bucket[key] = obj
        return True

    def drop_kind(self, kind: str) -> None:
        self._by_kind.pop(kind, None)

    def warn(self, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        elif len(self.warnings) == MAX_WARNINGS:
            self.warnings.append("too many warnings; the rest are left out")

    def get(self, kind: str, name: str, namespace: str = "") -> KubeObject | None:
        return self._by_kind.get(kind, {}).get((namespace, name))

    def of_kind(self, *kinds: str) -> list[KubeObject]:
        """Objects of these kinds, sorted by kind, namespace and name."""
        out = []
        for kind in kinds:
            bucket = self._by_kind.get(kind, {})
            out.extend(bucket[k] for k in sorted(bucket))
        return out

    @property
    def kinds(self) -> list[str]:
        return sorted(k for k, v in self._by_kind.items() if v)

    def __iter__(self) -> Iterator[KubeObject]:
        for kind in self.kinds:
            yield from self.of_kind(kind)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_kind.values())

    def canonical(self, builtin: bool = False) -> list[tuple[Key, Any]]:
        """Sorted (key, data) pairs: what two snapshots of the same objects share, wherever they came from."""
        return [(o.key, o.data) for o in self if builtin or not o.builtin]


def _str(value: Any, limit: int) -> str:
    return value if isinstance(value, str) and 0 < len(value) <= limit else ""


def sanitize(obj: dict[str, Any]) -> dict[str, Any]:
    """What a snapshot keeps of an object: no managedFields, Secrets without values, ConfigMap values bounded."""
    out = dict(obj)
    meta = dict(obj["metadata"]) if isinstance(obj.get("metadata"), dict) else {}
    meta.pop("managedFields", None)
    kind = obj.get("kind")
    if kind in ("Secret", "ConfigMap") and isinstance(meta.get("annotations"), dict):
        meta["annotations"] = {k: v for k, v in meta["annotations"].items() if k != LAST_APPLIED}
    out["metadata"] = meta
    if kind == "Secret":
        return {k: out[k] for k in ("apiVersion", "kind", "metadata", "type", "immutable") if k in out}
    if kind == "ConfigMap":
        if isinstance(out.get("data"), dict):
            out["data"] = {str(k): (v[:MAX_CONFIGMAP_VALUE] if isinstance(v, str) else v)
                           for k, v in out["data"].items()}
        if isinstance(out.get("binaryData"), dict):
            out["binaryData"] = dict.fromkeys(map(str, out["binaryData"]), "")
    return out


def to_object(raw: Any, location: Location | None = None, lines: Mapping[tuple[Any, ...], int] | None = None,
              builtin: bool = False) -> KubeObject | str:
    """A KubeObject from a decoded object, or a reason why it is not one."""
    if not isinstance(raw, dict):
        return "not a mapping"
    kind = _str(raw.get("kind"), 100)
    meta = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    name = _str(meta.get("name"), 253)
    if not kind or not name:
        return f"{kind or 'object'} without a valid kind and metadata.name"
    namespace = _str(meta.get("namespace"), 63)
    if kind in CLUSTER_SCOPED_KINDS:
        namespace = ""
    elif not namespace:
        namespace = "default"  # where `kubectl apply` puts a manifest that names none
    return KubeObject(kind, name, namespace, _str(raw.get("apiVersion"), 200), sanitize(raw), location,
                      lines or {}, builtin)


def _items(data: Any) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """Objects of a document with their key path: a `List`/`*List` gives its items, kind filled in."""
    if not isinstance(data, dict):
        return
    kind = data.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(data.get("items"), list):
        item_kind = kind[:-4] if kind != "List" else ""
        for index, item in enumerate(data["items"]):
            if isinstance(item, dict) and item_kind and "kind" not in item:  # raw API list: items carry no kind
                item = {"kind": item_kind, "apiVersion": data.get("apiVersion"), **item}
            yield item, ("items", index)
        return
    yield data, ()


def _bucket_lines(lines: Mapping[tuple[Any, ...], int]) -> dict[tuple[Any, ...], dict[tuple[Any, ...], int]]:
    """Document key-path lines grouped by object (top level, or `items[i]`) with paths relative to it."""
    out: dict[tuple[Any, ...], dict[tuple[Any, ...], int]] = {}
    for path, line in lines.items():
        if len(path) >= 2 and path[0] == "items" and isinstance(path[1], int):
            prefix, rel = path[:2], path[2:]
        else:
            prefix, rel = (), path
        if len(rel) <= _LINE_DEPTH:
            out.setdefault(prefix, {})[rel] = line
    return out


def _documents(path: str, text: str, snapshot: ClusterSnapshot) -> Iterator[tuple[Any, dict, int]]:
    """(data, lines, start line) per document; a bad document ends the file with a warning."""
    docs = load_documents(text)
    while True:
        try:
            doc = next(docs)
        except StopIteration:
            return
        except DocumentError as exc:
            if path.endswith(".json") and "too many nodes" in str(exc):  # a huge `-o json` List: no aliases in JSON
                try:
                    yield json.loads(text), {}, 1
                except (ValueError, RecursionError):
                    snapshot.warn(f"{path}: invalid JSON; skipped")
                return
            snapshot.warn(f"{path}:{exc.line}: {exc}" if exc.line else f"{path}: {exc}")
            return
        yield doc.data, doc.lines, doc.start_line


def add_text(snapshot: ClusterSnapshot, path: str, text: str) -> int:
    """Add every object of one file's text; returns how many were added."""
    added = 0
    for data, lines, start in _documents(path, text, snapshot):
        buckets = _bucket_lines(lines)
        for raw, prefix in _items(data):
            rel = buckets.get(prefix, {})
            line = lines.get(prefix, start) if prefix else start
            obj = to_object(raw, Location(path, line=line), rel)
            if isinstance(obj, str):
                if isinstance(raw, dict) and raw.get("kind") == "Status":
                    snapshot.warn(f"{path}:{line}: an API error response ({_one_line(raw.get('message'))}); skipped")
                elif isinstance(raw, dict) and ("kind" in raw or prefix):
                    snapshot.warn(f"{path}:{line}: {obj}; skipped")
                continue
            if snapshot.get(obj.kind, obj.name, obj.namespace) is not None:
                snapshot.warn(f"{path}:{line}: {obj.ref} appears twice; the later one is kept")
            added += snapshot.add(obj)
    return added


def _one_line(value: Any, limit: int = 200) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def iter_files(root: Path) -> Iterator[Path]:
    """YAML and JSON files under `root`, sorted; symlinks and VCS/vendor folders are not followed."""
    if root.is_file():
        yield root
        return
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            candidate = Path(folder) / name
            if name.endswith(SUFFIXES) and not name.startswith(".") and not candidate.is_symlink():
                yield candidate


def load_snapshot(path: str | os.PathLike[str], builtin: bool = True) -> ClusterSnapshot:
    """Read a directory of manifests (or one file) into a snapshot; unreadable parts become warnings.

    With `builtin`, the API server's bootstrap roles and bindings are added where the snapshot lacks them.
    """
    root = Path(path)
    if not root.exists():
        raise UsageError(f"no such file or directory: {root}")
    snapshot = ClusterSnapshot(source=str(root))
    for count, file in enumerate(iter_files(root)):
        if count >= MAX_FILES:
            snapshot.warn(f"{root}: more than {MAX_FILES} files; the rest are left out")
            break
        try:
            if file.stat().st_size > MAX_FILE_BYTES:
                snapshot.warn(f"{file}: larger than {MAX_FILE_BYTES} bytes; skipped")
                continue
            content = file.read_bytes()
        except OSError as exc:
            snapshot.warn(f"{file}: cannot read: {exc.strerror}")
            continue
        add_text(snapshot, str(file), content.decode("utf-8", errors="replace"))
    if builtin:
        add_builtin(snapshot)
    return snapshot


def add_builtin(snapshot: ClusterSnapshot) -> int:
    """Add the bootstrap ClusterRoles and ClusterRoleBindings the snapshot does not have itself."""
    from lashing.sources.cluster.bootstrap import builtin_objects

    return sum(snapshot.add(obj, replace=False) for obj in builtin_objects())


def file_name(kind: str) -> str:
    return "".join(c for c in kind if c.isalnum()) + ".yaml"


def write_snapshot(snapshot: ClusterSnapshot, directory: str | os.PathLike[str],
                   objects: Iterable[KubeObject] | None = None) -> list[Path]:
    """Write one multi-document YAML per kind (`ClusterRole.yaml`, ...); built-in objects are left out."""
    out = Path(directory)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {out}: {exc.strerror}") from None
    by_kind: dict[str, list[KubeObject]] = {}
    for obj in objects if objects is not None else snapshot:
        if not obj.builtin:
            by_kind.setdefault(obj.kind, []).append(obj)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    written = []
    for kind, objs in sorted(by_kind.items()):
        target = out / file_name(kind)
        tmp = target.with_name(f".{target.name}.partial")
        try:
            with open(tmp, "w", encoding="utf-8") as stream:
                yaml.dump_all([dict(o.data) for o in objs], stream, Dumper=dumper, sort_keys=False,
                              allow_unicode=True, width=4096)
            os.replace(tmp, target)
        except OSError as exc:
            raise UsageError(f"cannot write {target}: {exc.strerror}") from None
        finally:
            if tmp.exists():
                tmp.unlink()
        written.append(target)
    return written
