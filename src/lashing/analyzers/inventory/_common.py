"""Small helpers shared by the language-package catalogers: purls, licenses, bounded JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from packageurl import PackageURL


def purl(kind: str, name: str, version: str, namespace: str | None = None) -> str:
    """A package URL string; empty when the parts cannot make one (never raises)."""
    try:
        return PackageURL(
            type=kind, namespace=namespace or None, name=name, version=version or None
        ).to_string()
    except ValueError:
        return ""


def clean_licenses(values: Iterable[object], limit: int = 16, max_len: int = 200) -> tuple[str, ...]:
    """Keep short, non-placeholder license strings in order, without duplicates."""
    out: list[str] = []
    for value in values:
        if not isinstance(value, str):
            continue
        text = " ".join(value.split())
        if not text or len(text) > max_len or text.upper() in ("UNKNOWN", "NONE", "UNLICENSED?"):
            continue
        if text not in out:
            out.append(text)
        if len(out) >= limit:
            break
    return tuple(out)


def load_json(content: bytes) -> tuple[Any, str | None]:
    """Decode JSON (UTF-8, BOM tolerated); returns (value, None) or (None, warning)."""
    try:
        return json.loads(content.decode("utf-8-sig")), None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return None, f"invalid JSON ({type(exc).__name__})"


def text(value: object) -> str:
    """A JSON field as a stripped string, or '' when it is not a string."""
    return value.strip() if isinstance(value, str) else ""
