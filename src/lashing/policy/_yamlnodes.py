"""Read YAML as nodes (never constructing objects) so every entry keeps its exact line number."""

from __future__ import annotations

import re
from datetime import date

import yaml

from lashing.policy.interface import PolicyError
from lashing.yamlload import loader_for

_NULL_TAG = "tag:yaml.org,2002:null"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_LIST_ITEMS = 100
MAX_TEXT = 4096

def compose(text: str, where: str) -> yaml.Node | None:
    """The document's root node; PolicyError with the line for invalid YAML or several documents."""
    loader = loader_for(text)  # libyaml unless the nesting could crash it
    try:
        return yaml.compose(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise PolicyError(f"{where}: invalid YAML{at}: {problem}") from None
    except RecursionError:
        raise PolicyError(f"{where}: invalid YAML: nested too deeply") from None


def line_of(node: yaml.Node) -> int:
    return node.start_mark.line + 1


class Entry:
    """One mapping entry of an ignore file; its getters raise errors naming the file, entry and line."""

    def __init__(self, node: yaml.Node, where: str, number: int, known: tuple[str, ...]) -> None:
        self.where, self.number, self.line = where, number, line_of(node)
        if not isinstance(node, yaml.MappingNode):
            raise self.error(f"expected a mapping with {', '.join(repr(k) for k in known[:2])}")
        self.values: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str) or key not in known:
                shown = key if isinstance(key, str) else "(not a string)"
                raise self.error(f"unknown key {shown[:80]!r} (known: {', '.join(known)})")
            if key in self.values:
                raise self.error(f"duplicate key {key!r}")
            self.values[key] = value_node

    def error(self, message: str) -> PolicyError:
        return PolicyError(f"{self.where} entry {self.number} (line {self.line}): {message}")

    def text(self, key: str, required: bool = False) -> str:
        node = self.values.get(key)
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG):
            if required:
                raise self.error(f"{key!r} is required")
            return ""
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(f"{key!r} must be a string")
        value = node.value.strip()
        if required and not value:
            raise self.error(f"{key!r} must not be empty")
        if len(value) > MAX_TEXT:
            raise self.error(f"{key!r} is longer than {MAX_TEXT} characters")
        return value

    def texts(self, key: str, required: bool = False) -> tuple[str, ...]:
        """A string or a list of strings (bounded); empty strings are refused."""
        node = self.values.get(key)
        if isinstance(node, yaml.SequenceNode):
            items = node.value
            if len(items) > MAX_LIST_ITEMS:
                raise self.error(f"{key!r} lists more than {MAX_LIST_ITEMS} values")
            if required and not items:
                raise self.error(f"{key!r} must not be empty")
            out = []
            for item in items:
                if not isinstance(item, yaml.ScalarNode) or item.tag == _NULL_TAG or not item.value.strip():
                    raise self.error(f"{key!r} must be a list of non-empty strings")
                out.append(item.value.strip()[:MAX_TEXT])
            return tuple(out)
        value = self.text(key, required)
        return (value,) if value else ()

    def date(self, key: str) -> date | None:
        value = self.text(key)
        if not value:
            return None
        try:
            if not _ISO_DATE.fullmatch(value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            raise self.error(f"{key!r} is not a date ({value[:40]}); use YYYY-MM-DD") from None
