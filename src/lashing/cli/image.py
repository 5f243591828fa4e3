"""`lashing image IMAGE`: inventory plus vulnerabilities, through the policy gate, in any report format."""

from __future__ import annotations

from pathlib import Path

import typer

from lashing.cli import options
from lashing.cli.common import (
    build_policy,
    layer_progress,
    scan_options,
    write_scan,
)

SCANNERS = ("vuln", "secret", "malware", "config")
DEFAULT_SCANNERS = ",".join(SCANNERS)


def parse_scanners(text: str) -> tuple[str, ...]:
    from lashing.errors import UsageError

    chosen = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [s for s in chosen if s not in SCANNERS]
    if unknown or not chosen:
        raise UsageError(f"unknown scanner {', '.join(unknown) or '(none)'}; choose from {', '.join(SCANNERS)}")
    return chosen


def image(
    image: str = typer.Argument(
        ..., help="docker-archive tar, OCI layout dir or archive, rootfs dir, registry ref, or an SBOM file."
    ),
    format: str = options.FORMAT,
    output: Path | None = options.OUTPUT,
    severity: str | None = options.SEVERITY,
    exit_code: int = options.EXIT_CODE,
    ignore_unfixed: bool = options.IGNORE_UNFIXED,
    ignore_file: Path | None = options.IGNORE_FILE,
    vex: list[Path] | None = options.VEX,
    scanners: str = typer.Option(
        DEFAULT_SCANNERS, "--scanners", help="Comma-separated: vuln, secret, malware, config (image hygiene)."
    ),
    db: Path | None = options.DB,
    platform: str | None = options.PLATFORM,
    username: str | None = options.USERNAME,
    password: str | None = options.PASSWORD,
    registry_token: str | None = options.REGISTRY_TOKEN,
    insecure: bool = options.INSECURE,
    no_cache: bool = options.NO_CACHE,
    progress: bool = options.PROGRESS,
) -> None:
    from lashing.pipeline import analyzers_for, load_target, scan_vulnerabilities
    from lashing.policy import apply_policy
    from lashing.report import check_format, get_format

    check_format(format)  # unknown formats fail before any work; the writer is imported during the scan
    chosen = parse_scanners(scanners)
    policy = build_policy(severity, exit_code, ignore_unfixed, ignore_file, vex)
    settings = scan_options(platform, username, password, registry_token, insecure, no_cache)
    with layer_progress(progress) as hook:
        report = load_target(image, settings, analyzers_for(chosen), progress=hook, scanners=chosen,
                             while_reading=lambda: get_format(format))
    if "vuln" in chosen:
        report = scan_vulnerabilities(report, db)
    outcome = apply_policy(report, policy)
    write_scan(outcome.report, format, output)
    raise typer.Exit(outcome.exit_code)
