"""Evaluate the catalog on targets: each rule's CEL translated to a Python function (cel_python) where it
can be, else run by the CEL library on one small context per object/container.

The translated functions read the targets' data directly. The rest of this docstring is about the
library path, kept for any rule outside the translated subset (and for values the translation does not
model, which it hands back).

Measured with `common-expression-language` 0.10: reading a field below a top-level variable costs
~1-2 us, but every step through a nested map of a big variable (`object.spec.containers`) copies it
(15-100 us), and building a context converts the whole activation (~70 us for a container). So pod
rules see `object` *without* its container lists, and container rules run once per container with
`container` as a top-level variable (plus that same container-less `object`): ~1.7 us per rule.
Container rules must therefore not iterate `object.spec.containers`; pod rules use `object.spec`.
Container rules run in groups (the securityContext rules; the rest by the exact fields they read), each on
its own slimmed context and memoized on it, so a securityContext seen before costs a repr even when the
image or ports are new, and a new image costs only the context of the image rules.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from lashing.analyzers.config import cel_python, checks
from lashing.analyzers.config import cel_runtime as cel
from lashing.analyzers.config.catalog import CatalogError, Rule, load_catalog
from lashing.analyzers.config.target import ContainerTarget, Target
from lashing.model import Finding, FindingKind, Location

log = logging.getLogger(__name__)
_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
ENGINE_KINDS = frozenset({"pod-spec", "container", "rbac-role", "rbac-binding", "configmap", "apiserver", "etcd",
                          "controller-manager", "scheduler", "kubelet", "encryption-config",
                          "admission-config", "serviceaccount"})


@dataclass(frozen=True)
class Settings:
    """User settings visible to rules as `settings` (e.g. `settings.allowedRegistries`)."""

    allowed_registries: tuple[str, ...] = ()
    disabled_rules: frozenset[str] = frozenset()

    def as_cel(self) -> dict[str, Any]:
        return {"allowedRegistries": list(self.allowed_registries)}


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    program: Any  # cel.Program or None for Python checks
    per_container: bool


_NO_EXTRA: Mapping[str, str] = MappingProxyType({})


class Hit(NamedTuple):
    """A rule violation before it becomes a Finding (a tuple: a large scan makes tens of thousands)."""

    rule: Rule
    target: Target
    container: ContainerTarget | None = None
    line: int | None = None
    detail: str = ""
    extra: Mapping[str, str] = _NO_EXTRA


def compile_rule(rule: Rule) -> CompiledRule:
    """Compile a rule's CEL (wrapped per container for container rules); raises CatalogError."""
    per_container = rule.applies_to == "container"
    if rule.check:
        if not hasattr(checks, rule.check):
            raise CatalogError(f"rule {rule.id} names unknown check {rule.check!r}")
        return CompiledRule(rule, None, per_container)
    if not rule.cel:
        raise CatalogError(f"rule {rule.id} has neither cel nor check")
    try:
        program = cel.compile(rule.cel)
    except ValueError as exc:
        raise CatalogError(f"rule {rule.id}: invalid CEL: {' '.join(str(exc).split())[:300]}") from None
    return CompiledRule(rule, program, per_container)


@functools.cache
def compiled_rules() -> dict[str, tuple[CompiledRule, ...]]:
    """Compiled rules grouped by the target kind they run on (container rules run on pod-spec targets)."""
    groups: dict[str, list[CompiledRule]] = {}
    for rule in load_catalog():
        if rule.applies_to not in ENGINE_KINDS:
            continue  # e.g. dockerfile rules: evaluated by their own analyzer
        kind = "pod-spec" if rule.applies_to == "container" else rule.applies_to
        groups.setdefault(kind, []).append(compile_rule(rule))
    return {kind: tuple(rules) for kind, rules in groups.items()}


def _line(rule: Rule, target: Target, container: ContainerTarget | None) -> int | None:
    for dotted in rule.locate:
        line = container.field_line(dotted) if container is not None else target.field_line(dotted)
        if line is not None:
            return line
    if container is not None and container.line is not None:
        return container.line
    return target.line


def _run(compiled: CompiledRule, context: Any, resource: str) -> bool:
    try:
        return compiled.program.execute(context) is True
    except Exception as exc:  # CEL raises plain ValueError/TypeError/KeyError on odd data
        log.debug("rule %s on %s: %s", compiled.rule.id, resource, exc)
        return False


def _run_library(compiled: CompiledRule, variables: dict[str, Any], resource: str) -> bool:
    """A rule's verdict by the library, on variables not slimmed (for values the translation hands back)."""
    try:
        context = cel.Context(variables)
    except Exception as exc:  # a value the library cannot convert (e.g. a float map key)
        log.debug("rule %s on %s: %s", compiled.rule.id, resource, exc)
        return False
    return _run(compiled, context, resource)


def without_containers(data: dict[str, Any]) -> dict[str, Any]:
    """The pod object as CEL sees it: the same, minus the container lists (see the module docstring)."""
    spec = data.get("spec")
    if not isinstance(spec, dict) or "containers" not in spec:
        return data
    return {**data, "spec": {k: v for k, v in spec.items() if k not in _CONTAINER_LISTS}}


# A variable of a rule's CEL and the field chain read below it (`object.spec.hostUsers`); a trailing call
# (`.exists(`, `.size(`) is a method, not a field. Anything else (`object.flags['x']`, `object`) keeps the
# whole value at the end of the chain, so a slimmed variable always holds everything a rule can read.
_REFERENCE = re.compile(r"(?<![\w.])(object|container|settings)\b((?:\s*\.\s*[A-Za-z_]\w*)*)(\s*\()?")
Tree = dict[str, Any]  # field -> subtree; None: the whole value
_STRING = re.compile(r"""'[^'\n]*'|"[^"\n]*\"""")
MEMO_LIMIT = 20_000


def _code(source: str) -> str:
    """`source` without its string literals (`container.role == 'container'` names no variable); sources
    with escapes, triple quotes or comments are kept whole (a reference too many only slims less)."""
    if "\\" in source or "'''" in source or '"""' in source or "//" in source:
        return source
    return _STRING.sub("''", source)


def referenced_fields(sources: Iterable[str]) -> Tree:
    """variable -> the tree of its fields that the CEL `sources` can read."""
    root: Tree = {}
    for source in sources:
        for match in _REFERENCE.finditer(_code(source)):
            variable, chain, call = match.groups()
            parts = [variable, *(part.strip() for part in chain.split(".")[1:])]
            if call and len(parts) > 1:
                parts.pop()
            node = root
            for part in parts[:-1]:
                if part in node and node[part] is None:
                    break
                node = node.setdefault(part, {})
            else:
                node[parts[-1]] = None
    return root


def slim(value: Any, tree: Tree | None) -> Any:
    """`value` reduced to the fields of `tree` (see referenced_fields); the same value for every rule."""
    if tree is None or not isinstance(value, dict):
        return value
    return {key: slim(value[key], sub) for key, sub in tree.items() if key in value}


@dataclass(frozen=True)
class _Group:
    """Rules that read the same top-level fields: evaluated on one context, memoized together."""

    rules: tuple[CompiledRule, ...]
    fields: Tree


@dataclass(frozen=True)
class _Plan:
    rules: tuple[CompiledRule, ...]  # every enabled rule of the kind, Python checks included, catalog order
    object_steps: tuple[CompiledRule, ...]  # of those, the Python checks and the object rules (catalog order)
    object_rules: tuple[CompiledRule, ...]
    container_rules: tuple[CompiledRule, ...]  # catalog order, which findings keep
    object_groups: tuple[_Group, ...]  # of the rules the library evaluates
    container_groups: tuple[_Group, ...]
    object_batch: _Batch | None = None  # the translated rules, as one function
    container_batch: _Batch | None = None


@dataclass(frozen=True)
class _Batch:
    """Translated rules compiled into one function (cel_python.translate_batch); `rules[i]` is the
    rule behind the function's index i."""

    function: cel_python.Batch
    rules: tuple[CompiledRule, ...]

    def fired(self, variables: dict[str, Any], resource: str) -> list[CompiledRule]:
        """The rules true on `variables`, in catalog order; those meeting values only the library models
        are asked to it."""
        fired, ask = self.function(variables)
        rules = self.rules
        hits = [rules[index] for index in fired]
        if ask:
            hits += [rules[index] for index in ask if _run_library(rules[index], variables, resource)]
            order = {compiled: index for index, compiled in enumerate(rules)}
            hits.sort(key=order.__getitem__)
        return hits


def _batch(rules: tuple[CompiledRule, ...]) -> _Batch | None:
    """The rules as one translated function; when some are outside the subset, the others (which are then
    told apart one by one)."""
    function = cel_python.translate_batch([r.rule.cel for r in rules]) if rules else None
    if function is None and rules:
        rules = tuple(r for r in rules if cel_python.translatable(r.rule.cel))
        function = cel_python.translate_batch([r.rule.cel for r in rules]) if rules else None
    return _Batch(function, rules) if function is not None else None


# Container rules reading the container's securityContext (most rules; its settings repeat across
# workloads, so their verdicts are memoized well) form one group; the rest (image, ports, probes,
# resources: often unique per workload) are grouped by the fields they read. See `_groups`.
_SHARED_FIELD = ("container", "securityContext")


def _reads(tree: Tree, path: tuple[str, ...]) -> bool:
    node: Any = tree
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _groups(rules: tuple[CompiledRule, ...], by_fields: bool = False) -> tuple[_Group, ...]:
    """Rules reading the container's securityContext form one group; with `by_fields`, the others are
    split by the exact fields they read (image, ports, env, resources, probes...). Those inputs are often
    unique per workload, so their verdicts are rarely memoized: a small context per field set (~5 us to
    build, ~1 us per rule) is then cheaper than one context of all of them (~45 us, ~6 us per rule)."""
    parts: dict[object, list[CompiledRule]] = {}
    for compiled in rules:
        tree = referenced_fields([compiled.rule.cel])
        shared = _reads(tree, _SHARED_FIELD)
        key: object = shared if shared or not by_fields else repr(tree)
        parts.setdefault(key, []).append(compiled)
    return tuple(_Group(tuple(members), referenced_fields(r.rule.cel for r in members))
                 for members in parts.values())


TRANSLATE = True  # evaluate translated rules in Python (tests turn it off to check the library path alone)


@functools.cache
def _plan(kind: str, disabled: frozenset[str], translate: bool = True) -> _Plan:
    enabled = tuple(r for r in compiled_rules().get(kind, ()) if r.rule.id not in disabled)
    rules = [r for r in enabled if r.program is not None]
    object_rules = tuple(r for r in rules if not r.per_container)
    container_rules = tuple(r for r in rules if r.per_container)
    object_batch = _batch(object_rules) if translate else None
    container_batch = _batch(container_rules) if translate else None
    in_batches = {*(object_batch.rules if object_batch else ()), *(container_batch.rules if container_batch else ())}
    steps = tuple(r for r in enabled if r.program is None or not r.per_container)
    return _Plan(enabled, steps, object_rules, container_rules,
                 _groups(tuple(r for r in object_rules if r not in in_batches)),
                 _groups(tuple(r for r in container_rules if r not in in_batches), by_fields=True),
                 object_batch, container_batch)


_memo: dict[tuple[Any, ...], tuple[bool, ...]] = {}


def _results(group: _Group, variables: dict[str, Any], resource: str, key: tuple[Any, ...]) -> tuple[bool, ...]:
    """Each of the group's rules' verdict on the slimmed `variables`; identical inputs (by repr) are
    evaluated once."""
    fields = group.fields
    activation = {name: slim(value, fields[name]) for name, value in variables.items() if name in fields}
    key = (*key, id(group), repr(activation))
    found = _memo.get(key)
    if found is None:
        context = cel.Context(activation)
        found = tuple(_run(compiled, context, resource) for compiled in group.rules)
        if len(_memo) >= MEMO_LIMIT:
            _memo.clear()
        _memo[key] = found
    return found


def _verdicts(groups: tuple[_Group, ...], variables: dict[str, Any], resource: str,
              key: tuple[Any, ...]) -> Iterator[tuple[CompiledRule, bool]]:
    for group in groups:
        yield from zip(group.rules, _results(group, variables, resource, key), strict=True)


def evaluate(target: Target, settings: Settings) -> Iterator[Hit]:
    """Every rule violation on one target.

    Translated rules run on the target's data as it is. For the others, CEL variables are slimmed to the
    fields the rules read and the verdicts memoized by the slimmed values, so a container seen before
    (same image, same settings) costs a repr instead of a context."""
    plan = _plan(target.kind, settings.disabled_rules, TRANSLATE)
    if not plan.rules:
        return
    resource = target.resource
    obj = without_containers(target.data)
    variables = {"object": obj, "settings": settings.as_cel()}
    key = (target.kind, settings.disabled_rules)
    verdicts = {compiled.rule.id: hit for compiled, hit in _verdicts(plan.object_groups, variables, resource, key)}
    if plan.object_batch is not None:
        verdicts.update(dict.fromkeys((c.rule.id for c in plan.object_batch.fired(variables, resource)), True))
    for compiled in plan.object_steps:
        rule = compiled.rule
        if compiled.program is None:
            for container, field_name, detail in getattr(checks, rule.check)(target, settings):
                line = (container.field_line(field_name) if container else target.field_line(field_name)) \
                    if field_name else _line(rule, target, container)
                yield Hit(rule, target, container, line, detail)
        elif not compiled.per_container and verdicts.get(rule.id):
            yield Hit(rule, target, None, _line(rule, target, None))
    if not plan.container_rules:
        return
    batch, groups = plan.container_batch, plan.container_groups
    order = {compiled: index for index, compiled in enumerate(plan.container_rules)} if groups else {}
    for container in target.containers:
        variables = {**variables, "container": container.data}
        fired = batch.fired(variables, resource) if batch is not None else []
        if groups:
            fired += [compiled for compiled, hit in _verdicts(groups, variables, resource, key) if hit]
            fired.sort(key=order.__getitem__)
        for compiled in fired:
            yield Hit(compiled.rule, target, container, _line(compiled.rule, target, container))


def finding_extra(hit: Hit) -> dict[str, str]:
    """A finding's extra map: resource, source, the hit's own extras, container, detail. Without the last
    two kinds (most hits) it is the same for every finding on a container, so that one map is shared
    (findings never change their `extra`; the JSON writer encodes a shared map once)."""
    target, container = hit.target, hit.container
    shared = not hit.extra and not hit.detail
    key = id(container) if container is not None else None  # names can repeat in a stranger's file
    if shared:
        found = target.extras.get(key)
        if found is not None:
            return found
    extra = {"resource": target.resource, "source": target.source, **hit.extra}
    if container is not None:
        extra["container"] = container.name
        extra["container_role"] = container.role
    if hit.detail:
        extra["detail"] = hit.detail
    if shared:
        target.extras[key] = extra
    return extra


def span(hit: Hit, line_count: int | None = None) -> tuple[int | None, int | None]:
    """The finding's (line, end_line): the hit's line, else its target's; the target's whole span when the
    finding points at the target's first line; an end beyond the file's `line_count` is cut back."""
    target = hit.target
    line = hit.line if hit.line is not None else target.line
    end_line = target.end_line if (target.end_line and line == target.line and target.end_line >= (line or 0)) \
        else line
    if line_count is not None and end_line and end_line > line_count:
        end_line = max(min(end_line, line_count), line or 1)
    return line, end_line


_PROTOTYPES: dict[int, tuple[Rule, Finding]] = {}  # id(rule) -> (rule, the finding's rule-given fields)


def rule_finding(rule: Rule) -> Finding:
    """The fields every finding of `rule` shares (no location, no extra): one object per rule."""
    found = _PROTOTYPES.get(id(rule))
    if found is None or found[0] is not rule:
        found = (rule, Finding(id=rule.id, kind=FindingKind.CONFIG, severity=rule.severity, title=rule.title,
                               description=rule.description, aliases=rule.aliases, references=rule.references,
                               remediation=rule.remediation))
        if len(_PROTOTYPES) >= 4096:
            _PROTOTYPES.clear()
        _PROTOTYPES[id(rule)] = found
    return found[1]


def to_finding(hit: Hit, line_count: int | None = None) -> Finding:
    """A Hit as the shared domain Finding (extra: resource, container, source, detail); `line_count`, when
    known, bounds the location's end."""
    line, end_line = span(hit, line_count)
    return rule_finding(hit.rule).at(Location(hit.target.path, line=line, end_line=end_line), finding_extra(hit))


def evaluate_all(targets: Iterable[Target], settings: Settings) -> Iterator[Hit]:
    for target in targets:
        yield from evaluate(target, settings)
