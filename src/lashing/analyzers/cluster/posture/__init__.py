"""Cluster posture: one Report for a snapshot or a live cluster.

    result = scan_cluster(load_snapshot("snap/"), advisories=load_advisories(Path("k8s-cves")))
    result.report        # Report(artifact kind "cluster"): config, RBAC, netpol, secrets, control plane, version
    result.images        # {"nginx:1.25": ["Deployment/web/front"], ...}: image references for `lashing image`
    result.scopes        # what was examined ("pod-spec", "apiserver", "rbac", "netpol", "version", "advisories", ...)

Findings are de-duplicated on (id, resource, file, line) and sorted by severity, id and resource. Image references
are not findings and not packages (nothing was inventoried): they travel beside the report, printed by
`lashing k8s images` and written by `lashing k8s scan --images FILE` as JSON for later image scans.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from lashing.analyzers.cluster.posture.secrets import secret_findings, settle_automount
from lashing.analyzers.cluster.posture.workloads import config_findings, image_references
from lashing.analyzers.config.engine import Settings
from lashing.model import ArtifactInfo, Finding, Report
from lashing.sources.cluster import RBAC_KINDS, ClusterSnapshot

ARTIFACT_KIND = "cluster"


@dataclass
class PostureResult:
    report: Report
    images: dict[str, list[str]] = field(default_factory=dict)
    scopes: frozenset[str] = frozenset()


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """The first of each (id, resource, path, line); the order is otherwise kept."""
    seen: set[tuple[str, str, str, int]] = set()
    out = []
    for f in findings:
        key = (f.id, str(f.extra.get("resource", "")), f.location.path if f.location else "",
               (f.location.line or 0) if f.location else 0)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _sort_key(f: Finding) -> tuple:
    return (-f.severity, f.id, str(f.extra.get("resource", "")), f.location.path if f.location else "",
            (f.location.line or 0) if f.location else 0)


def scan_cluster(snapshot: ClusterSnapshot, *, advisories: Iterable[Mapping[str, Any]] = (),
                 settings: Settings | None = None, today: date | None = None, name: str | None = None,
                 tool_version: str = "") -> PostureResult:
    """Every posture finding of a snapshot (see the module docstring)."""
    from lashing.analyzers.cluster.netpol import NetworkModel, netpol_findings
    from lashing.analyzers.cluster.rbac import analyze
    from lashing.analyzers.cluster.version import cluster_versions, version_findings

    warnings: list[str] = list(snapshot.warnings)
    scopes: set[str] = set()
    findings: list[Finding] = settle_automount(config_findings(snapshot, settings, scopes), snapshot)

    rbac = analyze(snapshot)
    findings.extend(rbac.findings)
    warnings.extend(rbac.warnings)
    if any(not o.builtin for o in snapshot.of_kind(*RBAC_KINDS)):
        scopes.add("rbac")

    objects = [o for o in snapshot if not o.builtin]
    model = NetworkModel.from_objects(objects)
    findings.extend(netpol_findings(model))
    warnings.extend(model.warnings)
    if model.workloads:
        scopes.add("netpol")

    findings.extend(secret_findings(snapshot))
    if snapshot.of_kind("Secret"):
        scopes.add("secret")

    versions = cluster_versions(snapshot, warnings)
    records = list(advisories)
    findings.extend(version_findings(versions, records, today))
    if versions:
        scopes.add("version")
        if records:
            scopes.add("advisories")
    if not any(v.role == "server" for v in versions):
        warnings.append("the cluster's server version is unknown (no live connection and no version.json); "
                        "only node versions were judged")

    report = Report(
        artifact=ArtifactInfo(name=name or snapshot.source or "cluster", kind=ARTIFACT_KIND),
        findings=tuple(sorted(dedupe(findings), key=_sort_key)), warnings=tuple(dict.fromkeys(warnings)),
        tool_version=tool_version, generated_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    return PostureResult(report, image_references(snapshot), frozenset(scopes))


__all__ = ["ARTIFACT_KIND", "PostureResult", "dedupe", "scan_cluster"]
