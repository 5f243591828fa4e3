"""`lashing fs DIR`: a source tree's lockfiles and installed packages, matched against advisories."""

from __future__ import annotations

from pathlib import Path

import typer

from lashing.cli.common import build_policy, write_scan
from lashing.errors import UsageError
from lashing.report import FORMATS


def fs(
    path: Path = typer.Argument(..., help="A source tree or root filesystem directory."),
    format: str = typer.Option("table", "--format", "-f", help=f"One of: {', '.join(FORMATS)}."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the report here instead of stdout."),
    severity: str | None = typer.Option(None, "--severity", "-s", help="Only these, e.g. HIGH,CRITICAL."),
    exit_code: int = typer.Option(0, "--exit-code", help="Exit with this code when findings remain."),
    ignore_unfixed: bool = typer.Option(False, "--ignore-unfixed", help="Drop vulnerabilities with no fix."),
    ignore_file: Path | None = typer.Option(
        None, "--ignorefile", help="Ignore rules (YAML); default ./.lashingignore when present."
    ),
    vex: list[Path] | None = typer.Option(None, "--vex", help="OpenVEX document(s) to apply."),
    scanners: str = typer.Option("vuln,secret,malware", "--scanners", help="Comma-separated: vuln, secret, malware."),
    db: Path | None = typer.Option(None, "--db", help="Advisory database file (default: the cache's)."),
) -> None:
    from lashing.cli.image import parse_scanners
    from lashing.pipeline import ScanOptions, analyzers_for, scan_inventory, scan_vulnerabilities
    from lashing.policy import apply_policy
    from lashing.report import get_format

    get_format(format)
    if not path.is_dir():
        raise UsageError(f"{path} is not a directory")
    policy = build_policy(severity, exit_code, ignore_unfixed, ignore_file, vex)
    chosen = parse_scanners(scanners)
    analyzers = analyzers_for(chosen, lockfiles=True)
    report, _ = scan_inventory(str(path), ScanOptions(use_cache=False), analyzers=analyzers, scanners=chosen)
    if "vuln" in chosen:
        report = scan_vulnerabilities(report, db)
    outcome = apply_policy(report, policy)
    write_scan(outcome.report, format, output)
    raise typer.Exit(outcome.exit_code)
