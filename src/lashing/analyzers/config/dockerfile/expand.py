"""Dockerfile word splitting and ARG/ENV substitution (the subset of shell lexing Docker applies).

Supported: single and double quotes, the active escape character, `$var`, `${var}`, `${var:-word}`,
`${var-word}`, `${var:+word}`, `${var+word}`, `${var:?msg}`, `${var#glob}`, `${var##glob}`,
`${var%glob}`, `${var%%glob}`, `${var/glob/repl}`, `${var//glob/repl}`. Variables whose value is not
known statically (unset, `ARG X` without default, base-image ENV, built-in platform ARGs) expand to
"" and mark the result unresolved, so checks can tell "empty" from "unknown". Results are capped
(`MAX_EXPANSION`) against exponential ENV chains.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from functools import lru_cache

MAX_EXPANSION = 64 * 1024
_NAME_START = re.compile(r"[A-Za-z_]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BLANKS = re.compile(r"[ \t\r\n]+")  # what `_lex` splits words on

Env = Mapping[str, str | None]


class _State:
    __slots__ = ("expanded", "unresolved")

    def __init__(self) -> None:
        self.unresolved = False
        self.expanded = 0  # characters produced by substitutions so far (bounded by MAX_EXPANSION)


def _plain(text: str, env: Env | None, escape: str) -> bool:
    """True when `_lex` would copy `text` unchanged: no escape, no quote, no `$` to expand."""
    return escape not in text and "'" not in text and '"' not in text and (env is None or "$" not in text)


# A reference: `$NAME` (group 2), `${...}` up to the first `}` with no `{` before it (group 1, the body), or a
# lone `$` (which `_dollar` also counts against MAX_EXPANSION), as `_dollar_raw` and `_matching_brace` read it.
_REFERENCE = re.compile(r"\$(?:\{([^{}]*)\}|([A-Za-z_][A-Za-z0-9_]*))?")
_BRACED = re.compile(r"\$\{[^{}]*\}")
_BRACED_WORD = re.compile(r"\$\{[^{} \t\r\n]*\}")  # ... with no blank inside, one that cannot span two words


def _references_only(text: str, escape: str, split: bool) -> bool:
    """True when `_lex` reads `text` as ordinary characters and references `_REFERENCE` reads the same way: no
    quote, no escape character, every `${` closed before any `{` (and, when `split`, before any blank)."""
    if escape in text or "'" in text or '"' in text:
        return False
    braces = text.count("${")
    return braces == 0 or braces == len((_BRACED_WORD if split else _BRACED).findall(text))


def _expand_references(text: str, env: Env, escape: str, state: _State) -> str:
    """`text` (which `_references_only` accepts) with its references expanded, in order, as `_lex` expands them."""

    def reference(m: re.Match[str]) -> str:
        body, name = m.groups()
        if body is not None:
            return _spend(_braced(body, env, escape, state), state)
        return _spend((_lookup(name, env, state) or "") if name is not None else "$", state)

    return _REFERENCE.sub(reference, text)


def split_words(text: str, env: Env | None, escape: str = "\\") -> tuple[list[str], bool]:
    """Split `text` into words as Docker does for COPY/EXPOSE/...; expand variables when `env` is given."""
    if _plain(text, env, escape):
        return [word for word in _BLANKS.split(text) if word], False
    state = _State()
    if env is not None and _references_only(text, escape, True):  # no quotes or escapes: split, then expand
        words = [_expand_references(w, env, escape, state) if "$" in w else w for w in _BLANKS.split(text) if w]
        return words, state.unresolved
    words = _lex(text, env, escape, True, state)
    return words, state.unresolved


def expand_word(text: str, env: Env | None, escape: str = "\\") -> tuple[str, bool]:
    """Process `text` as one word (quotes removed, variables expanded), e.g. WORKDIR or USER."""
    if _plain(text, env, escape):
        return text, False
    state = _State()
    if env is not None and _references_only(text, escape, False):
        return _expand_references(text, env, escape, state), state.unresolved
    words = _lex(text, env, escape, False, state)
    return ("".join(words) if words else ""), state.unresolved


@lru_cache(maxsize=16)
def _ordinary(escape: str, dollar: bool, split: bool) -> re.Pattern[str]:
    """A run of the characters `_lex` copies as they are: no escape, quote, `$` (when expanding) or
    blank (when splitting)."""
    specials = escape + "'\"" + ("$" if dollar else "") + (" \t\r\n" if split else "")
    return re.compile("[^" + "".join("\\" + c if c in "\\]^-" else c for c in specials) + "]+")


def _lex(text: str, env: Env | None, escape: str, split: bool, state: _State) -> list[str]:
    ordinary = _ordinary(escape, env is not None, split)
    words: list[str] = []
    cur: list[str] = []
    started = False
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == escape:
            if i + 1 < n:
                cur.append(text[i + 1])
            i += 2
            started = True
        elif c == "'":
            j = text.find("'", i + 1)
            j = n if j < 0 else j
            cur.append(text[i + 1 : j])
            i = j + 1
            started = True
        elif c == '"':
            i = _double_quoted(text, i + 1, env, escape, cur, state)
            started = True
        elif c == "$" and env is not None:
            value, i = _dollar(text, i, env, escape, state)
            cur.append(value)
            started = True
        elif split and c in " \t\r\n":
            if started:
                words.append("".join(cur))
                cur = []
                started = False
            i += 1
        else:
            m = ordinary.match(text, i)  # text[i] is ordinary: a run of at least one character
            end = m.end() if m else i + 1
            cur.append(text[i:end])
            started = True
            i = end
    if started:
        words.append("".join(cur))
    return words


def _double_quoted(text: str, i: int, env: Env | None, escape: str, cur: list[str], state: _State) -> int:
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            return i + 1
        if c == escape and i + 1 < n:
            nxt = text[i + 1]
            if nxt in ('"', "$", escape):
                cur.append(nxt)
            else:
                cur.append(c + nxt)
            i += 2
        elif c == "$" and env is not None:
            value, i = _dollar(text, i, env, escape, state)
            cur.append(value)
        else:
            cur.append(c)
            i += 1
    return i


def _lookup(name: str, env: Env, state: _State) -> str | None:
    if name in env:
        value = env[name]
        if value is None:
            state.unresolved = True
        return value
    state.unresolved = True
    return None


def _dollar(text: str, i: int, env: Env, escape: str, state: _State) -> tuple[str, int]:
    """Expand the reference starting at text[i] == "$"; returns (value, next index)."""
    value, end = _dollar_raw(text, i, env, escape, state)
    return _spend(value, state), end


def _spend(value: str, state: _State) -> str:
    """A reference's value, cut where the substitutions so far would exceed MAX_EXPANSION (then unresolved)."""
    if state.expanded + len(value) > MAX_EXPANSION:
        state.unresolved = True
        value = value[: max(0, MAX_EXPANSION - state.expanded)]
    state.expanded += len(value)
    return value


def _dollar_raw(text: str, i: int, env: Env, escape: str, state: _State) -> tuple[str, int]:
    n = len(text)
    if i + 1 >= n:
        return "$", i + 1
    nxt = text[i + 1]
    if nxt == "{":
        end = _matching_brace(text, i + 2)
        if end < 0:
            state.unresolved = True
            return text[i:], n
        return _braced(text[i + 2 : end], env, escape, state), end + 1
    m = _NAME.match(text, i + 1)
    if not m:
        return "$", i + 1
    value = _lookup(m.group(0), env, state)
    return (value or ""), m.end()


def _matching_brace(text: str, i: int) -> int:
    """Index of the `}` that closes the `{` before text[i], or -1."""
    close = text.find("}", i)
    if close < 0:
        return -1
    if text.find("{", i, close) < 0:
        return close  # no nested brace (the usual case)
    depth = 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _braced(body: str, env: Env, escape: str, state: _State) -> str:
    m = _NAME.match(body)
    if not m:
        state.unresolved = True
        return ""
    name = m.group(0)
    rest = body[m.end() :]
    if not rest:
        return _lookup(name, env, state) or ""
    is_set = name in env
    value = env.get(name) if is_set else None
    known = value is not None

    def word(w: str) -> str:
        return expand_inner(w, env, escape, state)

    for op in (":-", ":+", ":?", "-", "+", "?"):
        if rest.startswith(op):
            arg = rest[len(op) :]
            present = known and (value != "" or not op.startswith(":"))
            kind = op[-1]
            if kind == "-":
                # an ARG declared without default takes the fallback unless given at build time
                return (value or "") if present else word(arg)
            if is_set and not known:
                state.unresolved = True  # declared ARG without default: value only known at build time
            if kind == "+":
                return word(arg) if present else ""
            if known:
                return value or ""
            state.unresolved = True
            return ""
    if not known:
        state.unresolved = True
        return ""
    assert value is not None
    if len(value) > 512:
        state.unresolved = True
        return value
    for op in ("##", "#", "%%", "%"):
        if rest.startswith(op):
            pattern = word(rest[len(op) :])
            return _trim(value, pattern, op)
    if rest.startswith("/"):
        body2 = rest[1:]
        all_matches = body2.startswith("/")
        if all_matches:
            body2 = body2[1:]
        pat, _, repl = body2.partition("/")
        return _replace(value, word(pat), word(repl), all_matches)
    state.unresolved = True
    return value


def expand_inner(text: str, env: Env, escape: str, state: _State) -> str:
    words = _lex(text, env, escape, False, state)
    return "".join(words)


def _glob(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(fnmatch.translate(pattern).removesuffix(r"\Z").removeprefix("(?s:").removesuffix(")"))
    except re.error:
        return None


def _trim(value: str, pattern: str, op: str) -> str:
    rx = _glob(pattern)
    if rx is None:
        return value
    ranges = range(len(value) + 1)
    if op in ("#", "##"):
        order = ranges if op == "#" else reversed(ranges)
        for k in order:
            if rx.fullmatch(value[:k]):
                return value[k:]
        return value
    order = reversed(ranges) if op == "%" else ranges
    for k in order:
        if rx.fullmatch(value[k:]):
            return value[:k]
    return value


def _replace(value: str, pattern: str, repl: str, all_matches: bool) -> str:
    rx = _glob(pattern)
    if rx is None or not pattern:
        return value
    out: list[str] = []
    i = 0
    n = len(value)
    while i <= n:
        match_end = -1
        for k in range(n, i, -1):
            if rx.fullmatch(value[i:k]):
                match_end = k
                break
        if match_end > i:
            out.append(repl)
            i = match_end
            if not all_matches:
                out.append(value[i:])
                return "".join(out)[:MAX_EXPANSION]
        else:
            if i < n:
                out.append(value[i])
            i += 1
    return "".join(out)[:MAX_EXPANSION]


def has_variable(text: str) -> bool:
    """True when `text` contains a `$name` or `${` reference."""
    idx = text.find("$")
    while idx >= 0:
        if idx + 1 < len(text) and (text[idx + 1] == "{" or _NAME_START.match(text[idx + 1])):
            return True
        idx = text.find("$", idx + 1)
    return False
