"""load_documents' fast walk against its exact walk (yamldoc._Converter, the converter as it was before the fast
walk, kept for documents near a bound): the same data (types included), line maps (insertion order included),
document spans and errors, on the corpus's YAML and JSON documents and on documents built to pass or just miss
the node budget and the depth bound."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lashing.analyzers.config import yamldoc
from lashing.analyzers.config.yamldoc import DocumentError, load_documents

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SUFFIXES = (".yaml", ".yml", ".json")
ARCHIVES = ("k8s-manifests/*.zip", "config-peers/*.zip", "compose/*.zip", "control-plane/*.zip", "audit-logs/*.zip",
            "osv/opam/*.zip", "osv/Hackage/*.zip")


def _texts() -> Iterator[tuple[str, bytes]]:
    for pattern in ARCHIVES:
        for archive_path in sorted(CORPUS.glob(pattern)):
            with zipfile.ZipFile(archive_path) as archive:
                for info in archive.infolist():
                    if info.filename.endswith(SUFFIXES) and info.file_size < 200_000:
                        yield f"{archive_path.name}:{info.filename}", archive.read(info)
    for path in sorted(CORPUS.rglob("*")):
        if path.suffix in SUFFIXES and path.is_file():
            yield str(path), path.read_bytes()


def _outcome(documents: Iterator[Any], as_tuple: Any) -> tuple[list[str], str | None]:
    """repr of every document (data, lines in order, span) up to the error, and the error's text and line."""
    seen: list[str] = []
    try:
        for document in documents:
            seen.append(repr(as_tuple(document)))
    except DocumentError as exc:
        return seen, f"{exc} @ {exc.line}"
    return seen, None


def _current(text: str | bytes) -> tuple[list[str], str | None]:
    return _outcome(load_documents(text), lambda d: (d.data, list(d.lines.items()), d.start_line, d.end_line))


def _exact(node: Any) -> tuple[Any, dict[Any, int]]:
    converter = yamldoc._Converter()
    return converter.convert(node, ()), converter.lines


def _reference(text: str | bytes) -> tuple[list[str], str | None]:
    """load_documents with the exact walk alone."""
    fast = yamldoc.convert_document
    yamldoc.convert_document = _exact
    try:
        return _current(text)
    finally:
        yamldoc.convert_document = fast


def test_corpus_documents_load_as_before() -> None:
    compared = 0
    for name, content in _texts():
        text = content.decode("utf-8", "replace")
        assert _current(text) == _reference(text), name
        compared += 1
    assert compared > 3000


EDGES = [
    "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n",
    "a: &a [1, 2]\nb: &b {k: v}\nm:\n  <<: [*b, {z: 1}]\n  <<: *b\n",
    "m:\n  <<: 5\n  !!merge <<: {q: 1}\n",
    "? [a, b]\n: 1\n? {k: v}\n: 2\n? !!python/none ''\n: 3\n",
    "1: one\ntrue: yes\nnull: ~\n1.5: x\n0x1F: hex\n'q': \"w\"\n!!str 7: seven\n",
    "- !!int '3'\n- !!float 1\n- !!bool yes\n- !!timestamp 2001-12-14\n- !!binary aGk=\n- !custom x\n- .nan\n",
    "- 1_000\n- 0o17\n- 190:20:30\n- -.inf\n- =\n- <<\n- ''\n- \"\"\n",
    "k: [1, 2\n",
    "a: 1\n---\nb: [\n",
    "--- 1\n--- [a]\n--- {a: b}\n---\n...\n",
    '{"json": [1, 2.5, true, null, {"k": "v"}], "n": -0}',
    "a: &x [1, *x]\n",
    "a: b: c\n",
]


@pytest.mark.parametrize("text", EDGES)
def test_edge_documents_load_as_before(text: str) -> None:
    assert _current(text) == _reference(text)


def _bomb(levels: int, width: int) -> str:
    lines = ["l0: &l0 [x, 'y', 1, true]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def _nested(depth: int, flow: bool) -> str:
    if flow:
        return "[" * depth + "1" + "]" * depth
    return "".join(f"{'  ' * level}k{level}:\n" for level in range(depth)) + "  " * depth + "v: 1\n"


@pytest.mark.parametrize("budget", [1, 2, 3, 5, 8, 13, 21, 34, 55, 89])
def test_node_budget_errors_as_before(monkeypatch: pytest.MonkeyPatch, budget: int) -> None:
    monkeypatch.setattr(yamldoc, "MAX_NODES", budget)
    texts = [_bomb(levels, width) for levels in range(1, 4) for width in range(1, 4)]
    texts += ["a: 1\nb: [1, 2, {c: 3}]\nd: {e: [f, g]}\n", "m:\n  <<: {x: 1, y: 2}\n  z: 3\n", "- [1, [2, [3]]]\n"]
    for text in texts:
        assert _current(text) == _reference(text), text


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5, 6, 7])
@pytest.mark.parametrize("flow", [True, False])
def test_depth_bound_errors_as_before(monkeypatch: pytest.MonkeyPatch, depth: int, flow: bool) -> None:
    monkeypatch.setattr(yamldoc, "MAX_DEPTH", 4)
    for text in (_nested(depth, flow), f"a: &a {_nested(depth, True)}\nb: [*a]\n", "[[], [[[[]]]], {}]"):
        assert _current(text) == _reference(text), text


def test_real_bounds_as_before() -> None:
    for text in (_bomb(9, 9), _nested(199, True), _nested(200, True), _nested(201, True), _nested(600, True),
                 _nested(250, False)):
        assert _current(text) == _reference(text)
    assert _current(_bomb(9, 9))[1] is not None


def test_the_fast_walk_takes_ordinary_documents_itself() -> None:
    """The comparisons above mean something only if the fast walk finishes documents on its own."""
    finished = 0
    for name, content in _texts():
        if not name.endswith((".yaml", ".yml")) or finished >= 200:
            continue
        for node in yaml.compose_all(content.decode("utf-8", "replace"), Loader=yamldoc._Loader):
            if node is not None:
                fast = yamldoc._FastConverter()
                fast.convert(node, ())  # raises _Fallback near a bound
                finished += 1
    assert finished >= 200
