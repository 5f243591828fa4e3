"""Rust binaries built with cargo-auditable: the zlib-compressed JSON dependency tree in `.dep-v0`.

The JSON is `{"packages": [{"name", "version", "source", "kind", "dependencies", "root"}]}`, where
`kind` is "runtime" (the default, often omitted) or "build" and `dependencies` are indices into
`packages`. Only runtime packages are linked into the binary, so build-only ones are left out.
ELF only: PE and Mach-O binaries are not read.
"""

from __future__ import annotations

import json
import zlib

from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.analyzers.inventory._binary import ELF_MAGIC, elf_section, elf_section_names, open_elf, wants_binary
from lashing.analyzers.inventory._common import purl, text
from lashing.model import Package, PackageType

SECTION = ".dep-v0"
SECTION_NAME = SECTION.encode() + b"\0"
MAX_JSON = 8 * 1024 * 1024
MAX_PACKAGES = 20_000


def decompress(blob: bytes) -> bytes | None:
    """zlib-inflate at most MAX_JSON bytes; None for corrupt or oversized data."""
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(blob, MAX_JSON)
    except zlib.error:
        return None
    if inflater.unconsumed_tail:
        return None
    return data


class RustAuditableAnalyzer(Analyzer):
    """Catalog the crates recorded by cargo-auditable in Rust executables."""

    name = "rust-auditable"
    version = 2
    max_size = 256 * 1024 * 1024

    def required(self, path: str, info: FileInfo) -> bool:
        return wants_binary(path, info, self.max_size)

    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        if not item.content.startswith(ELF_MAGIC):  # scripts, PE, Mach-O: only ELF is read (open_elf)
            return None
        # The section name must be in the section-name table: read from the ELF headers when they are plain
        # (a few bytes, where scanning every executable of a Debian base layer took ~17 ms), else looked for
        # anywhere in the file.
        names = elf_section_names(item.content)
        if (SECTION_NAME not in names) if names is not None else (SECTION.encode() not in item.content):
            return None
        elf = open_elf(item.content)
        if elf is None:
            return None
        blob = elf_section(elf, item.content, SECTION)
        if blob is None:
            return None
        raw = decompress(blob)
        if raw is None:
            return AnalysisResult(warnings=(f"{SECTION}: corrupt or oversized compressed data",))
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, ValueError, RecursionError):
            return AnalysisResult(warnings=(f"{SECTION}: invalid JSON",))
        entries = data.get("packages") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            return AnalysisResult(warnings=(f"{SECTION}: no package list",))
        packages = [p for p in (self._package(e) for e in entries[:MAX_PACKAGES]) if p is not None]
        return AnalysisResult(packages=tuple(packages))

    def _package(self, entry: object) -> Package | None:
        if not isinstance(entry, dict) or text(entry.get("kind")) == "build":
            return None
        name, version = text(entry.get("name")), text(entry.get("version"))
        if not name or not version:
            return None
        extra = {"source": text(entry.get("source"))}
        if entry.get("root") is True:
            extra["root"] = "true"
        return Package(
            name=name,
            version=version,
            type=PackageType.CARGO,
            purl=purl("cargo", name, version),
            cataloger=self.name,
            extra=extra,
        )
