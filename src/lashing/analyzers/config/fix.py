"""`--fix`: hardening patches for Kubernetes workloads, built from configuration findings.

For each workload with fixable findings (securityContext and resources rules, below) two forms:

* a strategic-merge patch (`kubectl patch KIND NAME --type strategic --patch-file P`): the pod template's
  container lists keyed by container `name`, with only the fields to set; it works for rendered sources
  (Helm, Kustomize) too, where there is no plain file to edit;
* for plain YAML manifests, a unified diff against the file (`patch FILE < FILE.lashing-fix.patch`). The
  changed *document* is re-serialized, so comments and formatting inside it are not kept (other documents
  of the file are untouched); the diff shows exactly what changes.

`capabilities.drop` becomes `[ALL]` (a superset of any drop list). Resource values are placeholders to
tune (limits default to an existing request, so a limit is never below its request).
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lashing.analyzers.config.kubernetes import POD_TEMPLATES, iter_objects, resource_name
from lashing.analyzers.config.yamldoc import DocumentError, load_documents
from lashing.model import Finding

PLACEHOLDERS = {("limits", "cpu"): "500m", ("limits", "memory"): "256Mi",
                ("requests", "cpu"): "100m", ("requests", "memory"): "128Mi"}
SECURITY_FIXES: dict[str, dict[str, Any]] = {
    "LSH-K8S-PRIVILEGED": {"privileged": False},
    "LSH-K8S-PRIV-ESCALATION": {"allowPrivilegeEscalation": False},
    "LSH-K8S-RUN-AS-ROOT": {"runAsNonRoot": True},
    "LSH-K8S-WRITABLE-ROOTFS": {"readOnlyRootFilesystem": True},
    "LSH-K8S-CAPS-NO-DROP-ALL": {"capabilities": {"drop": ["ALL"]}},
    "LSH-K8S-SECCOMP": {"seccompProfile": {"type": "RuntimeDefault"}},
    "LSH-K8S-SECCOMP-UNCONFINED": {"seccompProfile": {"type": "RuntimeDefault"}},
}
RESOURCE_FIXES = {"LSH-K8S-CPU-LIMIT": ("limits", "cpu"), "LSH-K8S-MEMORY-LIMIT": ("limits", "memory"),
                  "LSH-K8S-CPU-REQUEST": ("requests", "cpu"), "LSH-K8S-MEMORY-REQUEST": ("requests", "memory")}
FIXABLE = frozenset(SECURITY_FIXES) | frozenset(RESOURCE_FIXES)
_LISTS = {"container": "containers", "initContainer": "initContainers"}  # ephemeral containers cannot be patched
_SEPARATOR = re.compile(r"^(---|\.\.\.)(\s|$)")


@dataclass
class WorkloadFix:
    """What to change in one workload: container (list field, name) -> rule ids."""

    path: str
    resource: str
    origin: str  # "" for a plain file, else extra.rendered_from ("helm:<chart dir>", "kustomize:<dir>")
    containers: dict[tuple[str, str], set[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class FixResult:
    path: str
    resource: str
    patch: dict[str, Any]  # strategic merge patch
    kubectl: str  # the command that applies it
    diff: str = ""  # unified diff of the file ("" when the source is rendered or not plain YAML)
    origin: str = ""  # set when rendered (Helm, Kustomize): the file at `path` is not what to edit


def plan(findings: Iterable[Finding]) -> list[WorkloadFix]:
    """Group fixable findings by workload and container, in first-seen order."""
    fixes: dict[tuple[str, str], WorkloadFix] = {}
    for finding in findings:
        extra = finding.extra
        role = extra.get("container_role", "")
        if (finding.id not in FIXABLE or finding.location is None or extra.get("source") != "kubernetes"
                or role not in _LISTS or not extra.get("container") or not extra.get("resource")):
            continue
        kind = extra["resource"].split("/", 1)[0]
        if kind not in POD_TEMPLATES:
            continue
        key = (finding.location.path, extra["resource"])
        fix = fixes.setdefault(key, WorkloadFix(*key, origin=extra.get("rendered_from", "")))
        fix.containers.setdefault((_LISTS[role], extra["container"]), set()).add(finding.id)
    return list(fixes.values())


def _merge(into: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def container_patch(rules: set[str], current: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fields to set on one container; `current` (the container as written) refines resource values."""
    patch: dict[str, Any] = {}
    for rule in sorted(rules):
        if rule in SECURITY_FIXES:
            _merge(patch, {"securityContext": SECURITY_FIXES[rule]})
    resources = (current or {}).get("resources") if isinstance((current or {}).get("resources"), dict) else {}
    for rule in sorted(rules):
        if rule in RESOURCE_FIXES:
            section, name = RESOURCE_FIXES[rule]
            value = PLACEHOLDERS[(section, name)]
            other = resources.get("requests" if section == "limits" else "limits")
            if section == "limits" and isinstance(other, dict) and other.get(name) is not None:
                value = other[name]  # a limit never below the existing request
            _merge(patch, {"resources": {section: {name: value}}})
    return patch


def strategic_patch(fix: WorkloadFix, obj: dict[str, Any] | None = None) -> dict[str, Any]:
    """The strategic-merge patch for a workload (`obj` is the object as written, when known)."""
    kind = fix.resource.split("/", 1)[0]
    spec_path = POD_TEMPLATES[kind][1]
    spec: dict[str, Any] = {}
    for (list_field, name), rules in fix.containers.items():
        current = _find_container(obj, spec_path, list_field, name) if obj is not None else None
        spec.setdefault(list_field, []).append({"name": name, **container_patch(rules, current)})
    patch: dict[str, Any] = spec
    for key in reversed(spec_path):
        patch = {key: patch}
    return patch


def _find_container(obj: Any, spec_path: tuple[str, ...], list_field: str, name: str) -> dict[str, Any] | None:
    for key in spec_path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    items = obj.get(list_field) if isinstance(obj, dict) else None
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and item.get("name") == name:
            return item
    return None


def kubectl_command(resource: str) -> str:
    parts = resource.split("/")
    kind, name = parts[0], parts[-1]
    namespace = f" -n {parts[1]}" if len(parts) == 3 else ""
    return f"kubectl patch {kind.lower()} {name}{namespace} --type strategic --patch-file PATCH.yaml"


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=4096, allow_unicode=True)


def _file_diff(path: str, text: str, fixes: list[WorkloadFix]) -> tuple[str, dict[str, dict[str, Any]]]:
    """The unified diff applying `fixes` to one file, and each fixed object (resource -> object) as written."""
    lines = text.splitlines(keepends=True)
    wanted = {fix.resource: fix for fix in fixes}
    originals: dict[str, dict[str, Any]] = {}
    replacements: list[tuple[int, int, str]] = []  # 0-based [start, end) line spans
    try:
        docs = list(load_documents(text))
    except DocumentError:
        return "", originals
    for doc in docs:
        patched = copy.deepcopy(doc.data)
        changed = False
        for obj, _prefix in iter_objects(type(doc)(patched)):
            fix = wanted.get(resource_name(obj))
            if fix is None:
                continue
            originals[fix.resource] = copy.deepcopy(obj)
            spec_path = POD_TEMPLATES[str(obj.get("kind"))][1]
            for (list_field, name), rules in fix.containers.items():
                container = _find_container(obj, spec_path, list_field, name)
                if container is not None:
                    _merge(container, container_patch(rules, container))
                    changed = True
        if not changed:
            continue
        start = doc.start_line - 1
        end = start + 1
        while end < len(lines) and not _SEPARATOR.match(lines[end]):
            end += 1
        replacements.append((start, end, _dump(patched)))
    if not replacements:
        return "", originals
    new = list(lines)
    if new and not new[-1].endswith("\n"):
        new[-1] += "\n"
    for start, end, body in sorted(replacements, reverse=True):
        new[start:end] = body.splitlines(keepends=True)
    diff = difflib.unified_diff(lines if not lines or lines[-1].endswith("\n") else [*lines[:-1], lines[-1] + "\n"],
                                new, fromfile=path, tofile=path)
    return "".join(diff), originals


def build_fixes(findings: Iterable[Finding]) -> list[FixResult]:
    """Every fix for the findings: one per workload, with a diff where the source is a plain YAML file."""
    results: list[FixResult] = []
    by_file: dict[str, list[WorkloadFix]] = {}
    for fix in plan(findings):
        by_file.setdefault(fix.path, []).append(fix)
    for path, fixes in by_file.items():
        diff, originals = "", {}
        plain = [f for f in fixes if not f.origin]
        if plain and path.endswith((".yaml", ".yml")):
            try:
                diff, originals = _file_diff(path, Path(path).read_text(encoding="utf-8"), plain)
            except (OSError, UnicodeDecodeError):
                diff = ""
        for fix in fixes:
            carries = diff and not fix.origin
            results.append(FixResult(path, fix.resource, strategic_patch(fix, originals.get(fix.resource)),
                                     kubectl_command(fix.resource), diff if carries else "", fix.origin))
            diff = "" if carries else diff
    return results


def render_patches(results: list[FixResult]) -> str:
    """The strategic-merge patches as one YAML stream, each introduced by comments naming its target."""
    chunks = []
    for result in results:
        chunks.append(f"# {result.path}: {result.resource}\n# {result.kubectl}\n{_dump(result.patch)}")
    return "---\n".join(chunks)


def _patch_file(result: FixResult) -> Path:
    """Where a result's strategic-merge patches go: beside the file, or beside a rendered unit's folder (never
    inside it: a chart renders every file of `templates/`)."""
    if not result.origin:
        return Path(f"{result.path}.lashing-fix.yaml")
    folder = Path(result.origin.split(":", 1)[1])
    folder = folder.resolve() if folder.name in ("", ".", "..") else folder
    return folder.with_name(f"{folder.name}.lashing-fix.yaml")


def write_fixes(results: list[FixResult]) -> list[Path]:
    """Write `<file>.lashing-fix.patch` (unified diff, plain files) and `<file>.lashing-fix.yaml` (strategic-merge
    patches; `<chart or kustomization dir>.lashing-fix.yaml` for rendered sources). Returns the files written."""
    written: list[Path] = []
    diffs: dict[str, str] = {}
    patches: dict[Path, list[FixResult]] = {}
    for result in results:
        if result.diff:
            diffs[result.path] = diffs.get(result.path, "") + result.diff
        patches.setdefault(_patch_file(result), []).append(result)
    for path, diff in diffs.items():
        target = Path(f"{path}.lashing-fix.patch")
        target.write_text(diff, encoding="utf-8")
        written.append(target)
    for target, items in patches.items():
        target.write_text(render_patches(items), encoding="utf-8")
        written.append(target)
    return written
