"""RPM [epoch:]version[-release] ordering: rpmvercmp (with ``~`` and ``^``) as rpm 4.18's ``rpm.vercmp``."""

from __future__ import annotations


def _alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _digit(c: str) -> bool:
    return "0" <= c <= "9"


def rpmvercmp(a: str, b: str) -> int:
    """rpm's segment comparison of one version or release string."""
    if a == b:
        return 0
    i = j = 0
    la, lb = len(a), len(b)
    while i < la or j < lb:
        while i < la and not _alnum(a[i]) and a[i] not in "~^":
            i += 1
        while j < lb and not _alnum(b[j]) and b[j] not in "~^":
            j += 1
        ca = a[i] if i < la else ""
        cb = b[j] if j < lb else ""
        if ca == "~" or cb == "~":
            if ca != "~":
                return 1
            if cb != "~":
                return -1
            i += 1
            j += 1
            continue
        if ca == "^" or cb == "^":
            if not ca:
                return -1
            if not cb:
                return 1
            if ca != "^":
                return 1
            if cb != "^":
                return -1
            i += 1
            j += 1
            continue
        if not (ca and cb):
            break
        isnum = _digit(ca)
        kind = _digit if isnum else (lambda c: c.isascii() and c.isalpha())
        si, sj = i, j
        while i < la and kind(a[i]):
            i += 1
        while j < lb and kind(b[j]):
            j += 1
        sa, sb = a[si:i], b[sj:j]
        if not sb:
            return 1 if isnum else -1
        if isnum:
            sa, sb = sa.lstrip("0"), sb.lstrip("0")
            if len(sa) != len(sb):
                return 1 if len(sa) > len(sb) else -1
        if sa != sb:
            return 1 if sa > sb else -1
    if i >= la and j >= lb:
        return 0
    return 1 if i < la else -1


def parse(evr: str) -> tuple[str | None, str, str | None]:
    """(epoch or None, version, release or None) as rpm splits an EVR string."""
    evr = evr.strip()
    epoch = None
    k = 0
    while k < len(evr) and _digit(evr[k]):
        k += 1
    if k < len(evr) and evr[k] == ":":
        epoch, evr = evr[:k] or "0", evr[k + 1 :]
    version, sep, release = evr.rpartition("-")
    if not sep:
        return epoch, evr, None
    return epoch, version, release


def compare(a: str, b: str) -> int:
    """EVR comparison as rpm 4.18's ``rpm.vercmp``: epoch (missing = 0), version, release (missing = "")."""
    ea, va, ra = parse(a)
    eb, vb, rb = parse(b)
    return rpmvercmp(ea or "0", eb or "0") or rpmvercmp(va, vb) or rpmvercmp(ra or "", rb or "")
