"""The layer cache: bounded size, LRU eviction, concurrent writers, corrupt files."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from lashing.analyzers.interface import AnalysisResult
from lashing.analyzers.walker import FileRecord, LayerAnalysis, PathResult
from lashing.cache.layer_cache import LayerCache
from lashing.errors import CacheError
from lashing.model import Package, PackageType


def _analysis(n: int, payload: int = 200) -> LayerAnalysis:
    pkgs = tuple(
        Package(name=f"pkg{n}-{i}-" + os.urandom(8).hex(), version="1.0", type=PackageType.DEB) for i in range(payload)
    )
    return LayerAnalysis(
        diff_id=f"sha256:{n:064x}",
        files=tuple(FileRecord(f"f{i}", "file", i) for i in range(payload)),
        results=(PathResult("var/lib/dpkg/status", "dpkg", AnalysisResult(packages=pkgs)),),
    )


def test_round_trip_is_lossless(tmp_path: Path) -> None:
    cache = LayerCache(tmp_path / "c.sqlite")
    analysis = _analysis(1)
    cache.put(analysis, "dpkg:1")
    assert cache.get(analysis.diff_id, "dpkg:1") == analysis
    assert cache.get(analysis.diff_id, "dpkg:2") is None


def test_file_records_keep_their_stored_form() -> None:
    """A file record is the walk's tar entry itself: its stored JSON must stay what entries written by
    earlier versions hold (five named fields), or their cache would not decode."""
    import msgspec

    from lashing.sources.image.tarwalk import TarEntry

    assert FileRecord is TarEntry
    stored = b'{"path":"usr/bin/a","kind":"hardlink","size":0,"mode":493,"link":"usr/bin/b"}'
    record = FileRecord("usr/bin/a", "hardlink", 0, 0o755, "usr/bin/b")
    assert msgspec.json.encode(record) == stored
    assert msgspec.json.decode(stored, type=FileRecord) == record
    assert FileRecord("f", "file") == FileRecord("f", "file", 0, 0, "")


def test_size_is_bounded_and_least_recently_used_goes_first(tmp_path: Path) -> None:
    cache = LayerCache(tmp_path / "c.sqlite", max_bytes=60_000)
    first = _analysis(0)
    cache.put(first, "s")
    for n in range(1, 40):
        cache.get(first.diff_id, "s")  # keep the first one warm
        cache.put(_analysis(n), "s")
        assert cache.total_bytes() <= 60_000
    assert cache.get(first.diff_id, "s") == first
    assert cache.get(_analysis(1).diff_id, "s") is None


def _worker(path: str, worker: int, rounds: int, queue: multiprocessing.Queue) -> None:
    try:
        cache = LayerCache(Path(path))
        for n in range(rounds):
            analysis = _analysis(worker * 1000 + n, payload=20)
            cache.put(analysis, "s")
            assert cache.get(analysis.diff_id, "s") == analysis
            cache.get(f"sha256:{(n % 7):064x}", "s")
        queue.put("ok")
    except Exception as exc:  # reported to the parent
        queue.put(repr(exc))


def test_concurrent_runs_share_one_cache(tmp_path: Path) -> None:
    path = str(tmp_path / "c.sqlite")
    queue: multiprocessing.Queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_worker, args=(path, w, 60, queue)) for w in range(4)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert results == ["ok"] * 4
    assert LayerCache(Path(path)).total_bytes() > 0


def test_corrupt_cache_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CacheError, match="delete it"):
        LayerCache(path)


@pytest.mark.parametrize(
    "payload",
    [
        b"not json at all",
        b'{"diff_id": "sha256:1", "files": "not a list"}',  # JSON of the wrong shape
        b'{"diff_id": 7}',  # a field of the wrong type
    ],
)
def test_unreadable_entry_is_dropped_not_trusted(tmp_path: Path, payload: bytes) -> None:
    import zstandard

    _dropped(tmp_path, zstandard.ZstdCompressor().compress(payload))


def _forged_frame(announced: int) -> bytes:
    """A zstd frame whose header announces `announced` bytes of content, holding none."""
    import struct

    return bytes.fromhex("28b52ffd") + bytes([0xC0, 0x00]) + struct.pack("<Q", announced) + bytes([0x01, 0x00, 0x00])


@pytest.mark.parametrize("what", ["announces a terabyte", "expands past the bound", "not zstd", "empty"])
def test_a_hostile_entry_costs_no_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, what: str) -> None:
    """Cache entries are decompressed within MAX_ENTRY_BYTES: a header announcing more is refused before the
    decompressor reserves it, a frame without a size stops at the bound."""
    import zstandard

    from lashing.cache import layer_cache

    monkeypatch.setattr(layer_cache, "MAX_ENTRY_BYTES", 1 << 20)
    unsized = zstandard.ZstdCompressor(write_content_size=False).compress(b"[" * (2 << 20))
    _dropped(tmp_path, {"announces a terabyte": _forged_frame(1 << 40), "expands past the bound": unsized,
                        "not zstd": b"\x00" * 64, "empty": b""}[what])


def test_an_analysis_over_the_bound_is_not_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lashing.cache import layer_cache

    monkeypatch.setattr(layer_cache, "MAX_ENTRY_BYTES", 1000)
    cache = LayerCache(tmp_path / "c.sqlite")
    cache.put(_analysis(1, payload=50), "dpkg:1")
    assert cache.total_bytes() == 0 and cache.get(_analysis(1, payload=1).diff_id, "dpkg:1") is None


def _dropped(tmp_path: Path, stored: bytes) -> None:
    """An entry whose stored bytes are `stored` reads as a miss and is deleted."""
    import sqlite3

    cache = LayerCache(tmp_path / "c.sqlite")
    analysis = _analysis(1, payload=3)
    cache.put(analysis, "dpkg:1")
    key = cache.key(analysis.diff_id, "dpkg:1")
    with sqlite3.connect(cache.path) as db:
        db.execute("UPDATE layers SET data = ? WHERE key = ?", (stored, key))
    assert cache.get(analysis.diff_id, "dpkg:1") is None
    with sqlite3.connect(cache.path) as db:
        assert db.execute("SELECT COUNT(*) FROM layers WHERE key = ?", (key,)).fetchone()[0] == 0
