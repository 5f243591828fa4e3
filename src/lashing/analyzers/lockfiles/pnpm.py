"""pnpm-lock.yaml, lockfile versions 5.x (`/name/1.0.0_peer`), 6.x (`/name@1.0.0(peer)`) and 9.x (`name@1.0.0`).

One package per name and version (peer-dependency variants merge). Direct packages come from
`importers` (workspaces) or the top-level `dependencies`/`devDependencies`/`optionalDependencies`
(single-project v5/v6). `dev` is the `dev: true` flag of v5/v6, and for v9 (which has no flag) the
packages reachable through `snapshots` only from dev dependencies.
"""

from __future__ import annotations

from typing import Any

from lashing.analyzers.interface import AnalysisResult
from lashing.analyzers.lockfiles._base import MAX_PACKAGES, LockfileAnalyzer, dev_only, flags, load_yaml_lines
from lashing.analyzers.lockfiles.npm import npm_package, plain_version

Node = tuple[str, str]
_PROD = ("dependencies", "optionalDependencies")


def parse_key(key: str) -> Node | None:
    """A `packages`/`snapshots` key -> (name, version) without the peer-dependency suffix."""
    key = key.split("(", 1)[0].lstrip("/")
    if "@" in key[1:]:  # v6 and v9: name@version
        name, _, version = key.rpartition("@")
        return (name, version) if name and version else None
    parts = key.split("/")  # v5: name/version or @scope/name/version (registry host before, if any)
    if len(parts) < 2:
        return None
    scoped = len(parts) >= 3 and parts[-3].startswith("@")
    name = "/".join(parts[-3:-1]) if scoped else parts[-2]
    return name, parts[-1].split("_", 1)[0]


def parse_reference(name: str, ref: object) -> Node | None:
    """A dependency reference (`1.0.0`, `1.0.0(peer)`, `1.0.0_peer`, alias `real@1.0.0`, `/real/1.0.0`)."""
    if isinstance(ref, dict):
        ref = ref.get("version")
    if not isinstance(ref, (str, int, float)):
        return None
    ref = str(ref)
    if ref.startswith(("link:", "file:", "workspace:")):
        return None
    if ref.startswith("/") or "@" in ref.split("(", 1)[0][1:]:
        return parse_key(ref)
    return name, ref.split("(", 1)[0].split("_", 1)[0]


def _roots(data: dict[str, Any]) -> tuple[set[Node], set[Node]]:
    """(production roots, dev roots) over every importer (or the single project)."""
    importers = data.get("importers")
    projects = list(importers.values()) if isinstance(importers, dict) else [data]
    prod: set[Node] = set()
    dev: set[Node] = set()
    for project in projects:
        if not isinstance(project, dict):
            continue
        for field in (*_PROD, "devDependencies"):
            deps = project.get(field)
            if not isinstance(deps, dict):
                continue
            nodes = {n for name, ref in deps.items() if (n := parse_reference(str(name), ref))}
            (dev if field == "devDependencies" else prod).update(nodes)
    return prod, dev


def _graph(entries: dict[str, Any]) -> dict[Node, list[Node]]:
    graph: dict[Node, list[Node]] = {}
    for key, entry in entries.items():
        node = parse_key(str(key))
        if node is None or not isinstance(entry, dict):
            continue
        children = graph.setdefault(node, [])
        for field in _PROD:
            deps = entry.get(field)
            if isinstance(deps, dict):
                children.extend(n for name, ref in deps.items() if (n := parse_reference(str(name), ref)))
    return graph


class PnpmLockAnalyzer(LockfileAnalyzer):
    """pnpm-lock.yaml outside node_modules."""

    name = "pnpm-lock"
    filenames = ("pnpm-lock.yaml",)

    def parse(self, path: str, content: str) -> AnalysisResult | None:
        data, lines, error = load_yaml_lines(content, 2)
        if error or not isinstance(data, dict):
            return AnalysisResult(warnings=(f"pnpm-lock.yaml: {error or 'not a mapping'}",))
        packages = data.get("packages")
        if not isinstance(packages, dict):
            return AnalysisResult(warnings=("pnpm-lock.yaml has no `packages` mapping",)) if packages else None
        major = str(data.get("lockfileVersion", "")).split(".")[0].lstrip("'\"")
        prod_roots, dev_roots = _roots(data)
        snapshots = data.get("snapshots") if isinstance(data.get("snapshots"), dict) else packages
        computed_dev = dev_only(_graph(snapshots), prod_roots, dev_roots) if major not in ("5", "6") else set()
        out, seen = [], set()
        for key, entry in list(packages.items())[:MAX_PACKAGES]:
            node = parse_key(str(key))
            if not isinstance(entry, dict) or node is None:
                continue
            if isinstance(entry.get("name"), str) and entry.get("version"):
                node = (entry["name"], str(entry["version"]))  # tarball and git dependencies
            if node in seen or not plain_version(node[1]) or "directory" in (entry.get("resolution") or {}):
                continue
            seen.add(node)
            dev = entry.get("dev") is True if major in ("5", "6") else node in computed_dev
            extra = flags(direct=node in prod_roots or node in dev_roots, dev=dev)
            out.append(npm_package(node[0], node[1], self.name, path, lines.get(("packages", key)), extra))
        return AnalysisResult(packages=tuple(out))
