"""Debian/Ubuntu version ordering: dpkg's epoch:upstream-revision algorithm (``dpkg --compare-versions``)."""

from __future__ import annotations


def _order(c: str) -> int:
    if c.isdigit():
        return 0
    if c.isascii() and c.isalpha():
        return ord(c)
    if c == "~":
        return -1
    return ord(c) + 256


def _isdigit(c: str) -> bool:
    return "0" <= c <= "9"


def verrevcmp(a: str, b: str) -> int:
    """dpkg's comparison of one upstream-version or revision string."""
    i = j = 0
    la, lb = len(a), len(b)
    while i < la or j < lb:
        first_diff = 0
        while (i < la and not _isdigit(a[i])) or (j < lb and not _isdigit(b[j])):
            ac = _order(a[i]) if i < la else 0
            bc = _order(b[j]) if j < lb else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < la and a[i] == "0":
            i += 1
        while j < lb and b[j] == "0":
            j += 1
        while i < la and j < lb and _isdigit(a[i]) and _isdigit(b[j]):
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < la and _isdigit(a[i]):
            return 1
        if j < lb and _isdigit(b[j]):
            return -1
        if first_diff:
            return first_diff
    return 0


def parse(version: str) -> tuple[int, str, str]:
    """(epoch, upstream, revision); a malformed epoch is kept as part of the upstream version."""
    version = version.strip()
    epoch = 0
    head, sep, rest = version.partition(":")
    if sep and head.isdigit() and head.isascii():
        epoch = int(head)
        version = rest
    upstream, sep, revision = version.rpartition("-")
    if not sep:
        upstream, revision = version, ""
    return epoch, upstream, revision


def compare(a: str, b: str) -> int:
    """<0, 0, >0 as in ``dpkg --compare-versions a lt|eq|gt b``."""
    ea, ua, ra = parse(a)
    eb, ub, rb = parse(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return verrevcmp(ua, ub) or verrevcmp(ra, rb)
