"""yamldoc as it was before its fast converter (main at e3bd641), frozen whole: tests compare the current
loader's data, line maps, spans and errors with this one's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from lashing.yamlload import FastLoader, fast_is_safe

_RESOLVED: dict[str, str] = {}
_RESOLVED_LIMIT = 50_000


_PLAIN_TAG = "lashing:untagged-plain"  # placeholder: resolved by `_implicit` when the node is converted
_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"
_resolver = yaml.resolver.Resolver()


class _DeferredResolver:
    """The composer asks for the implicit tag of every untagged node, a call into the (pure Python,
    regex-scanning) resolver. The answer is deferred: plain scalars get a placeholder, resolved by
    `_implicit` (memoized, keys and values repeat across files) only where the converter needs it."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode:
            return _PLAIN_TAG if implicit[0] else _STR_TAG
        return _SEQ_TAG if kind is yaml.SequenceNode else _MAP_TAG


def _implicit(value: str) -> str:
    """The tag PyYAML's resolver gives an untagged plain scalar."""
    tag = _RESOLVED.get(value)
    if tag is None:
        tag = _resolver.resolve(yaml.ScalarNode, value, (True, False))
        if len(value) <= 64:
            if len(_RESOLVED) >= _RESOLVED_LIMIT:
                _RESOLVED.clear()
            _RESOLVED[value] = tag
    return tag


class _Loader(_DeferredResolver, FastLoader):  # type: ignore[misc,valid-type]
    """libyaml's safe loader (see lashing.yamlload) with the memoized resolver."""


class _DeepLoader(_DeferredResolver, yaml.SafeLoader):
    """The pure-Python safe loader for text nested deeper than libyaml can take without crashing."""


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
    tag = node.tag
    if tag is _PLAIN_TAG:
        tag = _implicit(node.value)
    if tag == _STR_TAG:
        return node.value
    tag = tag.rsplit(":", 1)[-1]
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


_ScalarNode = yaml.ScalarNode


class _Converter:
    def __init__(self) -> None:
        self.budget = MAX_NODES
        self.lines: dict[Path, int] = {}

    def _leaf(self, node: yaml.ScalarNode, depth: int) -> Any:
        """convert() of a scalar node, without the call through the generic path (the hot case)."""
        self.budget -= 1
        if self.budget < 0:
            raise DocumentError("document expands to too many nodes (YAML alias bomb?)", node.start_mark.line + 1)
        if depth > MAX_DEPTH:
            raise DocumentError("document nests too deeply", node.start_mark.line + 1)
        return _scalar(node)

    def convert(self, node: yaml.Node, path: Path, depth: int = 0) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise DocumentError("document expands to too many nodes (YAML alias bomb?)", node.start_mark.line + 1)
        if depth > MAX_DEPTH:
            raise DocumentError("document nests too deeply", node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return _scalar(node)
        lines = self.lines
        child_depth = depth + 1
        if isinstance(node, yaml.SequenceNode):
            out = []
            for index, item in enumerate(node.value):
                item_path = (*path, index)
                lines[item_path] = item.start_mark.line + 1
                out.append(self._leaf(item, child_depth) if type(item) is _ScalarNode
                           else self.convert(item, item_path, child_depth))
            return out
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key_tag = _implicit(key_node.value) if key_node.tag is _PLAIN_TAG else key_node.tag
            if key_tag.endswith(":merge"):  # `<<: *base`
                merged = self.convert(value_node, path, child_depth)
                for part in merged if isinstance(merged, list) else [merged]:
                    if isinstance(part, dict):
                        for k, v in part.items():
                            mapping.setdefault(k, v)
                continue
            key = (self._leaf(key_node, child_depth) if type(key_node) is _ScalarNode
                   else self.convert(key_node, path, child_depth))
            if not isinstance(key, str | int | float | bool) and key is not None:
                key = str(key)
            key_path = (*path, key)
            lines[key_path] = key_node.start_mark.line + 1
            mapping[key] = (self._leaf(value_node, child_depth) if type(value_node) is _ScalarNode
                            else self.convert(value_node, key_path, child_depth))
        return mapping


def _error_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def load_documents(text: str | bytes) -> Iterator[Document]:
    """Yield every document of a YAML (or JSON) stream; raises DocumentError at the first bad one."""
    try:
        for node in yaml.compose_all(text, Loader=_Loader if fast_is_safe(text) else _DeepLoader):
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
