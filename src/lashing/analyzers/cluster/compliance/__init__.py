"""Compliance views of a report: CIS Kubernetes Benchmark and NSA/CISA hardening controls, pass / fail / manual.

    results = compliance(report, "cis", scopes=posture.scopes)   # [ControlResult(id, title, status, findings)]
    render_table(results) / to_json(results)

The mappings are data (`cis.yaml`, `nsa.yaml`): each control names the lashing rule ids that judge it, and a
finding also counts when one of its aliases is the control's id (config rules carry `CIS-1.2.1`, `C-0057`).
A control **fails** when a finding of the report matches it; it **passes** when some rule can judge it and its
`scope` (a config target kind such as `apiserver` or `pod-spec`, or `rbac`, `netpol`, `version`) was examined;
it is **manual** otherwise: not automatable from objects (file permissions), or nothing of its scope was scanned.
Without `scopes`, every judgeable control without findings passes (use it for reports that name their scope).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from lashing.errors import UsageError
from lashing.model import Finding, Report
from lashing.yamlload import safe_load

FRAMEWORKS = ("cis", "nsa")
PASS, FAIL, MANUAL = "pass", "fail", "manual"


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    scope: str = ""
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Framework:
    id: str
    title: str
    alias_prefix: str
    controls: tuple[Control, ...]

    def alias(self, control: Control) -> str:
        return f"{self.alias_prefix}{control.id}"


@dataclass(frozen=True)
class ControlResult:
    id: str
    title: str
    status: str  # pass | fail | manual
    findings: tuple[Finding, ...] = field(default=(), compare=False)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "status": self.status, "reason": self.reason,
                "findings": [{"id": f.id, "severity": f.severity.name, "resource": str(f.extra.get("resource", "")),
                              "location": f"{f.location.path}:{f.location.line}" if f.location and f.location.line
                              else (f.location.path if f.location else "")} for f in self.findings]}


@functools.cache
def load_framework(name: str) -> Framework:
    """The mapping of `cis` or `nsa` (raises UsageError for other names)."""
    if name not in FRAMEWORKS:
        raise UsageError(f"unknown compliance framework {name!r}; choose one of {', '.join(FRAMEWORKS)}")
    text = (resources.files(__package__) / f"{name}.yaml").read_text(encoding="utf-8")
    raw = safe_load(text)
    controls = tuple(Control(str(c["id"]), str(c["title"]), str(c.get("scope") or ""),
                             tuple(str(r) for r in c.get("rules") or ())) for c in raw["controls"])
    return Framework(str(raw["id"]), str(raw["title"]), str(raw.get("alias_prefix") or ""), controls)


@functools.cache
def _known_aliases() -> frozenset[str]:
    """Every alias some lashing rule carries: a control with one of them can be judged."""
    from lashing.analyzers.cluster.rbac import load_risks
    from lashing.analyzers.config import load_catalog

    aliases = {a for rule in load_catalog() for a in rule.aliases}
    aliases.update(a for risk in load_risks() for a in risk.aliases)
    return frozenset(aliases)


def compliance(report: Report, framework: str, scopes: Iterable[str] | None = None) -> list[ControlResult]:
    """One result per control of the framework, in the framework's order."""
    fw = load_framework(framework)
    examined = set(scopes) if scopes is not None else None
    by_key: dict[str, list[Finding]] = {}
    for finding in report.findings:
        for key in {finding.id, *finding.aliases}:
            by_key.setdefault(key, []).append(finding)
    out = []
    for control in fw.controls:
        alias = fw.alias(control)
        matched = {id(f): f for key in (*control.rules, alias) for f in by_key.get(key, ())}
        if matched:
            out.append(ControlResult(control.id, control.title, FAIL, tuple(matched.values()),
                                     f"{len(matched)} finding(s)"))
            continue
        judgeable = bool(control.rules) or alias in _known_aliases()
        if not judgeable or not control.scope:
            out.append(ControlResult(control.id, control.title, MANUAL, reason="not judged from cluster objects"))
        elif examined is not None and control.scope not in examined:
            out.append(ControlResult(control.id, control.title, MANUAL,
                                     reason=f"nothing of scope {control.scope!r} in the scan"))
        else:
            out.append(ControlResult(control.id, control.title, PASS))
    return out


def summary(results: Iterable[ControlResult]) -> dict[str, int]:
    counts = {PASS: 0, FAIL: 0, MANUAL: 0}
    for r in results:
        counts[r.status] += 1
    return counts


def to_json(results: list[ControlResult], framework: str) -> str:
    fw = load_framework(framework)
    return json.dumps({"framework": fw.id, "title": fw.title, "summary": summary(results),
                       "controls": [r.to_dict() for r in results]}, indent=2, ensure_ascii=False) + "\n"


def table_rows(results: Iterable[ControlResult]) -> list[list[str]]:
    return [[r.id, r.status.upper(), r.title, ", ".join(dict.fromkeys(f.id for f in r.findings)) or r.reason]
            for r in results]


__all__ = ["FAIL", "FRAMEWORKS", "MANUAL", "PASS", "Control", "ControlResult", "Framework", "compliance",
           "load_framework", "summary", "table_rows", "to_json"]
