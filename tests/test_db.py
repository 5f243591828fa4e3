"""The advisory database: import of the real OSV corpus mirror, atomic updates, hostile zips, status."""

from __future__ import annotations

import fcntl
import functools
import http.server
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from lashing.db import AdvisoryStore, DatabaseError, DatabaseMissingError, normalize_name
from lashing.db.osv_import import InvalidExportError, ZipLimits
from lashing.db.store import DB_NAME
from lashing.db.update import update

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "osv"
CLI = (
    "from lashing.cli import db, main\n"
    "if not any(g.name == 'db' for g in main.app.registered_groups):\n"
    "    main.app.add_typer(db.app, name='db')\n"
    "main.main()\n"
)


def lashing(*args: str, cache: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LASHING_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-c", CLI, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def zip_members(path: Path) -> dict[str, dict]:
    with zipfile.ZipFile(path) as archive:
        return {n: json.loads(archive.read(n)) for n in archive.namelist() if not n.endswith("/")}


def write_export(root: Path, folder: str, records: list[dict]) -> Path:
    path = root / folder / "all.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for record in records:
            archive.writestr(f"{record['id']}.json", json.dumps(record))
    return path


@pytest.fixture(scope="session")
def corpus_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole 16-ecosystem corpus imported once through the CLI."""
    cache = tmp_path_factory.mktemp("osvdb")
    done = lashing("db", "update", "--mirror", str(CORPUS), cache=cache)
    assert done.returncode == 0, done.stderr
    assert "57043 imported" in done.stderr
    return cache


def test_counts_match_zip_members(corpus_db: Path) -> None:
    zips = sorted(CORPUS.glob("*/all.zip"))
    assert len(zips) == 16
    conn = sqlite3.connect(corpus_db / DB_NAME)
    by_source = dict(conn.execute("SELECT source, count(*) FROM advisories GROUP BY source"))
    for path in zips:
        with zipfile.ZipFile(path) as archive:
            members = [n for n in archive.namelist() if n.endswith(".json")]
        assert by_source[path.parent.name] == len(members), path
    ids = {r[0] for r in conn.execute("SELECT id FROM advisories")}
    assert len(ids) == sum(by_source.values())
    with AdvisoryStore.open(corpus_db / DB_NAME) as store:
        assert store.meta()["counts"] == by_source


def _check_record(store: AdvisoryStore, record: dict, folder: str) -> None:
    adv = store.advisory(record["id"])
    assert adv is not None
    assert (adv.id, adv.source, adv.modified, adv.published) == (
        record["id"],
        folder,
        record.get("modified"),
        record.get("published"),
    )
    assert adv.withdrawn == record.get("withdrawn")
    assert adv.summary == record.get("summary", "")
    assert adv.details == record.get("details", "")
    assert adv.severity == record.get("severity", [])
    assert list(adv.aliases) == record.get("aliases", [])
    assert list(adv.upstream) == record.get("upstream", [])
    assert list(adv.related) == record.get("related", [])
    assert adv.references == record.get("references", [])
    assert adv.database_severity == (record.get("database_specific") or {}).get("severity")
    for alias in record.get("aliases", []) + record.get("upstream", []):
        assert record["id"] in store.ids_for_alias(alias)
    for entry in record["affected"]:
        package = entry["package"]
        base = package["ecosystem"].split(":")[0]
        rows = [
            r
            for r in store.affected_for(base, normalize_name(base, package["name"]))
            if r.advisory_id == record["id"] and r.ecosystem == package["ecosystem"]
        ]
        assert rows, (record["id"], package)
        assert any(
            r.name == package["name"]
            and r.purl == package.get("purl")
            and r.ranges == entry.get("ranges", [])
            and r.versions == entry.get("versions", [])
            and r.ecosystem_specific == entry.get("ecosystem_specific")
            and r.database_specific == entry.get("database_specific")
            and r.withdrawn == ("withdrawn" in record)
            for r in rows
        )


@pytest.mark.parametrize(
    ("folder", "pick"),
    [
        ("Debian", lambda n, r: n.startswith("DSA-")),
        ("Debian", lambda n, r: n.startswith("DLA-") and len(r["affected"]) > 1),
        ("PyPI", lambda n, r: n.startswith("PYSEC-") and r["affected"][0].get("versions") and "aliases" in r),
        ("PyPI", lambda n, r: "withdrawn" in r),
        ("Go", lambda n, r: any(a.get("ecosystem_specific") for a in r["affected"]) and "severity" not in r),
        ("Ubuntu", lambda n, r: "severity" in r),
    ],
)
def test_spot_check_records(corpus_db: Path, folder: str, pick) -> None:
    members = zip_members(CORPUS / folder / "all.zip")
    chosen = [r for n, r in sorted(members.items()) if pick(n, r)]
    assert chosen
    with AdvisoryStore.open(corpus_db / DB_NAME) as store:
        for record in (chosen[0], chosen[len(chosen) // 2], chosen[-1]):
            _check_record(store, record, folder)


def test_pypi_names_are_pep503(corpus_db: Path) -> None:
    members = zip_members(CORPUS / "PyPI" / "all.zip")
    dashed = sorted(
        {a["package"]["name"] for r in members.values() for a in r["affected"] if "-" in a["package"]["name"]}
    )
    assert dashed
    with AdvisoryStore.open(corpus_db / DB_NAME) as store:
        for name in dashed[:20]:  # what an installed dist-info may spell: Foo_.Bar for foo-bar
            spelled = name.upper().replace("-", "_.")
            rows = store.affected_for("PyPI", normalize_name("PyPI", spelled))
            assert rows and {r.name for r in rows} == {name}, name
        assert store.affected_for("PyPI", "no-such-package-here") == []


def test_incremental_run_skips_everything(corpus_db: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(corpus_db, cache)
    done = lashing("db", "update", "--mirror", str(CORPUS), "-e", "PyPI", "-e", "Go", cache=cache)
    assert done.returncode == 0, done.stderr
    expected = len(zip_members(CORPUS / "PyPI" / "all.zip")) + len(zip_members(CORPUS / "Go" / "all.zip"))
    assert f"(incremental) from {CORPUS}: 0 imported, {expected} unchanged, 0 removed" in done.stderr
    with AdvisoryStore.open(cache / DB_NAME) as store:
        assert store.count() == 57043
        assert store.meta()["last_run"] == {
            "imported": 0,
            "skipped": expected,
            "removed": 0,
            "incremental": True,
        }


def _records(n: int, modified: str = "2024-01-01T00:00:00Z") -> list[dict]:
    return [
        {
            "id": f"TEST-{i}",
            "modified": modified,
            "summary": f"s{i}",
            "details": "d" * (i * 100),
            "affected": [
                {
                    "package": {"ecosystem": "PyPI", "name": f"Pkg_{i}"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": f"{i}.0"}]}],
                }
            ],
        }
        for i in range(n)
    ]


def test_incremental_applies_newer_and_removes_gone(tmp_path: Path) -> None:
    cache, mirror = tmp_path / "cache", tmp_path / "mirror"
    write_export(mirror, "PyPI", _records(5))
    assert update(str(mirror), cache=cache).imported == 5
    records = _records(5)[:4]
    records[1] = {**records[1], "modified": "2024-02-01T00:00:00+00:00", "summary": "changed"}
    records[2] = {**records[2], "modified": "2023-12-01T00:00:00Z", "summary": "older"}
    write_export(mirror, "PyPI", records)
    result = update(str(mirror), cache=cache)
    assert (result.imported, result.skipped, result.removed, result.incremental) == (1, 3, 1, True)
    with AdvisoryStore.open(cache / DB_NAME) as store:
        assert store.advisory("TEST-1").summary == "changed"
        assert store.advisory("TEST-2").summary == "s2"
        assert store.advisory("TEST-4") is None and store.affected_for("PyPI", "pkg-4") == []
        assert [r.advisory_id for r in store.affected_for("PyPI", "pkg-1")] == ["TEST-1"]
        assert store.count() == 4


def test_readers_keep_working_during_update(tmp_path: Path) -> None:
    cache, mirror = tmp_path / "cache", tmp_path / "mirror"
    write_export(mirror, "PyPI", _records(3))
    update(str(mirror), cache=cache)
    reader = AdvisoryStore.open(cache / DB_NAME)
    write_export(mirror, "PyPI", _records(6, modified="2025-01-01T00:00:00Z"))
    assert update(str(mirror), cache=cache).imported == 6
    assert reader.count() == 3 and reader.affected_for("PyPI", "pkg-0")  # its snapshot is intact
    reader.close()
    with AdvisoryStore.open(cache / DB_NAME) as store:
        assert store.count() == 6


def test_killed_update_keeps_old_db_and_temp_is_cleaned(tmp_path: Path) -> None:
    cache, mirror = tmp_path / "cache", tmp_path / "mirror"
    write_export(mirror, "PyPI", _records(3))
    update(str(mirror), cache=cache)
    env = {**os.environ, "LASHING_CACHE_DIR": str(cache)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "db", "update", "--full", "--mirror", str(CORPUS)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    temp = cache / f"{DB_NAME}.new-{proc.pid}"
    last, deadline = -1, time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            size = temp.stat().st_size if temp.exists() else -1
            if last > 0 and size > last:
                break
            last = size
            time.sleep(0.05)
        else:
            pytest.fail("the update never produced a growing temp file")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert temp.exists()
    with AdvisoryStore.open(cache / DB_NAME) as store:
        assert store.count() == 3 and store.advisory("TEST-0").summary == "s0"
    write_export(mirror, "PyPI", _records(4))
    done = lashing("db", "update", "--mirror", str(mirror), cache=cache)
    assert done.returncode == 0, done.stderr
    assert not temp.exists()
    assert sorted(p.name for p in cache.iterdir()) == [DB_NAME, f"{DB_NAME}.lock"]


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _bad_crc_stored(path: Path) -> None:
    members = zip_members(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, record in members.items():
            archive.writestr(name, json.dumps(record))
    _bad_crc(path)


def _bad_crc(path: Path) -> None:
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.infolist()[1]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _add_member(name: str, payload: bytes):
    def change(path: Path) -> None:
        with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(name, payload)

    return change


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (_truncated, "not a readable zip"),
        (_bad_crc, "unreadable"),
        (_bad_crc_stored, "Bad CRC-32"),
        (_add_member("X-1.json", b"{not json"), "is not JSON"),
        (_add_member("X-2.json", b"[1, 2]"), "not an OSV record"),
        (_add_member("bomb.json", b" " * (8 << 20)), "compression ratio over 100 (zip bomb?)"),
    ],
)
def test_corrupted_zip_is_rejected_and_old_db_kept(tmp_path: Path, corrupt, message: str) -> None:
    cache, mirror = tmp_path / "cache", tmp_path / "mirror"
    write_export(mirror, "PyPI", _records(3))
    update(str(mirror), cache=cache)
    before = (cache / DB_NAME).read_bytes()
    path = write_export(mirror, "PyPI", _records(40, modified="2025-01-01T00:00:00Z"))
    corrupt(path)
    done = lashing("db", "update", "--mirror", str(mirror), cache=cache)
    assert done.returncode == 2
    assert (
        done.stderr.count("\n") == 1 and done.stderr.startswith("lashing: error: ") and message in done.stderr
    )
    assert (cache / DB_NAME).read_bytes() == before
    assert sorted(p.name for p in cache.iterdir()) == [DB_NAME, f"{DB_NAME}.lock"]


def test_member_over_size_bound(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    write_export(mirror, "PyPI", _records(3))
    with pytest.raises(InvalidExportError, match=r"TEST-2.json' is \d+ bytes, over the bound of 400$"):
        update(str(mirror), cache=tmp_path / "cache", limits=ZipLimits(max_member=400))
    assert not (tmp_path / "cache" / DB_NAME).exists()


def test_concurrent_update_is_refused(tmp_path: Path) -> None:
    cache, mirror = tmp_path / "cache", tmp_path / "mirror"
    write_export(mirror, "PyPI", _records(2))
    cache.mkdir()
    with open(cache / f"{DB_NAME}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        done = lashing("db", "update", "--mirror", str(mirror), cache=cache)
    assert done.returncode == 2 and "another `lashing db update` is running" in done.stderr
    assert lashing("db", "update", "--mirror", str(mirror), cache=cache).returncode == 0


def test_status(corpus_db: Path, tmp_path: Path) -> None:
    done = lashing("db", "status", "--format", "json", cache=corpus_db)
    assert done.returncode == 0 and done.stderr == ""
    info = json.loads(done.stdout)
    assert info["advisories"] == 57043 and info["source"] == str(CORPUS)
    assert info["size_bytes"] == (corpus_db / DB_NAME).stat().st_size
    assert info["counts"]["Debian"] == len(zip_members(CORPUS / "Debian" / "all.zip"))
    assert {"Debian", "Ubuntu", "PyPI", "Go", "npm", "GHC"} <= set(info["ecosystems"])
    assert 0 <= info["age_seconds"] < 3600
    table = lashing("db", "status", cache=corpus_db)
    assert table.returncode == 0 and "advisories:  57043" in table.stdout
    stale = lashing("db", "status", "--max-age", "0", cache=corpus_db)
    assert stale.returncode == 0 and "older than 0 days" in stale.stderr
    missing = lashing("db", "status", cache=tmp_path / "empty")
    assert missing.returncode == 1 and "no advisory database" in missing.stderr
    with pytest.raises(DatabaseMissingError):
        AdvisoryStore.open(tmp_path / "empty" / DB_NAME)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_mirror(tmp_path: Path):
    root = tmp_path / "served"
    for folder in ("PyPI", "Go"):
        (root / folder).mkdir(parents=True)
        shutil.copy(CORPUS / folder / "all.zip", root / folder / "all.zip")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_http_mirror(http_mirror: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    done = lashing(
        "db", "update", "--mirror", http_mirror, "-e", "PyPI", "-e", "Go", "-e", "NoSuch", cache=cache
    )
    assert done.returncode == 0, done.stderr
    with AdvisoryStore.open(cache / DB_NAME) as store:
        assert store.meta()["counts"] == {f: len(zip_members(CORPUS / f / "all.zip")) for f in ("PyPI", "Go")}
    one = lashing("db", "update", "--full", "--mirror", f"{http_mirror}/Go/all.zip", cache=cache)
    assert one.returncode == 0, one.stderr
    with AdvisoryStore.open(cache / DB_NAME) as store:
        assert set(store.meta()["counts"]) == {"Go"}
    assert sorted(p.name for p in cache.iterdir()) == [DB_NAME, f"{DB_NAME}.lock"]


def test_unreachable_sources_fail_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for args in (("--mirror", f"http://127.0.0.1:{port}"), ("-e", "PyPI")):
        done = lashing("db", "update", *args, cache=tmp_path / "cache")
        assert done.returncode == 2
        assert done.stderr.startswith("lashing: error: cannot reach http") and done.stderr.count("\n") == 1
    assert not (tmp_path / "cache" / DB_NAME).exists()


def test_garbage_live_db_is_rebuilt(tmp_path: Path) -> None:
    cache, mirror = tmp_path / "cache", tmp_path / "mirror"
    write_export(mirror, "PyPI", _records(3))
    cache.mkdir()
    (cache / DB_NAME).write_bytes(b"not a database" * 100)
    with pytest.raises(DatabaseError, match="unreadable"):
        AdvisoryStore.open(cache / DB_NAME)
    result = update(str(mirror), cache=cache)
    assert (result.imported, result.incremental) == (3, False)
    with AdvisoryStore.open(cache / DB_NAME) as store:
        assert store.count() == 3


def test_download_size_bound_and_missing_mirror(http_mirror: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidExportError, match=r"Go/all.zip: \d+ bytes, over the bound of 100000$"):
        update(f"{http_mirror}/Go/all.zip", cache=tmp_path / "c", limits=ZipLimits(max_download=100_000))
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [f"{DB_NAME}.lock"]
    done = lashing("db", "update", "--mirror", str(tmp_path / "nowhere"), cache=tmp_path / "c")
    assert done.returncode == 2 and "is neither a folder nor a zip" in done.stderr
