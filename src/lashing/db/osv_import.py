"""Read OSV records from an `<Ecosystem>/all.zip` export, bounded, and turn them into table rows."""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lashing.db.store import DatabaseError, ecosystem_base, normalize_name, pack_details


class InvalidExportError(DatabaseError):
    """An export zip is corrupt, hostile or holds something that is not an OSV record."""


@dataclass(frozen=True)
class ZipLimits:
    max_member: int = 16 << 20  # one OSV record
    max_ratio: int = 100  # uncompressed/compressed for members over `ratio_floor`
    ratio_floor: int = 1 << 20
    max_total: int = 4 << 30  # sum of the members of one zip
    max_members: int = 1_000_000
    max_download: int = 2 << 30  # one all.zip fetched over http


AdvRow = tuple[Any, ...]


@dataclass(frozen=True)
class RecordRows:
    id: str
    modified: str | None
    advisory: AdvRow
    affected: list[AdvRow]
    aliases: list[tuple[str, str, str]]


def _members(archive: zipfile.ZipFile, label: str, limits: ZipLimits) -> list[zipfile.ZipInfo]:
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > limits.max_members:
        raise InvalidExportError(f"{label}: {len(infos)} members, over the bound of {limits.max_members}")
    total = 0
    for info in infos:
        if info.file_size > limits.max_member:
            raise InvalidExportError(
                f"{label}: member {info.filename!r} is {info.file_size} bytes, over the "
                f"bound of {limits.max_member}"
            )
        if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise InvalidExportError(
                f"{label}: member {info.filename!r} compression ratio over {limits.max_ratio} (zip bomb?)"
            )
        total += info.file_size
    if total > limits.max_total:
        raise InvalidExportError(f"{label}: {total} bytes uncompressed, over the bound of {limits.max_total}")
    return infos


def count_records(zip_path: Path, limits: ZipLimits) -> int:
    with _open(zip_path) as archive:
        return len(_members(archive, str(zip_path), limits))


def _open(zip_path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InvalidExportError(f"{zip_path}: not a readable zip ({exc})") from None


def iter_records(zip_path: Path, limits: ZipLimits) -> Iterator[tuple[str, dict[str, Any]]]:
    """(member name, record) for every member; any unreadable member rejects the whole export."""
    label = str(zip_path)
    with _open(zip_path) as archive:
        for info in _members(archive, label, limits):
            try:
                with archive.open(info) as stream:
                    data = stream.read(limits.max_member + 1)
            except (
                zipfile.BadZipFile,
                zlib.error,
                OSError,
                ValueError,
                EOFError,
                NotImplementedError,
            ) as exc:
                raise InvalidExportError(f"{label}: member {info.filename!r} unreadable ({exc})") from None
            if len(data) > limits.max_member:
                raise InvalidExportError(f"{label}: member {info.filename!r} over {limits.max_member} bytes")
            try:
                record = json.loads(data)
            except (ValueError, RecursionError) as exc:
                raise InvalidExportError(f"{label}: member {info.filename!r} is not JSON ({exc})") from None
            yield info.filename, record


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def is_newer(new: Any, old: str | None) -> bool:
    """True when `new` modified time is strictly later than `old` (unparseable: compare as text)."""
    if new == old:
        return False
    new = new if isinstance(new, str) else None
    a, b = parse_time(new), parse_time(old)
    if a is not None and b is not None:
        return a > b
    return (new or "") > (old or "")


def _dump(value: Any) -> str | None:
    return (
        json.dumps(value, separators=(",", ":"), ensure_ascii=False) if value not in (None, [], {}) else None
    )


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _affected_severity(entries: Any) -> Any:
    """OSV also allows `severity` per affected package (Kubernetes' records use it): the first one serves as
    the record's when the record has none."""
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("severity"), list) and entry["severity"]:
            return entry["severity"]
    return None


def to_rows(record: Any, source: str, where: str) -> RecordRows:
    """Rows for one record; a record without an id or with mistyped structure rejects the export."""
    if not isinstance(record, dict) or not isinstance(record.get("id"), str) or not record["id"]:
        raise InvalidExportError(f"{where}: not an OSV record (no string `id`)")
    rid: str = record["id"]
    if len(rid) > 256:
        raise InvalidExportError(f"{where}: OSV id longer than 256 characters")
    db_specific = record.get("database_specific")
    db_severity = db_specific.get("severity") if isinstance(db_specific, dict) else None
    aliases, related, upstream = (_strings(record.get(k)) for k in ("aliases", "related", "upstream"))
    advisory = (
        rid,
        source,
        _str(record.get("modified")),
        _str(record.get("published")),
        _str(record.get("withdrawn")),
        _str(record.get("summary")),
        pack_details(_str(record.get("details")) or ""),
        _dump(record.get("severity") or _affected_severity(record.get("affected"))),
        _dump(aliases),
        _dump(related),
        _dump(upstream),
        pack_details(_dump(record.get("references")) or ""),
        db_severity if isinstance(db_severity, str) else _dump(db_severity),
    )
    affected: list[AdvRow] = []
    entries = record.get("affected")
    for entry in entries if isinstance(entries, list) else []:
        package = entry.get("package") if isinstance(entry, dict) else None
        if not isinstance(package, dict) or not isinstance(package.get("name"), str):
            continue  # OSV allows affected entries without a package (e.g. GIT-only); nothing to match
        eco = _str(package.get("ecosystem")) or ""
        base = ecosystem_base(eco)
        affected.append(
            (
                rid,
                eco,
                base,
                package["name"],
                normalize_name(base, package["name"]),
                _str(package.get("purl")),
                _dump(entry.get("ranges")),
                _dump(entry.get("versions")),
                _dump(entry.get("ecosystem_specific")),
                _dump(entry.get("database_specific")),
            )
        )
    alias_rows = [(a, rid, "alias") for a in dict.fromkeys(aliases)]
    alias_rows += [(u, rid, "upstream") for u in dict.fromkeys(upstream) if u not in aliases]
    return RecordRows(rid, _str(record.get("modified")), advisory, affected, alias_rows)
