"""`lashing fs DIR`: a source tree's lockfiles and installed packages, matched against advisories."""

from __future__ import annotations

from pathlib import Path

import typer

from lashing.cli import options
from lashing.cli.common import build_policy, write_scan
from lashing.errors import UsageError


def fs(
    path: Path = typer.Argument(..., help="A source tree or root filesystem directory."),
    format: str = options.FORMAT,
    output: Path | None = options.OUTPUT,
    severity: str | None = options.SEVERITY,
    exit_code: int = options.EXIT_CODE,
    ignore_unfixed: bool = options.IGNORE_UNFIXED,
    ignore_file: Path | None = options.IGNORE_FILE,
    vex: list[Path] | None = options.VEX,
    scanners: str = typer.Option("vuln,secret,malware", "--scanners", help="Comma-separated: vuln, secret, malware."),
    db: Path | None = options.DB,
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
