"""The runtime of CEL translated to Python (cel_python): the reference library's semantics on plain Python data.

Every helper mirrors what `common-expression-language` does for the operation, as measured (see cel_python
and tests/test_cel_python.py): `CelError` is CEL's error value, `Unsupported` hands the whole expression
back to the library (values whose conversion to CEL this module does not model).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


class CelError(Exception):
    """The expression has no value on this input (CEL's error value)."""


class Unsupported(Exception):
    """A value this translation does not model: evaluate with the reference library instead."""


_LISTS = (list, tuple)  # the library converts both to a CEL list


_M = object()  # a missing key or variable


def _undeclared(name: str) -> Any:
    raise CelError(f"undeclared reference {name}")


def _no_map(value: Any) -> Any:
    raise CelError(f"no such overload: field selection on {type(value).__name__}")


def _no_key(name: str) -> Any:
    raise CelError(f"no such key: {name}")


def _overload(operator: str) -> Any:
    raise CelError(f"no such overload: {operator}")






def _plain_keys(mapping: dict[Any, Any]) -> None:
    for key in mapping:
        if type(key) is not str:
            raise Unsupported("non-string map key")


def _index(value: Any, key: Any) -> Any:
    if type(value) in _LISTS:
        if type(key) is not int:
            raise CelError("list index must be an integer")
        if not 0 <= key < len(value):
            raise CelError("index out of bounds")
        return value[key]
    if type(value) is dict:
        if type(key) is not str:
            raise Unsupported("non-string map key")
        try:
            return value[key]
        except KeyError:
            raise CelError(f"no such key: {key}") from None
    raise CelError("no such overload: index")


_KNOWN = (str, bool, list, tuple, dict)


def _number(value: Any) -> bool:
    """Whether `value` is a CEL int or double; raises Unsupported for integers beyond 64 bits, which the
    library turns into uint or double."""
    kind = type(value)
    if kind is int:
        if not _INT_MIN <= value <= _INT_MAX:
            raise Unsupported("integer beyond 64 bits")
        return True
    return kind is float


def _eq(left: Any, right: Any) -> bool:
    """CEL equality: numbers compare across int and double; values of other different types are unequal."""
    kind = type(left)
    if kind is type(right) and (kind is str or kind is bool):
        return left == right
    if left is None or right is None:
        return left is right
    if _number(left):
        return _number(right) and left == right
    if _number(right):
        return False
    if kind in _LISTS and type(right) in _LISTS:
        return len(left) == len(right) and all(_eq(x, y) for x, y in zip(left, right, strict=True))
    if kind is not type(right):
        if kind in _KNOWN and type(right) in _KNOWN:
            return False
        raise Unsupported("equality of unmodelled types")
    if kind is dict:
        _plain_keys(left)
        _plain_keys(right)
        return left.keys() == right.keys() and all(_eq(v, right[k]) for k, v in left.items())
    raise Unsupported("equality of unmodelled types")


def _ne(left: Any, right: Any) -> bool:
    return not _eq(left, right)


def _order(left: Any, right: Any) -> None:
    """Raise unless CEL orders the two values (numbers with numbers, strings, booleans)."""
    if _number(left) and _number(right):
        if left != left or right != right:  # NaN: the library has no ordering for it
            raise CelError("no such overload: NaN ordering")
        return
    kind = type(left)
    if kind is type(right) and (kind is str or kind is bool):
        return
    raise CelError("no such overload: ordering")


def _lt(left: Any, right: Any) -> bool:
    _order(left, right)
    return bool(left < right)


def _le(left: Any, right: Any) -> bool:
    _order(left, right)
    return bool(left <= right)


def _gt(left: Any, right: Any) -> bool:
    _order(left, right)
    return bool(left > right)


def _ge(left: Any, right: Any) -> bool:
    _order(left, right)
    return bool(left >= right)


def _in(item: Any, container: Any) -> bool:
    if type(container) in _LISTS:
        return any(_eq(item, element) for element in container)
    if type(container) is dict:
        _plain_keys(container)
        kind = type(item)
        if kind is str:
            return item in container
        if kind is int or kind is bool:
            return False  # a valid key type, and every key is a string
        raise CelError("not a valid map key type")
    raise CelError("no such overload: in")


def _add(left: Any, right: Any) -> Any:
    kind = type(left)
    if kind in _LISTS and type(right) in _LISTS:
        return [*left, *right]
    if kind is type(right):
        if kind is str:
            return left + right
        if kind is int:
            _number(left)
            _number(right)
            total = left + right
            if not _INT_MIN <= total <= _INT_MAX:
                raise CelError("integer overflow")
            return total
        if kind is float:
            return left + right
    if kind is dict or type(right) is dict:
        raise Unsupported("+ with a map")  # the library appends a map's keys to a list
    raise CelError("no such overload: +")


def _not(value: Any) -> bool:
    if value is True:
        return False
    if value is False:
        return True
    raise CelError("no such overload: !")


def _cond(value: Any) -> bool:
    if value is True or value is False:
        return value
    raise CelError("no such overload: ?:")






def _outcomes(mapping: dict[Any, Any], predicate: Callable[[Any], Any]) -> tuple[bool, bool, bool]:
    """(some true, some false, some error) over a map's keys. The library walks a map in hash order, which
    varies between runs, and stops at the first deciding member or error: when the answer depends on that
    order, there is no single answer to model."""
    _plain_keys(mapping)
    true = false = error = False
    for key in mapping:
        try:
            verdict = predicate(key)
        except CelError:
            verdict = None
        if verdict is True:
            true = True
        elif verdict is False:
            false = True
        else:
            error = True
    return true, false, error


def _over_map(value: Any, predicate: Callable[[Any], Any], exists: bool) -> bool:
    """`exists` or `all` on a value that is not a list (generated code loops over lists itself): over a
    map's keys as the library walks them (see `_outcomes`), anything else an error."""
    if type(value) is not dict:
        raise CelError("no such overload: macro target")
    true, false, error = _outcomes(value, predicate)
    if error and (true if exists else false):
        raise Unsupported("a macro over a map: the answer depends on the library's hash order")
    if error:
        raise CelError("no such overload: macro predicate")
    return true if exists else not false


def _exists(value: Any, predicate: Callable[[Any], Any]) -> bool:
    return _over_map(value, predicate, exists=True)


def _all(value: Any, predicate: Callable[[Any], Any]) -> bool:
    return _over_map(value, predicate, exists=False)


def _size(value: Any) -> int:
    kind = type(value)
    if kind is str:
        return len(value.encode("utf-8", "surrogatepass"))  # the library counts bytes
    if kind in _LISTS or kind is dict or kind is bytes:
        return len(value)
    raise CelError("no such overload: size")


_DECIMAL = re.compile(r"[+-]?[0-9]+", re.ASCII)


def _int(value: Any) -> int:
    kind = type(value)
    if kind is str:
        if not _DECIMAL.fullmatch(value):
            raise CelError("int(): invalid digit")
        number = int(value)
    elif kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise CelError("int(): not a finite number")
        number = int(value)
    elif kind is int:
        _number(value)
        number = value
    else:
        raise CelError("no such overload: int()")
    if not _INT_MIN <= number <= _INT_MAX:
        raise CelError("int(): integer overflow")
    return number


def _text(value: Any, argument: Any) -> None:
    if type(value) is not str or type(argument) is not str:
        raise CelError("no such overload: string function")


def _startsWith(value: Any, prefix: Any) -> bool:
    _text(value, prefix)
    return bool(value.startswith(prefix))


def _endsWith(value: Any, suffix: Any) -> bool:
    _text(value, suffix)
    return bool(value.endswith(suffix))


def _contains(value: Any, part: Any) -> bool:
    _text(value, part)
    return part in value


def _matches(value: Any, pattern: re.Pattern[str]) -> bool:
    if type(value) is not str:
        raise CelError("no such overload: matches")
    return pattern.search(value) is not None
