"""Suppressions written in the scanned files: inline comments and Kubernetes annotations.

    # lashing:ignore LSH-K8S-PRIVILEGED,LSH-K8S-HOST-PID node agent needs it
    metadata: {annotations: {lashing.dev/ignore: "LSH-K8S-PRIVILEGED : node agent"}}

A comment applies on its own line and to the line just below its block of comments, so it can sit
at the end of the offending line, above the field, or above the object. Ids may be rule ids or
peer aliases (CKV_K8S_16). Anything after the ids is the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from lashing.analyzers.config.catalog import Rule

_COMMENT = re.compile(r"#\s*lashing:ignore\b(.*)$", re.IGNORECASE)
_ID = re.compile(r"^[A-Z][A-Z0-9_.\-]*[A-Z0-9]$")
ANNOTATION = "lashing.dev/ignore"


def parse_ids(text: str) -> set[str]:
    """Leading id tokens (comma or space separated) of an ignore directive; the rest is the reason."""
    ids: set[str] = set()
    for token in re.split(r"[\s,]+", text.strip()):
        if not token or token in (":", "-"):
            if ids:
                break
            continue
        if not _ID.match(token.rstrip(":")):
            break
        ids.add(token.rstrip(":").upper())
        if token.endswith(":"):
            break
    return ids


class Suppressions:
    """The ignore comments of one file, by line."""

    def __init__(self, text: str) -> None:
        self.by_line: dict[int, set[str]] = {}
        self.comment_only: set[int] = set()
        if "lashing:ignore" not in text.lower():
            return
        for number, line in enumerate(text.splitlines(), 1):
            match = _COMMENT.search(line)
            if match:
                self.by_line[number] = parse_ids(match.group(1))
                if line.lstrip().startswith("#"):
                    self.comment_only.add(number)

    def ids_for(self, line: int | None) -> set[str]:
        """Ids ignored at `line`: on the line itself or in the comment block right above it."""
        if line is None or not self.by_line:
            return set()
        found = set(self.by_line.get(line, ()))
        above = line - 1
        while above in self.comment_only:
            found |= self.by_line[above]
            above -= 1
        return found


def annotation_ids(annotations: Mapping[str, Any]) -> set[str]:
    value = annotations.get(ANNOTATION)
    return parse_ids(value.replace(",", " ")) if isinstance(value, str) else set()


def is_suppressed(rule: Rule, ids: Iterable[str]) -> bool:
    wanted = set(ids)
    return rule.id.upper() in wanted or any(alias.upper() in wanted for alias in rule.aliases)
