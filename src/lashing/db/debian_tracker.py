"""The Debian security tracker JSON as a further advisory source: unfixed, `unimportant`, `no-dsa` and
end-of-life CVEs that OSV's DSA/DLA records (fixed issues only) do not carry.

Input: https://security-tracker.debian.org/tracker/data/json (about 70 MB), plain, gzip or zstd (sniffed by
magic bytes), a local file or an http(s) URL. Its shape::

    {source_package: {"CVE-YYYY-NNNN": {"description": str, "scope": "local"|"remote", "debianbug": int,
        "releases": {codename: {"status": "resolved"|"open"|"undetermined", "repositories": {suite: version},
                                "fixed_version": str, "urgency": str, "nodsa": str, "nodsa_reason": str}}}}}

(`releases` is `[]` when empty; `urgency` is low|medium|high, optionally suffixed `*`/`**` (e.g. `high**`),
or unimportant | not yet assigned | end-of-life; `nodsa` is the `<no-dsa>` note, `nodsa_reason` "" |
"postponed" | "ignored"; `TEMP-...` keys are issues without a CVE.)

Output: one OSV-shaped record per CVE, as osv.dev derives them from the same file: id `DEBIAN-CVE-...`,
`upstream` = [the CVE] (so the matcher files the finding under the CVE and merges it with DSA/DLA/NVD records),
details = the description (summary = its first line, shortened), references = the tracker page and the Debian
bugs, `source` = "debian-tracker". One `affected` entry per (source package, release), ecosystem `Debian:<major>`
for wheezy 7, jessie 8, stretch 9, buster 10, bullseye 11, bookworm 12, trixie 13, forky 14 (testing, as
`lashing.analyzers.vulns.ecosystems` maps it). `sid` (unstable) has no release number and a sid system's
os-release names the testing codename, whose own tracker entries then apply: sid entries are skipped (osv.dev
does the same), as are unknown codenames; both are counted per codename in the stats, not as warnings.
Ranges: ECOSYSTEM `introduced 0` + `fixed <fixed_version>` when resolved; a resolved entry with fixed_version "0"
means never affected and yields no entry; open/undetermined entries have no fixed event.

Fix state (`database_specific.fix_state`, read by the matcher when a range has no fixed event), following the
tracker's own status semantics (the security team's `<no-dsa>`/`<ignored>`/`<postponed>` tags and the tracker's
`Issue.get_status` helper):

    resolved with a fixed version                     -> "fixed"
    open|undetermined and nodsa_reason == "ignored"   -> "wont_fix"   (the team decided to leave it unfixed)
    open|undetermined and urgency "unimportant"       -> "wont_fix"   (not a security issue for Debian's build)
    open|undetermined and urgency "end-of-life"       -> "wont_fix"   (no more security support for the package)
    every other open entry (incl. plain no-dsa, nodsa_reason "postponed") -> "not_fixed" (a fix may still come
                                                         through a point release or a later update)
    undetermined (otherwise)                          -> "not_fixed"

`database_specific` also keeps the raw `status`, `urgency`, `nodsa`, `nodsa_reason` and the release codename.
Severity (`database_specific.severity` of the record, i.e. `db_severity`): the highest per-entry urgency among
the CVE's entries, low/medium/high (any `*` suffix dropped) as such, `unimportant` -> LOW; "not yet assigned",
"end-of-life" and unknown values give none (the matcher then borrows another record's rating for the CVE).

Untrusted input: the file is read as a stream, one source package at a time (never the whole document), under
bounds on decompressed bytes, on one package's JSON and on the number of entries; what stays in memory until the
write is a compact tuple per affected entry (about 200 MB peak for a synthetic 139 MB, 527k-entry file). A
document that is not JSON, not an object, truncated, empty or without a single usable package is rejected with a
one-line `DatabaseError`; a malformed package, CVE or release entry is skipped and counted as a warning.

Incremental: records are compared with the stored ones (rows are deterministic) and only changed CVEs are
rewritten; tracker records whose CVE left the file are removed. A `DEBIAN-CVE-*` record of the same id from an
OSV export is replaced by the tracker's own (the richer of the two: it has nodsa and end-of-life states); a later
run importing that export without the tracker puts the export's copy back (it is newer by `modified`).
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx

from lashing.db.osv_import import to_rows
from lashing.db.store import DatabaseError

SOURCE = "debian-tracker"
TRACKER_URL = "https://security-tracker.debian.org/tracker/data/json"
MIRROR_NAMES = ("debian-tracker.json", "debian-tracker.json.gz", "debian-tracker.json.zst")
META_KEY = "debian_tracker"

RELEASES = {
    "wheezy": "7", "jessie": "8", "stretch": "9", "buster": "10", "bullseye": "11", "bookworm": "12",
    "trixie": "13", "forky": "14",
}  # fmt: skip
STATES = ("fixed", "not_fixed", "wont_fix")
_SEVERITY = {"low": "LOW", "unimportant": "LOW", "medium": "MEDIUM", "high": "HIGH"}
_RANK = {None: 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3}
_CVE = re.compile(r"CVE-\d{4}-\d{4,}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9+.~_-]{0,199}")
_VERSION = re.compile(r"[A-Za-z0-9.+~:_-]{1,256}")
MAX_TEXT = 64 << 10  # one description or nodsa note
SUMMARY_MAX = 200
TRACKER_URL_BASE = "https://security-tracker.debian.org/tracker/"
_WS = " \t\n\r"

Progress = Callable[[str, int, int], None]


class InvalidTrackerError(DatabaseError):
    """The tracker JSON is unreadable, truncated, hostile or not the tracker's shape."""


@dataclass(frozen=True)
class TrackerLimits:
    max_bytes: int = 1 << 30  # decompressed JSON (the real file is about 70 MB)
    max_download: int = 512 << 20  # bytes fetched over http
    max_package: int = 64 << 20  # one source package's object (the largest real one, linux, is a few MB)
    max_entries: int = 2_000_000  # affected entries kept in memory before writing
    chunk: int = 1 << 20


@dataclass
class TrackerStats:
    source: str
    packages: int = 0
    advisories: int = 0  # CVEs with at least one affected entry
    entries: int = 0  # affected entries
    imported: int = 0
    unchanged: int = 0
    removed: int = 0
    warnings: int = 0
    samples: list[str] = field(default_factory=list)  # the first warnings, for the user
    skipped_releases: dict[str, int] = field(default_factory=dict)  # sid, unknown codenames
    not_cve: int = 0  # TEMP-... issues

    def warn(self, message: str) -> None:
        self.warnings += 1
        if len(self.samples) < 5:
            self.samples.append(message[:300])

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "packages": self.packages,
            "advisories": self.advisories,
            "entries": self.entries,
            "warnings": self.warnings,
            "skipped_releases": self.skipped_releases,
            "not_cve": self.not_cve,
        }


# ---------------------------------------------------------------- locating and fetching


def find_in_mirror(mirror: Path) -> Path | None:
    """A `debian-tracker.json[.gz|.zst]` lying in a local mirror folder, if any."""
    if not mirror.is_dir():
        return None
    return next((mirror / n for n in MIRROR_NAMES if (mirror / n).is_file()), None)


def fetch(url: str, dest: Path, limits: TrackerLimits, timeout: float = 60.0) -> Path:
    """Stream the tracker JSON from `url` into `dest` under the download bound."""
    from lashing.db.download import download

    with httpx.Client(timeout=timeout, follow_redirects=True) as client:
        if not download(client, url, dest, limits.max_download, InvalidTrackerError):
            raise DatabaseError(f"cannot fetch {url}: HTTP 404")
    return dest


# ---------------------------------------------------------------- bounded streaming reader


class _Bounded(io.RawIOBase):
    """Counts decompressed bytes and refuses to go past the bound (decompression bombs)."""

    def __init__(self, inner: IO[bytes], raw: IO[bytes], label: str, bound: int) -> None:
        self.inner, self.raw, self.label, self.bound, self.total = inner, raw, label, bound, 0

    def close(self) -> None:
        if not self.closed:
            self.inner.close()
            self.raw.close()
        super().close()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        self.total += len(data)
        if self.total > self.bound:
            raise InvalidTrackerError(f"{self.label}: over the bound of {self.bound} bytes of JSON")
        buffer[: len(data)] = data
        return len(data)


def _open(path: Path, label: str, limits: TrackerLimits) -> IO[bytes]:
    try:
        raw = open(path, "rb")  # closed by the caller through the wrapper
    except OSError as exc:
        raise InvalidTrackerError(f"{label}: cannot read ({exc.strerror or exc})") from None
    magic = raw.read(4)
    raw.seek(0)
    inner: IO[bytes]
    if magic[:2] == b"\x1f\x8b":
        inner = gzip.GzipFile(fileobj=raw)
    elif magic == b"\x28\xb5\x2f\xfd":
        import zstandard

        inner = zstandard.ZstdDecompressor().stream_reader(raw)
    else:
        inner = raw
    return io.BufferedReader(_Bounded(inner, raw, label, limits.max_bytes), 1 << 20)


class _Scanner:
    """Yields the (key, value) pairs of the top-level JSON object, decoding one value at a time."""

    def __init__(self, stream: IO[bytes], label: str, limits: TrackerLimits) -> None:
        self.stream, self.label, self.limits = stream, label, limits
        self.text = codecs.getincrementaldecoder("utf-8")()
        self.buf, self.pos, self.base, self.eof = "", 0, 0, False
        self.decoder = json.JSONDecoder()

    def _fill(self, want: int) -> bool:
        if self.eof:
            return False
        try:
            data = self.stream.read(max(want, self.limits.chunk))
            chunk = self.text.decode(data, final=not data)
        except InvalidTrackerError:
            raise
        except Exception as exc:  # OSError, EOFError, zlib.error, UnicodeDecodeError, zstandard.ZstdError
            raise InvalidTrackerError(f"{self.label}: unreadable ({type(exc).__name__}: {exc})") from None
        if not data:
            self.eof = True
        if self.pos > self.limits.chunk:  # drop what was consumed
            self.base += self.pos
            self.buf, self.pos = self.buf[self.pos :], 0
        self.buf += chunk
        return bool(data)

    def _fail(self, what: str) -> InvalidTrackerError:
        return InvalidTrackerError(f"{self.label}: not the tracker JSON ({what} at offset {self.base + self.pos})")

    def _skip_ws(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WS:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill(0):
                return ""

    def _value(self) -> Any:
        start = self.pos
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except RecursionError:
                raise self._fail("nesting too deep") from None
            except json.JSONDecodeError as exc:
                if self.eof:
                    raise InvalidTrackerError(
                        f"{self.label}: not valid JSON ({exc.msg} at offset {self.base + exc.pos}; truncated?)"
                    ) from None
                if len(self.buf) - start > self.limits.max_package:
                    raise InvalidTrackerError(
                        f"{self.label}: one JSON value over the bound of {self.limits.max_package} characters"
                    ) from None
                self._fill(len(self.buf) - start)  # grow geometrically: each retry costs at most the value
                start = self.pos
                continue
            if end == len(self.buf) and not self.eof and not isinstance(value, dict | list | str):
                self._fill(0)  # a number or literal cut by the buffer end: decode again with more text
                continue
            self.pos = end
            return value

    def items(self) -> Iterator[tuple[Any, Any]]:
        if self._skip_ws() != "{":
            raise self._fail("no top-level object")
        self.pos += 1
        if self._skip_ws() == "}":
            self.pos += 1
        else:
            while True:
                if self._skip_ws() != '"':
                    raise self._fail("expected a package name")
                key = self._value()
                if self._skip_ws() != ":":
                    raise self._fail("expected ':'")
                self.pos += 1
                self._skip_ws()
                yield key, self._value()
                sep = self._skip_ws()
                if sep == "":
                    raise self._fail("end of file inside the top-level object: truncated")
                self.pos += 1
                if sep == "}":
                    break
                if sep != ",":
                    raise self._fail("expected ',' or '}'")
        if self._skip_ws() != "":
            raise self._fail("data after the top-level object")


# ---------------------------------------------------------------- conversion


@dataclass(slots=True)
class _Cve:
    description: str = ""
    severity: str | None = None
    bugs: list[int] = field(default_factory=list)
    # (package, ecosystem, codename, fixed version or None, fix state, status, urgency, nodsa, nodsa_reason)
    entries: list[tuple[Any, ...]] = field(default_factory=list)


def fix_state(urgency: str, nodsa_reason: str | None) -> str:
    """The fix state of an open or undetermined entry (see the module docstring)."""
    if nodsa_reason == "ignored" or urgency.rstrip("*") in ("unimportant", "end-of-life"):
        return "wont_fix"
    return "not_fixed"


def severity_of(urgency: str) -> str | None:
    return _SEVERITY.get(urgency.rstrip("*").strip().lower())


def _text(value: Any, limit: int = MAX_TEXT) -> str | None:
    return value[:limit] if isinstance(value, str) else None


class _Converter:
    def __init__(self, stats: TrackerStats, limits: TrackerLimits) -> None:
        self.stats, self.limits = stats, limits
        self.cves: dict[str, _Cve] = {}
        self._intern: dict[str, str] = {}

    def _i(self, value: str | None) -> str | None:
        return None if value is None else self._intern.setdefault(value, value)

    def package(self, name: Any, issues: Any) -> None:
        stats = self.stats
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            stats.warn(f"package {str(name)[:80]!r}: not a source package name")
            return
        if not isinstance(issues, dict):
            stats.warn(f"package {name}: not an object of issues")
            return
        stats.packages += 1
        name = self._i(name) or name
        for cve, issue in issues.items():
            if not _CVE.fullmatch(cve):
                stats.not_cve += 1  # TEMP-... (no CVE yet): nothing a scanner can name
                continue
            if not isinstance(issue, dict):
                stats.warn(f"{name} {cve}: not an object")
                continue
            releases = issue.get("releases")
            if releases == [] or releases is None:
                continue
            if not isinstance(releases, dict):
                stats.warn(f"{name} {cve}: `releases` is not an object")
                continue
            record = self.cves.get(cve)
            for codename, release in releases.items():
                entry = self._entry(name, cve, codename, release)
                if entry is None:
                    continue
                if record is None:
                    record = self.cves[cve] = _Cve()
                record.entries.append(entry)
                stats.entries += 1
                if stats.entries > self.limits.max_entries:
                    raise InvalidTrackerError(
                        f"{stats.source}: over the bound of {self.limits.max_entries} affected entries"
                    )
                sev = severity_of(entry[6])
                if _RANK[sev] > _RANK[record.severity]:
                    record.severity = sev
            if record is not None:
                description = _text(issue.get("description"))
                if description and not record.description:
                    record.description = description
                bug = issue.get("debianbug")
                valid = isinstance(bug, int) and not isinstance(bug, bool) and 0 < bug < 1 << 31
                if valid and bug not in record.bugs and len(record.bugs) < 20:
                    record.bugs.append(bug)

    def _entry(self, name: str, cve: str, codename: Any, release: Any) -> tuple[Any, ...] | None:
        stats = self.stats
        where = f"{name} {cve} {str(codename)[:40]}"
        if not isinstance(release, dict):
            stats.warn(f"{where}: release entry is not an object")
            return None
        major = RELEASES.get(codename) if isinstance(codename, str) else None
        if major is None:
            key = str(codename)[:40]
            if key in stats.skipped_releases or len(stats.skipped_releases) < 50:
                stats.skipped_releases[key] = stats.skipped_releases.get(key, 0) + 1
            return None
        status, fixed = release.get("status"), release.get("fixed_version")
        urgency = release.get("urgency", "")
        nodsa, reason = release.get("nodsa"), release.get("nodsa_reason")
        if not isinstance(urgency, str) or len(urgency) > 64:
            stats.warn(f"{where}: `urgency` is not a short string")
            return None
        if not isinstance(nodsa, str | None) or not isinstance(reason, str | None):
            stats.warn(f"{where}: `nodsa`/`nodsa_reason` is not a string")
            return None
        if status == "resolved":
            if fixed == "0":
                return None  # never affected
            if not isinstance(fixed, str) or not _VERSION.fullmatch(fixed):
                stats.warn(f"{where}: resolved without a usable fixed_version")
                return None
            state = "fixed"
        elif status in ("open", "undetermined"):
            fixed = None
            state = fix_state(urgency, reason)
        else:
            stats.warn(f"{where}: unknown status {str(status)[:40]!r}")
            return None
        i = self._i
        return (
            name, i(f"Debian:{major}"), i(codename), fixed, i(state), i(status), i(urgency),
            i(_text(nodsa, 1024)), i(reason[:64] if reason is not None else None),
        )  # fmt: skip


def _summary(description: str) -> str:
    line = description.strip().split("\n", 1)[0].strip()
    return line if len(line) <= SUMMARY_MAX else line[: SUMMARY_MAX - 3].rstrip() + "..."


def to_record(cve: str, data: _Cve) -> dict[str, Any]:
    """The OSV-shaped record of one CVE (see the module docstring)."""
    affected = []
    for name, ecosystem, codename, fixed, state, status, urgency, nodsa, reason in data.entries:
        events: list[dict[str, str]] = [{"introduced": "0"}]
        if fixed is not None:
            events.append({"fixed": fixed})
        specific: dict[str, Any] = {"fix_state": state, "status": status, "urgency": urgency, "release": codename}
        if nodsa is not None:
            specific["nodsa"] = nodsa
        if reason is not None:
            specific["nodsa_reason"] = reason
        affected.append(
            {
                "package": {"ecosystem": ecosystem, "name": name, "purl": f"pkg:deb/debian/{name}?arch=source"},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
                "database_specific": specific,
            }
        )
    references = [{"type": "ADVISORY", "url": TRACKER_URL_BASE + cve}]
    references += [{"type": "REPORT", "url": f"https://bugs.debian.org/{bug}"} for bug in data.bugs]
    record: dict[str, Any] = {
        "id": f"DEBIAN-{cve}",
        "upstream": [cve],
        "details": data.description,
        "affected": affected,
        "references": references,
    }
    if data.description:
        record["summary"] = _summary(data.description)
    if data.severity:
        record["database_specific"] = {"severity": data.severity}
    return record


def read_tracker(path: Path, label: str, limits: TrackerLimits | None = None) -> tuple[dict[str, _Cve], TrackerStats]:
    """Parse the whole file into per-CVE entries (streamed: one source package in memory at a time)."""
    limits = limits or TrackerLimits()
    stats = TrackerStats(source=label)
    converter = _Converter(stats, limits)
    seen = 0
    with _open(path, label, limits) as stream:
        for name, issues in _Scanner(stream, label, limits).items():
            seen += 1
            converter.package(name, issues)
    if seen == 0:
        raise InvalidTrackerError(f"{label}: the tracker JSON has no source packages")
    if stats.packages == 0:
        raise InvalidTrackerError(f"{label}: no usable source package ({stats.samples[0] if stats.samples else ''})")
    stats.advisories = len(converter.cves)
    return converter.cves, stats


def iter_records(path: Path, label: str | None = None, limits: TrackerLimits | None = None) -> Iterator[dict]:
    """Every OSV-shaped record of a tracker file, by CVE id."""
    cves, _ = read_tracker(path, label or str(path), limits)
    for cve in sorted(cves):
        yield to_record(cve, cves[cve])


# ---------------------------------------------------------------- writing into the database being built


def load(
    conn: sqlite3.Connection,
    known: dict[str, tuple[str | None, str]],
    path: Path,
    label: str,
    limits: TrackerLimits | None = None,
    progress: Progress | None = None,
) -> TrackerStats:
    """Apply the tracker to the database being built (`known`: id -> (modified, source) of every record, kept
    up to date as the update's consistency check expects)."""
    cves, stats = read_tracker(path, label, limits)
    conn.execute("CREATE INDEX IF NOT EXISTS affected_adv ON affected(advisory_id)")
    drop: list[tuple[str]] = []
    adv: list[tuple[Any, ...]] = []
    aff: list[tuple[Any, ...]] = []
    ali: list[tuple[str, str, str]] = []

    def flush() -> None:
        if drop:
            for table, col in (("advisories", "id"), ("affected", "advisory_id"), ("aliases", "advisory_id")):
                conn.executemany(f"DELETE FROM {table} WHERE {col} = ?", drop)
        conn.executemany(f"INSERT INTO advisories VALUES ({','.join('?' * 13)})", adv)
        conn.executemany(f"INSERT INTO affected VALUES ({','.join('?' * 10)})", aff)
        conn.executemany("INSERT INTO aliases VALUES (?,?,?)", ali)
        for batch in (drop, adv, aff, ali):
            batch.clear()

    conn.execute("BEGIN")
    wanted: set[str] = set()
    total = len(cves)
    for done, cve in enumerate(sorted(cves), 1):
        rows = to_rows(to_record(cve, cves.pop(cve)), SOURCE, f"{label}: {cve}")
        wanted.add(rows.id)
        old = known.get(rows.id)
        if old is not None:
            if old[1] == SOURCE and _stored(conn, rows.id) == (rows.advisory, rows.affected):
                stats.unchanged += 1
                continue
            drop.append((rows.id,))
        known[rows.id] = (rows.modified, SOURCE)
        adv.append(rows.advisory)
        aff.extend(rows.affected)
        ali.extend(rows.aliases)
        stats.imported += 1
        if len(adv) + len(drop) >= 2000:
            flush()
        if progress and done % 1000 == 0:
            progress(SOURCE, done, total)
    gone = [i for i, (_, src) in known.items() if src == SOURCE and i not in wanted]
    drop.extend((i,) for i in gone)
    flush()
    for i in gone:
        del known[i]
    stats.removed = len(gone)
    conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (META_KEY, json.dumps(stats.to_json())))
    conn.execute("COMMIT")
    if progress:
        progress(SOURCE, total, total)
    return stats


def _stored(conn: sqlite3.Connection, rid: str) -> tuple[tuple[Any, ...] | None, list[tuple[Any, ...]]]:
    advisory = conn.execute("SELECT * FROM advisories WHERE id = ?", (rid,)).fetchone()
    affected = conn.execute("SELECT * FROM affected WHERE advisory_id = ? ORDER BY rowid", (rid,)).fetchall()
    return advisory, affected


def resolve(
    option: str | None, mirror: str, ecosystems: tuple[str, ...], workdir: Path, limits: TrackerLimits
) -> tuple[Path, str, bool] | None:
    """(file, label, downloaded) of the tracker JSON to import: `--debian-tracker FILE|URL`, else a
    `debian-tracker.json[.gz|.zst]` in a local mirror folder when no export folder was singled out."""
    if option:
        if option.startswith(("http://", "https://")):
            dest = workdir / f"download-{os.getpid()}-debian-tracker.json.part"
            return fetch(option, dest, limits), option, True
        path = Path(option)
        if not path.is_file():
            raise DatabaseError(f"debian tracker {option} is not a file")
        return path, option, False
    if ecosystems or mirror.startswith(("http://", "https://")):
        return None
    found = find_in_mirror(Path(mirror))
    return (found, str(found), False) if found else None
