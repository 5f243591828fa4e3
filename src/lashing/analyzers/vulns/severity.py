"""Severity of an advisory: CVSS v4/v3/v2 vectors scored with the `cvss` library, or the data source's rating.

For distro packages the distro's own rating (Ubuntu priority, AlmaLinux/GHSA `database_specific.severity`)
wins, as Trivy does: the distro knows how its build is exposed. Otherwise the newest CVSS version present
decides. Unparseable vectors are ignored, never fatal.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from lashing.db.store import Advisory
from lashing.model import Severity


@dataclass(frozen=True)
class Rating:
    severity: Severity
    vector: str = ""
    score: float | None = None
    source: str = ""  # "cvss_v3", "ubuntu", "database" ...


_CVSS_ORDER = {"CVSS_V4": 3, "CVSS_V3": 2, "CVSS_V2": 1}


@lru_cache(maxsize=4096)
def score_vector(kind: str, vector: str) -> tuple[float, Severity] | None:
    """Base score and qualitative rating of one CVSS vector, or None when it does not parse."""
    try:
        if kind == "CVSS_V4":
            from cvss import CVSS4

            v4 = CVSS4(vector)
            return float(v4.base_score), Severity.from_score(float(v4.base_score))
        if kind == "CVSS_V3":
            from cvss import CVSS3

            score = float(CVSS3(vector).scores()[0])
            return score, Severity.from_score(score)
        if kind == "CVSS_V2":
            from cvss import CVSS2

            score = float(CVSS2(vector).scores()[0])  # v2 has no "critical": NVD's v2 bands
            return score, Severity.HIGH if score >= 7.0 else Severity.MEDIUM if score >= 4.0 else Severity.LOW
    except Exception:  # the library raises its own error types and ValueError/KeyError on junk
        return None
    return None


def _parse_name(text: str) -> Severity | None:
    try:
        return Severity.parse(text)
    except KeyError:
        return None


def cvss_rating(severity: list[dict], _db: str | None = None) -> Rating | None:
    """The rating from the newest CVSS vector among a record's `severity` entries."""
    best: tuple[int, Rating] | None = None
    for entry in severity:
        kind, vector = entry.get("type"), entry.get("score")
        if kind not in _CVSS_ORDER or not isinstance(vector, str):
            continue
        scored = score_vector(kind, vector)
        if scored is None:
            continue
        rank = _CVSS_ORDER[kind]
        if best is None or rank > best[0]:
            best = (rank, Rating(scored[1], vector, scored[0], kind.lower()))
    return best[1] if best else None


def source_rating(severity: list[dict], database_severity: str | None) -> Rating | None:
    """The data source's own qualitative rating (Ubuntu priority, database_specific.severity)."""
    for entry in severity:
        if entry.get("type") == "Ubuntu" and isinstance(entry.get("score"), str):
            parsed = _parse_name(entry["score"])
            if parsed is not None:
                return Rating(parsed, source="ubuntu")
    if database_severity:
        parsed = _parse_name(database_severity)
        if parsed is not None:
            return Rating(parsed, source="database")
    return None


def rate_entries(severity: list[dict], database_severity: str | None, distro: bool) -> Rating:
    """A record's rating: distro packages prefer the source's own rating, language packages CVSS."""
    order = (source_rating, cvss_rating) if distro else (cvss_rating, source_rating)
    for pick in order:
        found = pick(severity, database_severity)
        if found is not None and found.severity != Severity.UNKNOWN:
            return found
    return Rating(Severity.UNKNOWN)


def rate(advisory: Advisory, distro: bool) -> Rating:
    """One advisory's rating (see `rate_entries`)."""
    return rate_entries(advisory.severity, advisory.database_severity, distro)
