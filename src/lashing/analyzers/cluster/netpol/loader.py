"""Manifests (YAML or JSON, `kubectl get -o yaml/json` lists included) to `Manifest`s with line numbers.

The cluster snapshot source reads whole directories; this small reader serves tests, zip members and the
CLI's fallback. Items of a typed list (`PodList`, `NamespaceList`) without their own `kind` get it from the list.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lashing.analyzers.cluster.netpol.objects import Manifest
from lashing.analyzers.config.yamldoc import DocumentError, load_documents

SUFFIXES = (".yaml", ".yml", ".json")
MAX_FILE_BYTES = 32 * 1024 * 1024


def _split_lines(lines: dict[tuple[Any, ...], int]) -> dict[int, dict[tuple[Any, ...], int]]:
    """Line maps of list items, keyed by item index, with key paths made relative to the item."""
    out: dict[int, dict[tuple[Any, ...], int]] = {}
    for key, line in lines.items():
        if len(key) >= 3 and key[0] == "items" and isinstance(key[1], int):
            out.setdefault(key[1], {})[key[2:]] = line
    return out


def manifests_from_text(path: str, text: str | bytes, warnings: list[str]) -> Iterator[Manifest]:
    """Every object of a YAML/JSON stream; a bad document becomes a warning and reading stops there."""
    try:
        for doc in load_documents(text):
            data = doc.data
            if not isinstance(data, dict):
                continue
            kind = data.get("kind")
            items = data.get("items")
            if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
                item_kind = kind[: -len("List")] or None
                per_item = _split_lines(doc.lines)
                for index, item in enumerate(items):
                    if not isinstance(item, dict):
                        continue
                    if "kind" not in item and item_kind:
                        item = {**item, "kind": item_kind}
                    line = doc.lines.get(("items", index))
                    yield Manifest(item, path, line, per_item.get(index, {}))
            elif isinstance(kind, str):
                yield Manifest(data, path, doc.start_line, {k: v for k, v in doc.lines.items()})
    except DocumentError as exc:
        where = f"{path}:{exc.line}" if exc.line else path
        warnings.append(f"{where}: {exc}; the rest of the file is left out")


def load_manifests(root: str | Path, warnings: list[str]) -> list[Manifest]:
    """Every object of a file or of the YAML/JSON files under a directory (sorted, hidden ones skipped)."""
    root = Path(root)
    files = [root] if root.is_file() else sorted(
        p for p in root.rglob("*") if p.suffix in SUFFIXES and p.is_file() and not p.is_symlink()
        and not any(part.startswith(".") for part in p.relative_to(root).parts))
    out: list[Manifest] = []
    for file in files:
        try:
            if file.stat().st_size > MAX_FILE_BYTES:
                warnings.append(f"{file}: larger than {MAX_FILE_BYTES} bytes; skipped")
                continue
            text = file.read_bytes()
        except OSError as exc:
            warnings.append(f"{file}: cannot read: {exc.strerror}")
            continue
        out.extend(manifests_from_text(str(file), text, warnings))
    return out
