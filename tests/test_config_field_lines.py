"""The field -> line functions of Kubernetes targets give the lines they gave before their memoized field
split (the previous closures are kept here): every `locate` field of the catalog, and odd ones, on every
workload of the corpus's manifests."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from lashing.analyzers.config.catalog import load_catalog
from lashing.analyzers.config.kubernetes import INHERITED, targets_from_document
from lashing.analyzers.config.yamldoc import Document, DocumentError, load_documents

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
ODD_FIELDS = ["", "securityContext", "securityContext.runAsUser.x", "a..b", "spec.", ".", "image", "containers.0"]


def _line_of(doc: Document, path: tuple) -> int | None:
    for cut in range(len(path), 0, -1):
        line = doc.lines.get(tuple(path[:cut]))
        if line is not None:
            return line
    return None


def _previous_pod_line(doc: Document, prefix: tuple, fallback: int | None, field: str) -> int | None:
    return _line_of(doc, (*prefix, *field.split("."))) if field else fallback


def _previous_container_line(doc: Document, prefix: tuple, pod_prefix: tuple, fallback: int | None,
                             field: str) -> int | None:
    parts = tuple(field.split("."))
    exact = doc.lines.get((*prefix, *parts))
    if exact is not None:
        return exact
    if len(parts) >= 2 and parts[0] == "securityContext" and parts[1] in INHERITED:
        pod_line = doc.lines.get((*pod_prefix, *parts))
        if pod_line is not None:
            return pod_line
    return _line_of(doc, (*prefix, *parts[:-1])) if len(parts) > 1 else fallback


def _captured(function: Any) -> dict[str, Any]:
    """The variables a closure captured, by name."""
    return {name: cell.cell_contents
            for name, cell in zip(function.__code__.co_freevars, function.__closure__, strict=True)}


def test_field_lines_as_before() -> None:
    fields = sorted({f for rule in load_catalog() for f in rule.locate} | set(ODD_FIELDS))
    checked = 0
    for archive_path in sorted(CORPUS.glob("k8s-manifests/*.zip")):
        with zipfile.ZipFile(archive_path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith((".yaml", ".yml")) or info.file_size > 200_000:
                    continue
                try:
                    documents = list(load_documents(archive.read(info)))
                except DocumentError:
                    continue
                for doc in documents:
                    for target in targets_from_document(info.filename, doc):
                        if target.kind != "pod-spec":
                            continue
                        spec_prefix = _captured(target.field_line)["prefix"]
                        for field in fields:
                            assert target.field_line(field) == _previous_pod_line(
                                doc, spec_prefix, target.line, field), (info.filename, field)
                        for container in target.containers:
                            cells = _captured(container.field_line)
                            for field in fields:
                                assert container.field_line(field) == _previous_container_line(
                                    doc, cells["prefix"], cells["pod_prefix"], cells["fallback"], field), field
                            checked += 1
    assert checked > 500


def test_line_of_takes_any_sequence() -> None:
    doc = next(load_documents("a:\n  b:\n    - c: 1\n"))
    assert doc.line_of(["a", "b", 0, "c"]) == doc.line_of(("a", "b", 0, "c")) == 3
    assert doc.line_of(("a", "x", "y")) == 1
    assert doc.line_of(()) is None
