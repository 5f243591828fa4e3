"""The rule catalog: every `rules/*.yaml` of this package, as frozen `Rule` records.

A rule's logic is a CEL expression (true = violation) or, where CEL cannot say it, the name of a
Python check in `checks.py`. Rules are loaded once per process; CEL is compiled on first use.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from lashing import __version__
from lashing.errors import LashingError
from lashing.model import Severity
from lashing.paths import cache_dir, content_digest, read_state_file, write_state_file
from lashing.yamlload import load_bundled

RULES_PACKAGE = "lashing.analyzers.config"
_REQUIRED = ("id", "title", "severity", "applies_to")


@dataclass(frozen=True)
class Rule:
    """One rule: metadata, logic (`cel` or `check`) and its own good/bad examples."""

    id: str
    title: str
    severity: Severity
    applies_to: str
    description: str = ""
    remediation: str = ""
    aliases: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    cel: str = ""
    check: str = ""
    locate: tuple[str, ...] = ()  # fields (dotted, relative to the spec or container) giving the line
    examples: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    source: str = ""  # catalog file name

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready metadata (for `lashing rules list --format json` and SARIF rule properties)."""
        return {"id": self.id, "title": self.title, "severity": self.severity.name, "applies_to": self.applies_to,
                "description": self.description, "remediation": self.remediation, "aliases": list(self.aliases),
                "references": list(self.references), "cel": self.cel, "check": self.check, "catalog": self.source}


class CatalogError(LashingError):
    """A rule catalog file is malformed (a bug in lashing or in a user-supplied catalog)."""


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def parse_rule(raw: dict[str, Any], source: str) -> Rule:
    """One catalog entry to a Rule; raises CatalogError naming the rule and the file."""
    if not isinstance(raw, dict):
        raise CatalogError(f"{source}: every rule must be a mapping")
    missing = [k for k in _REQUIRED if not raw.get(k)]
    if missing:
        raise CatalogError(f"{source}: rule {raw.get('id', '?')} lacks {', '.join(missing)}")
    try:
        severity = Severity.parse(str(raw["severity"]))
    except KeyError:
        raise CatalogError(f"{source}: rule {raw['id']} has unknown severity {raw['severity']!r}") from None
    return Rule(
        id=str(raw["id"]), title=str(raw["title"]), severity=severity, applies_to=str(raw["applies_to"]),
        description=str(raw.get("description") or "").strip(), remediation=str(raw.get("remediation") or "").strip(),
        aliases=_as_tuple(raw.get("aliases")), references=_as_tuple(raw.get("references")),
        cel=str(raw.get("cel") or "").strip(), check=str(raw.get("check") or ""), locate=_as_tuple(raw.get("locate")),
        examples=dict(raw.get("examples") or {}), source=source,
    )


@functools.cache
def load_catalog() -> tuple[Rule, ...]:
    """Every rule of every `rules/*.yaml`, sorted by id; ids are unique across files."""
    rules: dict[str, Rule] = {}
    for name, data in bundled_catalogs().items():
        for raw in data or []:
            rule = parse_rule(raw, name)
            if rule.id in rules:
                raise CatalogError(f"rule id {rule.id} is defined twice ({rules[rule.id].source}, {name})")
            rules[rule.id] = rule
    return tuple(sorted(rules.values(), key=lambda r: r.id))


@functools.cache
def bundled_catalogs() -> dict[str, Any]:
    """The data of every bundled `rules/*.yaml`, by file name in name order.

    Reading their YAML (with its examples) was most of a config scan's start-up (~20 ms); the data is kept
    as JSON in the cache directory, under a hash of lashing's version and the files' bytes, and read back
    from there (~2 ms) while the files are unchanged. Data JSON cannot hold as it is is never cached."""
    folder = resources.files(RULES_PACKAGE) / "rules"
    texts = {entry.name: entry.read_bytes() for entry in sorted(folder.iterdir(), key=lambda e: e.name)
             if entry.name.endswith((".yaml", ".yml"))}
    key = content_digest(__version__.encode(), *(part for name, text in texts.items()
                                                 for part in (name.encode(), text))).hex()
    saved = _cached_json(key, list(texts))
    if saved is not None:
        return saved
    catalogs = {}
    for name, text in texts.items():
        try:
            catalogs[name] = load_bundled(text.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise CatalogError(f"rule catalog {name} is not valid YAML: {exc}") from None
    _save_json(key, catalogs)
    return catalogs


def _cache_file(key: str) -> Path:
    return cache_dir() / "catalogs" / f"{key}.json"


def _cached_json(key: str, names: list[str]) -> dict[str, Any] | None:
    text = read_state_file(_cache_file(key))
    try:
        data = json.loads(text) if text is not None else None
    except ValueError:
        return None
    return data if isinstance(data, dict) and list(data) == names else None


def _save_json(key: str, catalogs: dict[str, Any]) -> None:
    """Keep the parsed catalogs if JSON holds them exactly (no dates, non-text keys, NaN...); best effort."""
    try:
        text = json.dumps(catalogs, ensure_ascii=False)
        if json.loads(text) != catalogs:
            return
    except (TypeError, ValueError):
        return
    write_state_file(_cache_file(key), text.encode("utf-8"))


def find_rule(rule_id: str) -> Rule | None:
    """A rule by id (case-insensitive) or by one of its peer aliases."""
    wanted = rule_id.strip().upper()
    for rule in load_catalog():
        if rule.id.upper() == wanted or wanted in (a.upper() for a in rule.aliases):
            return rule
    return None
