"""The config scanner's YAML loader (yamldoc) reads data exactly as PyYAML's safe loader does (it only adds
line numbers, bounds and a deferred resolution of plain scalars' tags), on every YAML document of the corpus
and on the scalar forms whose type depends on the resolver."""

from __future__ import annotations

import datetime
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lashing.analyzers.config.yamldoc import DocumentError, load_documents

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def _texts() -> Iterator[tuple[str, str]]:
    for archive_path in sorted((CORPUS / "k8s-manifests").glob("*.zip")):
        with zipfile.ZipFile(archive_path) as archive:
            for name in archive.namelist():
                if name.endswith((".yaml", ".yml")) and archive.getinfo(name).file_size < 200_000:
                    yield name, archive.read(name).decode("utf-8", "replace")
    for path in sorted((CORPUS / "config-peers").rglob("*")):
        if path.suffix in (".yaml", ".yml") and path.is_file():
            yield str(path), path.read_text("utf-8", "replace")


def _has_text_kept(value: Any) -> bool:
    """Values yamldoc deliberately keeps as text (timestamps, binary)."""
    if isinstance(value, datetime.date | bytes):
        return True
    if isinstance(value, dict):
        return any(_has_text_kept(k) or _has_text_kept(v) for k, v in value.items())
    if isinstance(value, list):
        return any(map(_has_text_kept, value))
    return False


def test_corpus_documents_read_as_pyyaml_reads_them() -> None:
    compared = 0
    for name, text in _texts():
        try:
            expected = list(yaml.safe_load_all(text))
        except yaml.YAMLError:
            with pytest.raises(DocumentError):
                list(load_documents(text))
            continue
        if _has_text_kept(expected):
            continue
        assert [d.data for d in load_documents(text)] == expected, name
        compared += 1
    assert compared > 1000


SCALARS = ["1", "-1", "0x1F", "0o17", "010", "1_000", "1.5", "-.5e3", ".inf", "-.Inf", ".nan", "true", "True", "yes",
           "On", "off", "no", "null", "~", "Null", "", "=", "<<", "'1'", '"true"', "!!str 5", "! 7", "!!int '3'",
           "!!float 1", "!!bool yes", "12e3", "1e3", "+12", "0b101", "190:20:30", "abc", "'null'"]


@pytest.mark.parametrize("scalar", SCALARS)
def test_scalar_types_match_pyyaml(scalar: str) -> None:
    text = f"k: {scalar}\n"
    got = next(load_documents(text)).data
    try:
        expected = yaml.safe_load(text)
    except yaml.constructor.ConstructorError:  # a tag the safe loader cannot build (`=`, `<<` as a value)
        assert got == {"k": scalar}  # kept as text
        return
    if isinstance(expected["k"], float) and expected["k"] != expected["k"]:  # NaN
        assert got["k"] != got["k"]
        return
    assert got == expected and type(got["k"]) is type(expected["k"]), (got, expected)


def test_merge_keys_as_pyyaml() -> None:
    text = "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\nq:\n  '<<': 1\n"
    assert next(load_documents(text)).data == yaml.safe_load(text)
