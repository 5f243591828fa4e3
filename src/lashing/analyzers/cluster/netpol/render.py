"""The reachability matrix as netpol-analyzer's connlist text, as JSON, and as a rich table."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from lashing.analyzers.cluster.netpol.engine import Connection
from lashing.analyzers.cluster.netpol.ipspace import IPRange
from lashing.analyzers.cluster.netpol.ports import Ports

FORMATS = ("table", "json", "connlist")


def _sorted(connections: Iterable[Connection]) -> list[Connection]:
    return sorted(connections, key=lambda c: (c.src, c.dst))


def connlist_lines(connections: Iterable[Connection]) -> list[str]:
    """`src => dst : ports` lines, sorted, exactly as netpol-analyzer's `list` prints them."""
    return [f"{c.src} => {c.dst} : {c.ports}" for c in _sorted(connections)]


def to_connlist(connections: Iterable[Connection]) -> str:
    lines = connlist_lines(connections)
    return "\n".join(lines) + ("\n" if lines else "")


def connlist_json(connections: Iterable[Connection]) -> list[dict[str, str]]:
    """netpol-analyzer's JSON shape: `[{"src": ..., "dst": ..., "conn": ...}]`."""
    return [{"src": c.src, "dst": c.dst, "conn": str(c.ports)} for c in _sorted(connections)]


def to_json(connections: Iterable[Connection], warnings: Iterable[str] = (), findings: Iterable[Any] = ()) -> str:
    """lashing's JSON: the connlist entries plus the structured port sets, warnings and findings."""
    entries = []
    for c in _sorted(connections):
        entries.append({"src": c.src, "dst": c.dst, "conn": str(c.ports), "ports": c.ports.to_json(),
                        "src_external": isinstance(c.source, IPRange),
                        "dst_external": isinstance(c.destination, IPRange)})
    doc = {"connections": entries, "warnings": list(warnings),
           "findings": [{"id": f.id, "severity": f.severity.name, "title": f.title,
                         "location": {"path": f.location.path, "line": f.location.line} if f.location else None,
                         **dict(f.extra)} for f in findings]}
    return json.dumps(doc, indent=2) + "\n"


def _console(console: Any) -> Any:
    from rich.console import Console

    return console or Console(markup=False, highlight=False, emoji=False)


def render_table(connections: Iterable[Connection], console: Any = None, title: str = "Allowed connections") -> None:
    """A rich table, one row per source and destination (names are plain text, never rich markup)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, show_lines=False)
    for header in ("Source", "Destination", "Connections"):
        table.add_column(header, overflow="fold")
    for c in _sorted(connections):
        table.add_row(Text(c.src), Text(c.dst), Text(str(c.ports), style="red" if c.ports.is_all else ""))
    _console(console).print(table)


def render_findings(findings: Iterable[Any], console: Any = None) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Network policy findings")
    for header in ("Severity", "Id", "Title", "Location"):
        table.add_column(header, overflow="fold")
    for f in findings:
        where = f"{f.location.path}:{f.location.line or ''}".rstrip(":") if f.location else ""
        table.add_row(Text(f.severity.name), Text(f.id), Text(f.title), Text(where))
    _console(console).print(table)


def render_verdict(verdict: Any, console: Any = None) -> None:
    from rich.text import Text

    port = f" on {verdict.protocol} {verdict.port}" if verdict.port is not None else ""
    word = "ALLOWED" if verdict.allowed else "DENIED"
    out = _console(console)
    out.print(Text(f"{word}: {verdict.source} => {verdict.destination}{port}",
                   style="green" if verdict.allowed else "red"))
    out.print(Text(f"connections: {verdict.ports}"))
    for name, side in (("egress", verdict.egress), ("ingress", verdict.ingress)):
        if not side.isolated:
            out.print(Text(f"{name}: not isolated (no NetworkPolicy selects it): all allowed"))
        else:
            allowed = ", ".join(side.allowed_by) or "none admits this peer"
            out.print(Text(f"{name}: isolated by {', '.join(side.selected_by)}; allowed by {allowed}: {side.ports}"))


def parse_connlist(text: str) -> list[tuple[str, str, Ports]]:
    """netpol-analyzer's connlist text back to (src, dst, ports); lines that are not connections are skipped."""
    out = []
    for line in text.splitlines():
        if " => " not in line or " : " not in line:
            continue
        pair, _, conn = line.rpartition(" : ")
        src, _, dst = pair.partition(" => ")
        try:
            out.append((src.strip(), dst.strip(), Ports.parse(conn)))
        except ValueError:
            continue
    return out
