"""Packagist ordering: composer's ``VersionParser::normalize`` followed by PHP's ``version_compare``.

``v1.2`` -> ``1.2.0.0``, ``1.0-b2`` -> ``1.0.0.0-beta2``, ``1.0pl1`` -> ``1.0.0.0-patch1``; text composer
cannot normalize is compared raw by ``version_compare`` (dev < alpha < beta < RC < release < patch).
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import pairwise

_MODIFIER = r"[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?"
_CLASSIC = re.compile(r"^v?(\d{1,5})(\.\d++)?(\.\d++)?(\.\d++)?" + _MODIFIER + "$", re.I)
_DATE = re.compile(r"^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2})" + _MODIFIER + "$", re.I)
_STABILITY = {
    "a": "alpha",
    "alpha": "alpha",
    "b": "beta",
    "beta": "beta",
    "p": "patch",
    "pl": "patch",
    "patch": "patch",
    "rc": "RC",
}
_SPECIAL = (
    ("dev", 0),
    ("alpha", 1),
    ("a", 1),
    ("beta", 2),
    ("b", 2),
    ("RC", 3),
    ("rc", 3),
    ("#", 4),
    ("pl", 5),
    ("p", 5),
)


@lru_cache(maxsize=4096)
def normalize(version: str) -> str | None:
    """Composer's normalized form, or None when composer would reject the version."""
    version = version.strip()
    m = re.match(r"^([^,\s]+) +as +([^,\s]+)$", version)
    if m:
        version = m.group(1)
    version = re.sub(r"@(?:stable|RC|beta|alpha|dev)$", "", version, flags=re.I)
    if version in ("master", "trunk", "default"):
        return "dev-" + version
    if version[:4].lower() == "dev-":
        return "dev-" + version[4:]
    m = re.match(r"^([^,\s+]+)\+\S+$", version)
    if m:
        version = m.group(1)
    m = _CLASSIC.match(version)
    if m:
        groups = m.groups()
        version = groups[0] + "".join(g or ".0" for g in groups[1:4])
        index = 4
    else:
        m = _DATE.match(version)
        if m is None:
            return _normalize_branch(version)
        groups = m.groups()
        version = re.sub(r"\D", ".", groups[0])
        index = 1
    stability, number, dev = groups[index : index + 3]
    if stability:
        if stability == "stable":
            return version
        version += "-" + _STABILITY.get(stability.lower(), stability) + (number or "").lstrip(".-")
    if dev:
        version += "-dev"
    return version


def _normalize_branch(version: str) -> str | None:
    """``1.0.x-dev`` -> ``1.0.9999999.9999999-dev``; other branch names are not versions."""
    m = re.match(r"^(.*?)[.-]?dev$", version, re.I)
    if m is None:
        return None
    b = re.match(r"^v?(\d++)(\.(?:\d++|[xX*]))?(\.(?:\d++|[xX*]))?(\.(?:\d++|[xX*]))?$", m.group(1).strip())
    if b is None:
        return None
    parts = "".join((g or ".x").replace("*", "x").replace("X", "x") for g in b.groups())
    return parts.replace("x", "9999999") + "-dev"


def _canonical(v: str) -> str:
    out = [v[0]]
    for prev, c in pairwise(v):
        if c in "-_+":
            if out[-1] != ".":
                out.append(".")
        elif prev.isdigit() != c.isdigit() and "." not in (prev, c):
            if out[-1] != ".":
                out.append(".")
            out.append(c)
        elif not (c.isascii() and c.isalnum()):
            if out[-1] != ".":
                out.append(".")
        else:
            out.append(c)
    return "".join(out)


def _special(form: str) -> int:
    return next((order for name, order in _SPECIAL if form.startswith(name)), -6)


def _cmp_special(a: str, b: str) -> int:
    x, y = _special(a), _special(b)
    return (x > y) - (x < y)


def _isdigit(piece: str) -> bool:
    return bool(piece) and "0" <= piece[0] <= "9"


def version_compare(a: str, b: str) -> int:
    """PHP's ``version_compare`` (-1, 0, 1)."""
    if not a or not b:
        return (bool(a) > bool(b)) - (bool(a) < bool(b))
    pa, pb = _canonical(a).split("."), _canonical(b).split(".")
    result = 0
    k = 0
    while k < len(pa) and k < len(pb) and not result:
        x, y = pa[k], pb[k]
        if _isdigit(x) and _isdigit(y):
            ix, iy = int(re.match(r"\d*", x).group() or 0), int(re.match(r"\d*", y).group() or 0)
            result = (ix > iy) - (ix < iy)
        elif not _isdigit(x) and not _isdigit(y):
            result = _cmp_special(x, y)
        else:
            result = _cmp_special("#N#", y) if _isdigit(x) else _cmp_special(x, "#N#")
        k += 1
    if not result:
        if k < len(pa):
            result = 1 if _isdigit(pa[k]) else version_compare(".".join(pa[k:]), "#N#")
        elif k < len(pb):
            result = -1 if _isdigit(pb[k]) else version_compare("#N#", ".".join(pb[k:]))
    return result


def compare(a: str, b: str) -> int:
    """<0, 0, >0 between two Packagist versions, normalized the way composer does."""
    na, nb = normalize(a), normalize(b)
    return version_compare(na if na is not None else a.strip(), nb if nb is not None else b.strip())
