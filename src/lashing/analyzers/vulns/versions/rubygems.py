"""RubyGems ordering after ``Gem::Version#<=>``: numeric and letter segments, letters mark a prerelease."""

from __future__ import annotations

import re
from functools import lru_cache

_SEGMENT = re.compile(r"[0-9]+|[a-zA-Z]+")


@lru_cache(maxsize=4096)
def canonical_segments(version: str) -> tuple[int | str, ...]:
    """Segments with trailing zeros dropped from the release part and from the prerelease part."""
    text = version.strip().replace("-", ".pre.") or "0"
    segments: list[int | str] = [int(s) if s.isdigit() else s for s in _SEGMENT.findall(text)]
    first_str = next((k for k, s in enumerate(segments) if isinstance(s, str)), len(segments))
    parts = (segments[:first_str], segments[first_str:])
    out: list[int | str] = []
    for part in parts:
        while part and part[-1] == 0:
            part.pop()
        out.extend(part)
    return tuple(out)


def compare(a: str, b: str) -> int:
    """<0, 0, >0 as ``Gem::Version.new(a) <=> Gem::Version.new(b)``."""
    sa, sb = canonical_segments(a), canonical_segments(b)
    if sa == sb:
        return 0
    for k in range(max(len(sa), len(sb))):
        x = sa[k] if k < len(sa) else 0
        y = sb[k] if k < len(sb) else 0
        if x == y:
            continue
        if isinstance(x, str) and isinstance(y, int):
            return -1
        if isinstance(x, int) and isinstance(y, str):
            return 1
        return (x > y) - (x < y)  # type: ignore[operator]
    return 0
