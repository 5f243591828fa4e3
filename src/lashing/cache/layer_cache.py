"""Per-layer analysis cache in embedded SQLite, bounded in size and safe under concurrent runs.

Keyed by the layer's diff_id plus every analyzer's name and version, so an analyzer change
invalidates exactly its results. SQLite's WAL mode lets readers run while one writer commits;
writers wait (busy timeout) instead of failing, and each write is one short transaction. When the
stored bytes pass the bound, least-recently-used layers are evicted.

Entries are JSON, encoded and decoded with msgspec against the `LayerAnalysis` dataclasses: a
decode checks every field's type as pydantic would, but importing msgspec and building its decoder
take ~2 ms where pydantic's import and TypeAdapter took ~70 ms of every image scan.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import time
from pathlib import Path

import msgspec
import zstandard

from lashing.analyzers.walker import LayerAnalysis
from lashing.errors import CacheError
from lashing.paths import cache_dir

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2  # 2: AnalysisResult carries findings
DEFAULT_MAX_BYTES = 2 * 1024**3
MAX_ENTRY_BYTES = 512 * 1024**2  # one layer's analysis as JSON, decompressed
_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(LayerAnalysis)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS layers (
    key TEXT PRIMARY KEY,
    diff_id TEXT NOT NULL,
    analyzers TEXT NOT NULL,
    data BLOB NOT NULL,
    size INTEGER NOT NULL,
    last_used REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS layers_last_used ON layers(last_used);
"""


class LayerCache:
    """get/put LayerAnalysis by (diff_id, analyzer signature)."""

    def __init__(self, path: Path | None = None, max_bytes: int | None = None):
        self.path = path or cache_dir() / "layers.sqlite"
        env_max = os.environ.get("LASHING_CACHE_MAX_BYTES")
        self.max_bytes = max_bytes or (int(env_max) if env_max and env_max.isdigit() else DEFAULT_MAX_BYTES)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = self._connect()

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            return db
        except sqlite3.DatabaseError as exc:
            raise CacheError(
                f"layer cache {self.path} is unusable ({exc}); delete it to start afresh"
            ) from None

    @staticmethod
    def key(diff_id: str, signature: str) -> str:
        return hashlib.sha256(f"{SCHEMA_VERSION}|{diff_id}|{signature}".encode()).hexdigest()

    def get(self, diff_id: str, signature: str) -> LayerAnalysis | None:
        key = self.key(diff_id, signature)
        try:
            row = self._db.execute("SELECT data FROM layers WHERE key = ?", (key,)).fetchone()
        except sqlite3.DatabaseError as exc:
            log.warning("layer cache read failed: %s", exc)
            return None
        if row is None:
            return None
        try:
            analysis = _DECODER.decode(_decompress(row[0]))
        except (msgspec.DecodeError, zstandard.ZstdError) as exc:
            log.warning("dropping unreadable cache entry for %s: %s", diff_id, exc)
            self._execute("DELETE FROM layers WHERE key = ?", (key,))
            return None
        self._execute("UPDATE layers SET last_used = ? WHERE key = ?", (time.time(), key))
        return analysis

    def put(self, analysis: LayerAnalysis, signature: str) -> None:
        """Store a layer's analysis (one that would not fit MAX_ENTRY_BYTES is not kept)."""
        encoded = _ENCODER.encode(analysis)
        if len(encoded) > MAX_ENTRY_BYTES:
            return
        data = zstandard.ZstdCompressor(level=3).compress(encoded)
        key = self.key(analysis.diff_id, signature)
        self._execute(
            "INSERT OR REPLACE INTO layers(key, diff_id, analyzers, data, size, last_used) VALUES (?,?,?,?,?,?)",
            (key, analysis.diff_id, signature, data, len(data), time.time()),
        )
        self.evict()

    def total_bytes(self) -> int:
        return int(self._db.execute("SELECT COALESCE(SUM(size), 0) FROM layers").fetchone()[0])

    def evict(self) -> int:
        """Drop least-recently-used entries until the cache is under 90% of its bound."""
        total = self.total_bytes()
        if total <= self.max_bytes:
            return 0
        target = int(self.max_bytes * 0.9)
        removed = 0
        rows = self._db.execute("SELECT key, size FROM layers ORDER BY last_used ASC").fetchall()
        doomed = []
        for key, size in rows:
            if total <= target:
                break
            doomed.append((key,))
            total -= size
            removed += 1
        self._db.executemany("DELETE FROM layers WHERE key = ?", doomed)
        return removed

    def clear(self) -> None:
        self._execute("DELETE FROM layers", ())

    def _execute(self, sql: str, params: tuple[object, ...]) -> None:
        try:
            self._db.execute(sql, params)
        except sqlite3.OperationalError as exc:  # a busy or read-only cache only costs speed
            log.warning("layer cache write skipped: %s", exc)

    def close(self) -> None:
        self._db.close()


def _decompress(data: bytes) -> bytes:
    """An entry's JSON, never more than MAX_ENTRY_BYTES: a frame that announces more is refused before any
    allocation (the decompressor would reserve what the header says), one that does not say is cut there."""
    size = zstandard.frame_content_size(data)
    if size > MAX_ENTRY_BYTES:
        raise zstandard.ZstdError(f"entry announces {size} bytes, over the {MAX_ENTRY_BYTES}-byte bound")
    return zstandard.ZstdDecompressor().decompress(data, max_output_size=MAX_ENTRY_BYTES)
