"""`lashing k8s ...`: cluster snapshots, who-can, effective permissions and RBAC risk findings (wiring only)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import typer

from lashing.cli import options
from lashing.errors import UsageError

log = logging.getLogger("lashing.k8s")
app = typer.Typer(help="Kubernetes cluster posture: snapshots, RBAC (who-can, permissions, risks).",
                  no_args_is_help=True)

SNAPSHOT_HELP = "A directory of manifests, or a file (YAML/JSON, kubectl -o json/yaml); default: the live cluster."
# Where the cluster comes from: shared by every `lashing k8s` command.
SNAPSHOT = typer.Option(None, "--snapshot", help=SNAPSHOT_HELP)
KUBECONFIG = typer.Option(None, "--kubeconfig", help="Kubeconfig file for a live cluster.")
CONTEXT = typer.Option(None, "--context", help="Kubeconfig context for a live cluster.")
TABLE_OR_JSON = typer.Option("table", "--format", "-f", help="table or json.")
K8S_ADVISORIES = typer.Option(None, "--k8s-advisories", help="Kubernetes CVE records (OSV JSON folder or zip).")


def table_or_json(format: str, command: str) -> None:
    """The listing commands write a table or JSON, not the report formats."""
    if format not in ("table", "json"):
        raise UsageError(f"unknown format {format!r} for {command}; use table or json")


def load(snapshot: Path | None, kubeconfig: Path | None, context: str | None, kinds: tuple[str, ...] | None = None):
    """The snapshot at `snapshot`, or one fetched from the live cluster; warnings are logged."""
    if snapshot is not None:
        from lashing.sources.cluster import load_snapshot

        result = load_snapshot(snapshot)
    else:
        from lashing.sources.cluster import fetch_live

        result = fetch_live(str(kubeconfig) if kubeconfig else None, context, kinds=kinds)
    for warning in result.warnings:
        log.warning("%s", warning)
    return result


def _echo_json(document: object, stream: IO[str] | None = None) -> None:
    stream = stream or sys.stdout
    json.dump(document, stream, indent=2)
    stream.write("\n")


def _images_document(refs: dict[str, list[str]]) -> dict[str, object]:
    """`lashing k8s images --format json` and `scan --images FILE`: each image with the workloads running it."""
    return {"images": [{"image": image, "workloads": workloads} for image, workloads in refs.items()]}


def _echo_table(headers: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    from lashing.report.table import cell

    table = Table(*headers, box=None)
    for row in rows:
        table.add_row(*(cell(c) for c in row))
    Console(width=None if sys.stdout.isatty() else 4096, markup=False, highlight=False, emoji=False).print(table)


@app.command("snapshot")
def snapshot_cmd(
    output: Path = typer.Option(..., "--output", "-o", help="Directory to write (one YAML file per kind)."),
    kubeconfig: Path | None = typer.Option(None, "--kubeconfig", help="Kubeconfig file (default: $KUBECONFIG)."),
    context: str | None = typer.Option(None, "--context", help="Kubeconfig context (default: the current one)."),
) -> None:
    """Write a snapshot of the live cluster (read-only list calls; Secrets keep metadata and type only)."""
    from lashing.sources.cluster import write_snapshot

    snap = load(None, kubeconfig, context)
    files = write_snapshot(snap, output)
    count = sum(1 for o in snap if not o.builtin)
    typer.echo(f"{count} objects of {len(files)} kinds written to {output}"
               + (f"; {len(snap.warnings)} warning(s)" if snap.warnings else ""), err=True)


def _grant_rows(grants) -> list[list[str]]:
    from lashing.analyzers.cluster.rbac.risks import describe

    return [[g.subject.kind, g.subject.namespace, g.subject.name, g.scope, str(g.role), str(g.binding),
             describe(g.rules)] for g in grants]


@app.command("who-can")
def who_can_cmd(
    verb: str = typer.Argument(..., help="A verb: get, list, create, update, patch, delete, impersonate, ..."),
    resource: str = typer.Argument(..., help="pods, pods/exec, deployments.apps, secrets, or a URL like /metrics."),
    namespace: str | None = typer.Option(None, "--namespace", "-n", help="Only grants effective in this namespace."),
    name: str | None = typer.Option(None, "--name", help="The object's name (rules with resourceNames count)."),
    snapshot: Path | None = SNAPSHOT,
    kubeconfig: Path | None = KUBECONFIG,
    context: str | None = CONTEXT,
    format: str = TABLE_OR_JSON,
) -> None:
    """List the subjects allowed VERB on RESOURCE, with the role and binding that allow it."""
    from lashing.analyzers.cluster.rbac import RbacIndex
    from lashing.sources.cluster import RBAC_KINDS

    table_or_json(format, "who-can")
    index = RbacIndex(load(snapshot, kubeconfig, context, RBAC_KINDS))
    for warning in index.warnings:
        log.info("%s", warning)
    grants = index.who_can(verb, resource, namespace, name=name)
    if format == "json":
        _echo_json({"verb": verb, "resource": resource, "namespace": namespace, "name": name,
                    "grants": [g.to_dict() for g in grants]})
    else:
        _echo_table(["KIND", "NAMESPACE", "NAME", "SCOPE", "ROLE", "BINDING", "RULES"], _grant_rows(grants))


@app.command("permissions")
def permissions_cmd(
    subject: str = typer.Argument(..., help="User:NAME, Group:NAME or ServiceAccount:NAMESPACE/NAME."),
    group: list[str] | None = typer.Option(None, "--group", help="A further group the user belongs to."),
    snapshot: Path | None = SNAPSHOT,
    kubeconfig: Path | None = KUBECONFIG,
    context: str | None = CONTEXT,
    format: str = TABLE_OR_JSON,
) -> None:
    """Show every grant a subject holds, implicit groups (system:authenticated, ...) included."""
    from lashing.analyzers.cluster.rbac import RbacIndex, Subject
    from lashing.sources.cluster import RBAC_KINDS

    table_or_json(format, "permissions")
    try:
        who = Subject.parse(subject)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    grants = RbacIndex(load(snapshot, kubeconfig, context, RBAC_KINDS)).grants_for(who, group or ())
    if format == "json":
        _echo_json({"subject": str(who), "grants": [g.to_dict() for g in grants]})
    else:
        _echo_table(["VIA KIND", "VIA NAMESPACE", "VIA NAME", "SCOPE", "ROLE", "BINDING", "RULES"],
                    _grant_rows(grants))


@app.command("rbac")
def rbac_cmd(
    snapshot: Path | None = SNAPSHOT,
    kubeconfig: Path | None = KUBECONFIG,
    context: str | None = CONTEXT,
    format: str = options.FORMAT,
    output: Path | None = options.OUTPUT,
    severity: str | None = options.SEVERITY,
    exit_code: int = options.EXIT_CODE,
) -> None:
    """Report risky effective access: cluster-admin, wildcards, secrets, exec, workloads, escalation, tokens."""
    from lashing import __version__
    from lashing.analyzers.cluster.rbac import analyze
    from lashing.cli.common import build_policy, write_scan
    from lashing.model import ArtifactInfo, Report
    from lashing.policy import apply_policy
    from lashing.report import get_format

    get_format(format)
    policy = build_policy(severity, exit_code, False, None, None)
    snap = load(snapshot, kubeconfig, context)
    result = analyze(snap)
    report = Report(
        artifact=ArtifactInfo(name=snap.source, kind="k8s-snapshot" if snapshot is not None else "k8s-cluster"),
        findings=tuple(result.findings), warnings=tuple(snap.warnings) + tuple(result.warnings),
        tool_version=__version__, generated_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    outcome = apply_policy(report, policy)
    write_scan(outcome.report, format, output)
    raise typer.Exit(outcome.exit_code)


def _register_netpol() -> None:
    from lashing.cli import netpol

    app.command("can-reach", help="Whether one workload (or IP) may connect to another, and which policies decide.")(
        netpol.can_reach
    )
    app.command("netpol", help="Reachability matrix (table|json|connlist) and network-policy findings.")(netpol.matrix)


_register_netpol()


def _posture(snapshot: Path | None, kubeconfig: Path | None, context: str | None, k8s_advisories: Path | None):
    """The posture result of a snapshot or the live cluster; advisories from a folder/zip or the advisory DB."""
    from lashing import __version__
    from lashing.analyzers.cluster.posture import scan_cluster
    from lashing.analyzers.cluster.version import advisories_from_db, load_advisories

    snap = load(snapshot, kubeconfig, context)
    notes: list[str] = []
    if k8s_advisories is not None:
        records = load_advisories(k8s_advisories, notes)
    else:
        from lashing.db import AdvisoryStore, DatabaseError

        try:
            with AdvisoryStore.open() as store:
                records = advisories_from_db(store)
        except DatabaseError:
            records = []
        if not records:
            notes.append("no Kubernetes advisories (--k8s-advisories DIR, or a kubernetes/all.zip export imported "
                         "with `lashing db update --mirror`): versions judged on end-of-life dates only")
    result = scan_cluster(snap, advisories=records, tool_version=__version__,
                          name=snap.source if snapshot is not None else "live cluster")
    if notes:
        from dataclasses import replace

        result.report = replace(result.report, warnings=result.report.warnings + tuple(notes))
    return result


@app.command("scan")
def scan_cmd(
    snapshot: Path | None = SNAPSHOT,
    kubeconfig: Path | None = KUBECONFIG,
    context: str | None = CONTEXT,
    format: str = options.FORMAT,
    output: Path | None = options.OUTPUT,
    severity: str | None = options.SEVERITY,
    exit_code: int = options.EXIT_CODE,
    ignorefile: Path | None = options.IGNORE_FILE,
    framework: str | None = typer.Option(None, "--framework", help="Add a compliance view: cis or nsa."),
    k8s_advisories: Path | None = K8S_ADVISORIES,
    images: Path | None = typer.Option(None, "--images", help="Write the workloads' image references here (JSON)."),
) -> None:
    """Cluster posture: workloads, RBAC, network policies, secrets, control plane and version, in one report."""
    from lashing.analyzers.cluster.compliance import compliance, table_rows
    from lashing.cli.common import build_policy, output_stream, write_scan
    from lashing.policy import apply_policy
    from lashing.report import get_format

    writer = get_format(format)
    if framework is not None:
        from lashing.analyzers.cluster.compliance import load_framework

        load_framework(framework)
    policy = build_policy(severity, exit_code, False, ignorefile, None)
    result = _posture(snapshot, kubeconfig, context, k8s_advisories)
    outcome = apply_policy(result.report, policy)
    if images is not None:
        with output_stream(images) as stream:
            _echo_json(_images_document(result.images), stream)
    controls = None
    if framework:  # judged on every finding the ignore file keeps, whatever --severity shows
        from dataclasses import replace

        unfiltered = apply_policy(result.report, replace(policy, severities=None, exit_code=0)).report
        controls = compliance(unfiltered, framework, result.scopes)
    if writer.name == "html":
        from lashing.report.html import HtmlFormat

        html = HtmlFormat(controls, framework or "", result.images)
        with output_stream(output) as stream:
            html.write(outcome.report, stream)
    else:
        write_scan(outcome.report, format, output)
        if controls is not None and output is None and format == "table":
            _echo_table(["CONTROL", "STATUS", "TITLE", "FINDINGS"], table_rows(controls))
    raise typer.Exit(outcome.exit_code)


@app.command("compliance")
def compliance_cmd(
    framework: str = typer.Argument(..., help="cis or nsa."),
    snapshot: Path | None = SNAPSHOT,
    kubeconfig: Path | None = KUBECONFIG,
    context: str | None = CONTEXT,
    format: str = TABLE_OR_JSON,
    ignorefile: Path | None = options.IGNORE_FILE,
    k8s_advisories: Path | None = K8S_ADVISORIES,
) -> None:
    """Pass / fail / manual per control of the CIS Kubernetes Benchmark or the NSA/CISA hardening guide."""
    from lashing.analyzers.cluster.compliance import compliance, load_framework, table_rows, to_json
    from lashing.cli.common import build_policy
    from lashing.policy import apply_policy

    table_or_json(format, "compliance")
    load_framework(framework)
    result = _posture(snapshot, kubeconfig, context, k8s_advisories)
    report = apply_policy(result.report, build_policy(None, 0, False, ignorefile, None)).report
    controls = compliance(report, framework, result.scopes)
    if format == "json":
        sys.stdout.write(to_json(controls, framework))
        return
    _echo_table(["CONTROL", "STATUS", "TITLE", "FINDINGS"], table_rows(controls))


@app.command("images")
def images_cmd(
    snapshot: Path | None = SNAPSHOT,
    kubeconfig: Path | None = KUBECONFIG,
    context: str | None = CONTEXT,
    format: str = TABLE_OR_JSON,
) -> None:
    """The image references the cluster's workloads run, with the workloads running each (for `lashing image`)."""
    from lashing.analyzers.cluster.posture.workloads import image_references

    table_or_json(format, "images")
    refs = image_references(load(snapshot, kubeconfig, context))
    if format == "json":
        _echo_json(_images_document(refs))
        return
    _echo_table(["IMAGE", "WORKLOADS"], [[k, ", ".join(v)] for k, v in refs.items()])
