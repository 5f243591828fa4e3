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

`translate` returns None for anything outside the subset. At run time (cel_values) a function raises `CelError`
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

from lashing.analyzers.config import cel_values
from lashing.analyzers.config.cel_values import _INT_MAX, _INT_MIN, _M, CelError, Unsupported
from lashing.analyzers.config.codecache import compiled

__all__ = ["Batch", "CelError", "Function", "Unsupported", "translatable", "translate", "translate_batch"]

Function = Callable[[dict[str, Any]], Any]


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


# --- parser: CEL's grammar to a small tree -----------------------------------------------------------

_MACROS = frozenset({"exists", "all"})
_STRING_METHODS = frozenset({"startsWith", "endsWith", "contains"})
_MAX_MACRO_DEPTH = 4
_RELATIONS = {"==": "_eq", "!=": "_ne", "<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge", "in": "_in"}

# Nodes: ("lit", python literal) ("var", name) ("bound", python name) ("sel", x, field) ("has", x, field)
# ("call", helper, [args]) ("list", [items]) ("and", [operands]) ("or", [operands]) ("cond", c, yes, no)
# ("macro", "exists" | "all", x, python name, predicate)
Node = tuple[Any, ...]


class _Parser:
    """Recursive descent over CEL's grammar."""

    def __init__(self, source: str, regexes: list[re.Pattern[str]] | None = None, macros: int = 0) -> None:
        self.tokens = _tokens(source)
        self.index = 0
        self.bound: list[tuple[str, str]] = []  # macro variable -> its python name, innermost last
        self.macros = macros  # macro variables are numbered across the expressions of one function
        self.regexes: list[re.Pattern[str]] = regexes if regexes is not None else []

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

    def parse(self) -> Node:
        node = self.expr()
        self.take("end")
        return node

    def expr(self) -> Node:
        condition = self.or_()
        if not self.at("?"):
            return condition
        self.index += 1
        yes = self.or_()
        self.take("op", ":")
        return ("cond", condition, yes, self.expr())

    def or_(self) -> Node:
        return self.chain("||", "or", self.and_)

    def and_(self) -> Node:
        return self.chain("&&", "and", self.relation)

    def chain(self, operator: str, kind: str, operand: Callable[[], Node]) -> Node:
        """`a op b op c` as one n-ary node (the generator evaluates it flat)."""
        operands = [operand()]
        while self.at(operator):
            self.index += 1
            operands.append(operand())
        return operands[0] if len(operands) == 1 else (kind, operands)

    def relation(self) -> Node:
        node = self.addition()
        while True:
            kind, value = self.peek()
            if not ((kind == "op" and value in _RELATIONS) or (kind == "ident" and value == "in")):
                return node
            self.index += 1
            node = ("call", _RELATIONS[value], [node, self.addition()])

    def addition(self) -> Node:
        node = self.unary()
        while self.at("+") or self.at("-"):
            if self.at("-"):
                raise _NotTranslatable("subtraction")
            self.index += 1
            node = ("call", "_add", [node, self.unary()])
        if self.at("*") or self.at("/") or self.at("%"):
            raise _NotTranslatable("multiplication")
        return node

    def unary(self) -> Node:
        if self.at("!"):
            self.index += 1
            return ("call", "_not", [self.unary()])
        if self.at("-"):
            self.index += 1
            kind, value = self.peek()
            if kind in ("int", "float"):
                self.index += 1
                return self.member(("lit", _literal(-value)))
            raise _NotTranslatable("negation")
        return self.member(self.primary())

    def member(self, node: Node) -> Node:
        while True:
            if self.at("."):
                self.index += 1
                name = self.take("ident")
                node = self.method(node, name) if self.at("(") else ("sel", node, name)
            elif self.at("["):
                self.index += 1
                key = self.expr()
                self.take("op", "]")
                node = ("call", "_index", [node, key])
            else:
                return node

    def arguments(self) -> list[Node]:
        self.take("op", "(")
        return self.items(")")

    def items(self, close: str) -> list[Node]:
        """Comma-separated expressions up to `close` (consumed)."""
        found: list[Node] = []
        while not self.at(close):
            found.append(self.expr())
            if not self.at(close):
                self.take("op", ",")
        self.index += 1
        return found

    def method(self, target: Node, name: str) -> Node:
        if name in _MACROS:
            self.take("op", "(")
            variable = self.take("ident")
            self.take("op", ",")
            self.macros += 1
            if len(self.bound) >= _MAX_MACRO_DEPTH:
                raise _NotTranslatable("macros nested too deeply")  # the code doubles with each level
            python_name = f"m{self.macros}_{variable}"
            self.bound.append((variable, python_name))
            body = self.expr()
            self.bound.pop()
            self.take("op", ")")
            return ("macro", name, target, python_name, body)
        args = self.arguments()
        if name == "size" and not args:
            return ("call", "_size", [target])
        if name in _STRING_METHODS and len(args) == 1:
            return ("call", f"_{name}", [target, args[0]])
        if name == "matches" and len(args) == 1:
            return ("call", "_matches", [target, self.regex(args[0])])
        raise _NotTranslatable(f"method {name}")

    def regex(self, node: Node) -> Node:
        """A constant pattern in the subset whose meaning is the same in Rust's regex crate and in
        Python's re (no escapes, flags, group options or repetition counts); `$` outside a class becomes
        end of text, as in Rust."""
        if node[0] != "lit":
            raise _NotTranslatable("regex is not a constant")
        pattern = ast.literal_eval(node[1])  # a literal this parser wrote with repr()
        if not isinstance(pattern, str) or "(?" in pattern or "[]" in pattern or "[^]" in pattern or \
                not re.fullmatch(r"[A-Za-z0-9_,=/()|^$*+?.\-\[\] :]*", pattern):
            raise _NotTranslatable("regex outside the shared subset")
        try:
            compiled = re.compile(_end_of_text(pattern))
        except re.error:
            raise _NotTranslatable("invalid regex") from None
        self.regexes.append(compiled)
        return ("lit", f"_re[{len(self.regexes) - 1}]")

    def primary(self) -> Node:
        kind, value = self.peek()
        self.index += 1
        if kind in ("int", "float"):
            return ("lit", _literal(value))
        if kind == "string":
            return ("lit", repr(value))
        if kind == "ident":
            if value in ("true", "false"):
                return ("lit", repr(value == "true"))
            if value == "null":
                return ("lit", "None")
            if self.at("("):
                return self.call(value)
            for variable, python_name in reversed(self.bound):
                if variable == value:
                    return ("bound", python_name)
            return ("var", value)
        if kind == "op" and value == "(":
            node = self.expr()
            self.take("op", ")")
            return node
        if kind == "op" and value == "[":
            return ("list", self.items("]"))
        raise _NotTranslatable(f"unexpected {value!r}")

    def call(self, name: str) -> Node:
        if name == "has":
            self.take("op", "(")
            inner = self.unary()
            self.take("op", ")")
            if inner[0] != "sel" or self.tokens[self.index - 2][0] != "ident" \
                    or self.tokens[self.index - 3] != ("op", "."):
                raise _NotTranslatable("has() of a non-field")
            return ("has", inner[1], inner[2])
        args = self.arguments()
        if name == "size" and len(args) == 1:
            return ("call", "_size", args)
        if name == "int" and len(args) == 1:
            return ("call", "_int", args)
        raise _NotTranslatable(f"function {name}")


# --- code generation: a tree to the statements of one Python function -----------------------------------

Code = tuple[list[str], str, bool]  # statements to run first, the value's expression, whether it is pure


def _indent(lines: list[str], depth: int = 1) -> list[str]:
    return [" " * (4 * depth) + line for line in lines]


Chain = tuple[str, ...]  # a variable and the fields selected below it: ("container", "securityContext", "privileged")


def _chain(node: Node) -> Chain | None:
    """The chain of a field selection from a variable (`container.securityContext.privileged`), else None."""
    fields = []
    while node[0] == "sel":
        fields.append(node[2])
        node = node[1]
    return (node[1], *reversed(fields)) if node[0] == "var" else None


def _count_chains(node: Node, counts: dict[Chain, int]) -> None:
    """Add every chain of `node` (and each of its prefixes below the variable) to `counts`."""
    chain = _chain(node) if node[0] == "sel" else None
    if chain is not None:
        for end in range(2, len(chain) + 1):
            counts[chain[:end]] = counts.get(chain[:end], 0) + 1
        return
    for part in node[1:]:
        for child in part if isinstance(part, list) else [part]:
            if isinstance(child, tuple) and child and isinstance(child[0], str):
                _count_chains(child, counts)


class _Generator:
    """Python statements computing a tree's value. Errors are exceptions: `&&`, `||` and the macros are
    statements (try, if, for) instead of helper calls taking lambdas, and field selection is inline."""

    def __init__(self) -> None:
        self.temps = 0
        self.variables: set[str] = set()
        self.shared: set[Chain] = set()  # chains read more than once: computed once, at the function's start
        self.hoisted: dict[Chain, str] = {}
        self.hoisted_lines: list[str] = []

    def share(self, nodes: list[Node]) -> None:
        """Note the field chains the expressions read more than once (a prefix counts for each longer chain).
        Each is computed once, before the expressions, to its value or `_M` when a step has none (a field
        selection cannot fail otherwise, nor have effects); each use then raises the error it would have."""
        counts: dict[Chain, int] = {}
        for node in nodes:
            _count_chains(node, counts)
        self.shared = {chain for chain, count in counts.items() if count > 1}

    def hoist(self, chain: Chain) -> str:
        """The name holding a shared chain's value (or `_M`), defined with its prefixes' at the start."""
        name = self.hoisted.get(chain)
        if name is None:
            if len(chain) == 2:
                self.variables.add(chain[0])
                parent = f"g_{chain[0]}"
            else:
                parent = self.hoist(chain[:-1])
            name = self.hoisted[chain] = self.temp()
            self.hoisted_lines.append(f"{name} = {parent}.get({chain[-1]!r}, _M) if type({parent}) is dict else _M")
        return name

    def selection(self, node: Node) -> Code | None:
        """A field selection starting from the longest shared prefix of its chain; None when it has none."""
        chain = _chain(node)
        if chain is None:
            return None
        for end in range(len(chain), 1, -1):
            if chain[:end] in self.shared:
                value = self.hoist(chain[:end])
                lines = [f"if {value} is _M:", f"    _no_key({chain[end - 1]!r})"]
                for field in chain[end:]:
                    out = self.temp()
                    lines += [f"{out} = {value}.get({field!r}, _M) if type({value}) is dict else _no_map({value})",
                              f"if {out} is _M:", f"    _no_key({field!r})"]
                    value = out
                return lines, value, True
        return None

    def temp(self) -> str:
        self.temps += 1
        return f"t{self.temps}"

    def pinned(self, code: Code) -> tuple[list[str], str]:
        """The value in a plain name (evaluated once)."""
        lines, expression, pure = code
        if pure:
            return lines, expression
        name = self.temp()
        return [*lines, f"{name} = {expression}"], name

    def gen(self, node: Node) -> Code:
        kind = node[0]
        if kind == "lit":
            return [], node[1], True
        if kind == "bound":
            return [], node[1], True
        if kind == "var":
            self.variables.add(node[1])
            return [], f"(g_{node[1]} if g_{node[1]} is not _M else _undeclared({node[1]!r}))", False
        if kind == "sel":
            shared = self.selection(node) if self.shared else None
            if shared is not None:
                return shared
            lines, value = self.pinned(self.gen(node[1]))
            name, out = repr(node[2]), self.temp()
            return [*lines, f"{out} = {value}.get({name}, _M) if type({value}) is dict else _no_map({value})",
                    f"if {out} is _M:", f"    _no_key({name})"], out, True
        if kind == "has":
            lines, value = self.pinned(self.gen(node[1]))
            return lines, f"(({node[2]!r} in {value}) if type({value}) is dict else _no_map({value}))", False
        if kind in ("call", "list"):
            return self.eager(node)
        if kind in ("and", "or"):
            return self.logical(kind, node[1])
        if kind == "cond":
            return self.conditional(node)
        return self.macro(node)

    def eager(self, node: Node) -> Code:
        """Arguments left to right (a later argument's statements run after the earlier values)."""
        lines: list[str] = []
        values: list[tuple[str, bool]] = []
        for argument in node[-1]:
            code = self.gen(argument)
            if code[0]:  # statements: the values before them are computed first
                for index, (value, pure) in enumerate(values):
                    if not pure:
                        name = self.temp()
                        lines.append(f"{name} = {value}")
                        values[index] = (name, True)
            lines += code[0]
            values.append((code[1], code[2]))
        values = [value for value, _ in values]  # type: ignore[misc]
        if node[0] == "list":
            return lines, "[" + ", ".join(values) + "]", False
        call = f"{node[1]}({', '.join(values)})"
        return lines, _with_fast_path(node, values, call), False

    def logical(self, kind: str, operands: list[Node]) -> Code:
        """The library's `&&` (`||`): false (true) on any side decides, else an error or a non-boolean
        anywhere is an error; operands after a deciding one are not evaluated. Flat, however long."""
        decides, other = ("False", "True") if kind == "and" else ("True", "False")
        out, item = self.temp(), self.temp()
        lines = [f"{out} = {other}"]
        for index, operand in enumerate(operands):
            operand_lines, value, pure = self.gen(operand)
            step = [f"{item} = {value}"] if pure and not operand_lines else \
                ["try:", *_indent(operand_lines), f"    {item} = {value}", "except CelError:", f"    {item} = None"]
            step += [f"if {item} is not {other}:", f"    {out} = {decides} if {item} is {decides} else None"]
            lines += step if index == 0 else [f"if {out} is not {decides}:", *_indent(step)]
        lines += [f"if {out} is None:", f"    _overload({kind!r})"]
        return lines, out, True

    def conditional(self, node: Node) -> Code:
        condition_lines, condition, _ = self.gen(node[1])
        yes_lines, yes, _ = self.gen(node[2])
        no_lines, no, _ = self.gen(node[3])
        out = self.temp()
        return [*condition_lines, f"if _cond({condition}):", *_indent(yes_lines), f"    {out} = {yes}", "else:",
                *_indent(no_lines), f"    {out} = {no}"], out, True

    def macro(self, node: Node) -> Code:
        """A loop over a list (stopping at the first deciding member or error); a map goes to the runtime's
        `_exists`/`_all`, which model its unordered walk."""
        _, name, target, variable, body = node
        lines, value = self.pinned(self.gen(target))
        body_lines, verdict, _ = self.gen(body)
        out, item, predicate = self.temp(), self.temp(), self.temp()
        decides, other = ("True", "False") if name == "exists" else ("False", "True")
        return [*lines,
                f"if type({value}) is list or type({value}) is tuple:",
                f"    {out} = {other}",
                f"    for {variable} in {value}:",
                *_indent(body_lines, 2),
                f"        {item} = {verdict}",
                f"        if {item} is {decides}:",
                f"            {out} = {decides}",
                "            break",
                f"        if {item} is not {other}:",
                f"            _overload({name!r})",
                "else:",
                f"    def {predicate}({variable}):",
                *_indent(body_lines, 2),
                f"        return {verdict}",
                f"    {out} = _{name}({value}, {predicate})"], out, True

    def function(self, node: Node) -> str:
        self.share([node])
        lines, value, _ = self.gen(node)
        return self._define("_rule", [*lines, f"return {value}"])

    def batch(self, nodes: list[Node]) -> str:
        """One function for several expressions: each keeps its own errors; it returns the indices of the
        true ones, and of those that met a value only the library models."""
        self.share(nodes)
        body = ["fired = []", "ask = []"]
        for index, node in enumerate(nodes):
            lines, value, _ = self.gen(node)
            body += ["try:", *_indent(lines), f"    r = {value}", "except CelError:", "    r = None",
                     "except (Unsupported, RecursionError):", "    r = _M",
                     "if r is True:", f"    fired.append({index})", "elif r is _M:", f"    ask.append({index})"]
        return self._define("_rules", [*body, "return fired, ask"])

    def _define(self, name: str, body: list[str]) -> str:
        head = [f"g_{variable} = a.get({variable!r}, _M)" for variable in sorted(self.variables)]
        head += self.hoisted_lines
        return "\n".join([f"def {name}(a):", *_indent([*head, *body])]) + "\n"


_NAME = re.compile(r"[A-Za-z_]\w*\Z")
_NEGATED = {"_eq": "", "_ne": "not "}


def _literal_type(node: Node) -> str | None:
    """`str` or `bool` for a string or boolean literal node, `None` for null; else None."""
    if node[0] != "lit":
        return None
    text = node[1]
    if text in ("True", "False"):
        return "bool"
    if text == "None":
        return "None"
    return "str" if text[:1] in ("'", '"') else None


def _with_fast_path(node: Node, values: list[str], call: str) -> str:
    """`call` (of a runtime helper on evaluated arguments) with the helper's own answer inlined for the common
    case: a value compared with a null, string or boolean literal, or looked up in a list of string literals.
    Equal types compare as Python does (the helpers' first case); anything else still goes to the helper."""
    helper, arguments = node[1], node[-1]
    if len(arguments) != 2 or not _NAME.match(values[0]):
        return call
    value, literal = values
    if helper in _NEGATED:
        kind = _literal_type(arguments[1])
        if kind == "None":
            return f"({value} is {_NEGATED[helper]}None)"
        if kind is not None:
            operator = "==" if helper == "_eq" else "!="
            return f"({value} {operator} {literal} if type({value}) is {kind} else {call})"
    if helper == "_in" and arguments[1][0] == "list" and arguments[1][1] \
            and all(_literal_type(item) == "str" for item in arguments[1][1]):
        members = "{" + ", ".join(item[1] for item in arguments[1][1]) + "}"
        return f"({value} in {members} if type({value}) is str else {call})"
    return call


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


_RUNTIME = {name: value for name, value in vars(cel_values).items() if name.startswith("_") and callable(value)}


def translate(source: str) -> Function | None:
    """A Python function of the activation computing `source`, or None outside the supported subset."""
    try:
        parser = _Parser(source)
        code = _Generator().function(parser.parse())
    except (_NotTranslatable, RecursionError):
        return None
    return _compile(code, "_rule", parser.regexes)  # type: ignore[return-value]


def translatable(source: str) -> bool:
    """Whether `source` is in the subset (parsed and generated, not compiled: translate_batch does that)."""
    try:
        _Generator().function(_Parser(source).parse())
    except (_NotTranslatable, RecursionError):
        return False
    return True


Batch = Callable[[dict[str, Any]], tuple[list[int], list[int]]]


def translate_batch(sources: list[str]) -> Batch | None:
    """One Python function evaluating every one of `sources` on an activation: it returns (indices of the
    expressions that are true, indices of those to evaluate with the library instead). None when one of
    them is outside the subset. Against one function per expression, this saves a call, a try and the
    variable lookups per rule: the Kubernetes catalog runs ~45 rules on every container."""
    regexes: list[re.Pattern[str]] = []
    nodes: list[Node] = []
    macros = 0
    try:
        for source in sources:
            parser = _Parser(source, regexes, macros)
            nodes.append(parser.parse())
            macros = parser.macros
        code = _Generator().batch(nodes)
    except (_NotTranslatable, RecursionError):
        return None
    return _compile(code, "_rules", regexes, cached=True)  # type: ignore[return-value]


def _compile(code: str, name: str, regexes: list[re.Pattern[str]], cached: bool = False) -> Callable[..., Any] | None:
    """The generated function `name`; `cached`: its code object comes from codecache (a batch's source is
    long, ~10 ms to compile; a single rule's is not worth a file)."""
    namespace = {**_RUNTIME, "_re": tuple(regexes), "CelError": CelError, "Unsupported": Unsupported,
                 "RecursionError": RecursionError, "_M": _M, "type": type, "dict": dict, "list": list,
                 "tuple": tuple, "str": str, "bool": bool, "__builtins__": {}}
    try:
        exec(compiled(code, "<cel>") if cached else code, namespace)
    except (SyntaxError, RecursionError, MemoryError):  # e.g. more nested blocks than CPython allows
        return None
    function: Callable[..., Any] = namespace[name]
    return function
