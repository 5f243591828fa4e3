"""PyPI ordering: PEP 440 via ``packaging.version``; invalid versions sort before valid ones, as strings."""

from __future__ import annotations

from functools import lru_cache

from packaging.version import InvalidVersion, Version


@lru_cache(maxsize=4096)
def _parse(version: str) -> Version | None:
    try:
        return Version(version)
    except (InvalidVersion, TypeError, ValueError):
        return None


def compare(a: str, b: str) -> int:
    """<0, 0, >0 by PEP 440; an unparsable version sorts below every valid one."""
    va, vb = _parse(a.strip()), _parse(b.strip())
    if va is not None and vb is not None:
        return (va > vb) - (va < vb)
    if va is None and vb is None:
        return (a > b) - (a < b)
    return -1 if va is None else 1
