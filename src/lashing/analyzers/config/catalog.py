"""The rule catalog: every `rules/*.yaml` of this package, as frozen `Rule` records.

A rule's logic is a CEL expression (true = violation) or, where CEL cannot say it, the name of a
Python check in `checks.py`. Rules are loaded once per process; CEL is compiled on first use.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from lashing.errors import LashingError
from lashing.model import Severity
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
    folder = resources.files(RULES_PACKAGE) / "rules"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith((".yaml", ".yml")):
            continue
        try:
            data = load_bundled(entry.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise CatalogError(f"rule catalog {entry.name} is not valid YAML: {exc}") from None
        for raw in data or []:
            rule = parse_rule(raw, entry.name)
            if rule.id in rules:
                raise CatalogError(f"rule id {rule.id} is defined twice ({rules[rule.id].source}, {entry.name})")
            rules[rule.id] = rule
    return tuple(sorted(rules.values(), key=lambda r: r.id))


def find_rule(rule_id: str) -> Rule | None:
    """A rule by id (case-insensitive) or by one of its peer aliases."""
    wanted = rule_id.strip().upper()
    for rule in load_catalog():
        if rule.id.upper() == wanted or wanted in (a.upper() for a in rule.aliases):
            return rule
    return None
