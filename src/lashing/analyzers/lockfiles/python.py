"""Python lockfiles: poetry.lock, Pipfile.lock and uv.lock (requirements files live in `requirements.py`).

Package names keep the lockfile's spelling; the purl uses the PEP 503 normalized name. Local
projects (uv workspace members, poetry directory sources) are the project itself and are not listed.
"""

from __future__ import annotations

import tomllib
from typing import Any

from lashing.analyzers.interface import AnalysisResult
from lashing.analyzers.inventory.python import normalize_name
from lashing.analyzers.lockfiles._base import (
    MAX_PACKAGES,
    LockfileAnalyzer,
    dev_only,
    flags,
    load_json_lines,
    make_package,
    toml_table_lines,
)
from lashing.model import Package, PackageType


def python_package(name: str, version: str, cataloger: str, path: str, line: int | None, extra: dict) -> Package:
    return make_package(
        PackageType.PYTHON, name, version, cataloger, path, line,
        purl_type="pypi", purl_name=normalize_name(name), extra=extra,
    )  # fmt: skip


def load_toml(content: str, label: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        return tomllib.loads(content), None
    except (tomllib.TOMLDecodeError, RecursionError, ValueError) as exc:
        return None, f"{label}: invalid TOML ({type(exc).__name__})"


def toml_entries(data: dict[str, Any], content: str) -> list[tuple[dict[str, Any], int | None]]:
    """The `[[package]]` tables with their header lines (None when the text does not line up)."""
    entries = data.get("package")
    if not isinstance(entries, list):
        return []
    entries = [e for e in entries[:MAX_PACKAGES] if isinstance(e, dict)]
    lines = toml_table_lines(content, "[[package]]")
    if len(lines) != len(data.get("package", [])):
        return [(e, None) for e in entries]
    return list(zip(entries, lines, strict=False))


def _str(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


class PoetryLockAnalyzer(LockfileAnalyzer):
    """poetry.lock: every `[[package]]`; dev from `category` (lock 1.x) or `groups` without "main" (2.x)."""

    name = "poetry-lock"
    filenames = ("poetry.lock",)

    def parse(self, path: str, content: str) -> AnalysisResult | None:
        data, error = load_toml(content, "poetry.lock")
        if data is None:
            return AnalysisResult(warnings=(error or "",))
        out = []
        for entry, line in toml_entries(data, content):
            name, version = _str(entry.get("name")), _str(entry.get("version"))
            source = entry.get("source") if isinstance(entry.get("source"), dict) else {}
            if not name or not version or source.get("type") == "directory":
                continue
            groups = entry.get("groups")
            dev = entry.get("category") == "dev" or (isinstance(groups, list) and groups and "main" not in groups)
            extra = flags(dev=bool(dev), source_type=_str(source.get("type")))
            out.append(python_package(name, version, self.name, path, line, extra))
        return AnalysisResult(packages=tuple(out))


class PipfileLockAnalyzer(LockfileAnalyzer):
    """Pipfile.lock: `default` and `develop` (dev) sections; entries without a `==` version are skipped."""

    name = "pipfile-lock"
    filenames = ("Pipfile.lock",)

    def parse(self, path: str, content: str) -> AnalysisResult | None:
        data, lines, error = load_json_lines(content, 2)
        if error or not isinstance(data, dict):
            return AnalysisResult(warnings=(f"Pipfile.lock: {error or 'not an object'}",))
        out: list[Package] = []
        seen: set[str] = set()
        for section in ("default", "develop"):
            entries = data.get(section)
            if not isinstance(entries, dict):
                continue
            for name, entry in list(entries.items())[:MAX_PACKAGES]:
                version = _str(entry.get("version")) if isinstance(entry, dict) else ""
                if not version.startswith("==") or normalize_name(name) in seen:
                    continue
                seen.add(normalize_name(name))
                extra = flags(dev=section == "develop", marker=_str(entry.get("markers")))
                line = lines.get((section, name))
                out.append(python_package(name, version.lstrip("="), self.name, path, line, extra))
        return AnalysisResult(packages=tuple(out))


class UvLockAnalyzer(LockfileAnalyzer):
    """uv.lock: registry/git/url packages; workspace members (editable, virtual) give direct and dev roots."""

    name = "uv-lock"
    filenames = ("uv.lock",)

    def parse(self, path: str, content: str) -> AnalysisResult | None:
        data, error = load_toml(content, "uv.lock")
        if data is None:
            return AnalysisResult(warnings=(error or "",))
        entries = toml_entries(data, content)
        graph: dict[str, list[str]] = {}
        prod_roots: list[str] = []
        dev_roots: list[str] = []
        for entry, _ in entries:
            name = normalize_name(_str(entry.get("name")))
            deps = _dep_names(entry.get("dependencies"))
            optional = entry.get("optional-dependencies")
            if isinstance(optional, dict):
                deps += [d for group in optional.values() for d in _dep_names(group)]
            graph.setdefault(name, []).extend(deps)
            if _is_local(entry):
                prod_roots.extend(deps)
                groups = entry.get("dev-dependencies")
                if isinstance(groups, dict):
                    dev_roots.extend(d for group in groups.values() for d in _dep_names(group))
        dev = dev_only(graph, prod_roots, dev_roots)
        direct = set(prod_roots) | set(dev_roots)
        has_roots = any(_is_local(entry) for entry, _ in entries)
        out = []
        for entry, line in entries:
            name, version = _str(entry.get("name")), _str(entry.get("version"))
            if not name or not version or _is_local(entry):
                continue
            key = normalize_name(name)
            source = entry.get("source") if isinstance(entry.get("source"), dict) else {}
            extra = flags(
                direct=(key in direct) if has_roots else None,
                dev=key in dev,
                source_type=next(iter(source), ""),
            )
            out.append(python_package(name, version, self.name, path, line, extra))
        return AnalysisResult(packages=tuple(out))


def _is_local(entry: dict[str, Any]) -> bool:
    source = entry.get("source")
    return isinstance(source, dict) and bool({"editable", "virtual"} & source.keys())


def _dep_names(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [normalize_name(d["name"]) for d in value if isinstance(d, dict) and isinstance(d.get("name"), str)]
