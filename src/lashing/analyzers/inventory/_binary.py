"""Helpers for catalogers that read compiled executables (Go build info, cargo-auditable)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import suppress
from typing import TYPE_CHECKING

from lashing.analyzers.interface import FileInfo

if TYPE_CHECKING:  # pyelftools costs ~40 ms to import: only images that hold executables pay it
    from elftools.elf.elffile import ELFFile

ELF_MAGIC = b"\x7fELF"
MIN_BINARY = 1024
# Trees that hold data, headers, docs or interpreted code, never compiled programs worth reading.
_SKIP_PREFIXES = (
    "usr/share/",
    "usr/include/",
    "etc/",
    "var/lib/dpkg/",
    "var/lib/apt/",
    "var/cache/",
    "var/log/",
    "proc/",
    "sys/",
    "dev/",
)
_SKIP_SUFFIXES = (
    ".py", ".pyc", ".sh", ".bash", ".pl", ".pm", ".rb", ".js", ".mjs", ".cjs", ".ts", ".json", ".txt",
    ".md", ".html", ".css", ".xml", ".yaml", ".yml", ".toml", ".cfg", ".conf", ".ini", ".h", ".c",
    ".png", ".jpg", ".gif", ".svg", ".gz", ".xz", ".zip", ".jar", ".a", ".o",
)  # fmt: skip


def wants_binary(path: str, info: FileInfo, max_size: int) -> bool:
    """An executable regular file of plausible size outside data-only trees."""
    if not info.executable or not (MIN_BINARY <= info.size <= max_size):
        return False
    return not path.startswith(_SKIP_PREFIXES) and not path.endswith(_SKIP_SUFFIXES)


def _errors() -> tuple[type[BaseException], ...]:
    """What pyelftools raises on malformed input (its own error plus plain lookup/struct errors)."""
    from elftools.common.exceptions import ELFError

    return (ELFError, ValueError, IndexError, KeyError, TypeError, AssertionError)


def open_elf(content: bytes) -> ELFFile | None:
    """Parse an ELF header, or None when the bytes are not a readable ELF file."""
    if not content.startswith(ELF_MAGIC):
        return None
    from elftools.elf.elffile import ELFFile

    try:
        return ELFFile(io.BytesIO(content))
    except _errors():
        return None


def elf_section_span(elf: ELFFile, content: bytes, name: str) -> tuple[int, int] | None:
    """(file offset, size) of section `name`; None when absent, NOBITS or out of the file."""
    try:
        section = elf.get_section_by_name(name)
    except _errors():
        return None
    if section is None or section["sh_type"] == "SHT_NOBITS":
        return None
    start, size = section["sh_offset"], section["sh_size"]
    if start < 0 or size < 0 or start + size > len(content):
        return None
    return start, size


def elf_section(elf: ELFFile, content: bytes, name: str) -> bytes | None:
    """The file bytes of section `name` (None when absent, NOBITS or out of the file)."""
    span = elf_section_span(elf, content, name)
    return content[span[0] : span[0] + span[1]] if span is not None else None


def elf_read(elf: ELFFile | None, content: bytes, address: int, size: int) -> bytes | None:
    """Read `size` bytes at virtual `address` through the ELF's PT_LOAD segments."""
    if elf is None or size < 0:
        return None
    with suppress(*_errors()):
        for segment in _loads(elf):
            vaddr, filesz, offset = segment["p_vaddr"], segment["p_filesz"], segment["p_offset"]
            if vaddr <= address and address + size <= vaddr + filesz:
                start = offset + (address - vaddr)
                if start + size <= len(content):
                    return content[start : start + size]
    return None


def _loads(elf: ELFFile) -> Iterator:
    for segment in elf.iter_segments():
        if segment["p_type"] == "PT_LOAD":
            yield segment
