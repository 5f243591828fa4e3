"""Debian packages from dpkg's database: `var/lib/dpkg/status` and distroless `status.d/<pkg>` files."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.analyzers.inventory.osrelease import os_purl
from lashing.model import Package, PackageType


def _import_deb822() -> type:
    """python-debian's Deb822, imported without the charset guessers it loads up front.

    deb822 imports charset_normalizer (or chardet) at import time, only to guess the encoding of
    paragraphs given as bytes; every paragraph here is text we decoded ourselves, so the guessers
    are never used and their import (~30 ms, a third of an image scan's cataloger imports) is skipped.
    A guesser already imported, or imported later by anything else, is left alone. Two process-wide
    effects: for the instant of this import another thread importing a guesser would fail (the CLI
    imports catalogers before starting threads), and deb822 given bytes it cannot decode as UTF-8 warns
    instead of guessing (nothing in lashing gives it bytes).
    """
    hidden = [name for name in ("charset_normalizer", "chardet") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` now raises ImportError
    try:
        from debian.deb822 import Deb822
    finally:
        for name in hidden:
            del sys.modules[name]
    return Deb822


if TYPE_CHECKING:
    from debian.deb822 import Deb822
else:
    Deb822 = _import_deb822()

STATUS = "var/lib/dpkg/status"
STATUS_D = "var/lib/dpkg/status.d/"
# dpkg states in which the package's files are unpacked and configured (ii, iW, it).
INSTALLED_STATES = ("installed", "triggers-awaited", "triggers-pending")
_SOURCE_RE = re.compile(r"^(?P<name>[^\s(]+)(?:\s*\((?P<version>[^)]*)\))?\s*$")
MAX_WARNINGS = 20


class DpkgAnalyzer(Analyzer):
    """Installed packages of dpkg's status file, or of a distroless `status.d/` paragraph file."""

    name = "dpkg"
    version = 1
    max_size = 64 * 1024 * 1024

    def required(self, path: str, info: FileInfo) -> bool:
        if path == STATUS:
            return True
        if not path.startswith(STATUS_D):
            return False
        base = path[len(STATUS_D):]
        return bool(base) and "/" not in base and not base.endswith(".md5sums")

    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        in_status_d = item.path != STATUS
        packages, warnings = parse_status(item.content, require_status=not in_status_d)
        if not packages and not warnings:
            return None
        return AnalysisResult(packages=tuple(packages), warnings=tuple(f"{item.path}: {w}" for w in warnings))


def parse_status(content: bytes, require_status: bool = True) -> tuple[list[Package], list[str]]:
    """Parse deb822 paragraphs; keep installed ones (a paragraph without Status is accepted if allowed)."""
    text = content.decode("utf-8", errors="replace")
    packages: list[Package] = []
    warnings: list[str] = []
    for para in _paragraphs(text):
        name = para.get("Package", "").strip()
        version = para.get("Version", "").strip()
        if not name or not version:
            if len(warnings) < MAX_WARNINGS and (name or version or len(para)):
                warnings.append(f"paragraph without Package/Version skipped ({name or 'unnamed'})")
            continue
        status = para.get("Status")
        if status is None:
            if require_status:
                continue
        elif not _installed(status):
            continue
        packages.append(package_from_paragraph(para, name, version))
    return packages, warnings


def _paragraphs(text: str) -> Iterator[Deb822]:
    """Deb822 paragraphs split on blank lines ourselves: python-debian's iterator stops at the first
    paragraph it cannot read, which would hide every package after a damaged one."""
    lines: list[str] = []
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        if line.strip():
            lines.append(line + "\n")
            continue
        if lines:
            yield Deb822(lines)
            lines = []
    if lines:
        yield Deb822(lines)


def _installed(status: str) -> bool:
    words = status.split()
    return len(words) == 3 and words[2] in INSTALLED_STATES


def parse_epoch(version: str) -> int | None:
    """`1:2.3-4` -> 1; None when the version has no (numeric) epoch."""
    head, sep, _ = version.partition(":")
    if sep and head.isdigit():
        return int(head)
    return None


def package_from_paragraph(para: Deb822, name: str, version: str) -> Package:
    arch = para.get("Architecture", "").strip()
    source_name, source_version = name, version
    match = _SOURCE_RE.match(para.get("Source", "").strip())
    if match:
        source_name = match.group("name")
        if match.group("version"):
            source_version = match.group("version").strip()
    qualifiers = {"arch": arch} if arch else {}
    if source_name != name or source_version != version:
        qualifiers["upstream"] = source_name if source_version == version else f"{source_name}@{source_version}"
    purl = os_purl("deb", name, version, qualifiers)
    extra = {}
    for field, key in (("Maintainer", "maintainer"), ("Multi-Arch", "multi_arch"), ("Homepage", "homepage")):
        if para.get(field):
            extra[key] = para[field].strip()
    return Package(
        name=name, version=version, type=PackageType.DEB, purl=purl, source_name=source_name,
        source_version=source_version, epoch=parse_epoch(version), arch=arch, cataloger=DpkgAnalyzer.name,
        extra=extra,
    )
