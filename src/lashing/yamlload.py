"""PyYAML's safe loader in its libyaml (C) build where that is safe, else the pure-Python one.

libyaml is about 8x faster (the bundled Dockerfile and secret catalogs took ~40 ms each to load with the
pure-Python loader), but its composer recurses on the C stack and crashes the whole process on deeply
nested input (100,000 `[`). Text whose nesting could pass MAX_FAST_DEPTH goes to the pure-Python loader,
which raises RecursionError instead; every caller turns that into a clean error.
"""

from __future__ import annotations

from typing import Any

import yaml

FastLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_FAST_DEPTH = 500
_INDICATORS = "[{-:?"


def nesting_bound(text: str) -> int:
    """An upper bound on the YAML nesting depth: every flow bracket, plus the deepest line's indentation and
    `-`, `:`, `?` characters (each could open a compact nested block)."""
    flow = text.count("[") + text.count("{")
    block = max(
        (2 * (len(line) - len(line.lstrip())) + sum(map(line.count, "-:?")) for line in text.splitlines()), default=0
    )
    return flow + block + 2


def fast_is_safe(text: str | bytes) -> bool:
    """Whether libyaml may compose `text`: first a bound from a few character counts (every nesting level
    needs a bracket or an indicator), then, for larger documents, the line-by-line bound."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")  # same length and same ASCII indicators, whatever the encoding
    if sum(map(text.count, _INDICATORS)) + 2 <= MAX_FAST_DEPTH:
        return True
    return nesting_bound(text) <= MAX_FAST_DEPTH


def loader_for(text: str | bytes) -> type:
    """The safe loader class to use for `text`."""
    return FastLoader if fast_is_safe(text) else yaml.SafeLoader


def load_bundled(text: str) -> Any:
    """Safe-load YAML shipped inside the lashing package (our own rule catalogs), always through libyaml:
    it is not a stranger's input, and its CEL list literals make the nesting bound of `fast_is_safe`
    refuse it (the Kubernetes catalog: 73 ms through the pure-Python loader, 7 ms through libyaml)."""
    return yaml.load(text, Loader=FastLoader)


def safe_load(text: str | bytes) -> Any:
    """`yaml.safe_load(text)`, through libyaml when that is safe (same results on the safe tag set)."""
    return yaml.load(text, Loader=loader_for(text))
