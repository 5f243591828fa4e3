"""CEL translated to Python (lashing.analyzers.config.cel_python) against the reference library.

The library (`common-expression-language`) is the oracle: every comparison below runs the same
expression on the same activation through both and requires the same outcome, the same value (types
included: 1 is not 1.0 is not true) or an error on both sides. Where the translation hands a value
back to the library (`Unsupported`), nothing is compared: the engine then asks the library itself.

1. Each semantic point the translation models, on purpose-built activations.
2. Every rule of the bundled catalogs (Kubernetes, control plane, RBAC, Dockerfile) on activations
   generated from the fields the rule reads, with values of every type, missing keys and the strings
   the catalogs compare against.
3. Random expressions of the whole translated subset on random values.
"""

from __future__ import annotations

import math
import random
import re
from typing import Any

import pytest

from lashing.analyzers.config import cel_python
from lashing.analyzers.config import cel_runtime as cel
from lashing.analyzers.config.engine import compiled_rules, referenced_fields

ERROR = ("error",)
UNSUPPORTED = ("unsupported",)


def _same(left: Any, right: Any) -> bool:
    """Equal values of the same CEL types (a tuple is a list; NaN equals NaN here)."""
    if isinstance(left, tuple):
        left = list(left)
    if isinstance(right, tuple):
        right = list(right)
    if type(left) is not type(right):
        return False
    if isinstance(left, float):
        return (math.isnan(left) and math.isnan(right)) or left == right
    if isinstance(left, list):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_same(v, right[k]) for k, v in left.items())
    return bool(left == right)


def library(source: str, activation: dict[str, Any]) -> tuple[Any, ...]:
    try:
        context = cel.Context(activation)
    except Exception:
        return UNSUPPORTED  # the library cannot even convert these values
    try:
        return ("value", cel.compile(source).execute(context))
    except Exception:
        return ERROR


def translated(function: cel_python.Function, activation: dict[str, Any]) -> tuple[Any, ...]:
    try:
        return ("value", function(activation))
    except cel_python.CelError:
        return ERROR
    except cel_python.Unsupported:
        return UNSUPPORTED


def agree(source: str, activation: dict[str, Any], function: cel_python.Function | None = None) -> bool:
    function = function or cel_python.translate(source)
    assert function is not None, f"not translated: {source}"
    mine = translated(function, activation)
    if mine == UNSUPPORTED:
        return True
    theirs = library(source, activation)
    if theirs == UNSUPPORTED:
        return True
    return mine[0] == theirs[0] and (mine == ERROR or _same(mine[1], theirs[1]))


# --- 1. the semantic points, one by one -----------------------------------------------------------------

POINTS = [
    ("x.a", {"x": {}}), ("x.a", {"x": None}), ("x.a", {"x": [1]}), ("x.a.b", {"x": {"a": None}}),
    ("false && x.a", {"x": {}}), ("x.a && false", {"x": {}}), ("true || x.a", {"x": {}}), ("x.a || true", {"x": {}}),
    ("x.a || false", {"x": {}}), ("true && x.a", {"x": {}}), ("true && 1", {}), ("1 && false", {}), ("1 && true", {}),
    ("1 || true", {}), ("false || 1", {}), ("1 || false", {}), ("x.a && x.b", {"x": {"a": True}}),
    ("1 == 1.0", {}), ("x == 1", {"x": 1.0}), ("x < 2", {"x": 1.5}), ("x == '1'", {"x": 1}), ("x < 2", {"x": "1"}),
    ("x == true", {"x": 1}), ("x == 0", {"x": False}), ("x == true", {"x": True}), ("x <= 10000", {"x": True}),
    ("x > 0", {"x": None}), ("x != false", {"x": None}), ("x != false", {"x": "false"}), ("x == null", {"x": []}),
    ("x == y", {"x": [1, "a"], "y": [1, "a"]}), ("x == y", {"x": {"a": [1]}, "y": {"a": [1.0]}}),
    ("x == y", {"x": {"a": 1}, "y": {"a": 1, "b": 2}}), ("x == y", {"x": [1, 2], "y": [1]}),
    ("[x, 1] == [1, 1]", {"x": 1.0}),
    ("x == x", {"x": float("nan")}), ("x > 1", {"x": float("nan")}), ("x > 1", {"x": float("inf")}),
    ("x > y", {"x": True, "y": False}), ("x < y", {"x": "a", "y": "b"}), ("x < y", {"x": "é", "y": "z"}),
    ("x < y", {"x": [1], "y": [2]}), ("x < y", {"x": None, "y": None}), ("x >= y", {"x": 1, "y": 1.0}),
    ("!x", {"x": {}}), ("!x", {"x": None}), ("!x", {"x": 1}), ("!x", {"x": ""}), ("!x", {"x": False}),
    ("x in [1, 2]", {"x": 1.0}), ("x in ['a']", {"x": None}), ("0 in x", {"x": None}), ("0 in x", {"x": [0.0]}),
    ("0 in x", {"x": [False]}), ("true in x", {"x": [1]}), ("1 in x", {"x": {"a": 1}}), ("'a' in x", {"x": {"a": 2}}),
    ("x in y", {"x": "a", "y": "abc"}), ("x in []", {"x": 1}),
    ("x.exists(c, c == 1)", {"x": None}), ("x.exists(c, c.a)", {"x": [{}, {"a": True}]}),
    ("x.exists(c, c.a)", {"x": [{"a": True}, {}]}), ("x.exists(c, c.a)", {"x": {"k": 1}}),
    ("x.exists(c, c)", {"x": [1, True]}), ("x.exists(c, c)", {"x": [False, 1]}), ("x.all(c, c)", {"x": [True, 1]}),
    ("x.all(c, c)", {"x": []}), ("x.exists(c, c)", {"x": []}), ("x.all(c, c.a)", {"x": [{}, {"a": False}]}),
    ("x.all(c, c.a)", {"x": [{"a": False}, {}]}), ("x.exists(k, x[k] == 1)", {"x": {"a": 1}}),
    ("x.exists(c, c > 1)", {"x": ["a", 2]}), ("x.exists(c, c > 1)", {"x": [2, "a"]}), ("x.exists(c, c)", {"x": "abc"}),
    ("x.exists(c, x.exists(c, c == 2))", {"x": [1, 2]}), ("x.all(c, c != 1)", {"x": 5}),
    ("x.size() > 0", {"x": "ab"}), ("size(x) > 0", {"x": {"a": 1}}), ("x.size()", {"x": None}),
    ("size(x)", {"x": "héllo"}),
    ("size(x)", {"x": 5}), ("x.size() == 0", {"x": {}}),
    ("has(x.a)", {"x": {"a": None}}), ("has(x.a)", {"x": None}), ("has(x.a)", {"x": []}),
    ("has(x.a.b)", {"x": {"a": {}}}),
    ("has(x.a.b)", {"x": {}}), ("has(x.a) && x.a", {"x": {"a": 1}}), ("has(x.a) && x.a", {"x": {"a": True}}),
    ("x.matches('^a$')", {"x": "a\n"}), ("x.matches('b')", {"x": "abc"}), ("x.matches('b')", {"x": None}),
    ("x.matches('(^|,)RBAC(,|$)')", {"x": "Node,RBAC"}), ("x.matches('(^|/)tiller$')", {"x": "tiller\n"}),
    ("x.startsWith('a')", {"x": 1}), ("x.startsWith(y)", {"x": "abc", "y": 1}),
    ("x.endsWith(y)", {"x": "a", "y": None}),
    ("x.contains('')", {"x": ""}), ("x.contains(y)", {"x": "abc", "y": "b"}),
    ("x ? 1 : 2", {"x": None}), ("x == null ? 1 : 2", {"x": None}), ("x ? 1 : y.a", {"x": True, "y": {}}),
    ("x[1]", {"x": ["a", "b"]}), ("x[5]", {"x": ["a"]}), ("x[-1]", {"x": ["a"]}), ("x[1.0]", {"x": ["a", "b"]}),
    ("x['a']", {"x": ["a"]}), ("x['k']", {"x": {}}), ("x[1]", {"x": {"a": 1}}), ("x[0]", {"x": (7, 8)}),
    ("int(x)", {"x": " 1"}), ("int(x)", {"x": "+1"}), ("int(x)", {"x": "1_0"}), ("int(x)", {"x": "٣"}),
    ("int(x)", {"x": "99999999999999999999"}), ("int(x)", {"x": 1.9}), ("int(x)", {"x": -1.9}), ("int(x)", {"x": True}),
    ("int(x)", {"x": "-0"}), ("int(x)", {"x": "0x1"}), ("int(x)", {"x": 1e30}), ("int(x)", {"x": float("nan")}),
    ("int(x) < 30", {"x": "29"}), ("x + y", {"x": "a", "y": "b"}), ("x + y", {"x": 1, "y": 1.5}),
    ("x + y", {"x": [1], "y": [2]}), ("x + 1", {"x": 2**63 - 1}), ("'a' + 1", {}), ("x + '/'", {"x": 1}),
    ("x == 1", {"x": 2**63}), ("x > 0", {"x": 2**63}), ("x", {"x": (1, 2)}), ("-1 < x", {"x": 0}), ("x", {"x": 1}),
    ("settings.allowedRegistries.exists(r, x.startsWith(r + '/'))",
     {"settings": {"allowedRegistries": ["a"]}, "x": "a/b"}),
    ("undeclared == 1", {}), ("[1, 'a', null] == x", {"x": [1, "a", None]}),
    # the inlined cases of ==, != and `in` (a value against a null, string or boolean literal, a list of strings)
    ("x.a == 'a'", {"x": {"a": 2**64}}), ("x.a != 'a'", {"x": {"a": 2**64}}), ("x.a in ['a']", {"x": {"a": 2**64}}),
    ("x.a == true", {"x": {"a": 2**64}}), ("x.a != null", {"x": {"a": 2**64}}), ("x.a == 'a'", {"x": {"a": (1,)}}),
    ("x.a == 'a'", {"x": {"a": {"a": 1}}}), ("x.a != true", {"x": {"a": "true"}}), ("x.a == false", {"x": {"a": 0}}),
    ("x.a in ['a', 'b']", {"x": {"a": ["a"]}}), ("x.a in ['a', 'b']", {"x": {"a": "b"}}),
    ("x.a in ['a', 'b']", {"x": {"a": None}}), ("x.a in ['1']", {"x": {"a": 1}}), ("x.a == null", {"x": {"a": {}}}),
    ("x.a != 'a'", {"x": {}}), ("x.a == 'a'", {"x": {"a": b"a"}}), ("x.a in ['a']", {"x": {"a": b"a"}}),
]


@pytest.mark.parametrize(("source", "activation"), POINTS, ids=[f"{i}:{s}" for i, (s, _) in enumerate(POINTS)])
def test_semantic_point_agrees_with_library(source: str, activation: dict[str, Any]) -> None:
    function = cel_python.translate(source)
    assert function is not None
    mine = translated(function, activation)
    assert mine == UNSUPPORTED or agree(source, activation, function), (mine, library(source, activation))


def test_values_beyond_the_model_go_to_the_library() -> None:
    for source, activation in [("x == 1", {"x": 2**64}), ("x > 1", {"x": 2**63}),
                               ("x == y", {"x": {1: 2}, "y": {1: 2}}), ("1 in x", {"x": {1: 2}}),
                               ("x.exists(k, k == 1)", {"x": {1: 2}})]:
        function = cel_python.translate(source)
        assert function is not None
        with pytest.raises(cel_python.Unsupported):
            function(activation)


@pytest.mark.parametrize("source", [
    "x.map(c, c)", "x.filter(c, c)", "x.exists_one(c, c)", "x - 1", "x * 2", "-x", "dyn(x)", "type(x) == int",
    "x.matches(y)", "x.matches('\\\\d')", "x.matches('(?i)a')", "x.matches('a{2}')", "1u == x", "b'a' == x",
    "r'a' == x", "'''a''' == x", "{'a': 1} == x", "x // comment", "'\\x41' == x", "x.lowerAscii()", "1e999 == x",
    "has(x)", "has(x[0])", "9223372036854775808 == x",
])
def test_outside_the_subset_is_not_translated(source: str) -> None:
    assert cel_python.translate(source) is None


# --- 2. every catalog rule on generated activations ---------------------------------------------------

def _catalog_sources() -> list[str]:
    from lashing.analyzers.config.dockerfile import _compiled

    sources = [c.rule.cel for rules in compiled_rules().values() for c in rules if c.rule.cel]
    sources += [str(rule["cel"]) for rule, _, compiled, _ in _compiled() if compiled is not None]
    return sources


_LITERAL = re.compile(r"'([^'\\]*)'|\"([^\"\\]*)\"")


class Values:
    """Random values of every type CEL data can hold, biased to what the rules compare against."""

    def __init__(self, rng: random.Random, strings: list[str]) -> None:
        self.rng = rng
        self.strings = [*strings, "", "false", "true", "0", "29", "30", "100", " 1", "latest", "x,AlwaysAdmit",
                                  "NodeRestriction,RBAC", "/etc/x", "/var/run/docker.sock", "héllo", "a\n"]

    def scalar(self) -> Any:
        rng = self.rng
        choice = rng.randrange(10)
        if choice < 4:
            return rng.choice(self.strings)
        if choice == 4:
            return None
        if choice == 5:
            return rng.choice([True, False])
        if choice == 6:
            return rng.choice([0, 1, -1, 22, 80, 1023, 1024, 10000, 10001, 65535, 2**63 - 1, -(2**63)])
        if choice == 7:
            return rng.choice([0.0, 1.0, 22.0, 1.5, -0.5, float("inf"), float("nan")])
        return rng.choice(self.strings) + rng.choice(["", "/", ",", "x"])

    def value(self, depth: int = 0) -> Any:
        choice = self.rng.randrange(10)
        if depth < 3 and choice == 0:
            return [self.value(depth + 1) for _ in range(self.rng.randrange(4))]
        if depth < 3 and choice == 1:
            return {self.rng.choice(self.strings): self.value(depth + 1) for _ in range(self.rng.randrange(4))}
        return self.scalar()

    def shaped(self, tree: dict[str, Any] | None, depth: int = 0) -> Any:
        """A value with (mostly) the fields of `tree`; sometimes a field is missing or of another type."""
        rng = self.rng
        if tree is None:
            if rng.random() < 0.5:  # a whole value: a list of the rule's strings, a map of them, or anything
                strings = [rng.choice(self.strings) for _ in range(rng.randrange(4))]
                return rng.choice([strings, {s: self.value(depth + 1) for s in strings},
                                   [{"name": s, "kind": rng.choice(self.strings)} for s in strings]])
            return self.value(depth)
        if rng.random() < 0.08:
            return self.value(depth)
        return {key: self.shaped(sub, depth + 1) for key, sub in tree.items() if rng.random() < 0.93}


@pytest.mark.parametrize("index", range(len(_catalog_sources())))
def test_catalog_rule_agrees_with_library(index: int) -> None:
    source = _catalog_sources()[index]
    function = cel_python.translate(source)
    assert function is not None, f"a bundled rule is outside the translated subset: {source}"
    strings = [a or b for a, b in _LITERAL.findall(source)]
    rng = random.Random(index)
    values = Values(rng, strings)
    tree = referenced_fields([source]) or {}
    if "instruction" in source or "stage" in source:  # Dockerfile rules: their variables' own shapes
        tree.setdefault("instruction", None)
        tree.setdefault("stage", None)
    compared = 0
    for _ in range(150):
        activation = {name: values.shaped(sub) for name, sub in tree.items()}
        assert agree(source, activation, function), (source, activation, translated(function, activation),
                                                     library(source, activation))
        compared += 1
    assert compared == 150


# --- 3. random expressions of the subset ------------------------------------------------------------------

class Expressions:
    """Random CEL over variables x, y, z and macro variables, covering every translated construct."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def literal(self) -> str:
        return self.rng.choice(["1", "0", "-1", "2.5", "'a'", "''", "'a/'", "true", "false", "null", "[]", "[1, 'a']",
                                "['a', 'b']", "10000"])

    def atom(self, bound: list[str]) -> str:
        rng = self.rng
        choice = rng.randrange(6)
        names = ["x", "y", "z", *bound]
        if choice < 2:
            return self.literal()
        if choice == 2:
            return f"{rng.choice(names)}.{rng.choice(['a', 'b', 'c'])}"
        if choice == 3:
            return f"{rng.choice(names)}[{rng.choice(['0', '1', chr(39) + 'a' + chr(39)])}]"
        return rng.choice(names)

    def expr(self, depth: int, bound: list[str]) -> str:
        rng = self.rng
        if depth <= 0:
            return self.atom(bound)
        sub = depth - 1
        choice = rng.randrange(16)
        if choice == 0:
            return f"({self.expr(sub, bound)} {rng.choice(['&&', '||'])} {self.expr(sub, bound)})"
        if choice == 1:
            return f"!{self.atom(bound)}"
        if choice == 2:
            op = rng.choice(["==", "!=", "<", "<=", ">", ">=", "in"])
            return f"({self.expr(sub, bound)} {op} {self.expr(sub, bound)})"
        if choice == 3:
            return f"({self.expr(sub, bound)} ? {self.expr(sub, bound)} : {self.expr(sub, bound)})"
        if choice == 4:
            var = rng.choice(["c", "d"])
            return f"{self.atom(bound)}.{rng.choice(['exists', 'all'])}({var}, {self.expr(sub, [*bound, var])})"
        if choice == 5:
            return f"size({self.expr(sub, bound)})"
        if choice == 6:
            return f"{self.atom(bound)}.size()"
        if choice == 7:
            return f"has({rng.choice(['x', 'y', *bound])}.{rng.choice(['a', 'b'])})"
        if choice == 8:
            return f"int({self.expr(sub, bound)})"
        if choice == 9:
            method = rng.choice(["startsWith", "endsWith", "contains"])
            return f"{self.atom(bound)}.{method}({self.expr(sub, bound)})"
        if choice == 10:
            return f"{self.atom(bound)}.matches('{rng.choice(['^a', 'a$', '(^|/)a(,|$)', '[ab]+', '.'])}')"
        if choice == 11:
            return f"({self.expr(sub, bound)} + {self.expr(sub, bound)})"
        if choice == 12:
            return f"[{self.expr(sub, bound)}, {self.expr(sub, bound)}]"
        return self.atom(bound)


def test_random_expressions_agree_with_library() -> None:
    rng = random.Random(20261129)
    expressions, values = Expressions(rng), Values(rng, ["a", "b", "a/", "1", "ALL"])
    compared = translated_count = 0
    for _ in range(1500):
        source = expressions.expr(rng.randrange(1, 4), [])
        try:
            cel.compile(source)
        except Exception:
            continue  # not CEL the library accepts: nothing to compare
        function = cel_python.translate(source)
        assert function is not None, f"in the subset, not translated: {source}"
        translated_count += 1
        for _ in range(4):
            activation = {name: rng.choice([values.value(), {"a": values.value(), "b": values.value()},
                                            [values.value(), values.value()]]) for name in ("x", "y", "z")}
            assert agree(source, activation, function), (source, activation, translated(function, activation),
                                                         library(source, activation))
            compared += 1
    assert translated_count > 1000 and compared > 4000


def test_a_batch_gives_each_expression_its_own_verdict() -> None:
    """translate_batch (the engine's form: one function for a kind's rules) against each rule's own
    function, on activations generated for all of them at once; errors stay per expression."""
    sources = [c.rule.cel for c in compiled_rules()["pod-spec"] if c.rule.cel]
    batch = cel_python.translate_batch(sources)
    assert batch is not None
    singles = [cel_python.translate(source) for source in sources]
    strings = [a or b for source in sources for a, b in _LITERAL.findall(source)]
    rng = random.Random(7)
    values = Values(rng, strings)
    tree = referenced_fields(sources)
    fired_total = 0
    for _ in range(300):
        activation = {name: values.shaped(sub) for name, sub in tree.items()}
        fired, ask = batch(activation)
        expected_fired, expected_ask = [], []
        for index, function in enumerate(singles):
            outcome = translated(function, activation)  # type: ignore[arg-type]
            if outcome == UNSUPPORTED:
                expected_ask.append(index)
            elif outcome == ("value", True) and outcome[1] is True:
                expected_fired.append(index)
        assert (fired, ask) == (expected_fired, expected_ask)
        fired_total += len(fired)
    assert fired_total > 1000


# --- 4. field chains read more than once ------------------------------------------------------------------

SHARED_CHAINS = ["x.a", "x.a.b", "x.a.b.c", "x.a.c", "x.b", "y.a.a", "y.a", "z"]
SHARED_TESTS = ["", " == 1", " != null", ".size() > 0", " in [1, 'a']", ".exists(c, c == x.a.b)", ".startsWith('a')"]


def test_shared_field_chains_agree_with_library() -> None:
    """Chains read more than once are computed once, at the function's start, each use then failing as it
    would have: deep chains, repeated across the operands of &&, ||, ?: and macros, on values missing or of
    another type at any step (and undeclared variables)."""
    rng = random.Random(20261130)
    values = Values(rng, ["a", "b", "1"])
    tree = {"x": {"a": {"b": {"c": None}, "c": None}, "b": None}, "y": {"a": {"a": None}}, "z": None}
    compared = 0
    for _ in range(600):
        operands = [rng.choice(SHARED_CHAINS) + rng.choice(SHARED_TESTS) for _ in range(rng.randint(2, 5))]
        operands += [f"has({rng.choice(['x.a', 'x.a.b', 'y.a'])}.{rng.choice(['a', 'b', 'c'])})"]
        rng.shuffle(operands)
        source = operands[0]
        for operand in operands[1:]:
            source = rng.choice([f"({source} && {operand})", f"({source} || {operand})",
                                 f"({operand} ? {source} : x.a.b == 1)"])
        function = cel_python.translate(source)
        assert function is not None, source
        for _ in range(6):
            activation = {name: values.shaped(sub) for name, sub in tree.items() if rng.random() < 0.95}
            assert agree(source, activation, function), (source, activation, translated(function, activation),
                                                         library(source, activation))
            compared += 1
    assert compared == 3600
    code = cel_python._Generator().function(cel_python._Parser("x.a.b == 1 || x.a.c == 2").parse())
    assert code.count("g_x.get('a', _M) if type(g_x) is dict else _M") == 1  # x.a: computed once, at the start
