"""What `lashing db status` reports: source, age, counts, size."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lashing.db.osv_import import parse_time
from lashing.db.store import AdvisoryStore, database_path


@dataclass(frozen=True)
class DbStatus:
    path: Path
    source: str
    imported_at: str
    age_seconds: float | None
    size_bytes: int
    advisories: int
    withdrawn: int
    counts: dict[str, int]  # per export folder
    ecosystems: dict[str, int]  # advisories per affected ecosystem base
    last_run: dict[str, Any]
    feeds: dict[str, dict[str, Any]] = field(default_factory=dict)  # non-OSV sources (the Debian tracker)

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["path"] = str(self.path)
        return data


def db_status(path: Path | None = None, now: datetime | None = None) -> DbStatus:
    """Status of the live database; raises DatabaseMissingError when there is none."""
    path = path or database_path()
    with AdvisoryStore.open(path) as store:
        meta = store.meta()
        total = store.count()
    imported = parse_time(meta.get("imported_at"))
    age = ((now or datetime.now(UTC)) - imported).total_seconds() if imported else None
    return DbStatus(
        path=path,
        source=str(meta.get("source", "")),
        imported_at=str(meta.get("imported_at", "")),
        age_seconds=age,
        size_bytes=path.stat().st_size,
        advisories=total,
        withdrawn=int(meta.get("withdrawn", 0)),
        counts=dict(meta.get("counts", {})),
        ecosystems=dict(meta.get("ecosystems", {})),
        last_run=dict(meta.get("last_run", {})),
        feeds=_feeds(meta),
    )


def _feeds(meta: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Non-OSV sources: where each came from, when, and how many of its records the database holds."""
    from lashing.db import debian_tracker

    tracker = meta.get(debian_tracker.META_KEY)
    if not isinstance(tracker, dict):
        return {}
    advisories = dict(meta.get("counts", {})).get(debian_tracker.SOURCE, 0)
    return {debian_tracker.SOURCE: {**tracker, "advisories": advisories}}
