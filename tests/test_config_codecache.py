"""codecache: generated code compiled once, then read back from the cache directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from lashing.analyzers.config import codecache

SOURCE = "def f(x):\n    return [x * 2 for _ in range(2)]\n"


@pytest.fixture
def compiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sources codecache hands to the compiler, with an empty cache directory."""
    monkeypatch.setenv("LASHING_CACHE_DIR", str(tmp_path))
    seen: list[str] = []

    def counting(source: str, filename: str, mode: str):
        seen.append(source)
        return compile(source, filename, mode)

    monkeypatch.setattr(codecache, "compile", counting, raising=False)
    return seen


def _run(code) -> object:
    namespace: dict = {}
    exec(code, namespace)
    return namespace["f"](21)


def test_compiled_once_then_read_back(compiles: list[str], tmp_path: Path) -> None:
    first = codecache.compiled(SOURCE, "<cel>")
    second = codecache.compiled(SOURCE, "<cel>")
    assert compiles == [SOURCE]
    assert _run(first) == _run(second) == [42, 42] and second.co_filename == "<cel>"
    assert len(list((tmp_path / "code").glob("*.bin"))) == 1
    codecache.compiled(SOURCE + "\n", "<cel>")  # another source, another file
    assert len(compiles) == 2 and len(list((tmp_path / "code").glob("*.bin"))) == 2


@pytest.mark.parametrize("damage", ["garbage", "other digest", "truncated", "empty"])
def test_a_damaged_file_is_compiled_again_and_replaced(compiles: list[str], tmp_path: Path, damage: str) -> None:
    codecache.compiled(SOURCE, "<cel>")
    (saved,) = (tmp_path / "code").glob("*.bin")
    data = saved.read_bytes()
    saved.write_bytes({"garbage": data[:20] + b"\xff" * 40, "other digest": b"\0" * 20 + data[20:],
                       "truncated": data[:-7], "empty": b""}[damage])
    assert _run(codecache.compiled(SOURCE, "<cel>")) == [42, 42]
    assert len(compiles) == 2 and saved.read_bytes() == data


def test_an_unwritable_cache_still_compiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("LASHING_CACHE_DIR", str(blocker))
    assert _run(codecache.compiled(SOURCE, "<cel>")) == [42, 42]


def test_syntax_errors_are_not_kept(compiles: list[str], tmp_path: Path) -> None:
    with pytest.raises(SyntaxError):
        codecache.compiled("def (:\n", "<cel>")
    assert not (tmp_path / "code").exists() or not any((tmp_path / "code").iterdir())


def test_state_files_are_read_within_a_bound(tmp_path: Path) -> None:
    """Derived state files (compiled code, parsed catalogs) are read only up to a size bound."""
    from lashing.paths import read_state_file, write_state_file

    path = tmp_path / "deep" / "f.bin"
    write_state_file(path, b"x" * 10)
    assert read_state_file(path, limit=10) == b"x" * 10
    assert read_state_file(path, limit=9) is None
    assert read_state_file(tmp_path / "missing.bin") is None
    assert [p.name for p in path.parent.iterdir()] == ["f.bin"]  # no partial file left beside it
