"""The engine's shortcuts never change a verdict: rules translated to Python (cel_python), and on the
library path rules grouped by the fields they read, contexts slimmed to those fields, verdicts memoized
on the slimmed values.

Every workload of the real manifests corpus, and of the peers' labelled examples, is evaluated twice
by the engine (cold, then with every verdict memoized) and once plainly: each CEL rule run alone on
the whole, unslimmed context. The three must name the same (rule, container) pairs.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lashing.analyzers.config import cel_runtime as cel
from lashing.analyzers.config import engine
from lashing.analyzers.config.engine import Settings, compiled_rules, evaluate, without_containers
from lashing.analyzers.config.scan import FileResult, _yaml_targets
from lashing.analyzers.config.target import Target

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SETTINGS = Settings(allowed_registries=("registry.k8s.io", "quay.io"))
MAX_BYTES = 100_000  # the bundles over this are mostly CRD schemas (90% of the corpus bytes, few workloads)


def _documents() -> Iterator[tuple[str, bytes]]:
    for archive_path in sorted((CORPUS / "k8s-manifests").glob("*.zip")):
        with zipfile.ZipFile(archive_path) as archive:
            for name in archive.namelist():
                if name.endswith((".yaml", ".yml", ".json")) and archive.getinfo(name).file_size <= MAX_BYTES:
                    yield f"{archive_path.name}/{name}", archive.read(name)
    for path in sorted((CORPUS / "config-peers").rglob("*")):
        if path.suffix in (".yaml", ".yml") and path.is_file():
            yield str(path), path.read_bytes()


def _targets() -> Iterator[Target]:
    for name, content in _documents():
        yield from _yaml_targets(name, content.decode("utf-8", errors="replace"), FileResult())


def _plain(target: Target) -> set[tuple[str, str]]:
    """Each CEL rule on its own, on the full context, as the catalog states it."""
    hits: set[tuple[str, str]] = set()
    obj = without_containers(target.data)
    rules = [c for c in compiled_rules().get(target.kind, ()) if c.program is not None]
    context = cel.Context({"object": obj, "settings": SETTINGS.as_cel()})
    hits.update((c.rule.id, "") for c in rules if not c.per_container and engine._run(c, context, target.resource))
    for container in target.containers:
        context = cel.Context({"object": obj, "container": container.data, "settings": SETTINGS.as_cel()})
        hits.update((c.rule.id, container.name) for c in rules
                    if c.per_container and engine._run(c, context, target.resource))
    return hits


def _engine(target: Target) -> set[tuple[str, str]]:
    return {(hit.rule.id, hit.container.name if hit.container else "") for hit in evaluate(target, SETTINGS)
            if hit.rule.cel and not hit.rule.check}


@pytest.fixture(scope="module")
def targets_and_plain() -> tuple[list[Target], list[set[tuple[str, str]]]]:
    targets = [t for t in _targets() if t.kind in engine.ENGINE_KINDS]
    return targets, [_plain(t) for t in targets]


def test_grouped_slimmed_memoized_verdicts_equal_plain_evaluation(
        targets_and_plain: tuple[list[Target], list[set[tuple[str, str]]]], monkeypatch: pytest.MonkeyPatch) -> None:
    """The library path alone (as for a rule outside the translated subset)."""
    monkeypatch.setattr(engine, "TRANSLATE", False)
    engine._memo.clear()
    targets, plain = targets_and_plain
    assert len(targets) > 1500
    cold = [_engine(t) for t in targets]
    warm = [_engine(t) for t in targets]  # every verdict now comes from the memo
    differences = [(t.path, t.resource, sorted(c ^ p)) for t, c, p in zip(targets, cold, plain, strict=True) if c != p]
    assert not differences, differences[:5]
    assert warm == cold
    assert sum(map(len, plain)) > 10_000  # the comparison covers many verdicts, not a handful
    grouped = engine._plan("pod-spec", frozenset(), False).container_groups
    assert len(grouped) > 2  # the container rules really are split by the fields they read


def test_translated_verdicts_equal_plain_evaluation(
        targets_and_plain: tuple[list[Target], list[set[tuple[str, str]]]]) -> None:
    """The catalog's rules as Python functions (cel_python) give the library's verdicts on every target."""
    targets, plain = targets_and_plain
    translated = [_engine(t) for t in targets]
    differences = [(t.path, t.resource, sorted(c ^ p)) for t, c, p
                   in zip(targets, translated, plain, strict=True) if c != p]
    assert not differences, differences[:5]
    plan = engine._plan("pod-spec", frozenset(), True)
    assert not plan.container_groups and not plan.object_groups  # every rule ran translated, none by the library
