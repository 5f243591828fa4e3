"""Helpers for catalogers that read compiled executables (Go build info, cargo-auditable)."""

from __future__ import annotations

import io
import struct
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


# ELF header fields by class (EI_CLASS 1: 32-bit, 2: 64-bit): where e_shoff sits and its format, where the
# (e_shentsize, e_shnum, e_shstrndx) triple sits, and where a section header's (sh_offset, sh_size) sits.
_ELF_LAYOUT = {1: (0x20, "I", 0x2E, 0x10, "II", 40), 2: (0x28, "Q", 0x3A, 0x18, "QQ", 64)}
_SHN_LORESERVE = 0xFF00


def elf_section_names(content: bytes) -> bytes | None:
    """The section-name string table of an ELF file (`e_shstrndx`'s section), read straight from the headers.

    A section is named `x` only when `x` plus its NUL terminator is in this table, so a cataloger can rule a
    section out without parsing the file or scanning all its bytes. b"" for an ELF file without section
    headers (it has no named sections). None whenever the answer is not plain (not ELF, a bad class or byte
    order, extended numbering, anything out of the file, a table not ending in NUL, a name offset past the
    table): the caller then takes its full path, which decides as before."""
    if len(content) < 64 or not content.startswith(ELF_MAGIC) or content[5] not in (1, 2):
        return None
    layout = _ELF_LAYOUT.get(content[4])
    if layout is None:
        return None
    shoff_at, shoff_fmt, counts_at, span_at, span_fmt, min_entsize = layout
    order = "<" if content[5] == 1 else ">"
    (shoff,) = struct.unpack_from(order + shoff_fmt, content, shoff_at)
    entsize, shnum, shstrndx = struct.unpack_from(order + "HHH", content, counts_at)
    if shoff == 0:  # no section header table (pyelftools counts no sections then, whatever e_shnum says)
        return b""
    if shnum == 0 or shnum >= _SHN_LORESERVE or shstrndx >= shnum or entsize < min_entsize:
        return None
    if shoff + (shnum - 1) * entsize + min_entsize > len(content):
        return None
    header = shoff + shstrndx * entsize
    offset, size = struct.unpack_from(order + span_fmt, content, header + span_at)
    if size == 0 or offset + size > len(content) or content[offset + size - 1] != 0:
        return None
    name_at = struct.Struct(order + "I").unpack_from
    if any(name_at(content, shoff + i * entsize)[0] >= size for i in range(shnum)):
        return None  # a name outside the table: pyelftools would read it from whatever bytes follow
    return content[offset : offset + size]


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
