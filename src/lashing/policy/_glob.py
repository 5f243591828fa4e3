"""Globs for ignore rules: `*` and `?` (and, for paths, `**` across directories); no character classes."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=2048)
def compile_glob(pattern: str, *, paths: bool, ignore_case: bool) -> re.Pattern[str]:
    """Compile a glob. With `paths`, `*`/`?` stay within a segment and `**` crosses segments."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i) and paths:
            if pattern.startswith("**/", i):
                out.append("(?:.*/)?")
                i += 3
            else:
                out.append(".*")
                i += 2
        elif pattern[i] == "*":
            out.append("[^/]*" if paths else ".*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]" if paths else ".")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out), re.IGNORECASE if ignore_case else 0)


def is_only_wildcards(pattern: str) -> bool:
    return not pattern.replace("*", "").replace("?", "").strip("/")


def normalize_path(path: str) -> str:
    """Paths compare without a leading "/" or "./" so image paths and rootfs-relative paths agree."""
    while path.startswith("./"):
        path = path[2:]
    return path.lstrip("/")


def glob_match(pattern: str, text: str, *, paths: bool = False, ignore_case: bool = False) -> bool:
    if paths:
        pattern, text = normalize_path(pattern), normalize_path(text)
    return compile_glob(pattern, paths=paths, ignore_case=ignore_case).fullmatch(text) is not None
