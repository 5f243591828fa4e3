"""Kubernetes label selectors: matchLabels AND matchExpressions (In, NotIn, Exists, DoesNotExist)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass(frozen=True)
class Selector:
    """A parsed label selector; the empty selector matches everything."""

    labels: tuple[tuple[str, str], ...] = ()
    expressions: tuple[tuple[str, str, frozenset[str]], ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.labels and not self.expressions

    def matches(self, labels: Mapping[str, str]) -> bool:
        for key, value in self.labels:
            if labels.get(key) != value:
                return False
        for key, op, values in self.expressions:
            present = key in labels
            if op == "In" and not (present and labels[key] in values):
                return False
            if op == "NotIn" and present and labels[key] in values:
                return False
            if op == "Exists" and not present:
                return False
            if op == "DoesNotExist" and present:
                return False
        return True

    def __str__(self) -> str:
        if self.is_empty:
            return "{}"
        parts = [f"{k}={v}" for k, v in self.labels]
        for key, op, values in self.expressions:
            vals = ",".join(sorted(values))
            parts.append({"In": f"{key} in ({vals})", "NotIn": f"{key} notin ({vals})",
                          "Exists": key, "DoesNotExist": f"!{key}"}[op])
        return ",".join(parts)


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None if value is None else str(value).lower()
    if isinstance(value, str | int | float):
        return str(value)
    return None


def parse_selector(raw: Any, where: str, warnings: list[str]) -> Selector | None:
    """A selector from its manifest form; None (matches nothing) with a warning when it is malformed.

    A missing or null selector is the caller's business (it often means "not set"); `{}` is the empty selector.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        warnings.append(f"{where}: selector is not a mapping; it matches nothing")
        return None
    labels = []
    match_labels = raw.get("matchLabels") or {}
    if not isinstance(match_labels, Mapping):
        warnings.append(f"{where}: matchLabels is not a mapping; the selector matches nothing")
        return None
    for key, value in match_labels.items():
        text = _text(value)
        if text is None or not isinstance(key, str):
            warnings.append(f"{where}: matchLabels {key!r} has a non-scalar value; the selector matches nothing")
            return None
        labels.append((key, text))
    expressions = []
    raw_exprs = raw.get("matchExpressions") or []
    if not isinstance(raw_exprs, list):
        warnings.append(f"{where}: matchExpressions is not a list; the selector matches nothing")
        return None
    for index, expr in enumerate(raw_exprs):
        if not isinstance(expr, Mapping):
            warnings.append(f"{where}: matchExpressions[{index}] is not a mapping; the selector matches nothing")
            return None
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if not isinstance(key, str) or not key or op not in OPERATORS or not isinstance(values, list):
            warnings.append(f"{where}: matchExpressions[{index}] has a bad key, operator {op!r} or values; "
                            "the selector matches nothing")
            return None
        texts = [_text(v) for v in values]
        if any(t is None for t in texts):
            warnings.append(f"{where}: matchExpressions[{index}] has non-scalar values; the selector matches nothing")
            return None
        if (op in ("In", "NotIn")) != bool(texts):
            need = "needs values" if op in ("In", "NotIn") else "takes no values"
            warnings.append(f"{where}: matchExpressions[{index}] operator {op} {need}; the selector matches nothing")
            return None
        expressions.append((key, op, frozenset(t for t in texts if t is not None)))
    return Selector(tuple(sorted(labels)), tuple(expressions))


def labels_of(meta: Any) -> dict[str, str]:
    """`metadata.labels` as strings (non-scalar values are dropped)."""
    raw = meta.get("labels") if isinstance(meta, Mapping) else None
    if not isinstance(raw, Mapping):
        return {}
    out = {}
    for key, value in raw.items():
        text = _text(value)
        if isinstance(key, str) and text is not None:
            out[key] = text
    return out
