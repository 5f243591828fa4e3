"""Untrusted YAML/JSON to plain data, with the source line of every key kept beside it.

PyYAML's C composer builds the node graph (aliases stay shared nodes, so a billion-laughs document
costs no memory there); the conversion below expands it under a node budget and a depth bound, and
records `lines[(key, 0, "name", ...)] = line` for every mapping key and sequence item.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

MAX_NODES = 500_000  # expanded nodes per document: bounds alias bombs
MAX_DEPTH = 200
_BOOL = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False}
_NULL = {"", "~", "null", "Null", "NULL"}
_constructor = yaml.constructor.SafeConstructor()

Path = tuple[Any, ...]


class DocumentError(ValueError):
    """A document cannot be read; `line` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class Document:
    """One YAML document: its data, the line of every key path, and its line span."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    start_line: int = 1
    end_line: int = 1

    def line_of(self, path: Path) -> int | None:
        """Line of the deepest existing prefix of `path` (the field, else its closest parent)."""
        for cut in range(len(path), 0, -1):
            line = self.lines.get(tuple(path[:cut]))
            if line is not None:
                return line
        return None


def _scalar(node: yaml.ScalarNode) -> Any:
    tag = node.tag.rsplit(":", 1)[-1]
    value = node.value
    try:
        if tag == "str":
            return value
        if tag == "null":
            return None
        if tag == "bool":
            return _BOOL.get(value.lower(), bool(value))
        if tag == "int":
            return _constructor.construct_yaml_int(node)
        if tag == "float":
            return _constructor.construct_yaml_float(node)
    except (ValueError, yaml.YAMLError):
        return value
    return value  # timestamps, binary and custom tags stay text


class _Converter:
    def __init__(self) -> None:
        self.budget = MAX_NODES
        self.lines: dict[Path, int] = {}

    def convert(self, node: yaml.Node, path: Path, depth: int = 0) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise DocumentError("document expands to too many nodes (YAML alias bomb?)", node.start_mark.line + 1)
        if depth > MAX_DEPTH:
            raise DocumentError("document nests too deeply", node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return _scalar(node)
        if isinstance(node, yaml.SequenceNode):
            out = []
            for index, item in enumerate(node.value):
                item_path = (*path, index)
                self.lines[item_path] = item.start_mark.line + 1
                out.append(self.convert(item, item_path, depth + 1))
            return out
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag.endswith(":merge"):  # `<<: *base`
                merged = self.convert(value_node, path, depth + 1)
                for part in merged if isinstance(merged, list) else [merged]:
                    if isinstance(part, dict):
                        for k, v in part.items():
                            mapping.setdefault(k, v)
                continue
            key = self.convert(key_node, path, depth + 1)
            if not isinstance(key, str | int | float | bool) and key is not None:
                key = str(key)
            key_path = (*path, key)
            self.lines[key_path] = key_node.start_mark.line + 1
            mapping[key] = self.convert(value_node, key_path, depth + 1)
        return mapping


def _error_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def load_documents(text: str | bytes) -> Iterator[Document]:
    """Yield every document of a YAML (or JSON) stream; raises DocumentError at the first bad one."""
    try:
        for node in yaml.compose_all(text, Loader=_Loader):
            if node is None:
                continue
            converter = _Converter()
            data = converter.convert(node, ())
            yield Document(data, converter.lines, node.start_mark.line + 1, max(node.end_mark.line, 1))
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DocumentError(f"invalid YAML: {problem}", _error_line(exc)) from None
    except RecursionError:
        raise DocumentError("document nests too deeply") from None
