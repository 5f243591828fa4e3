"""`lashing config PATH...` and `lashing rules list|show`: configuration scanning and its rule catalog."""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import logging
import operator
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from lashing.cli import options
from lashing.cli.common import build_policy, output_stream, write_scan
from lashing.errors import UsageError

if TYPE_CHECKING:
    from lashing.analyzers.config.catalog import Rule
    from lashing.analyzers.config.engine import Hit
    from lashing.analyzers.config.scan import FileResult, ScanResult
    from lashing.model import ArtifactInfo, Finding
    from lashing.policy import Policy, PolicyGate
    from lashing.report.json_report import LocatedWriter
    from lashing.report.spool import FileRange, Spool

log = logging.getLogger("lashing.config")
rules = typer.Typer(help="Document the configuration rule catalog.", no_args_is_help=True)


def config(
    paths: list[Path] = typer.Argument(..., help="Files or directories: Kubernetes, Compose, scripts, units."),
    format: str = options.FORMAT,
    output: Path | None = options.OUTPUT,
    severity: str | None = options.SEVERITY,
    exit_code: int = options.EXIT_CODE,
    ignore_file: Path | None = options.IGNORE_FILE,
    allowed_registry: list[str] | None = typer.Option(
        None, "--allowed-registry", help="Registry images may come from (repeatable); enables LSH-K8S-IMAGE-REGISTRY."
    ),
    skip_rule: list[str] | None = typer.Option(None, "--skip-rule", help="Rule id not to evaluate (repeatable)."),
    # --- Helm/Kustomize rendering and --fix (analyzers/config/render/, analyzers/config/fix.py) ---
    helm_values: list[Path] | None = typer.Option(
        None, "--helm-values", help="Values file for Helm charts found in PATH (repeatable, as helm -f)."
    ),
    helm_set: list[str] | None = typer.Option(None, "--set", help="Helm value key=value (repeatable, as helm --set)."),
    fix: str | None = typer.Option(
        None, "--fix", help="Hardening patches: 'print' them instead of the report (the report still goes to -o), "
        "or 'write' FILE.lashing-fix.patch (diff) and FILE.lashing-fix.yaml (strategic merge) beside each file."
    ),
    # --- end ---
) -> None:
    """Scan configuration files for misconfigurations."""
    from lashing.analyzers.config import Settings, scan_paths
    from lashing.model import ArtifactInfo, Report
    from lashing.policy import PolicyGate
    from lashing.policy.vex_match import VexMatcher
    from lashing.report import get_format

    get_format(format)
    missing = [str(p) for p in [*paths, *(helm_values or ())] if not p.exists()]
    if missing:
        raise UsageError(f"no such file or directory: {', '.join(missing)}")
    if fix not in (None, "print", "write"):
        raise UsageError(f"--fix takes print or write, not {fix!r}")
    from lashing.analyzers.config.render import RenderOptions

    render_options = RenderOptions(tuple(helm_values or ()), tuple(helm_set or ()))
    policy = build_policy(severity, exit_code, False, ignore_file, None)
    settings = Settings(allowed_registries=tuple(allowed_registry or ()),
                        disabled_rules=frozenset(r.upper() for r in skip_rule or ()))
    artifact = ArtifactInfo(name=" ".join(str(p) for p in paths), kind="config")
    # JSON is written from findings the scan workers already filtered and encoded (see _prerender).
    gate = PolicyGate(policy, VexMatcher(policy.vex, Report(artifact=artifact))) if format == "json" and fix is None \
        else None
    with contextlib.ExitStack() as cleanup:
        spool = None
        if gate is not None:
            from lashing.report.spool import Spool

            spool = Spool(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="lashing-report-")))
            cleanup.callback(spool.close)
        result = scan_paths(paths, settings, render_options=render_options,
                            post=functools.partial(_prerender, gate, spool) if gate is not None else None)
        _report(result, artifact, policy, gate, format, output, fix)


def _report(result: ScanResult, artifact: ArtifactInfo, policy: Policy, gate: PolicyGate | None, format: str,
            output: Path | None, fix: str | None) -> None:
    """Write the scan's report; raises typer.Exit with the policy's exit code."""
    from lashing import __version__
    from lashing.model import Report
    from lashing.policy import apply_policy

    if result.files_scanned and result.files_failed == result.files_scanned:
        raise UsageError(f"none of the {result.files_scanned} file(s) could be read: {result.warnings[0]}")
    findings = sorted(result.findings, key=report_order)
    warnings = list(result.warnings)
    if result.suppressed:
        warnings.append(f"{result.suppressed} finding(s) suppressed by lashing:ignore comments or annotations")
    for warning in result.warnings:
        log.warning("%s", warning)
    report = Report(
        artifact=artifact, findings=tuple(findings), warnings=tuple(warnings), tool_version=__version__,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    if gate is not None:
        from lashing.report.json_report import write_report_stream

        with output_stream(output) as stream:
            write_report_stream(replace(report, warnings=(*report.warnings, *gate.warnings())), stream,
                                in_report_order(result.rendered))
        raise typer.Exit(gate.exit_code(bool(result.rendered)))
    outcome = apply_policy(report, policy)
    if fix is not None:  # --- --fix ---
        from lashing.analyzers.config.fix import build_fixes, render_patches, write_fixes

        fixes = build_fixes(outcome.report.findings)
        if not fixes:
            typer.echo("no fixable findings (securityContext and resources rules on Kubernetes workloads)", err=True)
        if fix == "write":
            for written in write_fixes(fixes):
                typer.echo(f"wrote {written}", err=True)
        else:
            typer.echo("".join(f.diff for f in fixes), nl=False)
            typer.echo(render_patches(fixes), nl=False)
            if output is not None:
                write_scan(outcome.report, format, output)
            raise typer.Exit(outcome.exit_code)
    write_scan(outcome.report, format, output)
    raise typer.Exit(outcome.exit_code)


def report_order(finding: Finding) -> tuple[Any, ...]:
    """Config findings in the report: most severe first, then by file, line and rule id."""
    location = finding.location
    return (-finding.severity, location.path if location else "", (location.line or 0) if location else 0,
            finding.id)


def _prerender(gate: PolicyGate, spool: Spool, result: FileResult) -> FileResult:
    """In a scan worker: the policy's verdict on each of the file's findings, and the kept ones encoded
    as the JSON report writes them, in report order, one piece per (severity, path) appended to the
    worker's spool file for that severity: the parent only orders those pieces (report_order's first two
    fields) and has the kernel copy them into the report. Rule hits are encoded without becoming Finding
    objects when the policy keeps everything (`_hit_pieces`)."""
    from lashing.report.json_report import SEPARATOR, finding_json

    if result.hits and not gate.keeps_everything:
        result.take_hits()
    pieces = [(report_order(finding), SEPARATOR + finding_json(finding))
              for finding in map(gate.keep, result.findings) if finding is not None]
    if result.hits:
        pieces += _hit_pieces(result.hits, result.line_count)
    pieces.sort(key=operator.itemgetter(0))
    result.rendered = [
        (key, spool.put(str(-key[0]), "".join(text for _, text in group).encode()))
        for key, group in itertools.groupby(pieces, key=lambda item: item[0][:2])]
    result.findings, result.hits = [], []
    return result


def _hit_pieces(hits: list[Hit], line_count: int | None) -> list[tuple[tuple[Any, ...], str]]:
    """(report_order key, JSON piece) of each hit, as of `to_finding(hit, line_count)`: its rule's prototype
    finding written at the hit's location (json_report.located_writer), the extra map's text encoded once
    per map (most hits of a container share theirs)."""
    from lashing.analyzers.config.engine import finding_extra, span
    from lashing.report.json_report import SEPARATOR, extra_json

    extras: dict[int, tuple[Any, str]] = {}  # id(map) -> (map, its text); the map is held so ids stay unique
    pieces = []
    append = pieces.append
    for hit in hits:
        rule = hit.rule
        known_rule = _RULE_WRITERS.get(id(rule))
        if known_rule is None or known_rule[0] is not rule:
            known_rule = _rule_writer(rule)
        line, end_line = span(hit, line_count)
        extra = finding_extra(hit)
        known = extras.get(id(extra))
        if known is None:
            known = extras[id(extra)] = (extra, extra_json(extra))
        path = hit.target.path
        append(((known_rule[1], path, line or 0, known_rule[2]),
                SEPARATOR + known_rule[3](path, line, end_line, extra, known[1])))
    return pieces


# id(rule) -> (rule, -severity, id, its findings' writer); see _hit_pieces
_RULE_WRITERS: dict[int, tuple[Rule, int, str, LocatedWriter]] = {}


def _rule_writer(rule: Rule) -> tuple[Rule, int, str, LocatedWriter]:
    from lashing.analyzers.config.engine import rule_finding
    from lashing.report.json_report import located_writer

    prototype = rule_finding(rule)
    found = (rule, -prototype.severity, prototype.id, located_writer(prototype))
    if len(_RULE_WRITERS) >= 4096:
        _RULE_WRITERS.clear()
    _RULE_WRITERS[id(rule)] = found
    return found


def in_report_order(pieces: list[tuple[Any, FileRange]]) -> Iterator[FileRange | str]:
    """The spooled pieces of all files in report order. Two pieces of one (severity, path), which only
    happens when two results report the same file (a template rendered twice), are merged finding by
    finding on (line, rule id), as sorting the findings themselves would."""
    from lashing.report.json_report import SEPARATOR
    from lashing.report.spool import read_text

    pieces.sort(key=operator.itemgetter(0))
    for _, group in itertools.groupby(pieces, key=operator.itemgetter(0)):
        ranges = [piece for _, piece in group]
        if len(ranges) == 1:
            yield ranges[0]
            continue
        findings = ["{" + item for piece in ranges for item in read_text(piece).split(SEPARATOR + "{")[1:]]
        yield "".join(SEPARATOR + text for text in sorted(findings, key=_line_and_id))


def _line_and_id(text: str) -> tuple[int, str]:
    finding = json.loads(text)
    return (finding.get("location") or {}).get("line") or 0, finding["id"]


@rules.command("list")
def list_rules(
    format: str = typer.Option("table", "--format", "-f", help="table or json."),
    applies_to: str | None = typer.Option(None, "--applies-to", help="Only rules for this target kind."),
) -> None:
    """List every rule of the catalog (all rules/*.yaml, Dockerfile rules included)."""
    from lashing.analyzers.config import load_catalog

    selected = [r for r in load_catalog() if applies_to is None or r.applies_to == applies_to]
    if format == "json":
        json.dump([r.to_dict() for r in selected], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    if format != "table":
        raise UsageError(f"unknown format {format!r} for rules list; use table or json")
    from rich.console import Console
    from rich.table import Table

    table = Table("ID", "SEVERITY", "APPLIES TO", "TITLE", "PEER IDS", box=None)
    for rule in selected:
        table.add_row(rule.id, rule.severity.name, rule.applies_to, rule.title, ", ".join(rule.aliases))
    Console(width=None if sys.stdout.isatty() else 4096, markup=False, highlight=False).print(table)


@rules.command("show")
def show_rule(rule_id: str = typer.Argument(..., help="Rule id or a peer id (e.g. CKV_K8S_16).")) -> None:
    """Show one rule: metadata, logic and examples."""
    from lashing.analyzers.config import find_rule

    rule = find_rule(rule_id)
    if rule is None:
        raise UsageError(f"no rule {rule_id!r}; see `lashing rules list`")
    lines = [f"{rule.id}  [{rule.severity.name}]  {rule.title}", f"applies to: {rule.applies_to}",
             f"peer ids:   {', '.join(rule.aliases) or '-'}", "", rule.description, "",
             f"remediation: {rule.remediation}"]
    if rule.cel:
        lines += ["", "cel:", f"  {rule.cel}"]
    if rule.check:
        lines += ["", f"check: {rule.check} (Python)"]
    lines += [f"reference: {ref}" for ref in rule.references]
    for label in ("bad", "good"):
        if isinstance(rule.examples.get(label), str):
            lines += ["", f"{label} example:", *("  " + x for x in rule.examples[label].rstrip().splitlines())]
    typer.echo("\n".join(lines))
