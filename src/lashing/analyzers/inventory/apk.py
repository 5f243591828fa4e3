"""Alpine (and Wolfi/Chainguard) packages from apk's installed database, `lib/apk/db/installed`.

The database is a list of records separated by blank lines; each line is `X:value` with a one-letter
key: P name, V version, A arch, o origin (source package), L license, T description, U url,
m maintainer, c commit, t build time, S/I sizes, D/p/i dependencies, then the file list (F: a
directory, R: a file in it, Z: its checksum, a:/M: modes).
"""

from __future__ import annotations

from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.analyzers.inventory.osrelease import os_purl
from lashing.model import Package, PackageType

INSTALLED = "lib/apk/db/installed"
MAX_WARNINGS = 20
_EXTRA_FIELDS = {"T": "description", "U": "url", "m": "maintainer", "c": "commit", "t": "build_time"}
_SPDX_WORDS = (" AND ", " OR ", " WITH ", "(")


class ApkAnalyzer(Analyzer):
    """Installed packages of apk's database."""

    name = "apk"
    version = 1
    max_size = 64 * 1024 * 1024

    def required(self, path: str, info: FileInfo) -> bool:
        return path == INSTALLED

    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        packages, warnings = parse_installed(item.content)
        if not packages and not warnings:
            return None
        return AnalysisResult(packages=tuple(packages), warnings=tuple(f"{item.path}: {w}" for w in warnings))


def parse_installed(content: bytes) -> tuple[list[Package], list[str]]:
    """Parse the installed database; records without a name or version are skipped with a warning."""
    text = content.decode("utf-8", errors="replace")
    packages: list[Package] = []
    warnings: list[str] = []
    record: dict[str, str] = {}
    files = 0
    bad_lines = 0

    def flush() -> None:
        nonlocal files
        if record:
            if record.get("P") and record.get("V"):
                packages.append(_package(record, files))
            elif len(warnings) < MAX_WARNINGS:
                warnings.append(f"record without P:/V: skipped ({record.get('P', 'unnamed')})")
        record.clear()
        files = 0

    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if not line.strip():
            flush()
            continue
        if len(line) < 2 or line[1] != ":":
            bad_lines += 1
            continue
        key, value = line[0], line[2:]
        if key == "R":
            files += 1
        elif key not in record:  # first occurrence wins; F/Z/a/M repeat per file
            record[key] = value
    flush()
    if bad_lines:
        warnings.append(f"{bad_lines} malformed line(s) ignored")
    return packages, warnings


def split_license(text: str) -> tuple[str, ...]:
    """An SPDX expression stays whole; older Alpine's space-separated list is split."""
    text = text.strip()
    if not text:
        return ()
    if any(word in text for word in _SPDX_WORDS):
        return (text,)
    return tuple(text.split())


def _package(record: dict[str, str], files: int) -> Package:
    name, version = record["P"].strip(), record["V"].strip()
    arch = record.get("A", "").strip()
    origin = record.get("o", "").strip() or name
    qualifiers = {"arch": arch} if arch else {}
    if origin != name:
        qualifiers["upstream"] = origin
    purl = os_purl("apk", name, version, qualifiers)
    extra = {key: record[field].strip() for field, key in _EXTRA_FIELDS.items() if record.get(field, "").strip()}
    extra["files"] = str(files)
    return Package(
        name=name, version=version, type=PackageType.APK, purl=purl, source_name=origin, source_version=version,
        arch=arch, licenses=split_license(record.get("L", "")), cataloger=ApkAnalyzer.name, extra=extra,
    )
