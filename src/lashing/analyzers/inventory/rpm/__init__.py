"""rpm packages from the rpm database, in pure Python: SQLite, NDB and Berkeley DB backends.

The database lives in `var/lib/rpm` (RHEL and derivatives, Amazon Linux, older Fedora),
`usr/lib/sysimage/rpm` (Fedora >= 36, openSUSE/SLES >= 15.3) or `usr/share/rpm` (old SUSE).
Each backend yields header blobs; `header` parses them and `package` turns them into Packages.
See `package` for the version convention.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.analyzers.inventory.rpm import bdb, ndb, sqlite
from lashing.analyzers.inventory.rpm.header import HeaderError, parse_header
from lashing.analyzers.inventory.rpm.package import package_from_header
from lashing.model import Package

DB_DIRS = ("var/lib/rpm/", "usr/lib/sysimage/rpm/", "usr/share/rpm/")
Reader = Callable[[bytes, list[str]], Iterator[tuple[int, bytes]]]
BACKENDS: dict[str, Reader] = {"rpmdb.sqlite": sqlite.read_blobs, "Packages.db": ndb.read_blobs,
                               "Packages": bdb.read_blobs}
MAX_WARNINGS = 20

__all__ = ["BACKENDS", "RpmAnalyzer", "read_packages"]


class RpmAnalyzer(Analyzer):
    """Installed rpm packages (gpg-pubkey pseudo-packages left out)."""

    name = "rpm"
    version = 1
    max_size = 512 * 1024 * 1024

    def required(self, path: str, info: FileInfo) -> bool:
        directory, _, base = path.rpartition("/")
        return base in BACKENDS and f"{directory}/" in DB_DIRS

    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        backend = BACKENDS[item.path.rpartition("/")[2]]
        packages, warnings = read_packages(item.content, backend)
        if not packages and not warnings:
            return None
        return AnalysisResult(packages=tuple(packages), warnings=tuple(f"{item.path}: {w}" for w in warnings))


def read_packages(data: bytes, backend: Reader) -> tuple[list[Package], list[str]]:
    """Every package of one database file, with warnings for what could not be read."""
    warnings: list[str] = []
    packages: list[Package] = []
    bad = 0
    for key, blob in backend(data, warnings):
        try:
            pkg = package_from_header(parse_header(blob), RpmAnalyzer.name)
        except HeaderError as exc:
            bad += 1
            if bad <= MAX_WARNINGS:
                warnings.append(f"record {key}: {exc}")
            continue
        if pkg is not None:
            packages.append(pkg)
    if bad > MAX_WARNINGS:
        warnings.append(f"{bad} unreadable headers in all")
    return packages, warnings
