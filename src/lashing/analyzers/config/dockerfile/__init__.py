"""Dockerfile scanning: parser, rule catalog (rules/dockerfile.yaml) and findings.

    parse_dockerfile(content, path) -> Dockerfile        the parsed model (never raises on bad input)
    scan_dockerfile(path, content) -> list[Finding]      every rule of the catalog, minus suppressions
    load_dockerfile_rules() -> list[dict]                the catalog as data (for `lashing rules list`)

A rule names a Python check (`check: latest_tag`, a function in `checks.py`) or a CEL expression
(`cel:`) evaluated per instruction of the kinds listed in `match:` with the variables `instruction`
(cmd, args, flags, json_form, line, original), `stage` (index, name, is_final, base) and `dockerfile`
(stage_count). Inline suppression: a comment `# lashing:ignore LSH-DF-X[,DL3008] reason` on the
line(s) directly above an instruction silences those rule ids (or peer ids) for that instruction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from lashing.analyzers.config import cel_python
from lashing.analyzers.config.catalog import bundled_catalogs
from lashing.analyzers.config.cel_python import CelError, Unsupported
from lashing.model import Finding, FindingKind, Location, Severity

from . import checks
from .context import Context, Hit, hit
from .model import Dockerfile, Instruction, Stage
from .parser import parse_dockerfile

__all__ = ["load_dockerfile_rules", "parse_dockerfile", "scan_dockerfile", "scan_parsed"]

RULES_FILE = Path(__file__).resolve().parent.parent / "rules" / "dockerfile.yaml"
_IGNORE = re.compile(r"lashing:ignore\b\s*(.*)", re.I)
_ID_TOKEN = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")


@lru_cache(maxsize=1)
def _load_rules() -> tuple[dict[str, Any], ...]:
    data = bundled_catalogs().get(RULES_FILE.name) or []
    return tuple(
        rule for rule in data if isinstance(rule, dict) and rule.get("applies_to", "dockerfile") == "dockerfile"
    )


def load_dockerfile_rules() -> list[dict[str, Any]]:
    """The Dockerfile rule catalog as plain dicts (a fresh copy each call)."""
    return [dict(rule) for rule in _load_rules()]


_INSTRUCTION_FIELDS: dict[str, Callable[[Instruction], Any]] = {
    "cmd": lambda inst: inst.cmd,
    "args": lambda inst: list(inst.args),
    "flags": lambda inst: {k: ("" if v is None else v) for k, v in inst.flags},
    "json_form": lambda inst: inst.json_form,
    "line": lambda inst: inst.start_line,
    "original": lambda inst: inst.original,
}
_ALL_FIELDS = tuple(_INSTRUCTION_FIELDS)
_CEL_VARIABLES = ("instruction", "stage", "dockerfile")
_INSTRUCTION_REF = re.compile(r"\binstruction\b(?:\s*\.\s*([A-Za-z_][A-Za-z0-9_]*))?")


class _Cel(NamedTuple):
    """A compiled CEL rule and the parts of its variables it can read (only those are built and passed:
    converting unused values costs the engine more than the evaluation itself)."""

    program: Any
    variables: frozenset[str]
    fields: tuple[str, ...]  # of `instruction`
    python: Any = None  # the CEL translated to Python (cel_python), None outside its subset


def _cel_variables(source: str, program: Any) -> frozenset[str]:
    """The variables an expression names (per the engine) or whose name is in its text; it cannot
    observe a variable it never names."""
    try:
        named = set(program.variables())
    except (AttributeError, TypeError):
        named = set(_CEL_VARIABLES)
    return frozenset(v for v in _CEL_VARIABLES if v in named or v in source)


def _instruction_fields(source: str) -> tuple[str, ...]:
    """The `instruction` fields an expression selects when every mention is `instruction.<field>`; all
    fields when it may use the map as a whole (`size(instruction)`, `instruction.exists(...)`, ...)."""
    fields: set[str] = set()
    for m in _INSTRUCTION_REF.finditer(source):
        if m.group(1) not in _INSTRUCTION_FIELDS:
            return _ALL_FIELDS
        fields.add(m.group(1))
    return tuple(f for f in _ALL_FIELDS if f in fields) if fields else _ALL_FIELDS


@lru_cache(maxsize=1)
def _compiled() -> tuple[tuple[dict[str, Any], Any, Any, frozenset[str]], ...]:
    """(rule, check function, `_Cel`, the upper-case ids a suppression comment may name) per rule."""
    from lashing.analyzers.config import cel_runtime as cel

    out = []
    for rule in _load_rules():
        func = getattr(checks, rule["check"]) if rule.get("check") else None
        compiled = None
        if rule.get("cel"):
            source = str(rule["cel"])
            program = cel.compile(source)
            compiled = _Cel(program, _cel_variables(source, program), _instruction_fields(source),
                            cel_python.translate(source))
        if func is None and compiled is None:
            raise ValueError(f"rule {rule.get('id')} has neither check nor cel")
        names = frozenset({rule["id"].upper(), *(a.upper() for a in rule.get("aliases") or ())})
        out.append((rule, func, compiled, names))
    return tuple(out)


def _instruction_dict(inst: Instruction, fields: tuple[str, ...] = _ALL_FIELDS) -> dict[str, Any]:
    return {name: _INSTRUCTION_FIELDS[name](inst) for name in fields}


def _stage_dict(df: Dockerfile, stage: Stage) -> dict[str, Any]:
    base = stage.base
    return {
        "index": stage.index,
        "name": stage.name,
        "is_final": stage.index == len(df.stages) - 1,
        "base": {
            "raw": base.raw,
            "registry": base.registry,
            "repository": base.repository,
            "tag": base.tag,
            "digest": base.digest,
            "is_stage": stage.base_stage is not None,
        },
    }


def _matched(ctx: Context, kinds: frozenset[str]) -> Iterator[tuple[Stage, Instruction]]:
    """(stage, instruction) of every instruction of the kinds `kinds` (all when empty), in file order."""
    if kinds and "FROM" not in kinds:
        yield from ctx.instructions(kinds)  # the index, FROM excluded
        return
    for stage in ctx.df.stages:
        for inst in stage.all_instructions():
            if not kinds or inst.cmd in kinds:
                yield stage, inst


def _cel_hits(ctx: Context, rule: dict[str, Any], cel: _Cel) -> Iterator[Hit]:
    df = ctx.df
    uses = cel.variables
    stage_dicts: dict[int, dict[str, Any]] = {}  # stage index -> `stage`, built on first use
    for stage, inst in _matched(ctx, frozenset(rule.get("match") or ())):
        variables: dict[str, Any] = {}
        if "instruction" in uses:
            variables["instruction"] = _instruction_dict(inst, cel.fields)
        if "stage" in uses:
            stage_ctx = stage_dicts.get(stage.index)
            if stage_ctx is None:
                stage_ctx = stage_dicts[stage.index] = _stage_dict(df, stage)
            variables["stage"] = stage_ctx
        if "dockerfile" in uses:
            variables["dockerfile"] = {"stage_count": len(df.stages)}
        if _fires(cel, variables):
            yield hit(inst, stage)


def _fires(cel: _Cel, variables: dict[str, Any]) -> bool:
    """Whether a CEL rule is true on `variables`: translated when it can be, else (or for values the
    translation hands back) by the library; an evaluation error is false."""
    if cel.python is not None:
        try:
            return cel.python(variables) is True
        except CelError:
            return False
        except (Unsupported, RecursionError):
            pass
    try:
        return cel.program.execute(variables) is True
    except (ValueError, RuntimeError, TypeError, LookupError, ArithmeticError):
        return False


def _suppressions(df: Dockerfile) -> dict[int, set[str]]:
    """Line of the instruction below a `lashing:ignore` comment -> ids (upper case) it silences."""
    comment_lines = {line for line, _ in df.comments}
    out: dict[int, set[str]] = {}
    for line, text in df.comments:
        m = _IGNORE.search(text)
        if not m:
            continue
        ids: set[str] = set()
        for token in m.group(1).replace(",", " ").split():
            if not _ID_TOKEN.match(token) or not (
                any(ch.isdigit() for ch in token) or token.upper().startswith("LSH-")
            ):
                break
            ids.add(token.upper())
        if not ids:
            continue
        target = line + 1
        while target in comment_lines:
            target += 1
        out.setdefault(target, set()).update(ids)
    return out


def _prototype(rule: dict[str, Any]) -> Finding:
    """A rule's finding without location or extra map: its findings are copies (`Finding.at`)."""
    rule_id = rule["id"]
    return Finding(
        id=rule_id,
        kind=FindingKind.CONFIG,
        severity=Severity.parse(str(rule.get("severity", "UNKNOWN"))),
        title=rule.get("title", rule_id),
        description=" ".join(str(rule.get("description", "")).split()),
        aliases=tuple(rule.get("aliases") or ()),
        references=tuple(rule.get("references") or ()),
        remediation=" ".join(str(rule.get("remediation", "")).split()),
    )


_prototypes: dict[int, tuple[dict[str, Any], Finding]] = {}  # id(rule) -> (rule, its prototype finding)


def scan_parsed(df: Dockerfile) -> list[Finding]:
    """Run every catalog rule over a parsed Dockerfile."""
    ctx = Context(df)
    silenced = _suppressions(df)
    findings: list[Finding] = []
    seen: set[tuple[str, int]] = set()
    for rule, func, cel, names in _compiled():
        hits = func(ctx) if func is not None else _cel_hits(ctx, rule, cel)
        rule_id = rule["id"]
        prototype = None
        for h in hits:
            if (rule_id, h.line) in seen:
                continue
            ids = silenced.get(h.line)
            if ids and (names & ids or "ALL" in ids):
                continue
            seen.add((rule_id, h.line))
            extra = {
                "resource": f"stage {h.stage}" if h.stage else "Dockerfile",
                "instruction": h.cmd,
                "stage": h.stage,
            }
            if h.detail:
                extra["detail"] = h.detail
            if prototype is None:
                entry = _prototypes.get(id(rule))
                if entry is None or entry[0] is not rule:
                    entry = _prototypes[id(rule)] = (rule, _prototype(rule))
                prototype = entry[1]
            findings.append(prototype.at(Location(df.path, line=h.line, end_line=h.end_line), extra))
    findings.sort(key=lambda f: ((f.location.line or 0) if f.location else 0, f.id))
    return findings


def scan_dockerfile(path: str, content: bytes) -> list[Finding]:
    """Parse `content` (a Dockerfile read from `path`) and return its findings; never raises on bad input."""
    return scan_parsed(parse_dockerfile(content, path))
