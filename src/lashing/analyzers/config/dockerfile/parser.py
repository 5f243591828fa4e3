"""Dockerfile parser (own code, after the Dockerfile reference; no BuildKit needed).

Never raises on malformed input: problems become `ParseWarning`s with a line number. Bounded: the
file is cut at `MAX_BYTES`, a logical line at `MAX_LINE`, the instruction count at `MAX_INSTRUCTIONS`,
and substitution results at `expand.MAX_EXPANSION`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from .expand import Env, expand_word, has_variable, split_words
from .model import Dockerfile, Heredoc, ImageRef, Instruction, KeyValue, ParseWarning, Stage

MAX_BYTES = 4 * 1024 * 1024
MAX_LINE = 1024 * 1024
MAX_INSTRUCTIONS = 50_000
MAX_HEREDOCS_PER_INSTRUCTION = 16

INSTRUCTIONS = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
        "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    }
)  # fmt: skip
EXPANDED = frozenset(
    {"ADD", "COPY", "ENV", "ARG", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}
)
JSON_CAPABLE = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"})
HEREDOC_CAPABLE = frozenset({"RUN", "COPY", "ADD"})
FLAGGED = frozenset({"FROM", "RUN", "COPY", "ADD", "HEALTHCHECK"})
KNOWN_DIRECTIVES = frozenset({"syntax", "escape", "check"})
# Built-in ARGs BuildKit defines in the global scope; their values depend on the build.
PLATFORM_ARGS = (
    "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
    "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT", "TARGETSTAGE",
)  # fmt: skip

_DIRECTIVE = re.compile(r"^\s*#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_HEREDOC = re.compile(r"<<(-?)\s*(?:\"([^\"\s]+)\"|'([^'\s]+)'|([A-Za-z0-9_][A-Za-z0-9_.\-]*))")
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9\-_.]*$")
_BLANKS = re.compile(r"[ \t\r\n]+")  # what `_raw_words` splits on
# Blanks, then maybe a flag: `--`, a character that is no blank or `=`, and up to a blank outside quotes (an
# unclosed quote runs to the end); group 1 is the flag without its `--`.
_FLAG_STARTS = ("--", " ", "\t")  # a text `_split_flags` may find flags in starts so
_FLAG = re.compile(r"""[ \t]*+(?:--(?=[^ \t=])((?:[^ \t'"]++|'[^']*+'?|"[^"]*+"?)*+))?""")


class _Logical:
    """One instruction as written: its first and last line (1-based), its text (continuations joined),
    that text's first word (`keyword`, "" for a blank text) and the rest, and its here-documents."""

    __slots__ = ("end", "heredocs", "keyword", "rest", "start", "text")

    def __init__(self, start: int, end: int, text: str) -> None:
        self.start = start
        self.end = end
        self.text = text
        parts = text.split(None, 1)  # `_split_keyword`, inlined (one call less per instruction)
        self.keyword = parts[0] if parts else ""
        self.rest = parts[1] if len(parts) == 2 else ""
        self.heredocs: tuple[Heredoc, ...] = ()


def _split_keyword(text: str) -> tuple[str, str]:
    """The first word of `text` and what follows the blanks after it ("" and "" for a blank text); what
    `^\\s*(\\S+)(?:\\s+(.*))?$` reads (str.split and the regex agree on what a blank is)."""
    parts = text.split(None, 1)
    if len(parts) == 2:
        return parts[0], parts[1]
    return (parts[0], "") if parts else ("", "")


def decode(content: bytes | str) -> tuple[str, list[ParseWarning]]:
    warnings: list[ParseWarning] = []
    if isinstance(content, bytes):
        if len(content) > MAX_BYTES:
            warnings.append(ParseWarning(0, f"file larger than {MAX_BYTES} bytes: only the start is read"))
            content = content[:MAX_BYTES]
        text = content.decode("utf-8", errors="replace")
    else:
        text = content
        if len(text) > MAX_BYTES:
            warnings.append(ParseWarning(0, f"file larger than {MAX_BYTES} characters: only the start is read"))
            text = text[:MAX_BYTES]
    return text.removeprefix("\ufeff").replace("\x00", ""), warnings


def parse_dockerfile(content: bytes | str, path: str = "Dockerfile") -> Dockerfile:
    """Parse a Dockerfile; never raises for bad content (see `Dockerfile.warnings`)."""
    text, warnings = decode(content)
    lines = text.split("\n")
    if "\r" in text:
        lines = [line.removesuffix("\r") for line in lines]
    directives, escape, first = _directives(lines, warnings)
    comments: list[tuple[int, str]] = []
    logicals = _logical_lines(lines, first, escape, comments, warnings)
    return _build(path, directives, escape, logicals, comments, warnings)


def _directives(lines: list[str], warnings: list[ParseWarning]) -> tuple[list[tuple[str, str]], str, int]:
    directives: list[tuple[str, str]] = []
    seen: set[str] = set()
    escape = "\\"
    index = 0
    for index, line in enumerate(lines):
        m = _DIRECTIVE.match(line)
        if not m or m.group(1).lower() not in KNOWN_DIRECTIVES:
            break
        name, value = m.group(1).lower(), m.group(2)
        if name in seen:
            warnings.append(ParseWarning(index + 1, f"parser directive {name!r} given twice; the first one is used"))
            continue
        seen.add(name)
        directives.append((name, value))
        if name == "escape":
            if value in ("\\", "`"):
                escape = value
            else:
                warnings.append(ParseWarning(index + 1, f"invalid escape character {value!r}; using backslash"))
    else:
        index = len(lines)
    return directives, escape, index


def _logical_lines(
    lines: list[str], first: int, escape: str, comments: list[tuple[int, str]], warnings: list[ParseWarning]
) -> list[_Logical]:
    out: list[_Logical] = []
    i = first
    n = len(lines)
    while i < n:
        line = lines[i]
        stripped = line.lstrip()
        if not stripped:
            i += 1
            continue
        if stripped[0] == "#":
            comments.append((i + 1, stripped.rstrip()))
            i += 1
            continue
        if len(out) >= MAX_INSTRUCTIONS:
            warnings.append(ParseWarning(i + 1, f"more than {MAX_INSTRUCTIONS} instructions: the rest is ignored"))
            break
        start = i
        if len(line) <= MAX_LINE and not line.rstrip(" \t").endswith(escape):  # one line, the usual case
            i += 1
            logical = _Logical(i, i, line)
            if "<<" in logical.rest:
                i = _attach_heredocs(logical, lines, i, warnings)
            out.append(logical)
            continue
        parts: list[str] = []
        size = 0
        while True:
            line = lines[i]
            trimmed = line.rstrip(" \t")
            cont = trimmed.endswith(escape)
            piece = trimmed[:-1] if cont else line
            if size + len(piece) <= MAX_LINE:
                parts.append(piece)
                size += len(piece)
            elif size <= MAX_LINE:
                warnings.append(ParseWarning(start + 1, f"instruction longer than {MAX_LINE} characters: truncated"))
                size = MAX_LINE + 1
            i += 1
            if not cont:
                break
            # inside a continuation: comment lines and empty lines are dropped, as BuildKit does
            while i < n and (not (stripped := lines[i].lstrip()) or stripped[0] == "#"):
                i += 1
            if i >= n:
                break
        logical = _Logical(start + 1, i, "".join(parts))
        if "<<" in logical.rest:
            i = _attach_heredocs(logical, lines, i, warnings)
        out.append(logical)
    return out


def _heredoc_markers(text: str) -> list[tuple[str, bool, bool]]:
    """Heredoc markers (name, strip_tabs, expand) outside quotes in an instruction line."""
    markers: list[tuple[str, bool, bool]] = []
    quote = ""
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if quote:
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "<" and text.startswith("<<", i) and not text.startswith("<<<", i):
            m = _HEREDOC.match(text, i)
            if m:
                name = m.group(2) or m.group(3) or m.group(4)
                markers.append((name, m.group(1) == "-", m.group(4) is not None))
                i = m.end()
                continue
            i += 2
            continue
        i += 1
    return markers


def _attach_heredocs(logical: _Logical, lines: list[str], i: int, warnings: list[ParseWarning]) -> int:
    """Attach the here-documents that follow `logical` (from lines[i:]); returns the next line index."""
    cmd = logical.keyword.upper()
    rest = logical.rest
    if cmd == "ONBUILD":
        inner, rest = _split_keyword(rest)
        if not inner:
            return i
        cmd = inner.upper()
    if cmd not in HEREDOC_CAPABLE or "<<" not in rest or rest.lstrip().startswith("["):
        return i
    markers = _heredoc_markers(rest)[:MAX_HEREDOCS_PER_INSTRUCTION]
    heredocs: list[Heredoc] = []
    n = len(lines)
    for name, strip_tabs, expand in markers:
        start = i + 1
        body: list[str] = []
        size = 0
        closed = False
        while i < n:
            line = lines[i]
            i += 1
            candidate = line.lstrip("\t") if strip_tabs else line
            if candidate == name:
                closed = True
                break
            if strip_tabs:
                line = candidate
            if size <= MAX_LINE:
                body.append(line)
                size += len(line) + 1
        if not closed:
            warnings.append(ParseWarning(logical.start, f"heredoc {name!r} is not terminated"))
        content = "\n".join(body) + ("\n" if body else "")
        heredocs.append(Heredoc(name, content, strip_tabs, expand, start, i))
    logical.heredocs = tuple(heredocs)
    logical.end = max(logical.end, i)
    return i


# ---------------------------------------------------------------- instructions


def _split_flags(rest: str) -> tuple[list[tuple[str, str | None]], str]:
    """Leading `--name[=value]` words (quotes allowed in values) and the remaining text."""
    flags: list[tuple[str, str | None]] = []
    if not rest.startswith(_FLAG_STARTS):
        return flags, rest  # no flag (the usual case)
    while True:
        m = _FLAG.match(rest)
        word = m.group(1)
        if word is None:
            return flags, rest[m.end() :]
        name, eq, value = word.partition("=")
        if eq and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        flags.append((name.lower(), value if eq else None))
        rest = rest[m.end() :]


def _json_array(text: str) -> list[str] | None:
    stripped = text.strip()
    if not stripped.startswith("["):
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _raw_words(text: str, escape: str) -> list[str]:
    """Split on whitespace outside quotes, keeping quotes and escapes for a later `expand_word`."""
    if escape not in text and "'" not in text and '"' not in text:
        return [word for word in _BLANKS.split(text) if word]
    words: list[str] = []
    cur: list[str] = []
    quote = ""
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == escape and i + 1 < n and quote != "'":
            cur.append(text[i : i + 2])
            i += 2
            continue
        if quote:
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c in " \t\r\n":
            if cur:
                words.append("".join(cur))
                cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    if cur:
        words.append("".join(cur))
    return words


def _pairs(
    cmd: str, rest: str, env: Env | None, escape: str, sequential: bool = False
) -> tuple[list[KeyValue], list[bool]]:
    """NAME=value pairs of ENV/ARG/LABEL (and the legacy `ENV NAME value`), each with its unresolved flag.

    ENV and LABEL substitute with the variables as they were before the instruction; ARG defaults
    see the ARGs declared earlier in the same instruction (`sequential`).
    """
    raw = _raw_words(rest, escape)
    if not raw:
        return [], []
    if cmd == "ENV" and "=" not in raw[0]:
        rest_value = rest.strip()[len(raw[0]) :].strip()
        value, unresolved = expand_word(rest_value, env, escape)
        return [KeyValue(expand_word(raw[0], None, escape)[0], value)], [unresolved]
    local = dict(env) if env is not None else None
    pairs: list[KeyValue] = []
    flags: list[bool] = []
    for word in raw:
        key_raw, eq, value_raw = word.partition("=")
        key = expand_word(key_raw, None, escape)[0]
        if not eq:
            pairs.append(KeyValue(key, None))
            flags.append(False)
            continue
        value, unresolved = expand_word(value_raw, local, escape)
        pairs.append(KeyValue(key, value))
        flags.append(unresolved)
        if sequential and local is not None:
            local[key] = None if unresolved else value
    return pairs, flags


class _Scope:
    """Variables visible while building a stage: ARG values and ENV, ENV taking precedence.

    Change them through `set_arg`/`set_env` only: `mapping()` is cached until the next change.
    """

    def __init__(
        self,
        globals_: dict[str, str | None],
        env: dict[str, str | None] | None = None,
        args: dict[str, str | None] | None = None,
    ) -> None:
        self.globals = globals_
        self.args: dict[str, str | None] = dict(args or {})
        self.env: dict[str, str | None] = dict(env or {})
        self._merged: dict[str, str | None] | None = None

    def mapping(self) -> dict[str, str | None]:
        """ARGs overlaid with ENV; shared between calls, so callers must not modify it."""
        if self._merged is None:
            self._merged = {**self.args, **self.env}
        return self._merged

    def set_arg(self, key: str, value: str | None) -> None:
        self.args[key] = value
        self._merged = None

    def set_env(self, key: str, value: str | None) -> None:
        self.env[key] = value
        self._merged = None


def parse_image_ref(text: str, unresolved: bool = False) -> ImageRef:
    raw = text.strip()
    rest = raw
    digest = ""
    if "@" in rest:
        rest, _, digest = rest.partition("@")
    tag = ""
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
    registry = ""
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, rest = first, remainder
    return ImageRef(raw=raw, registry=registry, repository=rest, tag=tag, digest=digest, unresolved=unresolved)


# What an instruction's body reader returns: (args, json_form, pairs, pair_unresolved, unresolved).
_Body = tuple[tuple[str, ...], bool, tuple[KeyValue, ...], tuple[bool, ...], bool]
_BodyReader = Callable[[str, str, Env | None, str, _Logical, list[ParseWarning]], _Body]


def _json_body(arr: list[str], env: Env | None, escape: str) -> _Body:
    """An exec-form (JSON array) body, its words expanded when `env` is given."""
    if env is None:
        return tuple(arr), True, (), (), False
    expanded: list[str] = []
    unresolved = False
    for word in arr:
        value, unres = expand_word(word, env, escape) if "$" in word else (word, False)
        expanded.append(value)
        unresolved = unresolved or unres
    return tuple(expanded), True, (), (), unresolved


def _shell_body(cmd: str, body: str, env: Env | None, escape: str, logical: _Logical,
                warnings: list[ParseWarning]) -> _Body:  # fmt: skip
    """RUN, CMD, ENTRYPOINT: the exec form's words, or the shell form's text as one word."""
    stripped = body.strip()
    if stripped.startswith("[") and (arr := _json_array(stripped)) is not None:
        return _json_body(arr, env, escape)
    return ((stripped,) if stripped else ()), False, (), (), False


def _shell_instruction_body(cmd: str, body: str, env: Env | None, escape: str, logical: _Logical,
                            warnings: list[ParseWarning]) -> _Body:  # fmt: skip
    """SHELL: the exec form (the only valid one), or a warning and the text as one word."""
    stripped = body.strip()
    if stripped.startswith("[") and (arr := _json_array(stripped)) is not None:
        return _json_body(arr, env, escape)
    warnings.append(ParseWarning(logical.start, "SHELL requires the JSON (exec) form"))
    return (stripped,), False, (), (), False


def _words_body(cmd: str, body: str, env: Env | None, escape: str, logical: _Logical,
                warnings: list[ParseWarning]) -> _Body:  # fmt: skip
    """FROM, EXPOSE and the others: words split as Docker splits them (expanded when `env` is given)."""
    words, unresolved = split_words(body, env, escape)
    if env is None and has_variable(body):
        unresolved = True
    return tuple(words), False, (), (), unresolved


def _files_body(cmd: str, body: str, env: Env | None, escape: str, logical: _Logical,
                warnings: list[ParseWarning]) -> _Body:  # fmt: skip
    """COPY, ADD, VOLUME: the exec form's words, or words split as Docker splits them."""
    if (arr := _json_array(body)) is not None:
        return _json_body(arr, env, escape)
    return _words_body(cmd, body, env, escape, logical, warnings)


def _healthcheck_body(cmd: str, body: str, env: Env | None, escape: str, logical: _Logical,
                      warnings: list[ParseWarning]) -> _Body:  # fmt: skip
    """HEALTHCHECK: ("NONE",), ("CMD", exec-form words or the shell text), or a warning and the words."""
    sub = body.strip().split(None, 1)
    if not sub:
        return (), False, (), (), False
    if sub[0].upper() == "NONE":
        return ("NONE",), False, (), (), False
    if sub[0].upper() == "CMD":
        inner = sub[1] if len(sub) > 1 else ""
        arr = _json_array(inner)
        words = arr if arr is not None else ([inner.strip()] if inner.strip() else [])
        return ("CMD", *words), arr is not None, (), (), False
    warnings.append(ParseWarning(logical.start, "HEALTHCHECK needs CMD or NONE"))
    return tuple(sub), False, (), (), False


def _pairs_body(cmd: str, body: str, env: Env | None, escape: str, logical: _Logical,
                warnings: list[ParseWarning]) -> _Body:  # fmt: skip
    """ENV, ARG, LABEL: the NAME=value pairs, and `NAME=value` (or `NAME`) words as args."""
    pair_list, unresolved_flags = _pairs(cmd, body, env, escape, sequential=cmd == "ARG")
    pairs = tuple(pair_list)
    args = tuple(p.key if p.value is None else f"{p.key}={p.value}" for p in pairs)
    return args, False, pairs, tuple(unresolved_flags), any(unresolved_flags)


def _value_body(cmd: str, body: str, env: Env | None, escape: str, logical: _Logical,
                warnings: list[ParseWarning]) -> _Body:  # fmt: skip
    """USER, WORKDIR, STOPSIGNAL, MAINTAINER: the text as one word (MAINTAINER's not expanded)."""
    unresolved = False
    if env is not None:
        value, unresolved = expand_word(body.strip(), env, escape)
    elif cmd == "MAINTAINER":
        value = body.strip()
    else:
        value = expand_word(body.strip(), None, escape)[0]
        unresolved = has_variable(body)
    return ((value,) if value or body.strip() else ()), False, (), (), unresolved


_BODY_READERS: dict[str, _BodyReader] = {
    "RUN": _shell_body, "CMD": _shell_body, "ENTRYPOINT": _shell_body, "SHELL": _shell_instruction_body,
    "COPY": _files_body, "ADD": _files_body, "VOLUME": _files_body, "HEALTHCHECK": _healthcheck_body,
    "ENV": _pairs_body, "ARG": _pairs_body, "LABEL": _pairs_body,
    "USER": _value_body, "WORKDIR": _value_body, "STOPSIGNAL": _value_body, "MAINTAINER": _value_body,
}  # fmt: skip


def _make(
    cmd: str,
    rest: str,
    logical: _Logical,
    scope: _Scope | None,
    escape: str,
    warnings: list[ParseWarning],
    expand: bool = True,
) -> Instruction:
    env = scope.mapping() if (scope is not None and expand and cmd in EXPANDED) else None
    flags: list[tuple[str, str | None]] = []
    body = rest
    if cmd in FLAGGED and rest.startswith(_FLAG_STARTS):
        flags, body = _split_flags(rest)
        if env is not None and flags:
            flags = [(k, expand_word(v, env, escape)[0] if v is not None else None) for k, v in flags]
    read = _BODY_READERS.get(cmd, _words_body)
    args, json_form, pairs, pair_unresolved, unresolved = read(cmd, body, env, escape, logical, warnings)
    return Instruction(
        cmd, logical.text.strip(), args, tuple(flags), json_form, logical.heredocs, logical.start, logical.end,
        rest, pairs, None, unresolved, pair_unresolved,
    )  # fmt: skip


_SETS_SCOPE = frozenset({"FROM", "ONBUILD", "ARG", "ENV"})  # what `_build` does more for than `_make`


def _build(
    path: str,
    directives: list[tuple[str, str]],
    escape: str,
    logicals: list[_Logical],
    comments: list[tuple[int, str]],
    warnings: list[ParseWarning],
) -> Dockerfile:
    global_vals: dict[str, str | None] = dict.fromkeys(PLATFORM_ARGS)
    global_args: list[Instruction] = []
    stages: list[Stage] = []
    stage_env: list[dict[str, str | None]] = []
    current: dict | None = None
    instructions: list[Instruction] = []  # the current stage's
    scope: _Scope | None = None  # set with `current`

    def close() -> None:
        if current is not None:
            stages.append(Stage(instructions=tuple(instructions), **current))
            stage_env.append(dict(scope.env) if scope is not None else {})

    for logical in logicals:
        word = logical.keyword
        if not word:
            continue
        cmd = word.upper()
        if cmd not in INSTRUCTIONS:
            warnings.append(ParseWarning(logical.start, f"unknown instruction {word[:40]!r}"))
            continue
        if scope is not None and cmd not in _SETS_SCOPE:  # the usual case
            instructions.append(_make(cmd, logical.rest, logical, scope, escape, warnings))
            continue
        rest = logical.rest
        if cmd == "FROM":
            close()
            current = _stage_start(rest, logical, stages, global_vals, escape, warnings)
            base_stage = current["base_stage"]
            scope = _Scope(global_vals, stage_env[base_stage] if base_stage is not None else {})
            instructions = []
        elif scope is None:
            if cmd == "ARG":
                inst = _make(cmd, rest, logical, _Scope(global_vals), escape, warnings)
                for pair, unknown in zip(inst.pairs, inst.pair_unresolved, strict=False):
                    global_vals[pair.key] = None if unknown else pair.value
                global_args.append(inst)
            else:
                warnings.append(ParseWarning(logical.start, f"{cmd} before the first FROM is ignored"))
        elif cmd == "ONBUILD":
            inst = _onbuild(rest, logical, scope, escape, warnings)
            if inst is not None:
                instructions.append(inst)
        else:
            inst = _make(cmd, rest, logical, scope, escape, warnings)
            _declare(inst, scope)
            instructions.append(inst)
    close()
    if not stages and logicals:
        warnings.append(ParseWarning(logicals[0].start, "no FROM instruction"))
    return Dockerfile(
        path=path,
        directives=tuple(directives),
        escape=escape,
        global_args=tuple(global_args),
        stages=tuple(stages),
        warnings=tuple(warnings),
        comments=tuple(comments),
    )


def _stage_start(
    rest: str,
    logical: _Logical,
    stages: list[Stage],
    global_vals: dict[str, str | None],
    escape: str,
    warnings: list[ParseWarning],
) -> dict:
    """A FROM's stage fields but its instructions (`Stage(**fields, instructions=...)`)."""
    inst = _make("FROM", rest, logical, _Scope(global_vals, args=global_vals), escape, warnings)
    image = inst.args[0] if inst.args else ""
    name = ""
    if len(inst.args) >= 3 and inst.args[1].lower() == "as":
        name = inst.args[2].lower()
        if not _STAGE_NAME.match(name):
            warnings.append(ParseWarning(logical.start, f"invalid stage name {inst.args[2][:40]!r}"))
    elif len(inst.args) != 1:
        warnings.append(ParseWarning(logical.start, "FROM expects `image [AS name]`"))
    if not image:
        warnings.append(ParseWarning(logical.start, "FROM without an image"))
    base_stage = None
    for prev in stages:
        if prev.name and prev.name == image.lower():
            base_stage = prev.index
    return {
        "index": len(stages),
        "name": name,
        "base": parse_image_ref(image, unresolved=inst.unresolved),
        "from_instruction": inst,
        "base_stage": base_stage,
        "platform": inst.flag("platform"),
    }


def _onbuild(
    rest: str, logical: _Logical, scope: _Scope, escape: str, warnings: list[ParseWarning]
) -> Instruction | None:
    """An ONBUILD instruction (its inner instruction not expanded), or None (and a warning) without one."""
    inner, inner_rest = _split_keyword(rest)
    inner_cmd = inner.upper()
    if not inner or inner_cmd not in INSTRUCTIONS:
        warnings.append(ParseWarning(logical.start, "ONBUILD needs an instruction"))
        return None
    if inner_cmd in ("ONBUILD", "FROM", "MAINTAINER"):
        warnings.append(ParseWarning(logical.start, f"ONBUILD {inner_cmd} is not allowed"))
    sub = _make(inner_cmd, inner_rest, logical, scope, escape, warnings, expand=False)
    return Instruction(
        cmd="ONBUILD",
        raw=sub.raw,
        args=sub.args,
        flags=sub.flags,
        json_form=sub.json_form,
        heredocs=sub.heredocs,
        start_line=sub.start_line,
        end_line=sub.end_line,
        original=rest,
        onbuild=sub,
        unresolved=sub.unresolved,
    )


def _declare(inst: Instruction, scope: _Scope) -> None:
    """The variables an ARG or ENV of a stage sets (unresolved values are unknown: None)."""
    if inst.cmd == "ARG":
        for pair, unknown in zip(inst.pairs, inst.pair_unresolved, strict=False):
            if pair.value is None and pair.key in scope.globals:
                scope.set_arg(pair.key, scope.globals[pair.key])
            else:
                scope.set_arg(pair.key, None if unknown else pair.value)
    elif inst.cmd == "ENV":
        for pair, unknown in zip(inst.pairs, inst.pair_unresolved, strict=False):
            scope.set_env(pair.key, None if unknown else pair.value)
