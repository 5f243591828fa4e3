"""Where export zips come from: a mirror folder, one zip, or an http(s) base URL (official by default)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

from lashing.db.download import download
from lashing.db.osv_import import InvalidExportError, ZipLimits
from lashing.db.store import DatabaseError

OFFICIAL_BASE = "https://osv-vulnerabilities.storage.googleapis.com"
# Ecosystems fetched from an http(s) base when none are named (a URL cannot be listed).
DEFAULT_ECOSYSTEMS = (
    "AlmaLinux",
    "Alpine",
    "Bitnami",
    "crates.io",
    "Debian",
    "DHI",
    "Go",
    "Hackage",
    "Julia",
    "Maven",
    "npm",
    "NuGet",
    "opam",
    "OSS-Fuzz",
    "Packagist",
    "Pub",
    "PyPI",
    "Rocky Linux",
    "RubyGems",
    "Ubuntu",
    "Hex",
    "Wolfi",
    "Chainguard",
    "SUSE",
    "openSUSE",
    "Red Hat",
    "Photon OS",
    "CRAN",
    "SwiftURL",
)


@dataclass(frozen=True)
class ExportZip:
    folder: str  # the export's ecosystem folder (grouping only; records carry their own ecosystems)
    path: Path
    downloaded: bool = False


def local_exports(source: Path, ecosystems: tuple[str, ...]) -> list[ExportZip]:
    """Every `<Ecosystem>/all.zip` under a folder, or the one zip named."""
    if source.is_file():
        folder = source.parent.name if source.name == "all.zip" else source.stem
        return [ExportZip(folder, source)]
    if not source.is_dir():
        raise DatabaseError(f"mirror {source} is neither a folder nor a zip")
    found = sorted((ExportZip(p.parent.name, p) for p in source.glob("*/all.zip")), key=lambda e: e.folder)
    if ecosystems:
        found = [e for e in found if e.folder in ecosystems]
    if not found:
        raise DatabaseError(
            f"mirror {source} has no <Ecosystem>/all.zip"
            + (" for the ecosystems named" if ecosystems else "")
        )
    return found


def remote_exports(
    base: str, ecosystems: tuple[str, ...], workdir: Path, limits: ZipLimits, timeout: float = 30.0
) -> list[ExportZip]:
    """Download `<base>/<Ecosystem>/all.zip` (or `base` itself when it names a .zip) into `workdir`."""
    base = base.rstrip("/")
    single = Path(base.split("://", 1)[-1])
    single_folder = single.parent.name if single.name == "all.zip" else single.stem
    targets = (
        [(single_folder, base)]
        if base.endswith(".zip")
        else [(eco, f"{base}/{quote(eco)}/all.zip") for eco in (ecosystems or DEFAULT_ECOSYSTEMS)]
    )
    found: list[ExportZip] = []
    with httpx.Client(timeout=timeout, follow_redirects=True) as client:
        for folder, url in targets:
            dest = workdir / f"download-{os.getpid()}-{len(found)}.zip.part"
            if download(client, url, dest, limits.max_download, InvalidExportError):
                found.append(ExportZip(folder, dest, downloaded=True))
            else:
                dest.unlink(missing_ok=True)
    if not found:
        raise DatabaseError(f"no export found under {base} (every <Ecosystem>/all.zip answered 404)")
    return found
