"""Kustomize directories through `kustomize build` or, failing that, `kubectl kustomize`.

Rendered objects carry no source comments, so each is traced back to the file that declared it among the
kustomization's `resources` (followed through bases, local paths only), matched on kind and name (name
prefixes and suffixes allowed). Findings point at that file; a field's line is the line of the same field in
the source object when it exists there, else of its closest existing parent (a field an overlay patch added
points at its parent in the base). Objects not traced (generators) point at the kustomization file with
rendered line numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lashing.analyzers.config.render import KUSTOMIZATION_FILES, Manifest, RenderError, run_tool, which
from lashing.analyzers.config.yamldoc import Document, DocumentError, load_documents

MAX_DEPTH = 20
MAX_SOURCE_BYTES = 8 * 1024 * 1024


def command(folder: Path) -> list[str]:
    if binary := which("kustomize"):
        return [binary, "build", str(folder.resolve())]
    if binary := which("kubectl"):
        return [binary, "kustomize", str(folder.resolve())]
    raise RenderError("neither kustomize nor kubectl is installed (needed to render kustomizations)")


def _kustomization(folder: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


def _resource_files(folder: Path, depth: int = 0, seen: set[Path] | None = None) -> list[Path]:
    """Local files named by `resources` (and legacy `bases`), following nested kustomizations."""
    seen = seen if seen is not None else set()
    kfile = _kustomization(folder)
    if kfile is None or depth > MAX_DEPTH or folder in seen:
        return []
    seen.add(folder)
    try:
        data = yaml.safe_load(kfile.read_text(encoding="utf-8", errors="replace")[:MAX_SOURCE_BYTES])
    except (OSError, yaml.YAMLError):
        return []
    entries = [e for key in ("resources", "bases") for e in (data or {}).get(key) or [] if isinstance(e, str)]
    files: list[Path] = []
    for entry in entries:
        if "://" in entry or entry.startswith(("github.com/", "git@")):
            continue
        target = (folder / entry).resolve()
        if target.is_dir():
            files += _resource_files(target, depth + 1, seen)
        elif target.is_file() and target.suffix in (".yaml", ".yml", ".json"):
            files.append(target)
    return files


def _index(files: list[Path]) -> dict[tuple[str, str], tuple[Path, Document]]:
    index: dict[tuple[str, str], tuple[Path, Document]] = {}
    for path in files:
        try:
            if path.stat().st_size > MAX_SOURCE_BYTES:
                continue
            for doc in load_documents(path.read_bytes()):
                if isinstance(doc.data, dict):
                    meta = doc.data.get("metadata") if isinstance(doc.data.get("metadata"), dict) else {}
                    index.setdefault((str(doc.data.get("kind")), str(meta.get("name"))), (path, doc))
        except (OSError, DocumentError):
            continue
    return index


def _display(path: Path) -> str:
    """The source path as the user would write it: relative to the working directory when below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _trace(obj: Any, index: dict[tuple[str, str], tuple[Path, Document]]) -> tuple[Path, Document] | None:
    if not isinstance(obj, dict):
        return None
    kind = str(obj.get("kind"))
    name = str((obj.get("metadata") or {}).get("name"))
    if (kind, name) in index:
        return index[(kind, name)]
    candidates = [(len(n), v) for (k, n), v in index.items() if k == kind and n and n in name]
    return max(candidates, key=lambda c: c[0])[1] if candidates else None


def split(folder: Path, text: str) -> list[Manifest]:
    origin = f"kustomize:{folder}"
    index = _index(_resource_files(folder.resolve()))
    kfile = _kustomization(folder) or folder / "kustomization.yaml"
    manifests = []
    for chunk in yaml_documents(text):
        try:
            rendered = next(iter(load_documents(chunk)), None)
        except DocumentError as exc:
            raise RenderError(f"rendered output is not YAML: {exc}") from None
        traced = _trace(rendered.data, index) if rendered is not None else None
        if rendered is None or traced is None:
            manifests.append(Manifest(str(kfile), chunk, origin))
            continue
        source_path, source_doc = traced
        by_line: dict[int, tuple] = {}
        for key_path, line in sorted(rendered.lines.items(), key=lambda kv: len(kv[0])):
            by_line.setdefault(line, key_path)
        line_map = {line: source_doc.line_of(key_path) or source_doc.start_line for line, key_path in by_line.items()}
        line_map[rendered.start_line] = source_doc.start_line
        manifests.append(Manifest(_display(source_path), chunk, origin, line_map))
    return manifests


def yaml_documents(text: str) -> list[str]:
    """The text of each document of kustomize's output (documents are separated by `---` lines)."""
    chunks, current = [], []
    for line in text.splitlines():
        if line.rstrip() == "---":
            if any(x.strip() for x in current):
                chunks.append("\n".join(current) + "\n")
            current = []
        else:
            current.append(line)
    if any(x.strip() for x in current):
        chunks.append("\n".join(current) + "\n")
    return chunks


def render(folder: Path, timeout: float) -> list[Manifest]:
    return split(folder, run_tool(command(folder), cwd=folder, timeout=timeout))
