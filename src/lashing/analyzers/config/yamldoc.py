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

from lashing.yamlload import FastLoader, fast_is_safe

_RESOLVED: dict[str, str] = {}
_RESOLVED_LIMIT = 50_000


_PLAIN_TAG = "lashing:untagged-plain"  # placeholder: resolved by `_implicit` when the node is converted
_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"
_resolver = yaml.resolver.Resolver()
_ScalarNode = yaml.ScalarNode
_SequenceNode = yaml.SequenceNode


class _DeferredResolver:
    """The composer asks for the implicit tag of every untagged node, a call into the (pure Python,
    regex-scanning) resolver. The answer is deferred: plain scalars get a placeholder, resolved by
    `_implicit` (memoized, keys and values repeat across files) only where the converter needs it."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is _ScalarNode:
            return _PLAIN_TAG if implicit[0] else _STR_TAG
        return _SEQ_TAG if kind is _SequenceNode else _MAP_TAG

    # The composer reports its descent into and ascent from every node, for path resolvers (tags by position),
    # which this resolver does not use: C-level no-ops (slice(parent, index), tuple()) instead of two calls of
    # BaseResolver's Python methods per node.
    descend_resolver = slice
    ascend_resolver = tuple


def _implicit(value: str) -> str:
    """The tag PyYAML's resolver gives an untagged plain scalar."""
    tag = _RESOLVED.get(value)
    if tag is None:
        tag = _resolver.resolve(yaml.ScalarNode, value, (True, False))
        if tag == _STR_TAG:
            tag = _STR_TAG  # this very object: the fast walk tells strings apart by identity
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
        lines = self.lines
        if type(path) is not tuple:
            path = tuple(path)
        for cut in range(len(path), 0, -1):
            line = lines.get(path[:cut])
            if line is not None:
                return line
        return None


def _scalar(node: yaml.ScalarNode) -> Any:
    tag = node.tag
    if tag is _PLAIN_TAG:
        tag = _implicit(node.value)
    return _typed_scalar(node, tag)


def _typed_scalar(node: yaml.ScalarNode, tag: str) -> Any:
    """A scalar's value given its resolved tag."""
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


def _merge(mapping: dict[Any, Any], merged: Any) -> None:
    """A merge key's value (a mapping or a list of them) into `mapping`, keys already there winning."""
    for part in merged if isinstance(merged, list) else [merged]:
        if isinstance(part, dict):
            for k, v in part.items():
                mapping.setdefault(k, v)


class _Converter:
    """The exact walk: every node counted and depth-checked as it is converted, so a bound reports the line of
    the node that passed it. The fast walk (below) hands it every document it does not finish."""

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
                _merge(mapping, self.convert(value_node, path, child_depth))
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


class _Fallback(Exception):
    """The fast walk came near a bound: the exact walk takes the document over."""


class _FastConverter:
    """The same data and line map as `_Converter`, with scalars converted inline and the bounds checked once per
    collection, conservatively: each collection counts all its children (a merge key too) against the budget and
    stops at MAX_DEPTH with children still to come. So it finishes only documents the exact walk finishes too,
    with the same result; on anything else (a bound, any error) it raises and the exact walk reruns."""

    def __init__(self) -> None:
        self.budget = MAX_NODES - 1  # the root
        self.lines: dict[Path, int] = {}

    def convert(self, node: yaml.Node, path: Path, depth: int = 0) -> Any:
        if type(node) is _ScalarNode:
            return _scalar(node)
        if depth >= MAX_DEPTH:
            raise _Fallback
        children = node.value
        lines, resolved, child_depth = self.lines, _RESOLVED, depth + 1
        if type(node) is _SequenceNode:
            self.budget -= len(children)
            if self.budget < 0:
                raise _Fallback
            out = []
            append = out.append
            for index, item in enumerate(children):
                item_path = path + (index,)  # noqa: RUF005 - concatenation: a third cheaper than unpacking
                lines[item_path] = item.start_mark.line + 1
                if type(item) is _ScalarNode:
                    tag = item.tag
                    if tag is _PLAIN_TAG:
                        tag = resolved.get(item.value) or _implicit(item.value)
                    append(item.value if tag is _STR_TAG else _typed_scalar(item, tag))
                else:
                    append(self.convert(item, item_path, child_depth))
            return out
        self.budget -= 2 * len(children)
        if self.budget < 0:
            raise _Fallback
        mapping: dict[Any, Any] = {}
        for key_node, value_node in children:
            key_tag = key_node.tag
            if key_tag is _PLAIN_TAG:
                key_tag = resolved.get(key_node.value) or _implicit(key_node.value)
            if key_tag is _STR_TAG:
                key = key_node.value
            elif key_tag.endswith(":merge"):  # `<<: *base`
                _merge(mapping, self.convert(value_node, path, child_depth))
                continue
            else:
                key = (_typed_scalar(key_node, key_tag) if type(key_node) is _ScalarNode
                       else self.convert(key_node, path, child_depth))
                if not isinstance(key, str | int | float | bool) and key is not None:
                    key = str(key)
            key_path = path + (key,)  # noqa: RUF005
            lines[key_path] = key_node.start_mark.line + 1
            if type(value_node) is _ScalarNode:
                tag = value_node.tag
                if tag is _PLAIN_TAG:
                    tag = resolved.get(value_node.value) or _implicit(value_node.value)
                mapping[key] = value_node.value if tag is _STR_TAG else _typed_scalar(value_node, tag)
            else:
                mapping[key] = self.convert(value_node, key_path, child_depth)
        return mapping


def convert_document(node: yaml.Node) -> tuple[Any, dict[Path, int]]:
    """A composed document's data and line map: the fast walk, else the exact one (which raises DocumentError
    when the document passes a bound)."""
    fast = _FastConverter()
    try:
        return fast.convert(node, ()), fast.lines
    except Exception:  # a bound near, or any error: the exact walk reproduces it, or finishes
        exact = _Converter()
        return exact.convert(node, ()), exact.lines


def _error_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def load_documents(text: str | bytes) -> Iterator[Document]:
    """Yield every document of a YAML (or JSON) stream; raises DocumentError at the first bad one."""
    try:
        for node in yaml.compose_all(text, Loader=_Loader if fast_is_safe(text) else _DeepLoader):
            if node is None:
                continue
            data, lines = convert_document(node)
            yield Document(data, lines, node.start_mark.line + 1, max(node.end_mark.line, 1))
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DocumentError(f"invalid YAML: {problem}", _error_line(exc)) from None
    except RecursionError:
        raise DocumentError("document nests too deeply") from None
