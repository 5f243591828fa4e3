"""Maven ordering after ``ComparableVersion``: int/string/list items, qualifiers, trailing-null trimming.

alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp < other qualifiers (as
strings); '.' and '-' separate items; '-', a digit/letter transition and ".X" open a sub-list.
"""

from __future__ import annotations

from functools import lru_cache

_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_RELEASE = str(_QUALIFIERS.index(""))

# An item is ("i", int) | ("s", str) | ("l", list)


def _qualifier_key(value: str) -> str:
    if value in _QUALIFIERS:
        return str(_QUALIFIERS.index(value))
    return f"{len(_QUALIFIERS)}-{value}"


def _string_item(value: str, followed_by_digit: bool) -> tuple:
    if followed_by_digit and len(value) == 1:
        value = {"a": "alpha", "b": "beta", "m": "milestone"}.get(value, value)
    return ("s", _ALIASES.get(value, value))


def _item(is_digit: bool, text: str) -> tuple:
    return ("i", int(text)) if is_digit else _string_item(text, False)


def _is_null(item: tuple) -> bool:
    kind, value = item
    if kind == "i":
        return value == 0
    if kind == "s":
        return _qualifier_key(value) == _RELEASE
    return not value


def _normalize(items: list) -> None:
    for k in range(len(items) - 1, -1, -1):
        if _is_null(items[k]):
            del items[k]
        elif items[k][0] != "l":
            break


@lru_cache(maxsize=4096)
def parse(version: str) -> tuple:
    """The item tree of a version, as a ("l", [...]) item."""
    text = version.strip().lower()
    root: list = []
    current, stack = root, [root]
    is_digit, start = False, 0
    for i, c in enumerate(text):
        if c in ".-":
            current.append(("i", 0) if i == start else _item(is_digit, text[start:i]))
            start = i + 1
            if c == "-":
                sub: list = []
                current.append(("l", sub))
                current, stack = sub, [*stack, sub]
        elif c.isdigit() and c.isascii():
            if not is_digit and i > start:
                if current:  # ".X1" reads as "-X1"
                    sub = []
                    current.append(("l", sub))
                    current, stack = sub, [*stack, sub]
                current.append(_string_item(text[start:i], True))
                start = i
                sub = []
                current.append(("l", sub))
                current, stack = sub, [*stack, sub]
            is_digit = True
        else:
            if is_digit and i > start:
                current.append(_item(True, text[start:i]))
                start = i
                sub = []
                current.append(("l", sub))
                current, stack = sub, [*stack, sub]
            is_digit = False
    if len(text) > start:
        if not is_digit and current:  # ".X" reads as "-X"
            sub = []
            current.append(("l", sub))
            current, stack = sub, [*stack, sub]
        current.append(_item(is_digit, text[start:]))
    for items in reversed(stack):
        _normalize(items)
    return ("l", root)


def _cmp(a: tuple | None, b: tuple | None) -> int:
    """Item comparison; ``a`` is never None."""
    assert a is not None
    kind, value = a
    if kind == "i":
        if b is None:
            return 0 if value == 0 else 1
        if b[0] == "i":
            return (value > b[1]) - (value < b[1])
        return 1
    if kind == "s":
        if b is None:
            ka, kb = _qualifier_key(value), _RELEASE
        elif b[0] == "s":
            ka, kb = _qualifier_key(value), _qualifier_key(b[1])
        else:
            return -1
        return (ka > kb) - (ka < kb)
    if b is None:
        return _cmp(value[0], None) if value else 0
    if b[0] == "i":
        return -1
    if b[0] == "s":
        return 1
    other = b[1]
    for k in range(max(len(value), len(other))):
        left = value[k] if k < len(value) else None
        right = other[k] if k < len(other) else None
        result = -_cmp(right, None) if left is None else _cmp(left, right)
        if result:
            return result
    return 0


def compare(a: str, b: str) -> int:
    """<0, 0, >0 as Maven's ComparableVersion orders ``a`` and ``b``."""
    return _cmp(parse(a), parse(b))
