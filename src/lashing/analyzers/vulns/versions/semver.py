"""SemVer 2.0 ordering (npm, crates.io, Hex, Pub) and Go module versions (``v`` prefix, pseudo-versions).

Build metadata is ignored. Versions that are not strict SemVer are read leniently (``v1.2`` = 1.2.0);
text that still does not parse sorts below every valid version, as a string.
"""

from __future__ import annotations

import re
from functools import lru_cache

_LENIENT = re.compile(
    r"^\s*[v=]*\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?"
    r"(?:-?((?:[0-9A-Za-z-]+)(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]*)?\s*$"
)

Key = tuple[int, int, int, tuple[tuple[int, int | str], ...] | None]


@lru_cache(maxsize=8192)
def parse(version: str) -> Key | None:
    """(major, minor, patch, prerelease identifiers or None), or None when not a version at all."""
    m = _LENIENT.match(version)
    if m is None:
        return None
    pre = None
    if m.group(4) is not None:
        pre = tuple((0, int(p)) if p.isdigit() else (1, p) for p in m.group(4).split("."))
    return int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0), pre


def _cmp_pre(a: tuple | None, b: tuple | None) -> int:
    if a == b:
        return 0
    if a is None:
        return 1
    if b is None:
        return -1
    return (a > b) - (a < b)


def compare(a: str, b: str) -> int:
    """<0, 0, >0 by SemVer 2.0 precedence."""
    ka, kb = parse(a), parse(b)
    if ka is None or kb is None:
        if ka is None and kb is None:
            return (a > b) - (a < b)
        return -1 if ka is None else 1
    if ka[:3] != kb[:3]:
        return -1 if ka[:3] < kb[:3] else 1
    return _cmp_pre(ka[3], kb[3])


def compare_go(a: str, b: str) -> int:
    """Go module versions: SemVer with a ``v`` prefix; ``+incompatible`` is build metadata."""
    return compare(a, b)
