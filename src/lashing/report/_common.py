"""Helpers shared by the report formats: stable package ids, purls, timestamps, layer labels."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime

from packageurl import PackageURL

from lashing.model import Package, Report

_NOP = re.compile(r"^/bin/sh -c #\(nop\)\s*")
_SHELL = re.compile(r"^(RUN\s+)?(\|\d+(\s+\S+=\S*)*\s+)?/bin/(ba)?sh -c\s+")


def package_fingerprint(pkg: Package) -> str:
    """16 hex digits over what tells two packages apart: identity, purl, every location and the layer."""
    parts = [
        pkg.type.value, pkg.name, pkg.version, pkg.purl, pkg.arch,
        [[loc.path, loc.layer_diff_id or ""] for loc in pkg.locations],
        pkg.layer.diff_id if pkg.layer else "",
    ]
    blob = json.dumps(parts, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    return hashlib.sha256(blob).hexdigest()[:16]


def package_ids(packages: Sequence[Package]) -> list[str]:
    """One id per package, stable across runs and unique within the list (exact duplicates get a suffix)."""
    seen: dict[str, int] = {}
    out = []
    for pkg in packages:
        base = package_fingerprint(pkg)
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.append(base if count == 0 else f"{base}-{count + 1}")
    return out


def package_purl(pkg: Package) -> PackageURL | None:
    """The package's purl, parsed; None when it has none or it does not parse (reports never invent one)."""
    if not pkg.purl:
        return None
    try:
        purl = PackageURL.from_string(pkg.purl)
        purl.to_string()  # some parsed values cannot be re-serialized (e.g. a blank version)
    except (ValueError, TypeError):
        return None
    return purl


def report_time(report: Report) -> datetime:
    """`generated_at` as an aware datetime (UTC when it names no zone); now when missing or malformed."""
    try:
        value = datetime.fromisoformat(report.generated_at)
    except ValueError:
        return datetime.now(UTC).replace(microsecond=0)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def short_created_by(created_by: str | None, limit: int = 48) -> str:
    """A history entry as a short one-line label: shell boilerplate dropped, whitespace collapsed."""
    if not created_by:
        return ""
    text = _NOP.sub("", created_by.strip())
    text = _SHELL.sub("RUN ", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def digest_hex(digest: str | None) -> str:
    """`sha256:abc…` -> `abc…` (lowercase hex only; empty when there is none)."""
    if not digest:
        return ""
    value = digest.rpartition(":")[2].lower()
    return value if re.fullmatch(r"[0-9a-f]{8,128}", value) else ""
