"""Alpine apk version ordering, after apk-tools' version rules.

Grammar: digits separated by '.', an optional lowercase letter, suffixes ``_alpha|_beta|_pre|_rc`` (before
the release) or ``_cvs|_svn|_git|_hg|_p`` (after it), each with an optional number, then ``-rN``.
Components after the first with a leading zero compare as decimal fractions.
"""

from __future__ import annotations

_INVALID, _DIGIT_OR_ZERO, _DIGIT, _LETTER, _SUFFIX, _SUFFIX_NO, _REVISION_NO, _END = -1, 0, 1, 2, 3, 4, 5, 6
_PRE = ("alpha", "beta", "pre", "rc")
_POST = ("cvs", "svn", "git", "hg", "p")


class _Reader:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.type = _DIGIT

    def _next_type(self) -> None:
        s, i, cur = self.s, self.i, self.type
        n = _INVALID
        if i >= len(s):
            n = _END
        elif cur in (_DIGIT, _DIGIT_OR_ZERO) and "a" <= s[i] <= "z":
            n = _LETTER
        elif cur == _LETTER and s[i].isdigit():
            n = _DIGIT
        elif cur == _SUFFIX and s[i].isdigit():
            n = _SUFFIX_NO
        else:
            c = s[i]
            if c == ".":
                n = _DIGIT_OR_ZERO
            elif c == "_":
                n = _SUFFIX
            elif c == "-" and i + 1 < len(s) and s[i + 1] == "r":
                n = _REVISION_NO
                self.i += 1
            self.i += 1
        if n < cur and not (
            (n == _DIGIT_OR_ZERO and cur == _DIGIT)
            or (n == _SUFFIX and cur == _SUFFIX_NO)
            or (n == _DIGIT and cur == _LETTER)
        ):
            n = _INVALID
        self.type = n

    def token(self) -> int:
        s, i = self.s, self.i
        if i >= len(s):
            self.type = _END
            return 0
        value, nt = 0, _INVALID
        t = self.type
        if t == _DIGIT_OR_ZERO and s[i] == "0":
            start = i
            while i < len(s) and s[i] == "0":
                i += 1
            value, nt = -(i - start), _DIGIT
        elif t in (_DIGIT, _DIGIT_OR_ZERO, _SUFFIX_NO, _REVISION_NO):
            start = i
            while i < len(s) and "0" <= s[i] <= "9":
                i += 1
            value = int(s[start:i] or "0")
        elif t == _LETTER:
            value = ord(s[i])
            i += 1
        elif t == _SUFFIX:
            for k, name in enumerate(_PRE):
                if s.startswith(name, i):
                    value, i = k - len(_PRE), i + len(name)
                    break
            else:
                for k, name in enumerate(_POST):
                    if s.startswith(name, i):
                        value, i = k, i + len(name)
                        break
                else:
                    self.type = _INVALID
                    return -1
        else:
            self.type = _INVALID
            return -1
        self.i = i
        if i >= len(s):
            self.type = _END
        elif nt != _INVALID:
            self.type = nt
        else:
            self._next_type()
        return value


def is_valid(version: str) -> bool:
    """True when apk's grammar accepts the whole string."""
    if not version:
        return False
    r = _Reader(version)
    while r.type not in (_END, _INVALID):
        r.token()
    return r.type == _END


def compare(a: str, b: str) -> int:
    """<0, 0, >0 as apk orders ``a`` before, equal to or after ``b``.

    Invalid versions compare token by token up to the first invalid token, like apk; ties between distinct
    invalid versions are broken by plain string order so the order stays total.
    """
    result = _compare_tokens(a, b)
    if result == 0 and a != b and not (is_valid(a) and is_valid(b)):
        return (a > b) - (a < b)
    return result


def _compare_tokens(a: str, b: str) -> int:
    ra, rb = _Reader(a), _Reader(b)
    av = bv = 0
    while ra.type == rb.type and ra.type not in (_END, _INVALID) and av == bv:
        av, bv = ra.token(), rb.token()
    if av != bv:
        return -1 if av < bv else 1
    if ra.type == rb.type:
        return 0
    if ra.type == _SUFFIX and ra.token() < 0:
        return -1
    if rb.type == _SUFFIX and rb.token() < 0:
        return 1
    if ra.type > rb.type:
        return -1
    if rb.type > ra.type:
        return 1
    return 0
