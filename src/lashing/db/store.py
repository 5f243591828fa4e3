"""SQLite schema and the read-only query API the matcher uses.

Name normalization (`normalize_name`), applied at import and to be applied by the matcher at lookup:
PyPI -> PEP 503 (lowercase, runs of `-_.` become `-`); Packagist -> lowercase (Composer treats names
case-insensitively); crates.io -> lowercase with `_` as `-` (crates.io treats them as the same crate); every
other ecosystem is case-sensitive and kept as given: npm (legacy mixed-case packages such as `jQuery` are
distinct packages), Go module paths, Debian/Alpine/RPM source names, RubyGems, Hackage, ...
"""

from __future__ import annotations

import json
import re
import sqlite3
import zlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lashing.errors import LashingError
from lashing.paths import cache_dir

SCHEMA_VERSION = 3  # 2: npm names keep their case; 3: per-package severity lifted to the record
DB_NAME = "advisories.sqlite"

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE advisories(
  id TEXT PRIMARY KEY, source TEXT NOT NULL, modified TEXT, published TEXT, withdrawn TEXT,
  summary TEXT, details BLOB, severity TEXT, aliases TEXT, related TEXT, upstream TEXT,
  refs BLOB, db_severity TEXT);
CREATE TABLE affected(
  advisory_id TEXT NOT NULL, ecosystem TEXT NOT NULL, ecosystem_base TEXT NOT NULL, name TEXT NOT NULL,
  normalized_name TEXT NOT NULL, purl TEXT, ranges TEXT, versions TEXT, ecosystem_specific TEXT,
  database_specific TEXT);
CREATE TABLE aliases(alias TEXT NOT NULL, advisory_id TEXT NOT NULL, kind TEXT NOT NULL);
"""
INDEXES = """
CREATE INDEX IF NOT EXISTS affected_lookup ON affected(ecosystem_base, normalized_name);
CREATE INDEX IF NOT EXISTS affected_adv ON affected(advisory_id);
CREATE INDEX IF NOT EXISTS aliases_alias ON aliases(alias);
CREATE INDEX IF NOT EXISTS aliases_adv ON aliases(advisory_id);
"""
DETAILS_COMPRESS_OVER = 256  # shorter details/references stay TEXT; longer ones are zlib BLOBs


class DatabaseError(LashingError):
    """The advisory database is missing, outdated, corrupt or its source is unusable."""


class DatabaseMissingError(DatabaseError):
    """No advisory database yet: `lashing db update` first."""

    exit_code = 1


_PEP503 = re.compile(r"[-_.]+")


def normalize_name(ecosystem_base: str, name: str) -> str:
    """The lookup key for a package name in one ecosystem (see the module docstring)."""
    if ecosystem_base == "PyPI":
        return _PEP503.sub("-", name).lower()
    if ecosystem_base == "Packagist":
        return name.lower()
    if ecosystem_base == "crates.io":
        return name.lower().replace("_", "-")
    return name


def ecosystem_base(ecosystem: str) -> str:
    """ "Debian:11" -> "Debian", "Ubuntu:Pro:14.04:LTS" -> "Ubuntu"."""
    return ecosystem.split(":", 1)[0]


def database_path(cache: Path | None = None) -> Path:
    return (cache or cache_dir()) / DB_NAME


def pack_details(text: str) -> str | bytes:
    return zlib.compress(text.encode(), 6) if len(text) > DETAILS_COMPRESS_OVER else text


def unpack_details(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return zlib.decompress(value).decode() if isinstance(value, bytes) else value


def _json(value: str | None) -> Any:
    return json.loads(value) if value else None


@dataclass(frozen=True)
class AffectedRow:
    """One `affected[]` entry; `ranges`/`versions` are the raw OSV JSON for the matcher to evaluate."""

    advisory_id: str
    ecosystem: str
    ecosystem_base: str
    name: str
    normalized_name: str
    purl: str | None
    ranges: list[dict[str, Any]]
    versions: list[str]
    ecosystem_specific: dict[str, Any] | None
    database_specific: dict[str, Any] | None
    withdrawn: bool


@dataclass(frozen=True)
class Advisory:
    id: str
    source: str
    modified: str | None
    published: str | None
    withdrawn: str | None
    summary: str
    details: str
    severity: list[dict[str, Any]]
    aliases: tuple[str, ...]
    related: tuple[str, ...]
    upstream: tuple[str, ...]
    references: list[dict[str, Any]]
    database_severity: str | None


_AFFECTED_SQL = (
    "SELECT f.advisory_id, f.ecosystem, f.ecosystem_base, f.name, f.normalized_name, f.purl, f.ranges,"
    " f.versions, f.ecosystem_specific, f.database_specific, a.withdrawn IS NOT NULL"
    " FROM affected f JOIN advisories a ON a.id = f.advisory_id"
    " WHERE f.ecosystem_base = ? AND f.normalized_name = ?"
)


class AdvisoryStore:
    """Read-only access. The live file is never written in place (updates swap in a new file), so it
    is opened `immutable`: no locking, and a reader keeps its snapshot across an update."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    @classmethod
    def open(cls, path: Path | None = None) -> AdvisoryStore:
        path = path or database_path()
        if not path.is_file():
            raise DatabaseMissingError(f"no advisory database at {path}: run `lashing db update` first")
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(
                f"advisory database {path} is unreadable ({exc}): run `lashing db update`"
            ) from None
        if version is None or int(version[0]) != SCHEMA_VERSION:
            conn.close()
            raise DatabaseError(
                f"advisory database {path} has another schema version: run `lashing db update`"
            )
        return cls(conn, path)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> AdvisoryStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def meta(self) -> dict[str, Any]:
        return {key: json.loads(value) for key, value in self._conn.execute("SELECT key, value FROM meta")}

    def affected_for(
        self, ecosystem_base: str, normalized_name: str, ecosystems: Collection[str] | None = None
    ) -> list[AffectedRow]:
        """Every affected entry for a package (name already normalized with `normalize_name`), optionally
        only those of the given exact ecosystems (a distro release): filtered before any JSON is decoded."""
        sql, params = _AFFECTED_SQL, [ecosystem_base, normalized_name]
        if ecosystems is not None:
            wanted = sorted(ecosystems)
            sql += f" AND f.ecosystem IN ({','.join('?' * len(wanted))})"
            params.extend(wanted)
        rows = self._conn.execute(sql, params).fetchall()
        return [
            AffectedRow(
                r[0], r[1], r[2], r[3], r[4], r[5], _json(r[6]) or [], _json(r[7]) or [], _json(r[8]),
                _json(r[9]), bool(r[10]),
            )
            for r in rows
        ]

    def ratings_for_alias(self, alias: str) -> list[tuple[str, list[dict[str, Any]], str | None, bool]]:
        """(id, severity entries, database severity, withdrawn) of every record naming `alias`: what a
        matcher needs to borrow a rating for a CVE from another source, without loading whole records."""
        rows = self._conn.execute(
            "SELECT a.id, a.severity, a.db_severity, a.withdrawn IS NOT NULL FROM aliases x"
            " JOIN advisories a ON a.id = x.advisory_id WHERE x.alias = ?",
            (alias,),
        ).fetchall()
        return [(r[0], _json(r[1]) or [], r[2], bool(r[3])) for r in rows]

    def advisory(self, advisory_id: str) -> Advisory | None:
        row = self._conn.execute(
            "SELECT id, source, modified, published, withdrawn, summary, details, severity, aliases, related,"
            " upstream, refs, db_severity FROM advisories WHERE id = ?",
            (advisory_id,),
        ).fetchone()
        if row is None:
            return None
        return Advisory(
            id=row[0],
            source=row[1],
            modified=row[2],
            published=row[3],
            withdrawn=row[4],
            summary=row[5] or "",
            details=unpack_details(row[6]),
            severity=_json(row[7]) or [],
            aliases=tuple(_json(row[8]) or ()),
            related=tuple(_json(row[9]) or ()),
            upstream=tuple(_json(row[10]) or ()),
            references=_json(unpack_details(row[11])) or [],
            database_severity=row[12],
        )

    def ids_for_alias(self, alias: str) -> list[str]:
        """Advisories naming `alias` (in `aliases` or `upstream`), e.g. every record for one CVE."""
        return [r[0] for r in self._conn.execute("SELECT advisory_id FROM aliases WHERE alias = ?", (alias,))]

    def count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM advisories").fetchone()[0])
