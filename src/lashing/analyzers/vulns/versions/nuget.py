"""NuGet ordering: up to four numeric parts, case-insensitive prerelease labels, metadata ignored."""

from __future__ import annotations

import re
from functools import lru_cache

_VERSION = re.compile(
    r"^\s*[vV]?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?"  # up to four numeric parts
    r"(?:-([0-9A-Za-z.-]+))?(?:\+.*)?\s*$"  # release labels, metadata
)


@lru_cache(maxsize=4096)
def parse(version: str) -> tuple[tuple[int, int, int, int], tuple[str, ...]] | None:
    """((major, minor, patch, revision), labels) or None when not a NuGet version."""
    m = _VERSION.match(version)
    if m is None:
        return None
    nums = tuple(int(g or 0) for g in m.group(1, 2, 3, 4))
    labels = tuple(m.group(5).split(".")) if m.group(5) else ()
    return nums, labels  # type: ignore[return-value]


def _cmp_label(x: str, y: str) -> int:
    if x.isdigit() and y.isdigit():
        return (int(x) > int(y)) - (int(x) < int(y))
    if x.isdigit() != y.isdigit():
        return -1 if x.isdigit() else 1
    xl, yl = x.lower(), y.lower()
    return (xl > yl) - (xl < yl)


def compare(a: str, b: str) -> int:
    """<0, 0, >0 as NuGet's VersionComparer.Default; unparsable versions sort first, as strings."""
    pa, pb = parse(a), parse(b)
    if pa is None or pb is None:
        if pa is None and pb is None:
            return (a > b) - (a < b)
        return -1 if pa is None else 1
    if pa[0] != pb[0]:
        return -1 if pa[0] < pb[0] else 1
    la, lb = pa[1], pb[1]
    if not la or not lb:
        return (not la) - (not lb)
    for x, y in zip(la, lb, strict=False):
        result = _cmp_label(x, y)
        if result:
            return result
    return (len(la) > len(lb)) - (len(la) < len(lb))
