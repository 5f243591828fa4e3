"""CEL expressions of the rule catalogs translated to Python functions, for the scanner's hot loop.

The catalog's CEL stays the single statement of every rule: it is compiled by the reference library
(`common-expression-language`, see cel_runtime) at load time, and that library still evaluates any
rule this module cannot translate, and any value it does not model. But a call into the library must
first convert the whole activation into CEL values (~5-70 us a context, against ~1-2 us for the rule),
which made CEL three quarters of a Kubernetes scan's rule time. The translated function reads the
Python data where it lies.

The translation covers the subset the catalogs use: literals, lists, field selection, indexing,
`has()`, `size()`, `int()`, `matches/startsWith/endsWith/contains`, `exists/all`, `! && || ?:`,
comparisons, `in` and `+`. Semantics follow the library as measured (tests/test_cel_python.py
compares both on every catalog rule over generated inputs), including where it departs from the CEL
spec: `&&`/`||` absorb an error on either side only when the other side decides the result, macros
stop at the first error, `size()` of a string counts UTF-8 bytes, `$` in a regex is the end of text.

`translate` returns None for anything outside the subset. At run time a function raises `CelError`
when the expression has no value (a missing field, no matching overload: the rule does not fire) and
`Unsupported` when it meets a value whose conversion to CEL it does not model (integers beyond 64 bits,
non-string map keys in a comparison, NaN ordering): the caller then asks the library.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from typing import Any

Function = Callable[[dict[str, Any]], Any]
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


class CelError(Exception):
    """The expression has no value on this input (CEL's error value)."""


class Unsupported(Exception):
    """A value this translation does not model: evaluate with the reference library instead."""


class _NotTranslatable(Exception):
    pass


# --- tokens -------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<float>\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)
    | (?P<int>0[xX][0-9a-fA-F]+|\d+)(?P<uint>[uU])?
    | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>\|\||&&|==|!=|<=|>=|[-+*/%!<>?:.,()\[\]{}])
    )""", re.VERBOSE)
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}


def _tokens(source: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    position = 0
    source = source.rstrip()
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None or match.end() == position:
            raise _NotTranslatable(f"token at {position}")
        position = match.end()
        kind = match.lastgroup if match.lastgroup != "uint" else "int"
        if match.group("uint"):
            raise _NotTranslatable("unsigned literal")
        text = match.group(kind)
        if kind == "string":
            body = text[1:-1]
            if "\\" in body:
                if re.search(r"\\[^\\'\"ntr]", body):
                    raise _NotTranslatable("escape")
                body = re.sub(r"\\(.)", lambda m: _ESCAPES[m.group(1)], body)
            out.append(("string", body))
        elif kind == "int":
            value = int(text, 16) if text[:2] in ("0x", "0X") else int(text)
            out.append(("int", value))
        elif kind == "float":
            out.append(("float", float(text)))
        elif kind == "ident":
            out.append(("ident", text))
        else:
            out.append(("op", text))
    out.append(("end", None))
    return out


# --- parser: CEL's grammar, producing Python expression text --------------------------------------------

_MACROS = frozenset({"exists", "all"})
_STRING_METHODS = frozenset({"startsWith", "endsWith", "contains"})


class _Parser:
    """Recursive descent over CEL's grammar; each method returns Python source for its sub-expression.
    Top-level identifiers read the activation `a`; macro variables become lambda parameters."""

    def __init__(self, source: str) -> None:
        self.tokens = _tokens(source)
        self.index = 0
        self.bound: list[str] = []
        self.regexes: list[re.Pattern[str]] = []

    def peek(self) -> tuple[str, Any]:
        return self.tokens[self.index]

    def take(self, kind: str, value: Any = None) -> Any:
        token = self.tokens[self.index]
        if token[0] != kind or (value is not None and token[1] != value):
            raise _NotTranslatable(f"expected {value or kind}, got {token[1]!r}")
        self.index += 1
        return token[1]

    def at(self, value: str) -> bool:
        token = self.tokens[self.index]
        return token[0] == "op" and token[1] == value

    def parse(self) -> str:
        code = self.expr()
        self.take("end")
        return code

    def expr(self) -> str:
        condition = self.or_()
        if not self.at("?"):
            return condition
        self.index += 1
        yes = self.or_()
        self.take("op", ":")
        no = self.expr()
        return f"({yes} if _cond({condition}) else {no})"

    def or_(self) -> str:
        code = self.and_()
        while self.at("||"):
            self.index += 1
            code = f"_or(lambda: {code}, lambda: {self.and_()})"
        return code

    def and_(self) -> str:
        code = self.relation()
        while self.at("&&"):
            self.index += 1
            code = f"_and(lambda: {code}, lambda: {self.relation()})"
        return code

    _RELATIONS = {"==": "_eq", "!=": "_ne", "<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge", "in": "_in"}

    def relation(self) -> str:
        code = self.addition()
        while True:
            kind, value = self.peek()
            name = self._RELATIONS.get(value) if kind in ("op", "ident") else None
            if kind == "ident" and value != "in":
                name = None
            if name is None:
                return code
            self.index += 1
            code = f"{name}({code}, {self.addition()})"

    def addition(self) -> str:
        code = self.unary()
        while self.at("+") or self.at("-"):
            if self.at("-"):
                raise _NotTranslatable("subtraction")
            self.index += 1
            code = f"_add({code}, {self.unary()})"
        if self.at("*") or self.at("/") or self.at("%"):
            raise _NotTranslatable("multiplication")
        return code

    def unary(self) -> str:
        if self.at("!"):
            self.index += 1
            return f"_not({self.unary()})"
        if self.at("-"):
            self.index += 1
            kind, value = self.peek()
            if kind in ("int", "float"):
                self.index += 1
                return self.member(_literal(-value))
            raise _NotTranslatable("negation")
        return self.member(self.primary())

    def member(self, code: str) -> str:
        while True:
            if self.at("."):
                self.index += 1
                name = self.take("ident")
                code = self.method(code, name) if self.at("(") else f"_sel({code}, {name!r})"
            elif self.at("["):
                self.index += 1
                key = self.expr()
                self.take("op", "]")
                code = f"_index({code}, {key})"
            else:
                return code

    def arguments(self) -> list[str]:
        self.take("op", "(")
        args: list[str] = []
        while not self.at(")"):
            args.append(self.expr())
            if not self.at(")"):
                self.take("op", ",")
        self.index += 1
        return args

    def method(self, target: str, name: str) -> str:
        if name in _MACROS:
            self.take("op", "(")
            variable = self.take("ident")
            self.take("op", ",")
            self.bound.append(variable)
            body = self.expr()
            self.bound.pop()
            self.take("op", ")")
            return f"_{name}({target}, lambda v_{variable}: {body})"
        args = self.arguments()
        if name == "size" and not args:
            return f"_size({target})"
        if name in _STRING_METHODS and len(args) == 1:
            return f"_{name}({target}, {args[0]})"
        if name == "matches" and len(args) == 1:
            return f"_matches({target}, {self.regex(args[0])})"
        raise _NotTranslatable(f"method {name}")

    def regex(self, literal: str) -> str:
        """A constant pattern in the subset whose meaning is the same in Rust's regex crate and in
        Python's re (no escapes, flags, group options or repetition counts); `$` outside a class becomes
        end of text, as in Rust."""
        try:
            pattern = ast.literal_eval(literal)  # a string literal is a repr() written by this parser
        except (ValueError, SyntaxError):
            raise _NotTranslatable("regex is not a constant") from None
        if not isinstance(pattern, str) or "(?" in pattern or "[]" in pattern or "[^]" in pattern or \
                not re.fullmatch(r"[A-Za-z0-9_,=/()|^$*+?.\-\[\] :]*", pattern):
            raise _NotTranslatable("regex outside the shared subset")
        try:
            compiled = re.compile(_end_of_text(pattern))
        except re.error:
            raise _NotTranslatable("invalid regex") from None
        self.regexes.append(compiled)
        return f"_re[{len(self.regexes) - 1}]"

    def primary(self) -> str:
        kind, value = self.peek()
        self.index += 1
        if kind in ("int", "float"):
            return _literal(value)
        if kind == "string":
            return repr(value)
        if kind == "ident":
            if value in ("true", "false"):
                return repr(value == "true")
            if value == "null":
                return "None"
            if self.at("("):
                return self.call(value)
            if value in self.bound:
                return f"v_{value}"
            return f"_var(a, {value!r})"
        if kind == "op" and value == "(":
            code = self.expr()
            self.take("op", ")")
            return code
        if kind == "op" and value == "[":
            items: list[str] = []
            while not self.at("]"):
                items.append(self.expr())
                if not self.at("]"):
                    self.take("op", ",")
            self.index += 1
            return f"[{', '.join(items)}]"
        raise _NotTranslatable(f"unexpected {value!r}")

    def call(self, name: str) -> str:
        if name == "has":
            self.take("op", "(")
            start = self.index
            inner = self.unary()
            self.take("op", ")")
            if not inner.startswith("_sel(") or self.tokens[self.index - 2][0] != "ident" \
                    or self.tokens[self.index - 3] != ("op", "."):
                raise _NotTranslatable(f"has() of a non-field at {start}")
            return "_has(" + inner[len("_sel("):]
        args = self.arguments()
        if name == "size" and len(args) == 1:
            return f"_size({args[0]})"
        if name == "int" and len(args) == 1:
            return f"_int({args[0]})"
        raise _NotTranslatable(f"function {name}")


def _literal(number: int | float) -> str:
    if isinstance(number, int) and not _INT_MIN <= number <= _INT_MAX:
        raise _NotTranslatable("integer literal out of range")
    if isinstance(number, float) and not math.isfinite(number):
        raise _NotTranslatable("infinite literal")
    return repr(number)


def _end_of_text(pattern: str) -> str:
    """`$` outside character classes as `\\Z`: Python's `$` also matches before a final newline."""
    out, in_class = [], False
    for char in pattern:
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        out.append("\\Z" if char == "$" and not in_class else char)
    return "".join(out)


# --- runtime: the library's semantics on plain Python data ---------------------------------------------

_LISTS = (list, tuple)  # the library converts both to a CEL list


def _var(activation: dict[str, Any], name: str) -> Any:
    try:
        return activation[name]
    except KeyError:
        raise CelError(f"undeclared reference {name}") from None


def _sel(value: Any, name: str) -> Any:
    if type(value) is dict:
        try:
            return value[name]
        except KeyError:
            raise CelError(f"no such key: {name}") from None
    raise CelError("no such overload: field selection")


def _has(value: Any, name: str) -> bool:
    if type(value) is dict:
        return name in value
    raise CelError("no such overload: has()")


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


def _and(left: Callable[[], Any], right: Callable[[], Any]) -> bool:
    """The library's `&&`: false on either side decides, even against an error on the other side."""
    try:
        first = left()
    except CelError:
        first = None
    if first is False:
        return False
    second = right()  # an error here with no false on the left is the result
    if second is False:
        return False
    if first is True and second is True:
        return True
    raise CelError("no such overload: &&")


def _or(left: Callable[[], Any], right: Callable[[], Any]) -> bool:
    """The library's `||`: true on either side decides, even against an error on the other side."""
    try:
        first = left()
    except CelError:
        first = None
    if first is True:
        return True
    second = right()
    if second is True:
        return True
    if first is False and second is False:
        return False
    raise CelError("no such overload: ||")


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


def _exists(value: Any, predicate: Callable[[Any], Any]) -> bool:
    """The library's `exists`: over a list, stops at the first true and at the first error."""
    if type(value) is dict:
        true, _, error = _outcomes(value, predicate)
        if true and error:
            raise Unsupported("exists over a map: the answer depends on the library's hash order")
        if error:
            raise CelError("no such overload: exists")
        return true
    if type(value) not in _LISTS:
        raise CelError("no such overload: macro target")
    for member in value:
        verdict = predicate(member)
        if verdict is True:
            return True
        if verdict is not False:
            raise CelError("no such overload: exists")
    return False


def _all(value: Any, predicate: Callable[[Any], Any]) -> bool:
    if type(value) is dict:
        _, false, error = _outcomes(value, predicate)
        if false and error:
            raise Unsupported("all over a map: the answer depends on the library's hash order")
        if error:
            raise CelError("no such overload: all")
        return not false
    if type(value) not in _LISTS:
        raise CelError("no such overload: macro target")
    for member in value:
        verdict = predicate(member)
        if verdict is False:
            return False
        if verdict is not True:
            raise CelError("no such overload: all")
    return True


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


_RUNTIME = {name: value for name, value in globals().items() if name.startswith("_") and callable(value)}


def translate(source: str) -> Function | None:
    """A Python function of the activation computing `source`, or None outside the supported subset."""
    try:
        parser = _Parser(source)
        code = parser.parse()
    except (_NotTranslatable, RecursionError):
        return None
    namespace = {**_RUNTIME, "_re": tuple(parser.regexes), "__builtins__": {}}
    try:
        exec(f"def _rule(a):\n    return {code}\n", namespace)
    except (SyntaxError, RecursionError, MemoryError):
        return None
    function: Function = namespace["_rule"]
    return function
