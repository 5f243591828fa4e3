"""`lashing sbom IMAGE`: the image inventory as CycloneDX, SPDX, JSON or a table.

Given an existing SBOM file (CycloneDX or SPDX JSON) instead of an image, the SBOM is scanned: its packages
are matched against the advisory database and the findings reported, as `lashing image SBOM` does.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO

import typer

from lashing.cli import options
from lashing.cli.common import layer_progress, output_stream, scan_options
from lashing.model import Report
from lashing.report import check_format, get_format


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
    from lashing.pipeline import load_target

    check_format(format)  # an unknown format fails before any work; its writer is imported during the scan
    settings = scan_options(platform, username, password, registry_token, insecure, no_cache)
    ahead = WrittenAhead(format)
    with layer_progress(progress) as hook:
        report = load_target(image, settings, progress=hook, while_reading=lambda: get_format(format),
                             while_verifying=ahead.write)
    writer = get_format(format)  # imported already: only the instance is new
    if report.artifact.kind == "sbom":  # an SBOM as input: the vulnerabilities of its packages
        from lashing.cli.common import write_scan
        from lashing.pipeline import scan_vulnerabilities

        write_scan(scan_vulnerabilities(report), format, output)
        return
    with output_stream(output) as stream:
        if not ahead.copy(report, stream):
            writer.write(report, stream)


class WrittenAhead:
    """The report's text, written into memory while the image's largest layers are still being hashed (see
    `load_target`'s `while_verifying`), and copied out once the scan returned, i.e. once they are proven."""

    def __init__(self, format: str):
        self.format = format
        self.report: Report | None = None
        self.text = ""

    def write(self, report: Report) -> None:
        writer = get_format(self.format)
        if writer.needs_stream:
            return
        buffer = io.StringIO()
        writer.write(report, buffer)
        self.report, self.text = report, buffer.getvalue()

    def copy(self, report: Report, stream: IO[str]) -> bool:
        """Write the text made for `report` (this very one) to `stream`; False when there is none."""
        if self.report is not report:
            return False
        stream.write(self.text)
        return True
