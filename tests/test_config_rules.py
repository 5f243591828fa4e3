"""Every rule's own examples: the bad one must fire the rule, the good one must not."""

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


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_bad_example_fires(rule):
    result = scan_content(_example_name(rule), rule.examples["bad"].encode(), _settings(rule))
    assert not result.warnings, result.warnings
    hits = [f for f in result.findings if f.id == rule.id]
    assert hits, f"{rule.id} did not fire on its bad example"
    line_count = rule.examples["bad"].count("\n") + 1
    for finding in hits:
        assert finding.kind is FindingKind.CONFIG
        assert finding.location and 1 <= (finding.location.line or 0) <= line_count
        assert finding.extra["resource"]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_good_example_is_clean(rule):
    result = scan_content(_example_name(rule), rule.examples["good"].encode(), _settings(rule))
    assert not result.warnings, result.warnings
    assert result.targets >= 1
    assert [f for f in result.findings if f.id == rule.id] == []
