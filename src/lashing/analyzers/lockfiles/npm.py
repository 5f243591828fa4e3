"""npm `package-lock.json` (and `npm-shrinkwrap.json`), lockfile versions 1, 2 and 3.

v2/v3 list every installed folder under `packages` (`node_modules/a/node_modules/b` for nested
copies); an alias (`"x": "npm:y@1"`) is the folder `node_modules/x` whose `name` is `y`. v1 nests
`dependencies` objects and spells aliases as version `npm:y@1`. Workspace folders and links are the
project's own code and are not listed. One package per name and version: `dev` when every copy is
dev-only, `direct` when the root or a workspace depends on it by that folder name (unknown in v1).
"""

from __future__ import annotations

from typing import Any

from lashing.analyzers.interface import AnalysisResult
from lashing.analyzers.lockfiles._base import MAX_PACKAGES, LockfileAnalyzer, flags, load_json_lines, make_package
from lashing.model import Package, PackageType

_DEP_FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")


def npm_package(name: str, version: str, cataloger: str, path: str, line: int | None, extra: dict[str, str]) -> Package:
    namespace, _, base = name.rpartition("/") if name.startswith("@") else ("", "", name)
    return make_package(
        PackageType.NPM, name, version, cataloger, path, line,
        purl_type="npm", purl_name=base, namespace=namespace or None, extra=extra,
    )  # fmt: skip


def split_alias(spec: str) -> tuple[str, str] | None:
    """`npm:real-name@1.2.3` -> ("real-name", "1.2.3")."""
    if not spec.startswith("npm:"):
        return None
    name, at, version = spec[4:].rpartition("@")
    return (name, version) if at and name else None


def plain_version(version: object) -> bool:
    """A registry version, not a git URL, tarball or local path."""
    return isinstance(version, str) and bool(version) and ":" not in version and "/" not in version


def _package_key(path: tuple[Any, ...]) -> bool:
    """Keep the lines of package entries: `packages/<folder>` (v2, v3), `dependencies/x/dependencies/y` (v1)."""
    if path[0] == "packages":
        return len(path) == 2
    return path[0] == "dependencies" and len(path) % 2 == 0 and all(p == "dependencies" for p in path[::2])


class _Merged:
    """name@version seen at one or more folders: first line, dev only if every copy is dev."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def add(self, name: str, version: str, line: int | None, dev: bool, direct: bool | None, alias: str) -> None:
        item = self.items.setdefault((name, version), {"line": line, "dev": True, "direct": direct, "alias": alias})
        item["dev"] = item["dev"] and dev
        if direct is not None:
            item["direct"] = bool(item["direct"]) or direct

    def packages(self, cataloger: str, path: str) -> tuple[Package, ...]:
        return tuple(
            npm_package(name, version, cataloger, path, item["line"],
                        flags(direct=item["direct"], dev=item["dev"], alias=item["alias"]))
            for (name, version), item in self.items.items()
        )  # fmt: skip


class PackageLockAnalyzer(LockfileAnalyzer):
    """package-lock.json / npm-shrinkwrap.json outside node_modules."""

    name = "npm-package-lock"
    filenames = ("package-lock.json", "npm-shrinkwrap.json")

    def parse(self, path: str, content: str) -> AnalysisResult | None:
        data, lines, error = load_json_lines(content, 64, _package_key)
        if error or not isinstance(data, dict):
            return AnalysisResult(warnings=(f"package-lock.json: {error or 'not an object'}",))
        merged = _Merged()
        if isinstance(data.get("packages"), dict):
            self._packages(data["packages"], lines, merged)
        elif isinstance(data.get("dependencies"), dict):
            self._dependencies(data["dependencies"], ("dependencies",), lines, merged, 0)
        else:
            return AnalysisResult(warnings=("package-lock.json has neither `packages` nor `dependencies`",))
        return AnalysisResult(packages=merged.packages(self.name, path))

    def _packages(self, entries: dict[str, Any], lines: dict, merged: _Merged) -> None:
        folders = {k: v for k, v in entries.items() if "node_modules/" not in f"/{k}" and isinstance(v, dict)}
        wanted = {
            folder: {n for f in _DEP_FIELDS if isinstance(entry.get(f), dict) for n in entry[f]}
            for folder, entry in folders.items()
        }
        hoisted = set().union(*wanted.values()) if wanted else set()
        for key, entry in list(entries.items())[:MAX_PACKAGES]:
            if not isinstance(entry, dict) or key in folders or entry.get("link") is True:
                continue
            parent, _, folder_name = key.rpartition("node_modules/")
            version = entry.get("version")
            if not folder_name or not plain_version(version):
                continue
            name = entry.get("name") if isinstance(entry.get("name"), str) else folder_name
            owner = parent.rstrip("/")
            direct = folder_name in wanted.get(owner, set()) or (owner == "" and folder_name in hoisted)
            alias = folder_name if name != folder_name else ""
            merged.add(name, version, lines.get(("packages", key)), entry.get("dev") is True, direct, alias)

    def _dependencies(
        self, entries: dict[str, Any], where: tuple[str, ...], lines: dict, merged: _Merged, depth: int
    ) -> None:
        if depth > 32 or len(merged.items) >= MAX_PACKAGES:
            return
        for folder_name, entry in entries.items():
            if not isinstance(entry, dict):
                continue
            version, name, alias = entry.get("version"), folder_name, ""
            if isinstance(version, str) and (real := split_alias(version)):
                (name, version), alias = real, folder_name
            if plain_version(version):
                line = lines.get((*where, folder_name))
                merged.add(name, version, line, entry.get("dev") is True, None, alias)
            if isinstance(entry.get("dependencies"), dict):
                inner = (*where, folder_name, "dependencies")
                self._dependencies(entry["dependencies"], inner, lines, merged, depth + 1)
