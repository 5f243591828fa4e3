"""`lashing sbom IMAGE`: the image inventory as CycloneDX, SPDX, JSON or a table."""

from __future__ import annotations

from pathlib import Path

import typer

from lashing.cli.common import layer_progress, output_stream, parse_platform, registry_options
from lashing.report import FORMATS, get_format


def sbom(
    image: str = typer.Argument(
        ..., help="docker-archive tar, OCI layout dir or archive, rootfs dir, or registry ref."
    ),
    format: str = typer.Option("table", "--format", "-f", help=f"One of: {', '.join(FORMATS)}."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the report here instead of stdout."
    ),
    platform: str | None = typer.Option(None, "--platform", help="os/arch[/variant] to pick from an index."),
    username: str | None = typer.Option(None, "--username", help="Registry user (or LASHING_USERNAME)."),
    password: str | None = typer.Option(None, "--password", help="Registry password (or LASHING_PASSWORD)."),
    registry_token: str | None = typer.Option(None, "--registry-token", help="Registry bearer token."),
    insecure: bool = typer.Option(False, "--insecure", help="Allow plain HTTP to the registry."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the layer cache."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bars on a terminal."),
) -> None:
    from lashing.pipeline import ScanOptions, scan_inventory

    writer = get_format(format)
    options = ScanOptions(
        platform=parse_platform(platform),
        registry=registry_options(username, password, registry_token, insecure),
        use_cache=not no_cache,
    )
    with layer_progress(progress) as hook:
        report, _ = scan_inventory(image, options, progress=hook)
    with output_stream(output) as stream:
        writer.write(report, stream)
