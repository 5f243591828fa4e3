"""The bundled rule catalogs' parsed data is kept as JSON in the cache directory and read back from there."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from lashing.analyzers.config import catalog
from lashing.yamlload import load_bundled


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An empty cache directory and no catalog parsed yet in this process."""
    monkeypatch.setenv("LASHING_CACHE_DIR", str(tmp_path))
    catalog.bundled_catalogs.cache_clear()
    yield tmp_path / "catalogs"
    catalog.bundled_catalogs.cache_clear()


def _from_yaml() -> dict:
    folder = Path(catalog.__file__).parent / "rules"
    return {path.name: load_bundled(path.read_text()) for path in sorted(folder.glob("*.y*ml"))}


def test_first_read_parses_and_keeps_json_then_reads_it_back(fresh: Path) -> None:
    expected = _from_yaml()
    assert catalog.bundled_catalogs() == expected
    saved = list(fresh.glob("*.json"))
    assert len(saved) == 1
    catalog.bundled_catalogs.cache_clear()
    calls = []
    real = catalog.load_bundled
    catalog.load_bundled = lambda text: calls.append(text) or real(text)
    try:
        again = catalog.bundled_catalogs()
    finally:
        catalog.load_bundled = real
    assert again == expected and list(again) == list(expected) and calls == []  # no YAML read the second time


@pytest.mark.parametrize("content", [b"{not json", b"[]", b'{"other.yaml": []}', b"\xff\xfe"])
def test_a_damaged_cache_file_is_ignored(fresh: Path, content: bytes) -> None:
    expected = catalog.bundled_catalogs()
    (saved,) = fresh.glob("*.json")
    saved.write_bytes(content)
    catalog.bundled_catalogs.cache_clear()
    assert catalog.bundled_catalogs() == expected


def test_data_json_cannot_hold_exactly_is_not_kept(fresh: Path) -> None:
    for data in ({"a.yaml": [{1: "x"}]}, {"a.yaml": [{"d": datetime.date(2024, 1, 1)}]},
                 {"a.yaml": [{"f": float("nan")}]}):
        catalog._save_json("k", data)
        assert not fresh.exists() or not any(fresh.iterdir())
    catalog._save_json("k", {"a.yaml": [{"id": "X", "n": 1, "b": True, "l": [None, 1.5]}]})
    assert catalog._cached_json("k", ["a.yaml"]) == {"a.yaml": [{"id": "X", "n": 1, "b": True, "l": [None, 1.5]}]}
    assert catalog._cached_json("k", ["b.yaml"]) is None


def test_an_unwritable_cache_directory_costs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("LASHING_CACHE_DIR", str(blocker))  # a file: nothing can be created below it
    catalog.bundled_catalogs.cache_clear()
    try:
        assert catalog.bundled_catalogs() == _from_yaml()
    finally:
        catalog.bundled_catalogs.cache_clear()
