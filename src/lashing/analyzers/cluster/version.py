"""Kubernetes versions of a cluster (API server, kubelets) against end-of-life dates and component advisories.

    versions = cluster_versions(snapshot)                       # server (live or version.json) + kubelets
    advisories = load_advisories(Path("k8s-cves/"))             # OSV records, ecosystem "kubernetes"
    version_findings(versions, advisories, today=date.today())  # LSH-K8S-VERSION-EOL + one per CVE

Advisories are OSV records as the Kubernetes official CVE feed publishes them (vuln-list-k8s): `affected[]`
entries with `package.ecosystem: kubernetes`, a component name (`k8s.io/apiserver`, `k8s.io/kubelet`, ...) and
SEMVER ranges. They come from a folder or zip of such JSON files (`--k8s-advisories`), or from the advisory
database when an export folder `kubernetes/all.zip` was imported (`lashing db update --mirror DIR`): the OSV
importer is ecosystem-agnostic, so its rows are found under ecosystem "kubernetes".
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from lashing.analyzers.vulns.ranges import range_verdict
from lashing.analyzers.vulns.severity import cvss_rating
from lashing.analyzers.vulns.versions import semver
from lashing.model import Finding, FindingKind, Location, Package, PackageType, Severity
from lashing.sources.cluster import ClusterSnapshot

EOL_ID = "LSH-K8S-VERSION-EOL"
ECOSYSTEM = "kubernetes"
RELEASES_DOC = "https://kubernetes.io/releases/"
MAX_VERSION_FILE = 1024 * 1024
MAX_ADVISORY_BYTES = 4 * 1024 * 1024  # one record
MAX_ADVISORIES = 20_000

# End of patch support (maintenance mode end) per minor release, from kubernetes.io/releases.
# Every release older than the first entry is past its end of life.
EOL: dict[tuple[int, int], date] = {
    (1, 19): date(2021, 10, 28), (1, 20): date(2022, 2, 28), (1, 21): date(2022, 6, 28),
    (1, 22): date(2022, 10, 28), (1, 23): date(2023, 2, 28), (1, 24): date(2023, 7, 28),
    (1, 25): date(2023, 10, 28), (1, 26): date(2024, 2, 28), (1, 27): date(2024, 6, 28),
    (1, 28): date(2024, 10, 28), (1, 29): date(2025, 2, 28), (1, 30): date(2025, 6, 28),
    (1, 31): date(2025, 10, 28), (1, 32): date(2026, 2, 28), (1, 33): date(2026, 6, 28),
    (1, 34): date(2026, 10, 27),
}  # fmt: skip

# Which advisory components a version judges: the control plane runs the server's version, nodes the kubelet's.
SERVER_COMPONENTS = ("k8s.io/kubernetes", "k8s.io/apiserver", "k8s.io/kube-apiserver", "k8s.io/controller-manager",
                     "k8s.io/kube-controller-manager", "k8s.io/kube-scheduler")
NODE_COMPONENTS = ("k8s.io/kubelet", "k8s.io/kube-proxy")

_VERSION = re.compile(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?")


def normalize(version: str) -> str | None:
    """`v1.21.1`, `v1.21.1-eks-abc`, `1.21.1+k3s1` -> `1.21.1`; None when not a Kubernetes version."""
    match = _VERSION.match(version or "")
    if match is None:
        return None
    return f"{match.group(1)}.{match.group(2)}.{match.group(3) or 0}"


def minor_of(version: str) -> tuple[int, int] | None:
    plain = normalize(version)
    if plain is None:
        return None
    major, minor, _ = plain.split(".")
    return int(major), int(minor)


@dataclass(frozen=True)
class ComponentVersion:
    """One version in the cluster: the API server's or a group of nodes' kubelet."""

    role: str  # "server" | "kubelet"
    version: str  # as reported, e.g. v1.21.1
    resource: str  # Version/server, Node/<first node>
    location: Location | None = None
    nodes: tuple[str, ...] = ()

    @property
    def components(self) -> tuple[str, ...]:
        return SERVER_COMPONENTS if self.role == "server" else NODE_COMPONENTS

    @property
    def label(self) -> str:
        if self.role == "server":
            return f"API server {self.version}"
        more = f" and {len(self.nodes) - 1} more" if len(self.nodes) > 1 else ""
        return f"kubelet {self.version} on {self.nodes[0] if self.nodes else '?'}{more}"


def _version_file(snapshot: ClusterSnapshot) -> Path | None:
    root = Path(snapshot.source) if snapshot.source else None
    if root is None:
        return None
    candidate = root / "version.json" if root.is_dir() else root.with_name("version.json")
    return candidate if candidate.is_file() else None


def read_version_file(path: Path, warnings: list[str]) -> tuple[str, Location | None]:
    """The server gitVersion of a `kubectl version -o json` (or `GET /version`) file, and its line."""
    try:
        if path.stat().st_size > MAX_VERSION_FILE:
            warnings.append(f"{path}: larger than {MAX_VERSION_FILE} bytes; skipped")
            return "", None
        text = path.read_text(encoding="utf-8", errors="replace")
        data = json.loads(text)
    except (OSError, ValueError, RecursionError) as exc:
        warnings.append(f"{path}: not a readable `kubectl version -o json` file ({type(exc).__name__}); skipped")
        return "", None
    server = data.get("serverVersion", data) if isinstance(data, dict) else None
    version = server.get("gitVersion") if isinstance(server, dict) else None
    if not isinstance(version, str) or normalize(version) is None:
        warnings.append(f"{path}: no serverVersion.gitVersion; the server version is unknown")
        return "", None
    rows = text.splitlines()
    marker = next((n for n, row in enumerate(rows, 1) if '"serverVersion"' in row), 0)
    line = next((n for n, row in enumerate(rows, 1) if n >= marker and '"gitVersion"' in row), None)
    return version, Location(str(path), line=line, end_line=line)


def cluster_versions(snapshot: ClusterSnapshot, warnings: list[str] | None = None) -> list[ComponentVersion]:
    """The server version (live `GET /version`, else `version.json` beside the snapshot) and kubelet versions."""
    warnings = warnings if warnings is not None else []
    out: list[ComponentVersion] = []
    if snapshot.server_version and normalize(snapshot.server_version):
        out.append(ComponentVersion("server", snapshot.server_version, "Version/server"))
    else:
        path = _version_file(snapshot)
        if path is not None:
            version, location = read_version_file(path, warnings)
            if version:
                out.append(ComponentVersion("server", version, "Version/server", location))
    by_version: dict[str, list[Any]] = {}
    for node in snapshot.of_kind("Node"):
        status = node.data.get("status")
        info = status.get("nodeInfo") if isinstance(status, dict) else None
        version = info.get("kubeletVersion") if isinstance(info, dict) else None
        if isinstance(version, str) and normalize(version):
            by_version.setdefault(version, []).append(node)
        elif version is not None:
            warnings.append(f"{node.ref}: kubeletVersion {str(version)[:50]!r} is not a version")
    for version, nodes in sorted(by_version.items()):
        first = nodes[0]
        out.append(ComponentVersion("kubelet", version, first.ref,
                                    first.location_of("status", "nodeInfo", "kubeletVersion"),
                                    tuple(n.name for n in nodes)))
    return out


# --- advisories -----------------------------------------------------------------------------------------------


def _record(raw: Any, where: str, warnings: list[str]) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not isinstance(raw.get("affected"), list):
        warnings.append(f"{where}: not an OSV record; skipped")
        return None
    return raw


def load_advisories(source: Path, warnings: list[str] | None = None) -> list[dict[str, Any]]:
    """OSV records from a folder (every `*.json` below it), a zip of them, or one JSON file."""
    warnings = warnings if warnings is not None else []
    out: list[dict[str, Any]] = []

    def add(text: bytes, where: str) -> None:
        if len(out) >= MAX_ADVISORIES:
            return
        try:
            raw = json.loads(text)
        except (ValueError, RecursionError):
            warnings.append(f"{where}: invalid JSON; skipped")
            return
        record = _record(raw, where, warnings)
        if record is not None:
            out.append(record)

    if source.is_dir():
        for path in sorted(source.rglob("*.json")):
            if path.is_symlink() or not path.is_file():
                continue
            if path.stat().st_size > MAX_ADVISORY_BYTES:
                warnings.append(f"{path}: larger than {MAX_ADVISORY_BYTES} bytes; skipped")
                continue
            add(path.read_bytes(), str(path))
    elif zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                if info.is_dir() or not info.filename.endswith(".json"):
                    continue
                if info.file_size > MAX_ADVISORY_BYTES:
                    warnings.append(f"{source}:{info.filename}: larger than {MAX_ADVISORY_BYTES} bytes; skipped")
                    continue
                add(archive.read(info), f"{source}:{info.filename}")
    elif source.is_file():
        add(source.read_bytes()[:MAX_ADVISORY_BYTES], str(source))
    else:
        warnings.append(f"{source}: no such file or directory; no Kubernetes advisories read")
    if len(out) >= MAX_ADVISORIES:
        warnings.append(f"{source}: more than {MAX_ADVISORIES} advisories; the rest are left out")
    return out


def advisories_from_db(store: Any, components: Iterable[str] = SERVER_COMPONENTS + NODE_COMPONENTS) -> list[dict]:
    """OSV-shaped records of the advisory database's "kubernetes" ecosystem rows for these components."""
    records: dict[str, dict[str, Any]] = {}
    for name in components:
        for row in store.affected_for(ECOSYSTEM, name):
            if row.withdrawn:
                continue
            record = records.get(row.advisory_id)
            if record is None:
                advisory = store.advisory(row.advisory_id)
                if advisory is None:
                    continue
                record = records[row.advisory_id] = {
                    "id": advisory.id, "summary": advisory.summary, "details": advisory.details,
                    "aliases": list(advisory.aliases), "severity": advisory.severity,
                    "references": advisory.references, "affected": []}
            record["affected"].append({"package": {"ecosystem": row.ecosystem, "name": row.name},
                                       "ranges": row.ranges, "versions": row.versions})
    return [records[k] for k in sorted(records)]


def _severity(record: Mapping[str, Any], entry: Mapping[str, Any]) -> Severity:
    for severity in (entry.get("severity"), record.get("severity")):
        if isinstance(severity, list):
            rating = cvss_rating([s for s in severity if isinstance(s, dict)])
            if rating is not None:
                return rating.severity
    return Severity.UNKNOWN


def _affected(version: str, entry: Mapping[str, Any]) -> tuple[bool, tuple[str, ...]]:
    """Whether `version` is inside the entry's ranges (or listed), and every fixed version of its ranges."""
    fixed: list[str] = []
    hit = version in [str(v).removeprefix("v") for v in entry.get("versions") or [] if isinstance(v, str)]
    for range_ in entry.get("ranges") or []:
        if not isinstance(range_, dict) or range_.get("type") not in ("SEMVER", "ECOSYSTEM"):
            continue
        clean = {"events": [{k: str(v).removeprefix("v") for k, v in e.items()}
                            for e in range_.get("events") or [] if isinstance(e, dict)]}
        inside, _fix = range_verdict(version, clean, semver.compare)
        hit = hit or inside
        fixed.extend(e["fixed"] for e in clean["events"] if "fixed" in e)
    return hit, tuple(dict.fromkeys(fixed))


def _fix_for(version: str, fixed: tuple[str, ...]) -> tuple[str, ...]:
    """The fixed versions that upgrade `version`: its own minor's fix first, then later minors' fixes."""
    minor = minor_of(version)
    later = [f for f in fixed if semver.compare(f, version) > 0]
    same = [f for f in later if minor_of(f) == minor]
    return tuple(dict.fromkeys(same + sorted(later, key=lambda v: semver.parse(v) or (0, 0, 0, None))))


def _references(record: Mapping[str, Any]) -> tuple[str, ...]:
    refs = record.get("references")
    return tuple(r["url"] for r in refs if isinstance(r, dict) and isinstance(r.get("url"), str))[:20] \
        if isinstance(refs, list) else ()


def advisory_findings(component: ComponentVersion, advisories: Iterable[Mapping[str, Any]]) -> list[Finding]:
    """One finding per advisory whose range holds the component's version (per version, not per node)."""
    plain = normalize(component.version)
    if plain is None:
        return []
    out = []
    for record in advisories:
        matched: list[tuple[str, Severity, tuple[str, ...]]] = []
        for entry in record.get("affected") or []:
            if not isinstance(entry, dict):
                continue
            package = entry.get("package") if isinstance(entry.get("package"), dict) else {}
            if str(package.get("ecosystem", "")).lower() != ECOSYSTEM or package.get("name") not in \
                    component.components:
                continue
            hit, fixed = _affected(plain, entry)
            if hit:
                matched.append((str(package["name"]), _severity(record, entry), fixed))
        if not matched:
            continue
        names = tuple(dict.fromkeys(m[0] for m in matched))
        fixed = _fix_for(plain, tuple(f for m in matched for f in m[2]))
        summary = str(record.get("summary") or record.get("details") or record["id"])[:300]
        aliases = tuple(a for a in record.get("aliases") or [] if isinstance(a, str))
        out.append(Finding(
            id=str(record["id"]), kind=FindingKind.VULNERABILITY, severity=max(m[1] for m in matched),
            title=f"{summary} ({component.label})", description=str(record.get("details") or "")[:4000],
            package=Package(name=names[0], version=plain, type=PackageType.GOLANG),
            location=component.location, aliases=aliases, references=_references(record), fixed_versions=fixed,
            fix_state="fixed" if fixed else "not fixed",
            remediation=f"Upgrade Kubernetes to {fixed[0]} or later." if fixed else "",
            extra={"resource": component.resource, "component": ", ".join(names), "role": component.role,
                   "version": component.version, **({"nodes": ", ".join(component.nodes)} if component.nodes else {})},
        ))
    return out


def eol_finding(component: ComponentVersion, today: date) -> Finding | None:
    """LSH-K8S-VERSION-EOL when the component's minor release no longer gets patches."""
    minor = minor_of(component.version)
    if minor is None:
        return None
    end = EOL.get(minor)
    if end is None:
        if minor > max(EOL):
            return None  # newer than the table: supported, or unknown
        end = None  # older than every listed release: long past its end
    elif end >= today:
        return None
    since = f"since {end.isoformat()}" if end else f"(older than {min(EOL)[0]}.{min(EOL)[1]})"
    supported = sorted(m for m, d in EOL.items() if d >= today)
    target = f"{supported[0][0]}.{supported[0][1]}" if supported else "a supported release"
    return Finding(
        id=EOL_ID, kind=FindingKind.CONFIG, severity=Severity.HIGH,
        title=f"Kubernetes {minor[0]}.{minor[1]} is past its end of life ({component.label})",
        description=f"Kubernetes {minor[0]}.{minor[1]} gets no more patches, security fixes included, {since}.",
        location=component.location, references=(RELEASES_DOC,),
        remediation=f"Upgrade to Kubernetes {target} or later.",
        extra={"resource": component.resource, "role": component.role, "version": component.version,
               **({"eol": end.isoformat()} if end else {}),
               **({"nodes": ", ".join(component.nodes)} if component.nodes else {})},
    )


def version_findings(versions: Iterable[ComponentVersion], advisories: Iterable[Mapping[str, Any]] = (),
                     today: date | None = None) -> list[Finding]:
    today = today or date.today()
    records = list(advisories)
    out: list[Finding] = []
    for component in versions:
        eol = eol_finding(component, today)
        if eol is not None:
            out.append(eol)
        out.extend(advisory_findings(component, records))
    return out
