"""The update transaction: build a new file beside the live one, check it, swap it in atomically.

Incremental mode copies the live file and applies only records whose `modified` is newer (plus the
removal of records gone from a re-imported export); `full=True` rebuilds from empty. Both end in the
same integrity check and `os.replace`, so readers see either the old or the new database, never a mix.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from lashing.db import debian_tracker
from lashing.db.osv_import import ZipLimits, count_records, is_newer, iter_records, to_rows
from lashing.db.sources import OFFICIAL_BASE, ExportZip, local_exports, remote_exports
from lashing.db.store import DB_NAME, INDEXES, SCHEMA, SCHEMA_VERSION, DatabaseError

Progress = Callable[[str, int, int], None]  # (export folder, records done, records total)
BATCH = 2000


@dataclass
class UpdateResult:
    source: str
    path: Path
    imported: int = 0
    skipped: int = 0
    removed: int = 0
    incremental: bool = False
    per_export: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    tracker: debian_tracker.TrackerStats | None = None  # the Debian tracker JSON, when one was imported


@contextlib.contextmanager
def update_lock(cache: Path) -> Iterator[None]:
    """One updater at a time per cache dir (readers never take it)."""
    with open(cache / f"{DB_NAME}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseError(f"another `lashing db update` is running on {cache}") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def clean_stale(cache: Path) -> list[Path]:
    """Leftovers of killed updates (only called under the lock, so none is in use)."""
    stale = [*cache.glob(f"{DB_NAME}.new-*"), *cache.glob("download-*.zip.part"), *cache.glob("download-*.json.part")]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def _start_file(live: Path, tmp: Path, full: bool) -> tuple[sqlite3.Connection, bool]:
    """Open the file to build: a copy of a healthy live DB (incremental), else an empty schema."""
    incremental = False
    if not full and live.is_file():
        shutil.copyfile(live, tmp)
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            incremental = row is not None and int(row[0]) == SCHEMA_VERSION
        except (sqlite3.DatabaseError, ValueError):
            incremental = False  # unreadable or another schema: rebuild from empty
        if not incremental:
            conn.close()
            tmp.unlink()
    if not incremental:
        conn = sqlite3.connect(tmp, isolation_level=None)
        conn.executescript(SCHEMA)
    for pragma in (
        "journal_mode=OFF",
        "synchronous=OFF",
        "cache_size=-65536",
        "temp_store=MEMORY",
        "locking_mode=EXCLUSIVE",
    ):
        conn.execute(f"PRAGMA {pragma}")
    return conn, incremental


class _Builder:
    def __init__(self, conn: sqlite3.Connection, result: UpdateResult, limits: ZipLimits) -> None:
        self.conn, self.result, self.limits = conn, result, limits
        self.known = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT id, modified, source FROM advisories")}
        self.seen: set[str] = set()

    def _flush(self, drop: list[tuple[str]], adv: list, aff: list, ali: list) -> None:
        if drop:
            for table, col in (("advisories", "id"), ("affected", "advisory_id"), ("aliases", "advisory_id")):
                self.conn.executemany(f"DELETE FROM {table} WHERE {col} = ?", drop)
        self.conn.executemany(f"INSERT INTO advisories VALUES ({','.join('?' * 13)})", adv)
        self.conn.executemany(f"INSERT INTO affected VALUES ({','.join('?' * 10)})", aff)
        self.conn.executemany("INSERT INTO aliases VALUES (?,?,?)", ali)
        for batch in (drop, adv, aff, ali):
            batch.clear()

    def load(self, export: ExportZip, progress: Progress | None) -> None:
        total = count_records(export.path, self.limits)
        drop: list[tuple[str]] = []
        adv: list = []
        aff: list = []
        ali: list = []
        done = imported = 0
        self.conn.execute("BEGIN")
        for member, record in iter_records(export.path, self.limits):
            done += 1
            if progress and done % 500 == 0:
                progress(export.folder, done, total)
            rid = record.get("id") if isinstance(record, dict) else None
            old = self.known.get(rid) if isinstance(rid, str) else None
            if old is not None and not is_newer(record.get("modified"), old[0]):
                self.result.skipped += 1  # already imported (and validated) from an equal or newer record
                self.seen.add(rid)
                continue
            rows = to_rows(record, export.folder, f"{export.path}: member {member!r}")
            if old is not None:
                drop.append((rows.id,))
            self.known[rows.id] = (rows.modified, export.folder)
            adv.append(rows.advisory)
            aff.extend(rows.affected)
            ali.extend(rows.aliases)
            imported += 1
            self.seen.add(rows.id)
            if len(adv) + len(drop) >= BATCH:
                self._flush(drop, adv, aff, ali)
        self._flush(drop, adv, aff, ali)
        self.conn.execute("COMMIT")
        if progress:
            progress(export.folder, done, total)
        self.result.imported += imported
        self.result.per_export[export.folder] = done

    def remove_unseen(self, folders: set[str]) -> None:
        """Records of a re-imported export that the new export no longer has are gone upstream."""
        gone = [i for i, (_, src) in self.known.items() if src in folders and i not in self.seen]
        self.conn.execute("BEGIN")
        self._flush([(i,) for i in gone], [], [], [])
        self.conn.execute("COMMIT")
        for i in gone:
            del self.known[i]
        self.result.removed = len(gone)


def _finish(conn: sqlite3.Connection, builder: _Builder, result: UpdateResult) -> None:
    conn.executescript(INDEXES)
    counts = dict(conn.execute("SELECT source, count(*) FROM advisories GROUP BY source"))
    ecosystems = dict(
        conn.execute(
            "SELECT ecosystem_base, count(DISTINCT advisory_id) FROM affected GROUP BY ecosystem_base"
        )
    )
    withdrawn = conn.execute("SELECT count(*) FROM advisories WHERE withdrawn IS NOT NULL").fetchone()[0]
    meta = {
        "schema_version": SCHEMA_VERSION,
        "source": result.source,
        "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "counts": counts,
        "ecosystems": ecosystems,
        "withdrawn": withdrawn,
        "last_run": {
            "imported": result.imported,
            "skipped": result.skipped,
            "removed": result.removed,
            "incremental": result.incremental,
        },
    }
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()]
    )
    conn.execute("COMMIT")
    check = conn.execute("PRAGMA integrity_check").fetchall()
    if check != [("ok",)]:
        raise DatabaseError(f"new advisory database failed its integrity check: {check[0][0]}")
    total = conn.execute("SELECT count(*) FROM advisories").fetchone()[0]
    orphans = conn.execute(
        "SELECT count(*) FROM affected WHERE advisory_id NOT IN (SELECT id FROM advisories)"
    ).fetchone()[0]
    if total != len(builder.known) or orphans:
        raise DatabaseError(
            f"new advisory database inconsistent: {total} advisories for {len(builder.known)} "
            f"ids, {orphans} orphan affected rows"
        )
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    if free * 4 > conn.execute("PRAGMA page_count").fetchone()[0]:
        conn.execute("VACUUM")  # incremental runs that replaced or removed much leave free pages behind
    conn.execute("ANALYZE")
    conn.execute("PRAGMA journal_mode=DELETE")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def update(
    mirror: str | None = None,
    *,
    cache: Path,
    ecosystems: tuple[str, ...] = (),
    full: bool = False,
    limits: ZipLimits | None = None,
    progress: Progress | None = None,
    debian_tracker_source: str | None = None,
    tracker_limits: debian_tracker.TrackerLimits | None = None,
) -> UpdateResult:
    """Import exports from `mirror` (folder, zip or http(s) base; official exports when None), plus the Debian
    security tracker JSON from `debian_tracker_source` (file or URL) or found in a local mirror folder."""
    limits = limits or ZipLimits()
    started = time.monotonic()
    cache.mkdir(parents=True, exist_ok=True)
    live = cache / DB_NAME
    tmp = cache / f"{DB_NAME}.new-{os.getpid()}"
    source = mirror or OFFICIAL_BASE
    exports: list[ExportZip] = []
    with update_lock(cache):
        clean_stale(cache)
        try:
            if source.startswith(("http://", "https://")):
                exports = remote_exports(source, ecosystems, cache, limits)
            else:
                exports = local_exports(Path(source), ecosystems)
            # --- Debian security tracker (debian_tracker.py) ---
            tracker_limits = tracker_limits or debian_tracker.TrackerLimits()
            tracker = debian_tracker.resolve(debian_tracker_source, source, ecosystems, cache, tracker_limits)
            # --- end ---
            result = UpdateResult(source=source, path=live)
            conn, result.incremental = _start_file(live, tmp, full)
            try:
                builder = _Builder(conn, result, limits)
                for export in exports:
                    builder.load(export, progress)
                builder.remove_unseen({e.folder for e in exports})
                # --- Debian security tracker (debian_tracker.py) ---
                if tracker is not None:
                    stats = debian_tracker.load(conn, builder.known, tracker[0], tracker[1], tracker_limits, progress)
                    result.tracker = stats
                    result.imported += stats.imported
                    result.skipped += stats.unchanged
                    result.removed += stats.removed
                # --- end ---
                _finish(conn, builder, result)
            finally:
                conn.close()
            _fsync(tmp)
            os.replace(tmp, live)
            _fsync(cache)
        finally:
            tmp.unlink(missing_ok=True)
            for part in cache.glob(f"download-{os.getpid()}-*.zip.part"):
                part.unlink(missing_ok=True)
            for part in cache.glob(f"download-{os.getpid()}-*.json.part"):  # the Debian tracker
                part.unlink(missing_ok=True)
    result.seconds = time.monotonic() - started
    return result
