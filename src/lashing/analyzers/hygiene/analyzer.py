"""The hygiene analyzer: setuid/setgid files and empty passwords in the layers, config checks once per image."""

from __future__ import annotations

import stat
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, ClassVar

from lashing.analyzers.hygiene.catalog import finding
from lashing.analyzers.hygiene.checks import DEFAULT_MAX_AGE_DAYS, check_image
from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.analyzers.malware.heuristics import SETUID_BITS, is_distro_setuid
from lashing.model import Finding, Layer, Location

SHADOW_PATHS = ("etc/shadow",)
MAX_SHADOW_BYTES = 1024 * 1024


class HygieneAnalyzer(Analyzer):
    """Wants setuid/setgid files (CIS-DI-0008, listed at LOW) and /etc/shadow (DKL-LI-0001).

    `analyze_config` runs every config and history check of `check_image`. The distro end-of-life
    check needs the detected OS, known only after the walk: call `check_image(..., os_info=...)`
    or `check_eol` once the inventory is assembled.
    """

    name = "hygiene"
    version: ClassVar[int] = 1
    max_size: ClassVar[int] = 64 * 1024 * 1024

    def __init__(
        self,
        today: date | None = None,
        *,
        max_age_days: int = DEFAULT_MAX_AGE_DAYS,
        allowed_registries: Sequence[str] = (),
        reference: str = "",
    ):
        self.today = today
        self.max_age_days = max_age_days
        self.allowed_registries = tuple(allowed_registries)
        self.reference = reference

    def required(self, path: str, info: FileInfo) -> bool:
        if info.size > self.max_size:
            return False
        return bool(info.mode & SETUID_BITS) or (path in SHADOW_PATHS and 0 < info.size <= MAX_SHADOW_BYTES)

    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        found = [*setuid_file(item.path, item.info.mode)]
        if item.path in SHADOW_PATHS:
            found.extend(empty_passwords(item.path, item.content))
        return AnalysisResult(findings=tuple(found)) if found else None

    def analyze_config(self, config: Mapping[str, Any], layers: Sequence[Layer]) -> tuple[Finding, ...]:
        return tuple(
            check_image(
                config,
                layers,
                today=self.today,
                max_age_days=self.max_age_days,
                allowed_registries=self.allowed_registries,
                reference=self.reference,
            )
        )


def setuid_file(path: str, mode: int) -> list[Finding]:
    bits = mode & SETUID_BITS
    if not bits:
        return []
    which = "setuid and setgid" if bits == SETUID_BITS else ("setuid" if bits & stat.S_ISUID else "setgid")
    origin = "a distro program" if is_distro_setuid(path) else "not a known distro program"
    return [
        finding(
            "LSH-IMG-SETUID",
            Location(path),
            title=f"{which} file: /{path}",
            detail=f"/{path} is {which} (mode {mode & 0o7777:04o}, {origin}).",
            extra={"match": f"mode {mode & 0o7777:04o}", "distro": "yes" if is_distro_setuid(path) else "no"},
        )
    ]


def empty_passwords(path: str, content: bytes) -> list[Finding]:
    out = []
    for number, raw in enumerate(content.splitlines(), 1):
        fields = raw.split(b":")
        if len(fields) >= 2 and fields[0] and fields[1] == b"":
            user = fields[0].decode("utf-8", "replace")[:40]
            out.append(
                finding(
                    "LSH-IMG-EMPTY-PASSWORD",
                    Location(path, None, number),
                    title=f"Account {user} has an empty password",
                    extra={"match": f"{user}::..."},
                )
            )
    return out
