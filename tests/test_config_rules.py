"""Every rule's own examples: the bad ones (`bad`, `bad_*`) must fire the rule, the good ones must not."""

from __future__ import annotations

import pytest

from lashing.analyzers.config import Settings, load_catalog, scan_content
from lashing.analyzers.config.engine import ENGINE_KINDS, compiled_rules
from lashing.model import FindingKind

RULES = [r for r in load_catalog() if r.applies_to in ENGINE_KINDS]


def _example_name(rule) -> str:
    return rule.examples.get("filename", "example.yaml")


def _settings(rule) -> Settings:
    raw = rule.examples.get("settings") or {}
    return Settings(allowed_registries=tuple(raw.get("allowed_registries", ())))


def test_catalog_compiles_and_has_metadata():
    compiled_rules()
    assert len(RULES) >= 60
    for rule in RULES:
        assert rule.id.startswith("LSH-"), rule.id
        assert rule.title and rule.description and rule.remediation, rule.id
        assert rule.cel or rule.check, rule.id
        assert "bad" in rule.examples and "good" in rule.examples, rule.id
        assert rule.aliases, f"{rule.id} names no peer id"


def _examples(prefix: str) -> list[tuple[object, str]]:
    return [(rule, key) for rule in RULES for key in rule.examples
            if (key == prefix or key.startswith(prefix + "_")) and isinstance(rule.examples[key], str)]


@pytest.mark.parametrize(("rule", "key"), _examples("bad"), ids=lambda v: getattr(v, "id", v))
def test_bad_example_fires(rule, key):
    result = scan_content(_example_name(rule), rule.examples[key].encode(), _settings(rule))
    assert not result.warnings, result.warnings
    hits = [f for f in result.findings if f.id == rule.id]
    assert hits, f"{rule.id} did not fire on its {key} example"
    line_count = rule.examples[key].count("\n") + 1
    for finding in hits:
        assert finding.kind is FindingKind.CONFIG
        assert finding.location and 1 <= (finding.location.line or 0) <= line_count
        assert finding.extra["resource"]


@pytest.mark.parametrize(("rule", "key"), _examples("good"), ids=lambda v: getattr(v, "id", v))
def test_good_example_is_clean(rule, key):
    result = scan_content(_example_name(rule), rule.examples[key].encode(), _settings(rule))
    assert not result.warnings, result.warnings
    assert result.targets >= 1
    assert [f for f in result.findings if f.id == rule.id] == []
