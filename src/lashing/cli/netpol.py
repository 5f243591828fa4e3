"""Typer command functions for `lashing k8s can-reach` and `lashing k8s netpol` (registered by cli/k8s.py).

    app.command("can-reach", help="Whether one workload (or IP) may connect to another.")(netpol_cli.can_reach)
    app.command("netpol", help="Reachability matrix and network-policy findings.")(netpol_cli.matrix)
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import typer

from lashing.errors import UsageError

log = logging.getLogger("lashing.k8s.netpol")
SNAPSHOT_HELP = "A directory of manifests, or a file (YAML/JSON, kubectl -o json/yaml)."


def load_objects(snapshot: Path) -> list[Any]:
    """The snapshot's objects (through the cluster snapshot source when present); warnings are logged."""
    if not snapshot.exists():
        raise UsageError(f"no such file or directory: {snapshot}")
    warnings: list[str] = []
    try:
        from lashing.sources.cluster import load_snapshot
    except ImportError:  # pragma: no cover - the snapshot source ships beside this package
        from lashing.analyzers.cluster.netpol.loader import load_manifests

        objects: list[Any] = load_manifests(snapshot, warnings)
    else:
        snap = load_snapshot(snapshot, builtin=False)
        objects = list(snap)
        warnings.extend(snap.warnings)
    for warning in warnings:
        log.warning("%s", warning)
    return objects


def _model(snapshot: Path, ipv6: bool | None = None):
    from lashing.analyzers.cluster.netpol.engine import NetworkModel

    model = NetworkModel.from_objects(load_objects(snapshot), ipv6)
    for warning in model.warnings:
        log.warning("%s", warning)
    return model


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from None


def can_reach(
    a: str = typer.Argument(..., help="Source: NS/NAME, NS/NAME[Kind], NAME (namespace default) or an IP/CIDR."),
    b: str = typer.Argument(..., help="Destination, in the same forms."),
    snapshot: Path = typer.Option(..., "--snapshot", help=SNAPSHOT_HELP),
    port: int | None = typer.Option(None, "--port", "-p", min=1, max=65535,
                                    help="Ask about this port (default: any port)."),
    protocol: str = typer.Option("TCP", "--protocol", help="TCP, UDP or SCTP."),
    format: str = typer.Option("table", "--format", "-f", help="table or json."),
    exit_code: int = typer.Option(0, "--exit-code", help="Exit with this code when the connection is denied."),
) -> None:
    """Whether A may open a connection to B: the allowed ports and the policies deciding each side."""
    from lashing.analyzers.cluster.netpol.render import render_verdict

    if protocol.upper() not in ("TCP", "UDP", "SCTP"):
        raise UsageError(f"--protocol must be TCP, UDP or SCTP, not {protocol!r}")
    if format not in ("table", "json"):
        raise UsageError(f"--format must be table or json, not {format!r}")
    verdict = _model(snapshot).can_reach(a, b, port, protocol.upper())
    if format == "json":
        _write(json.dumps(verdict.to_json(), indent=2) + "\n", None)
    else:
        render_verdict(verdict)
    if not verdict.allowed and exit_code:
        raise typer.Exit(exit_code)


def matrix(
    snapshot: Path = typer.Option(..., "--snapshot", help=SNAPSHOT_HELP),
    format: str = typer.Option("table", "--format", "-f", help="table, json or connlist (netpol-analyzer's text)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
    findings: bool = typer.Option(True, "--findings/--no-findings", help="Also report LSH-NETPOL-* findings."),
    ipv6: bool | None = typer.Option(None, "--ipv6/--no-ipv6",
                                     help="Model IPv6 outside addresses (default: when a policy names one)."),
) -> None:
    """The reachability matrix between workloads and outside IP ranges, and network-policy findings."""
    from lashing.analyzers.cluster.netpol.findings import netpol_findings
    from lashing.analyzers.cluster.netpol.render import FORMATS, render_findings, render_table, to_connlist, to_json

    if format not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {format!r}")
    model = _model(snapshot, ipv6)
    connections = model.connections()
    found = netpol_findings(model) if findings else []
    if format == "connlist":
        _write(to_connlist(connections), output)
    elif format == "json":
        _write(to_json(connections, model.warnings, found), output)
    else:
        from rich.console import Console

        if output is None:
            console = Console(markup=False, highlight=False, emoji=False)
            render_table(connections, console)
            if found:
                render_findings(found, console)
        else:
            with open(output, "w", encoding="utf-8") as stream:
                console = Console(file=stream, markup=False, highlight=False, emoji=False, width=200)
                render_table(connections, console)
                if found:
                    render_findings(found, console)
