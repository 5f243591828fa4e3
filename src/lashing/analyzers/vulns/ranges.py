"""OSV range evaluation: is a version in an ``affected[]`` entry's ``versions`` or SEMVER/ECOSYSTEM ranges.

Follows the OSV schema's evaluation: events sorted by version (``introduced: "0"`` first), walked in order;
``introduced`` opens, ``fixed`` (exclusive) and ``last_affected`` (inclusive) close; a range with ``limit``
events only covers versions below one of them (``"*"`` = no limit). GIT ranges are ignored. Events at an equal
version keep introduced before fixed/last_affected, so ``introduced X, fixed X`` covers nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cmp_to_key
from typing import Any

from .versions import Comparator, comparator_for

_KINDS = ("introduced", "fixed", "last_affected", "limit")
_RANK = {"introduced": 0, "fixed": 1, "last_affected": 1, "limit": 2}


def range_events(range_: Mapping[str, Any]) -> list[tuple[str, str]]:
    out = []
    events = range_.get("events")
    if not isinstance(events, list):
        return out
    for event in events:
        if not isinstance(event, Mapping):
            continue
        for kind in _KINDS:
            value = event.get(kind)
            if isinstance(value, str) and value:
                out.append((kind, value))
    return out


def sorted_events(events: list[tuple[str, str]], cmp: Comparator) -> list[tuple[str, str]]:
    """Events in version order; ``introduced: "0"`` first, introduced before others at an equal version."""

    def order(x: tuple[str, str], y: tuple[str, str]) -> int:
        xz, yz = x == ("introduced", "0"), y == ("introduced", "0")
        if xz or yz:
            return yz - xz if xz != yz else 0
        return cmp(x[1], y[1]) or _RANK[x[0]] - _RANK[y[0]]

    return sorted(events, key=cmp_to_key(order))


def range_verdict(version: str, range_: Mapping[str, Any], cmp: Comparator) -> tuple[bool, str | None]:
    """Whether ``version`` falls inside one SEMVER/ECOSYSTEM range, and the first ``fixed`` event above it
    (one pass over the sorted events serves both questions)."""
    events = range_events(range_)
    limits = [v for k, v in events if k == "limit"]
    ordered = sorted_events([e for e in events if e[0] != "limit"], cmp)
    fix = next((v for kind, v in ordered if kind == "fixed" and cmp(v, version) > 0), None)
    if limits and not any(v == "*" or cmp(version, v) < 0 for v in limits):
        return False, fix
    vulnerable = False
    for kind, value in ordered:
        if kind == "introduced":
            if value == "0" or cmp(version, value) >= 0:
                vulnerable = True
        elif kind == "fixed":
            if cmp(version, value) >= 0:
                vulnerable = False
        elif cmp(version, value) > 0:
            vulnerable = False
    return vulnerable, fix


def in_range(version: str, range_: Mapping[str, Any], cmp: Comparator) -> bool:
    """True when ``version`` falls inside one SEMVER/ECOSYSTEM range."""
    return range_verdict(version, range_, cmp)[0]


def is_affected(version: str, affected_entry: Mapping[str, Any], ecosystem: str | None = None) -> bool:
    """True when ``version`` is listed in or inside a range of one OSV ``affected[]`` entry.

    ``ecosystem`` defaults to the entry's ``package.ecosystem``. Unknown ecosystems only match the explicit
    ``versions`` list; malformed entries never raise.
    """
    if not isinstance(affected_entry, Mapping):
        return False
    listed = affected_entry.get("versions")
    if isinstance(listed, list) and version in listed:
        return True
    if ecosystem is None:
        package = affected_entry.get("package")
        ecosystem = package.get("ecosystem") if isinstance(package, Mapping) else None
    cmp = comparator_for(ecosystem) if isinstance(ecosystem, str) else None
    ranges = affected_entry.get("ranges")
    if cmp is None or not isinstance(ranges, list):
        return False
    return any(
        isinstance(r, Mapping) and r.get("type") in ("SEMVER", "ECOSYSTEM") and in_range(version, r, cmp)
        for r in ranges
    )
