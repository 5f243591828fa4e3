"""The Dockerfile analyzer's shortcuts (CPU savings) must not change what it reads or reports."""

from __future__ import annotations

import dataclasses
import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lashing.analyzers.config.dockerfile import (
    _instruction_dict,
    _instruction_fields,
    _matched,
    expand,
    packages,
    parse_dockerfile,
    parser,
    shell,
)
from lashing.analyzers.config.dockerfile.checks import secret_value
from lashing.analyzers.config.dockerfile.context import Context
from lashing.analyzers.config.dockerfile.expand import expand_word, split_words
from lashing.analyzers.config.dockerfile.model import Instruction, ParseWarning
from lashing.analyzers.config.dockerfile.shell import Command, parse_script


def test_model_classes_build_what_the_generated_init_builds():
    """The parsed model's classes take `model.fast_init`'s one-step __init__: same fields, equality, hash, repr."""
    df = parse_dockerfile("ARG B=1\nFROM a:${B} AS x\nENV A=1\nRUN <<EOF\nx\nEOF\nFROM x\n", "p")
    env, run = df.stages[0].instructions
    for obj in (df, df.stages[0], df.stages[0].base, env, env.pairs[0], run.heredocs[0], ParseWarning(1, "m")):
        values = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        plain = dataclasses.make_dataclass(type(obj).__name__, [(f.name, f.type, f) for f in dataclasses.fields(obj)],
                                           frozen=True)(**values)  # fmt: skip
        assert type(obj)(**values) == obj and vars(obj) == vars(plain) and hash(obj) == hash(type(obj)(**values))
        assert repr(obj).split("(", 1)[1] == repr(plain).split("(", 1)[1]
        with pytest.raises(dataclasses.FrozenInstanceError):
            obj.path = "other"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("source", "fields"),
    [
        ('instruction.args.exists(p, p == "22")', ("args",)),
        ("!instruction.json_form && size(instruction.args) > 0", ("args", "json_form")),
        ("size(instruction) > 1", None),  # the map as a whole: every field
        ('instruction.exists(k, k == "cmd")', None),
        ('instruction["cmd"] == "RUN"', None),
        ("instruction.?args", None),
        ("my_instruction.cmd", None),
    ],
)
def test_cel_gets_every_field_it_may_read(source, fields):
    assert _instruction_fields(source) == (fields or tuple(_instruction_dict(Instruction("RUN", "", ()))))


@pytest.mark.parametrize(
    "script",
    [
        "echo a 2>&1 >/dev/null | sh",
        "echo 'unclosed",
        'a "b',
        "x \\",
        "a\x0bb",
        "a`b",
        "#c\nd; e & f |& g",
        "3<&- cmd <<< word",
        "a \\\n b && (c || d)",
    ],
)
def test_shell_tokens_keep_their_kinds(script):
    commands, _ = parse_script(script)
    assert all(c.argv for c in commands)


def test_shell_reads_redirections_junk_and_comments():
    commands, pipe = parse_script("curl -k x 2>&1 >/dev/null | sh # not | a pipe\necho 'a")
    assert pipe and [c.argv for c in commands] == [["curl", "-k", "x"], ["sh"], ["echo", "", "a"]]  # lone quote
    assert [c.words for c in parse_script("a\x0bb")[0]] == [["a\x0b", "b"]]  # junk joins the word before it


def test_plain_words_take_the_fast_path_with_the_same_result():
    assert split_words("a  b\tc\u00a0d", None) == (["a", "b", "c\u00a0d"], False)
    assert expand_word("plain", {"X": "1"}) == ("plain", False)
    assert expand_word("$X", {"X": "1"}) == ("1", False)


def test_secret_hint_does_not_hide_secrets():
    assert secret_value("curl https://user:secret@example.com/x") == "credentials in a URL"
    assert secret_value("AKIA" + "A" * 16) == "an AWS access key id"
    assert secret_value("apt-get install -y curl") is None


def test_scope_cache_sees_later_arg_and_env():
    df = parse_dockerfile("FROM alpine\nARG A=1\nWORKDIR /$A\nENV A=2\nWORKDIR /$A\nARG B\nUSER $B\n")
    assert [i.args for i in df.stages[0].instructions if i.cmd in ("WORKDIR", "USER")] == [("/1",), ("/2",), ("",)]


PLAIN_SCRIPTS = [
    "",
    "apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*",
    "set -eux; groupadd -r app; useradd -r -g app app",
    "curl -fsSL https://example.com/x.tgz | tar xz -C /usr/local",
    "a||b&&c;;d|&e&f;g\nh\n\n|i",
    "\t sudo  -u app  env A=1 B=2 nohup xargs -n 1 echo $X ${Y} $",
    "sh -c curl|bash",
    "bash -c x; if a; then b; fi; for x in y; do z; done",
    "| a |",
    "&& ;; ||",
    "{ a; } ! b",
]


@pytest.mark.parametrize("script", PLAIN_SCRIPTS)
def test_plain_scripts_read_as_the_tokenizer_reads_them(script):
    assert shell._NOT_PLAIN.search(script) is None
    assert repr(shell._parse_plain(script, 0)) == repr(shell._parse_tokens(script, 0))


@pytest.mark.parametrize("script", ["echo 'a b'", 'a "b"', "a \\\n b", "a`b`", "a # c | d", "a > f", "a <f",
                                    "$(a | b)", "(a)", "a\rb", "a\x0bb", "a\u00a0b | c", "a\fb"])
def test_scripts_with_quotes_redirections_or_odd_blanks_take_the_tokenizer(script):
    assert shell._NOT_PLAIN.search(script) is not None


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="ab -|&;\n\t$={}/*.0", max_size=30))
def test_random_plain_scripts_read_as_the_tokenizer_reads_them(script):
    assert repr(shell._parse_plain(script, 0)) == repr(shell._parse_tokens(script, 0))


SHELL_WORDS = ["a", "/bin/sudo", "sudo", "-u", "env", "X=1", "x=", "=", "for", "if", "case", "nohup", "xargs", "gosu",
               "doas", "time", "-n", "then", "b/c", "{", "!"]  # fmt: skip


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(SHELL_WORDS), min_size=1, max_size=6))
def test_a_first_word_outside_the_peeled_sets_starts_the_command(words):
    first = words[0]
    if first not in shell._LEADING_WORDS and "=" not in first and first.rsplit("/", 1)[-1] not in shell._PEELED:
        assert shell._peel(words, words) == (0, False, [])


@pytest.mark.parametrize(
    "source",
    [
        "FROM a\nRUN apt-get update && curl x | sh\nRUN cd /x; wget y\nFROM b\nRUN pip3 install x && python -m pip i\n"
        "RUN yum install -y x && dnf install y\nRUN echo\nRUN sudo zypper in z; microdnf install q\n",
        "FROM a\nSHELL [\"pwsh\", \"-c\"]\nRUN curl x\n",
        "FROM a\nRUN [\"apt-get\", \"install\", \"x\"]\nRUN <<EOF\napk add x\nEOF\n",
    ],
)
def test_runs_naming_is_the_runs_filtered_by_name(source):
    ctx = Context(parse_dockerfile(source))
    names = {n for run in ctx.runs for n in run.names} | {"nothing", "apt"}
    for size in (0, 1, 2, 3):
        for group in itertools.combinations(sorted(names), size):
            wanted = frozenset(group)
            assert ctx.runs_naming(wanted) == [r for r in ctx.runs if not r.names.isdisjoint(wanted)]
    for prefixes in (("pip", "python"), ("x",), ("a", "c")):
        assert ctx.runs_naming(frozenset({"echo"}), prefixes) == [
            r for r in ctx.runs if any(n == "echo" or n.startswith(prefixes) for n in r.names)
        ]


def _split_flags_reference(rest):
    """The character loop `_split_flags` replaced (its regex must read the same)."""
    flags, i, n = [], 0, len(rest)
    while True:
        while i < n and rest[i] in " \t":
            i += 1
        if not rest.startswith("--", i) or i + 2 >= n or rest[i + 2] in " \t=":
            break
        j, quote = i, ""
        while j < n:
            c = rest[j]
            if quote:
                quote = "" if c == quote else quote
            elif c in "'\"":
                quote = c
            elif c in " \t":
                break
            j += 1
        name, eq, value = rest[i + 2 : j].partition("=")
        if eq and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        flags.append((name.lower(), value if eq else None))
        i = j
    return flags, rest[i:]


def _matching_brace_reference(text, i):
    depth = 1
    for k in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[k], 0)
        if depth == 0:
            return k
    return -1


FLAG_TEXTS = ["--mount=type=cache,target=/x apt-get", "  --from=build  a b", "--a='x y' --B=\"q\" z", "--x='unclosed y",
              "-- a", "--=a", "--", "---x y", "\t--no-cache\tx", "a --b", ""]  # fmt: skip


@pytest.mark.parametrize("rest", FLAG_TEXTS)
def test_flags_read_as_the_character_loop_reads_them(rest):
    assert parser._split_flags(rest) == _split_flags_reference(rest)


@settings(max_examples=5000, deadline=None)
@given(st.text(alphabet="-= \tab'\"X", max_size=24))
def test_random_flags_read_as_the_character_loop_reads_them(rest):
    assert parser._split_flags(rest) == _split_flags_reference(rest)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="{}a$", max_size=16), st.integers(0, 16))
def test_matching_brace_as_the_loop_finds_it(text, start):
    assert expand._matching_brace(text, start) == _matching_brace_reference(text, start)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="ab \t\\`'\"${}:-]^", max_size=20), st.sampled_from(["\\", "`"]))
def test_lexer_reads_runs_of_ordinary_characters_as_it_reads_them_one_by_one(text, escape):
    def read() -> list[tuple[object, object]]:
        return [(expand.split_words(text, e, escape), expand.expand_word(text, e, escape)) for e in ({"a": "1"}, None)]

    by_runs = read()
    one_by_one = expand._ordinary.__wrapped__  # the run pattern without its `+`: one character a step
    original = expand._ordinary
    try:
        expand._ordinary = lambda *key: re.compile(one_by_one(*key).pattern.removesuffix("+"))
        assert read() == by_runs
    finally:
        expand._ordinary = original


def _lexed(text: str, env: dict, escape: str) -> tuple[tuple[list[str], bool], tuple[str, bool]]:
    """split_words and expand_word as the character loop (`expand._lex`, the general path) reads `text`."""
    split, word = expand._State(), expand._State()
    words = expand._lex(text, env, escape, True, split)
    joined = "".join(expand._lex(text, env, escape, False, word))
    return (words, split.unresolved), (joined, word.unresolved)


REFERENCE_ENV = {"A": "x a", "B": "", "C": None, "L": "y" * 40_000}
REFERENCE_PIECES = ["$", "{", "}", "A", "x", " ", "\t", ":-", ":+", "-", "#", "%", "/", "$A", "${A}", "${B:-x y}",
                    "${C}", "${A#x}", "${A/a/b}", "${D:?m}", "$L", "${L}", "\\", "'", '"', "`", "\n"]  # fmt: skip


@settings(max_examples=5000, deadline=None)
@given(st.lists(st.sampled_from(REFERENCE_PIECES), max_size=9), st.sampled_from(["\\", "`"]))
def test_references_expand_as_the_character_loop_expands_them(pieces, escape):
    text = "".join(pieces)
    fast = (expand.split_words(text, REFERENCE_ENV, escape), expand.expand_word(text, REFERENCE_ENV, escape))
    assert fast == _lexed(text, REFERENCE_ENV, escape)


@pytest.mark.parametrize(
    ("text", "word_fast", "split_fast"),
    [("$A/${B}x $", True, True), ("${A:-a b}", True, False), ("${A${B}}", False, False), ("${A", False, False),
     ("'$A'", False, False), ("\\$A", False, False), ("$$L$L", True, True)],
)  # fmt: skip
def test_reference_shortcut_applies_where_it_reads_as_the_loop(text, word_fast, split_fast):
    assert (expand._references_only(text, "\\", False), expand._references_only(text, "\\", True)) == (
        word_fast,
        split_fast,
    )
    assert (expand.split_words(text, REFERENCE_ENV), expand.expand_word(text, REFERENCE_ENV)) == _lexed(
        text, REFERENCE_ENV, "\\"
    )


def test_cel_rules_over_from_or_every_kind_read_every_instruction_in_order():
    ctx = Context(parse_dockerfile("FROM a AS x\nRUN r\nEXPOSE 1\nFROM x\nCMD c\nEXPOSE 2\n"))
    every = [(s.index, i.start_line) for s in ctx.df.stages for i in s.all_instructions()]
    assert [(s.index, i.start_line) for s, i in _matched(ctx, frozenset())] == every
    assert [i.start_line for _, i in _matched(ctx, frozenset({"FROM", "EXPOSE"}))] == [1, 3, 4, 6]
    assert [i.start_line for _, i in _matched(ctx, frozenset({"CMD", "EXPOSE", "RUN"}))] == [2, 3, 5, 6]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["apt-get", "-y", "-o", "Dpkg::x=1", "install", "-q", "a", "-", "", "b"],
         ("install", {"-y", "-o", "-q"}, {"-o": "Dpkg::x=1"}, ["a", "-", "", "b"])),
        (["apt-get", "install", "-o"], ("install", {"-o"}, {}, [])),
        (["apk", "add", "-t", ".deps", "--no-cache", "x", "--", "-y"],
         ("add", {"-t", "--no-cache"}, {"-t": ".deps"}, ["x", "-y"])),
        (["microdnf", "-c", "f", "install", "x"], ("install", {"-c"}, {"-c": "f"}, ["x"])),
        (["npm", "-qq", "i", "-fmy", "x"], ("i", {"-q", "-qq", "-f", "-m", "-y"}, {}, ["x"])),
    ],
)
def test_package_manager_options_and_operands(argv, expected):
    tool = argv[0]
    opts = {"apt-get": packages.APT_VALUE_OPTS, "apk": packages.APK_VALUE_OPTS, "npm": packages.NPM_VALUE_OPTS,
            "microdnf": packages.RPM_VALUE_OPTS}[tool]  # fmt: skip
    call = packages.invocation(Command(argv, 0, 0, False, [], list(argv)), tool, opts)
    assert (call.sub, call.options, call.values, call.operands) == expected


def test_not_plain_is_the_alternation_it_replaced():
    alternation = re.compile(r"[^\t\n\x20-\x7e]|['\"\\`#<>()]")
    for code in [*range(0x3100), 0x10FFFF]:
        assert (shell._NOT_PLAIN.search(chr(code)) is None) == (alternation.search(chr(code)) is None), hex(code)
