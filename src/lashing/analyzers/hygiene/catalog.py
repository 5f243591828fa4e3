"""The hygiene checks' metadata (checks.yaml) and the one way to turn a check id into a Finding."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from lashing.errors import LashingError
from lashing.model import Finding, FindingKind, Location, Severity
from lashing.yamlload import safe_load


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    severity: Severity
    aliases: tuple[str, ...] = ()
    description: str = ""
    remediation: str = ""


def parse_checks(text: str) -> dict[str, Check]:
    try:
        doc = safe_load(text)
        checks = {}
        for item in doc["checks"]:
            check = Check(
                id=str(item["id"]),
                title=str(item["title"]),
                severity=Severity.parse(str(item["severity"])),
                aliases=tuple(str(a) for a in item.get("aliases") or ()),
                description=str(item.get("description", "")),
                remediation=str(item.get("remediation", "")),
            )
            checks[check.id] = check
        return checks
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise LashingError(f"hygiene checks: {exc}") from None


@cache
def builtin_checks() -> dict[str, Check]:
    return parse_checks((resources.files("lashing.analyzers.hygiene") / "checks.yaml").read_text("utf-8"))


def finding(
    check_id: str,
    location: Location | None,
    *,
    title: str = "",
    detail: str = "",
    severity: Severity | None = None,
    extra: Mapping[str, str] | None = None,
) -> Finding:
    """A HYGIENE finding from the catalog entry `check_id`; `detail` is appended to its description."""
    check = builtin_checks()[check_id]
    description = f"{check.description} {detail}".strip()
    return Finding(
        id=check.id,
        kind=FindingKind.HYGIENE,
        severity=check.severity if severity is None else severity,
        title=title or check.title,
        description=description,
        location=location,
        aliases=check.aliases,
        remediation=check.remediation,
        extra=dict(extra or {}),
    )
