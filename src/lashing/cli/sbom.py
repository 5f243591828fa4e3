"""`lashing sbom IMAGE`: the image inventory as CycloneDX, SPDX, JSON or a table.

Given an existing SBOM file (CycloneDX or SPDX JSON) instead of an image, the SBOM is scanned: its packages
are matched against the advisory database and the findings reported, as `lashing image SBOM` does.
"""

from __future__ import annotations

from pathlib import Path

import typer

from lashing.cli import options
from lashing.cli.common import layer_progress, output_stream, scan_options
from lashing.report import get_format


def sbom(
    image: str = typer.Argument(
        ..., help="docker-archive tar, OCI layout dir or archive, rootfs dir, or registry ref."
    ),
    format: str = options.FORMAT,
    output: Path | None = options.OUTPUT,
    platform: str | None = options.PLATFORM,
    username: str | None = options.USERNAME,
    password: str | None = options.PASSWORD,
    registry_token: str | None = options.REGISTRY_TOKEN,
    insecure: bool = options.INSECURE,
    no_cache: bool = options.NO_CACHE,
    progress: bool = options.PROGRESS,
) -> None:
    from lashing.pipeline import scan_inventory

    if _is_sbom_file(image):
        _scan_sbom(Path(image), format, output)
        return
    writer = get_format(format)
    settings = scan_options(platform, username, password, registry_token, insecure, no_cache)
    with layer_progress(progress) as hook:
        report, _ = scan_inventory(image, settings, progress=hook)
    with output_stream(output) as stream:
        writer.write(report, stream)


def _is_sbom_file(target: str) -> bool:
    from lashing.pipeline import _is_sbom

    path = Path(target)
    return path.is_file() and _is_sbom(path)


def _scan_sbom(path: Path, format: str, output: Path | None) -> None:
    """An SBOM as input: vulnerabilities of its packages (policy options: use `lashing image SBOM`)."""
    from lashing.cli.common import write_scan
    from lashing.pipeline import scan_vulnerabilities
    from lashing.sources.sbom import read_sbom

    get_format(format)
    write_scan(scan_vulnerabilities(read_sbom(path)), format, output)
