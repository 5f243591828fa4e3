"""`lashing image IMAGE`: inventory plus vulnerabilities, through the policy gate, in any report format."""

from __future__ import annotations

from pathlib import Path

import typer

from lashing.cli.common import (
    build_policy,
    layer_progress,
    parse_platform,
    registry_options,
    write_scan,
)
from lashing.report import FORMATS

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
    format: str = typer.Option("table", "--format", "-f", help=f"One of: {', '.join(FORMATS)}."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the report here instead of stdout."),
    severity: str | None = typer.Option(None, "--severity", "-s", help="Only these, e.g. HIGH,CRITICAL."),
    exit_code: int = typer.Option(0, "--exit-code", help="Exit with this code when findings remain."),
    ignore_unfixed: bool = typer.Option(False, "--ignore-unfixed", help="Drop vulnerabilities with no fix."),
    ignore_file: Path | None = typer.Option(
        None, "--ignorefile", help="Ignore rules (YAML); default ./.lashingignore when present."
    ),
    vex: list[Path] | None = typer.Option(None, "--vex", help="OpenVEX document(s) to apply."),
    scanners: str = typer.Option(
        DEFAULT_SCANNERS, "--scanners", help="Comma-separated: vuln, secret, malware, config (image hygiene)."
    ),
    db: Path | None = typer.Option(None, "--db", help="Advisory database file (default: the cache's)."),
    platform: str | None = typer.Option(None, "--platform", help="os/arch[/variant] to pick from an index."),
    username: str | None = typer.Option(None, "--username", help="Registry user (or LASHING_USERNAME)."),
    password: str | None = typer.Option(None, "--password", help="Registry password (or LASHING_PASSWORD)."),
    registry_token: str | None = typer.Option(None, "--registry-token", help="Registry bearer token."),
    insecure: bool = typer.Option(False, "--insecure", help="Allow plain HTTP to the registry."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the layer cache."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bars on a terminal."),
) -> None:
    from lashing.pipeline import ScanOptions, analyzers_for, load_target, scan_vulnerabilities
    from lashing.policy import apply_policy
    from lashing.report import get_format

    get_format(format)  # unknown formats fail before any work
    chosen = parse_scanners(scanners)
    policy = build_policy(severity, exit_code, ignore_unfixed, ignore_file, vex)
    options = ScanOptions(
        platform=parse_platform(platform),
        registry=registry_options(username, password, registry_token, insecure),
        use_cache=not no_cache,
    )
    with layer_progress(progress) as hook:
        report = load_target(image, options, analyzers_for(chosen), progress=hook, scanners=chosen)
    if "vuln" in chosen:
        report = scan_vulnerabilities(report, db)
    outcome = apply_policy(report, policy)
    write_scan(outcome.report, format, output)
    raise typer.Exit(outcome.exit_code)
