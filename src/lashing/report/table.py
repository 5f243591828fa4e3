"""A rich table for people: packages (with the layer that added them) and, when there are any, findings.

On a terminal the tables fit its width (long cells fold); anywhere else they are plain text at their
natural width, one row per line, so `grep` and `less -S` work. Cells are `Text`, never markup, so
package names like `[bold]` or `:smile:` print as they are.
"""

from __future__ import annotations

import os
import unicodedata
from typing import IO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from lashing.model import Finding, Package, Report, Severity
from lashing.report._common import short_created_by
from lashing.report.interface import ReportFormat

_SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red", Severity.HIGH: "red", Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan", Severity.UNKNOWN: "dim",
}
PLAIN_WIDTH = 4096
_BIDI = set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))


def cell(value: str, style: str = "") -> Text:
    """Untrusted text as a cell: control and bidi-override characters shown escaped, never emitted."""
    if value.isprintable():
        return Text(value, style=style)
    out = []
    for ch in value:
        code = ord(ch)
        if unicodedata.category(ch) == "Cc" or code in _BIDI:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return Text("".join(out), style=style)


def _console(stream: IO[str], width: int | None) -> Console:
    is_tty = bool(getattr(stream, "isatty", None) and stream.isatty())
    if width is None and not is_tty:
        width = PLAIN_WIDTH
    return Console(
        file=stream, width=width, force_terminal=is_tty, no_color=not is_tty or "NO_COLOR" in os.environ,
        highlight=False, emoji=False, markup=False, soft_wrap=False, legacy_windows=False,
    )


def _source(pkg: Package) -> str:
    if not pkg.source_name or (pkg.source_name, pkg.source_version) == (pkg.name, pkg.version):
        return ""
    if pkg.source_version and pkg.source_version != pkg.version:
        return f"{pkg.source_name} {pkg.source_version}"
    return pkg.source_name


def _layer(pkg: Package, narrow: bool) -> str:
    if pkg.layer is None:
        return ""
    label = "" if narrow else short_created_by(pkg.layer.created_by, 40)
    return f"{pkg.layer.index} {label}".rstrip()


def _path(pkg: Package) -> str:
    if not pkg.locations:
        return ""
    more = len(pkg.locations) - 1
    return pkg.locations[0].path + (f" (+{more})" if more else "")


Columns = list[tuple[str, str, int]]  # header, overflow ("fold", "ellipsis" or "nowrap"), min console width


def _table(title: str, columns: Columns, rows: list[list[Text]], width: int | None) -> Table:
    """A table keeping only the columns whose minimum console width `width` reaches (all when None)."""
    keep = [i for i, (_, _, need) in enumerate(columns) if width is None or width >= need]
    table = Table(title=Text(title), box=box.SIMPLE_HEAD, title_justify="left")
    for i in keep:
        header, overflow, _ = columns[i]
        no_wrap = width is None or overflow == "nowrap"
        table.add_column(header, overflow="ignore" if no_wrap else overflow, no_wrap=no_wrap)
    for row in rows:
        table.add_row(*(row[i] for i in keep))
    return table


def packages_table(report: Report, width: int | None) -> Table:
    """Packages by layer, type and name; `width` None renders at natural width (no folding)."""
    narrow = width is not None and width < 120
    columns = [("Name", "fold", 0), ("Version", "fold", 0), ("Type", "nowrap", 0), ("Source", "fold", 100),
               ("Layer", "fold", 0), ("Path", "fold", 80)]
    ordered = sorted(report.packages, key=lambda p: (p.layer.index if p.layer else -1, p.type.value, p.name))
    rows = [
        [cell(v) for v in (p.name, p.version, p.type.value, _source(p), _layer(p, narrow), _path(p))]
        for p in ordered
    ]
    return _table(f"Packages ({len(report.packages)})", columns, rows, width)


def _finding_target(finding: Finding) -> tuple[str, str]:
    if finding.package is not None:
        return finding.package.name, finding.package.version
    if finding.location is not None:
        line = f":{finding.location.line}" if finding.location.line else ""
        return finding.location.path + line, ""
    return "", ""


def _title(finding: Finding) -> str:
    """The title, plus what a reader needs at a glance: the redacted match of a secret, the resource of a
    configuration finding, and whether a later layer deleted the file (it is still in the image)."""
    parts = [finding.title]
    extra = finding.extra
    if extra.get("match"):
        parts.append(f"({extra['match']})")
    if extra.get("resource") and finding.package is None:
        parts.append(f"[{extra['resource']}]")
    if extra.get("deleted_by_layer"):
        parts.append(f"- {extra.get('removed_how') or 'deleted'} in layer {extra['deleted_by_layer'][7:19]}")
    return " ".join(parts)


def findings_table(report: Report, width: int | None) -> Table:
    """Findings, most severe first."""
    columns = [("Severity", "nowrap", 0), ("ID", "fold", 0), ("Package / path", "fold", 0),
               ("Installed", "fold", 80), ("Fixed in", "fold", 0), ("Title", "ellipsis", 100)]
    rows = []
    for finding in sorted(report.findings, key=lambda f: (-int(f.severity), f.id, _finding_target(f))):
        target, installed = _finding_target(finding)
        rows.append([
            cell(finding.severity.name, style=_SEVERITY_STYLE[finding.severity]), cell(finding.id),
            cell(target), cell(installed), cell(", ".join(finding.fixed_versions)), cell(_title(finding)),
        ])
    return _table(f"Findings ({len(report.findings)})", columns, rows, width)


def _header(report: Report) -> Text:
    art = report.artifact
    parts = [art.name]
    if art.digest:
        parts.append(art.digest)
    if report.os is not None:
        parts.append(report.os.name or f"{report.os.family} {report.os.version}".strip())
    return cell("  ".join(parts), style="bold")


def _summary(report: Report) -> Text:
    counts = {sev: 0 for sev in sorted(Severity, reverse=True)}
    for finding in report.findings:
        counts[finding.severity] += 1
    total = f"{len(report.findings)} finding{'s' if len(report.findings) != 1 else ''}"
    return Text(f"{total}: " + ", ".join(f"{sev.name} {n}" for sev, n in counts.items()), style="bold")


def _print_all(console: Console, report: Report, width: int | None, packages: bool = True) -> None:
    console.print(_header(report))
    if packages:
        console.print(packages_table(report, width))
    if report.findings:
        console.print(findings_table(report, width))
    if not packages:  # a scan: the verdict and every warning (end of life, unsupported OS) in plain sight
        console.print(_summary(report))
        for warning in report.warnings:
            console.print(cell(f"warning: {warning}", style="yellow"))
        return
    if report.warnings:
        count = len(report.warnings)
        note = f"{count} warning{'s' if count > 1 else ''} (the JSON report lists them)"
        console.print(Text(note, style="yellow"))


def render(report: Report, stream: IO[str], width: int | None = None, packages: bool = True) -> None:
    """Print the header, the packages table, the findings table (when any) and the warning count.

    `width` forces a width (cells fold to fit); otherwise a terminal's width, or for anything else the
    natural width with trailing padding stripped.
    """
    console = _console(stream, width)
    if console.is_terminal:
        _print_all(console, report, console.width, packages)
        return
    with console.capture() as capture:
        _print_all(console, report, width, packages)
    lines = capture.get().splitlines()
    stream.write("".join(line.rstrip() + "\n" for line in lines))


class TableFormat(ReportFormat):
    name = "table"
    description = "human-readable tables (plain text when not writing to a terminal)"
    show_packages = True  # scans (`lashing image`, `fs`) set False: findings and a verdict only
    needs_stream = True

    def write(self, report: Report, stream: IO[str]) -> None:
        render(report, stream, packages=self.show_packages)
