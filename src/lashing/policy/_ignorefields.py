"""Field checks shared by the ignore-file formats."""

from __future__ import annotations

from lashing.policy._glob import is_only_wildcards
from lashing.policy._yamlnodes import Entry
from lashing.policy.interface import PolicyError
from lashing.policy.purl import PurlPattern, parse_purl

MAX_ID = 200


def check_id(value: str, entry: Entry | None = None, where: str = "") -> str:
    """An id (or id glob) to ignore: no spaces, bounded, and not a bare wildcard that hides everything."""
    problem = ""
    if any(c.isspace() for c in value) or len(value) > MAX_ID:
        problem = f"'id' is not an id ({value[:80]!r})"
    elif is_only_wildcards(value):
        problem = f"'id' {value!r} would match every finding; name the ids to ignore"
    if problem:
        raise entry.error(problem) if entry is not None else PolicyError(f"{where}: {problem}")
    return value


def package_pattern(value: str, entry: Entry, key: str) -> str | PurlPattern:
    """A purl pattern for values starting with `pkg:`, else a package name (glob)."""
    if not value.startswith("pkg:"):
        return value
    pattern = parse_purl(value)
    if pattern is None:
        raise entry.error(f"{key!r} is not a valid purl ({value[:120]})")
    return pattern
