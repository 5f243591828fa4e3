"""Shared pieces of the lockfile catalogers: file matching, package building, line numbers, graphs.

Lockfiles are read where a project keeps them (source trees, images with sources). Anything under a
`node_modules/` directory belongs to an installed package, which the inventory catalogers already
read: lockfiles there are never asked for.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import yaml

from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.analyzers.inventory._common import purl
from lashing.model import Location, Package, PackageType
from lashing.yamlload import loader_for

MAX_PACKAGES = 50_000
MAX_LINE_KEYS = 200_000
_JSON_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[{}\[\]:,\n]')


def in_node_modules(path: str) -> bool:
    """True for anything inside a `node_modules` directory (installed packages, npm's hidden lockfile)."""
    return path.startswith("node_modules/") or "/node_modules/" in path


def basename(path: str) -> str:
    return path.rpartition("/")[2]


class LockfileAnalyzer(Analyzer):
    """An analyzer wanting files by exact base name, outside node_modules."""

    filenames: tuple[str, ...] = ()
    max_size = 32 * 1024 * 1024

    def required(self, path: str, info: FileInfo) -> bool:
        return basename(path) in self.filenames and not in_node_modules(path)

    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        try:
            content = item.content.decode("utf-8-sig")
        except UnicodeDecodeError:
            return AnalysisResult(warnings=(f"{basename(item.path)} is not UTF-8",))
        return self.parse(item.path, content)

    def parse(self, path: str, content: str) -> AnalysisResult | None:
        """Parse decoded text; return warnings, never raise, for malformed content."""
        raise NotImplementedError


def make_package(
    kind: PackageType,
    name: str,
    version: str,
    cataloger: str,
    path: str,
    line: int | None,
    *,
    purl_type: str,
    purl_name: str | None = None,
    namespace: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> Package:
    """A Package with its purl and its declaring location (path and line of the entry)."""
    return Package(
        name=name,
        version=version,
        type=kind,
        purl=purl(purl_type, purl_name or name, version, namespace=namespace),
        locations=(Location(path, line=line),),
        cataloger=cataloger,
        extra={k: v for k, v in (extra or {}).items() if v},
    )


def flags(direct: bool | None = None, dev: bool | None = None, **more: str) -> dict[str, str]:
    """`extra` entries: "direct" when known, "dev" only when true, then any other non-empty strings."""
    out: dict[str, str] = {}
    if direct is not None:
        out["direct"] = "true" if direct else "false"
    if dev:
        out["dev"] = "true"
    out.update({k: v for k, v in more.items() if v})
    return out


def load_json_lines(
    content: str, max_depth: int, want: Callable[[tuple[Any, ...]], bool] | None = None
) -> tuple[Any, dict[tuple[Any, ...], int], str | None]:
    """Decode JSON and map each object key / array item path (up to `max_depth` deep) to its line."""
    try:
        data = json.loads(content)
    except (ValueError, RecursionError) as exc:
        return None, {}, f"invalid JSON ({type(exc).__name__})"
    return data, json_lines(content, max_depth, want), None


def json_lines(
    content: str, max_depth: int, want: Callable[[tuple[Any, ...]], bool] | None = None
) -> dict[tuple[Any, ...], int]:
    """Line numbers of keys (objects) and items (arrays) of a valid JSON text, by path (those `want` keeps)."""
    lines: dict[tuple[Any, ...], int] = {}
    path: list[Any] = []
    frames: list[list[Any]] = []  # [is_object, key or index, expecting_key]
    line = 1
    for match in _JSON_TOKEN.finditer(content):
        token = match.group()
        if token == "\n":
            line += 1
            continue
        top = frames[-1] if frames else None
        if token in "{[":
            if top is not None and not top[0]:
                _record(lines, (*path, top[1]), line, max_depth, want)
            if top is not None:
                path.append(top[1])
            frames.append([token == "{", 0, True])
        elif token in "}]":
            if frames:
                frames.pop()
            if path:
                path.pop()
        elif token == ",":
            if top is not None:
                if top[0]:
                    top[2] = True
                else:
                    top[1] += 1
        elif token == ":":
            if top is not None:
                top[2] = False
        elif top is not None and top[0] and top[2]:
            top[1] = json.loads(token)
            _record(lines, (*path, top[1]), line, max_depth, want)
        elif top is not None and not top[0]:
            _record(lines, (*path, top[1]), line, max_depth, want)
    return lines


def _record(
    lines: dict[tuple[Any, ...], int],
    key: tuple[Any, ...],
    line: int,
    max_depth: int,
    want: Callable[[tuple[Any, ...]], bool] | None,
) -> None:
    if len(key) <= max_depth and len(lines) < MAX_LINE_KEYS and (want is None or want(key)):
        lines.setdefault(key, line)


def load_yaml_lines(content: str, max_depth: int) -> tuple[Any, dict[tuple[Any, ...], int], str | None]:
    """Decode YAML (safe loader) and map mapping-key paths (up to `max_depth` deep) to their lines."""
    loader = loader_for(content)(content)  # libyaml unless the nesting could crash it
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except (yaml.YAMLError, RecursionError, ValueError, TypeError) as exc:
        return None, {}, f"invalid YAML ({type(exc).__name__})"
    finally:
        loader.dispose()
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _yaml_walk(node, (), lines, max_depth)
    return data, lines, None


def _yaml_walk(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int], max_depth: int) -> None:
    if len(path) >= max_depth or not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        if len(lines) >= MAX_LINE_KEYS:
            return
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        key = (*path, key_node.value)
        lines.setdefault(key, key_node.start_mark.line + 1)
        _yaml_walk(value_node, key, lines, max_depth)


def dev_only(graph: Mapping[str, Iterable[str]], prod_roots: Iterable[str], dev_roots: Iterable[str]) -> set[str]:
    """Nodes reachable from the dev roots but not from the production roots."""
    prod = reachable(graph, prod_roots)
    return reachable(graph, dev_roots) - prod


def reachable(graph: Mapping[str, Iterable[str]], roots: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    stack = [r for r in roots if r in graph]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(child for child in graph.get(node, ()) if child not in seen and child in graph)
    return seen


def toml_table_lines(content: str, header: str) -> list[int]:
    """Line numbers of every `header` line (e.g. `[[package]]`), in order: the i-th is the i-th entry."""
    return [i for i, raw in enumerate(content.splitlines(), 1) if raw.strip() == header]
