"""The policy stage's values: settings, ignore rules, VEX statements and the outcome (all frozen)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime

from lashing.errors import LashingError
from lashing.model import Finding, FindingKind, Report, Severity
from lashing.policy.purl import PurlPattern


class PolicyError(LashingError):
    """An ignore file or VEX document is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class IgnoreRule:
    """One ignore entry: every constraint given must match (any of its values), then the finding is suppressed.

    `ids` are case-insensitive globs (`*`, `?`) over the finding id and its aliases; `packages` are package
    names (globs, matched against the name and the source package name) or purl patterns; `paths` and
    `resources` are globs where `*` stays within one path segment and `**` crosses segments.
    `expires` is the first day the entry no longer applies (Trivy's `exp:` semantics).
    """

    ids: tuple[str, ...]
    reason: str
    source: str
    packages: tuple[str | PurlPattern, ...] = ()
    paths: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    kinds: frozenset[FindingKind] | None = None
    expires: date | None = None

    def is_expired(self, today: date) -> bool:
        return self.expires is not None and today >= self.expires

    @property
    def label(self) -> str:
        return ", ".join(self.ids)


class VexStatus(enum.StrEnum):
    NOT_AFFECTED = "not_affected"
    AFFECTED = "affected"
    FIXED = "fixed"
    UNDER_INVESTIGATION = "under_investigation"

    @property
    def suppresses(self) -> bool:
        return self in (VexStatus.NOT_AFFECTED, VexStatus.FIXED)


@dataclass(frozen=True)
class VexComponent:
    """A product or subcomponent: its purls (parsed), other identifiers and digests ("sha256:<hex>")."""

    purls: tuple[PurlPattern, ...] = ()
    identifiers: tuple[str, ...] = ()
    digests: tuple[str, ...] = ()


@dataclass(frozen=True)
class VexProduct:
    component: VexComponent
    subcomponents: tuple[VexComponent, ...] = ()


@dataclass(frozen=True)
class VexStatement:
    """One statement, its timestamp resolved (inherited from the document when absent) and timezone-aware.

    Among statements covering the same finding, the latest timestamp wins; on a tie, the later one in `Policy.vex`.
    """

    vulnerability: str
    aliases: tuple[str, ...]
    products: tuple[VexProduct, ...]
    status: VexStatus
    timestamp: datetime
    source: str
    justification: str = ""
    impact_statement: str = ""
    action_statement: str = ""

    @property
    def names(self) -> frozenset[str]:
        return frozenset(n.upper() for n in (self.vulnerability, *self.aliases))

    @property
    def reason(self) -> str:
        return self.justification or self.impact_statement or self.status.value


@dataclass(frozen=True)
class Policy:
    """What to report: `--severity`, `--ignore-unfixed`, ignore rules, VEX statements and `--exit-code`."""

    severities: frozenset[Severity] | None = None
    ignore_unfixed: bool = False
    ignores: tuple[IgnoreRule, ...] = ()
    vex: tuple[VexStatement, ...] = ()
    exit_code: int = 0
    today: date = field(default_factory=date.today)


@dataclass(frozen=True)
class Suppression:
    """A finding the policy removed, why, and which entry removed it (".lashingignore:12", "vex:<@id>")."""

    finding: Finding
    reason: str
    source: str


@dataclass(frozen=True)
class PolicyOutcome:
    """The report with only the kept findings, what was removed and why, and the exit code to use."""

    report: Report
    suppressed: tuple[Suppression, ...] = ()
    filtered: tuple[Suppression, ...] = ()
    expired: tuple[IgnoreRule, ...] = ()
    unused_ignores: tuple[IgnoreRule, ...] = ()
    warnings: tuple[str, ...] = ()
    exit_code: int = 0
