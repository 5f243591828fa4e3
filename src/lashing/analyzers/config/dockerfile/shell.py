"""A small POSIX shell reader for RUN bodies: enough to find the simple commands and their words.

It splits on `&&`, `||`, `;`, `|`, `&` and newlines outside quotes, drops redirections and comments,
peels wrappers (`sudo`, `env`, `nohup`, `time`, `exec`, `command`, `xargs`, `if/then/do...`,
`VAR=value` prefixes) and reads `sh -c '...'` scripts recursively. It is a linter's reader, not an
interpreter: no expansion, no functions, no control flow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_SCRIPT = 256 * 1024
MAX_DEPTH = 4

# The script's tokens, in this order of preference; `findall` (no match objects) returns the texts and
# `parse_script` tells the kinds apart by their text (every character belongs to exactly one token).
_TOKEN = re.compile(
    r"""
    [ \t\r]+|\\\n                    # whitespace, line continuation
  | \n                                # newline
  | [0-9]*(?:>>|&>>|&>|>&|<&|>\||<<<|<>|>|<)(?:&[0-9-]+)?  # redirection
  | &&|\|\||;;|\|&|[;&|()]           # operator
  | (?:[^\s'"\\;&|()<>`$]+|'[^']*'|"(?:[^"\\]|\\.)*"|\\.|`[^`]*`|\$\((?:[^()]|\([^()]*\))*\)|\$)+  # word
  | .                                 # junk: a character no other kind takes
    """,
    re.X | re.S,
)
_REDIRECT = re.compile(r"[0-9]*(?:>>|&>>|&>|>&|<&|>\||<<<|<>|>|<)(?:&[0-9-]+)?")
_REDIRECT_START = frozenset("0123456789<>&")
_OPERATORS = frozenset({"&&", "||", ";;", "|&", ";", "&", "|", "(", ")"})
_UNPAIRED = frozenset({"'", '"', "`", "\\"})  # junk when alone: an unclosed quote, a trailing escape
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_DUPLICATE = re.compile(r"&[0-9-]+$")  # `2>&1`: a redirection without a target word
_KEYWORDS = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "case"})
_WRAPPERS = frozenset({"nohup", "time", "exec", "command", "builtin", "eatmydata", "nice", "ionice", "chronic"})
SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "mksh", "busybox"})
_LEADING_WORDS = _KEYWORDS | {"for", "select"}  # `_peel` reads them as a first word
_PEELED = _WRAPPERS | {"sudo", "doas", "su-exec", "gosu", "env", "xargs"}  # basenames `_peel` reads past
# A script with no character but tab, newline and printable ASCII other than these has no quotes, escapes,
# substitutions, redirections, comments, junk or unusual blanks: `_TOKEN` reads it as blank-separated words
# between the operators of `_PLAIN_SPLIT`. `_NOT_PLAIN` is one character class (a much faster search than
# an alternation).
_SPECIAL = "'\"\\`#<>()"
_PLAIN_CHARACTERS = "\t\n" + "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in _SPECIAL)
_NOT_PLAIN = re.compile("[^" + re.escape(_PLAIN_CHARACTERS) + "]")
# `_TOKEN`'s operators and newline, each longest first as `_TOKEN` reads them; every alternative starts with
# a literal, so the search skips to the next `\n;&|` (~3x faster than `&&|\|\||;;|\|&|[\n;&|]`).
_PLAIN_SPLIT = re.compile(r"(\n|;;?|&&?|\|[|&]?)")


@dataclass
class Command:
    """One simple command: `argv` with quotes removed, `name` the basename of argv[0]."""

    argv: list[str]
    pipeline: int = 0
    position: int = 0
    sudo: bool = False
    assignments: list[tuple[str, str]] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        self.name = self.argv[0].rsplit("/", 1)[-1] if self.argv else ""

    @property
    def args(self) -> list[str]:
        return self.argv[1:]


def unquote(word: str) -> str:
    if "'" not in word and '"' not in word and "\\" not in word:
        return word
    out: list[str] = []
    i = 0
    n = len(word)
    while i < n:
        c = word[i]
        if c == "'":
            j = word.find("'", i + 1)
            j = n if j < 0 else j
            out.append(word[i + 1 : j])
            i = j + 1
        elif c == '"':
            i += 1
            while i < n and word[i] != '"':
                if word[i] == "\\" and i + 1 < n and word[i + 1] in '"\\$`':
                    out.append(word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            i += 1
        elif c == "\\" and i + 1 < n:
            out.append(word[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_script(script: str, depth: int = 0) -> tuple[list[Command], bool]:
    """Simple commands of `script` and whether any pipe (`|`) joins two of them."""
    if depth > MAX_DEPTH:
        return [], False
    script = script[:MAX_SCRIPT]
    if _NOT_PLAIN.search(script) is None:
        return _parse_plain(script, depth)
    return _parse_tokens(script, depth)


def _parse_tokens(script: str, depth: int) -> tuple[list[Command], bool]:
    """`parse_script` for any script: `_TOKEN`'s tokens, told apart by their text."""
    commands: list[Command] = []
    has_pipe = False
    words: list[str] = []
    pipeline = 0
    position = 0
    skip_next = False
    at_word_start = True
    skip_until = -1  # end of a `# comment`

    def flush() -> None:
        nonlocal words
        if words:
            commands.extend(_simple(words, pipeline, position, depth))
        words = []

    end = 0
    for text in _TOKEN.findall(script):
        start = end
        end += len(text)
        first = text[0]
        if first in " \t\r" or text == "\\\n":  # whitespace
            at_word_start = True
            continue
        # A text the regex can read as an earlier kind is of that kind (the regex tries them in order).
        redirect = first in _REDIRECT_START and _REDIRECT.fullmatch(text) is not None
        if not redirect and text != "\n" and text not in _OPERATORS:  # a word, or junk
            if at_word_start and first == "#":
                # comment up to the end of the line: skip by consuming until newline
                newline = script.find("\n", end)
                skip_until = len(script) if newline < 0 else newline
            if skip_until > start:
                continue
            if skip_next:
                skip_next = False
                at_word_start = False
                continue
            junk = len(text) == 1 and (text in _UNPAIRED or text.isspace())
            if junk and words and not at_word_start:
                words[-1] += text
            else:
                words.append(text)
            at_word_start = False
            continue
        if skip_until > start:
            continue
        at_word_start = True
        if redirect:
            if not _DUPLICATE.search(text):
                skip_next = True
            continue
        if text == "\n" or text in (";", "&&", "||", "&", ";;", "(", ")"):
            flush()
            pipeline += 1
            position = 0
            continue
        if text in ("|", "|&"):
            flush()
            has_pipe = True
            position += 1
    flush()
    return commands, has_pipe


def _parse_plain(script: str, depth: int) -> tuple[list[Command], bool]:
    """`parse_script` for a script `_NOT_PLAIN` finds nothing in: split on the operators, then on blanks."""
    commands: list[Command] = []
    has_pipe = False
    pipeline = 0
    position = 0
    parts = _PLAIN_SPLIT.split(script)  # segment, operator, segment, ..., segment
    last = len(parts) - 1
    for k in range(0, last + 1, 2):
        words = parts[k].split()
        if words:
            commands.extend(_simple(words, pipeline, position, depth, plain=True))
        if k < last:
            if parts[k + 1] in ("|", "|&"):
                has_pipe = True
                position += 1
            else:
                pipeline += 1
                position = 0
    return commands, has_pipe


def _simple(words: list[str], pipeline: int, position: int, depth: int, plain: bool = False) -> list[Command]:
    """The simple command of `words` (wrappers peeled) and those of a `sh -c` script it runs;
    `plain` when no word has quotes or escapes to remove."""
    raw = words  # the caller starts a new list after each command
    argv = words if plain else [unquote(w) for w in words]
    first = argv[0]
    if first in _LEADING_WORDS or "=" in raw[0] or first.rsplit("/", 1)[-1] in _PEELED:
        peeled = _peel(argv, raw)
        if peeled is None:
            return []
        i, sudo, assignments = peeled
    else:  # the first word is the command: nothing to peel
        i, sudo, assignments = 0, False, []
    argv = argv[i:]
    if not argv and not assignments:
        return []
    command = Command(argv, pipeline, position, sudo, assignments, raw[i:])
    out = [command]
    if argv and command.name in SHELLS:
        script = _dash_c(argv)
        if script is not None:
            inner, _ = parse_script(script, depth + 1)
            for sub in inner:
                sub.sudo = sub.sudo or sudo
                sub.pipeline = (pipeline + 1) * 100_000 + sub.pipeline
            out.extend(inner)
    return out


def _peel(argv: list[str], raw: list[str]) -> tuple[int, bool, list[tuple[str, str]]] | None:
    """Where the command starts after keywords, `VAR=value` prefixes and wrappers (`sudo`, `env`, ...),
    whether `sudo`/`doas` wraps it and the assignments met; None for a `for`/`select`/`case` line."""
    sudo = False
    assignments: list[tuple[str, str]] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        base = word.rsplit("/", 1)[-1]
        if word in _KEYWORDS or (i == 0 and word in ("for", "select")):
            if word in ("for", "select", "case"):
                return None
            i += 1
        elif "=" in raw[i] and _ASSIGN.match(raw[i]):
            key, _, value = word.partition("=")
            assignments.append((key, value))
            i += 1
        elif base in ("sudo", "doas", "su-exec", "gosu"):
            sudo = sudo or base in ("sudo", "doas")
            i += 1
            if base in ("su-exec", "gosu") and i < len(argv):
                i += 1  # the user
                continue
            while i < len(argv) and argv[i].startswith("-"):
                opt = argv[i]
                i += 1
                if opt in ("-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U") and i < len(argv):
                    i += 1
        elif base == "env":
            i += 1
            while i < len(argv) and (argv[i].startswith("-") or "=" in argv[i]):
                if "=" in argv[i] and not argv[i].startswith("-"):
                    key, _, value = argv[i].partition("=")
                    assignments.append((key, value))
                i += 1
        elif base in _WRAPPERS:
            i += 1
            while i < len(argv) and argv[i].startswith("-"):
                i += 1
        elif base == "xargs":
            i += 1
            while i < len(argv) and argv[i].startswith("-"):
                opt = argv[i]
                i += 1
                if opt in ("-I", "-n", "-P", "-L", "-d", "-E", "-s") and i < len(argv):
                    i += 1
        else:
            break
    return i, sudo, assignments


def _dash_c(argv: list[str]) -> str | None:
    for k, arg in enumerate(argv[1:], start=1):
        if arg.startswith("-") and not arg.startswith("--") and "c" in arg[1:]:
            return argv[k + 1] if k + 1 < len(argv) else None
        if not arg.startswith("-"):
            return None
    return None
