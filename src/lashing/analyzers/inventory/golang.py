"""Go binaries: the toolchain version and module list the linker embeds (`go version -m` data).

The build info starts with the 16-byte-aligned header `\\xff Go buildinf:`, a pointer size and flags.
Go 1.18+ (flag 2) stores the version and module text inline as varint-prefixed strings; older
toolchains store two pointers to Go string headers, resolved here through the ELF load segments.
The module text sits between two 16-byte sentinels and holds `path`, `mod`, `dep` and `=>` lines.
PE and Mach-O binaries are found by scanning for the header, so only their inline (1.18+) form is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.analyzers.inventory._binary import elf_read, elf_section_span, open_elf, wants_binary
from lashing.analyzers.inventory._common import purl
from lashing.model import Package, PackageType

if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile

MAGIC = b"\xff Go buildinf:"
HEADER = 32
MAX_TEXT = 4 * 1024 * 1024
MAX_HITS = 32
FLAG_BIG_ENDIAN = 1
FLAG_INLINE = 2


@dataclass(frozen=True)
class BuildInfo:
    go_version: str
    modinfo: str


def read_build_info(content: bytes) -> BuildInfo | None:
    """Find and decode the build info of an ELF, PE or Mach-O Go binary (None when absent)."""
    if MAGIC not in content:  # a C-speed scan rejects non-Go executables before any ELF parsing
        return None
    elf = open_elf(content)
    starts: list[int] = []
    span = elf_section_span(elf, content, ".go.buildinfo") if elf is not None else None
    if span is not None:
        starts.append(span[0])
    # No section (PE, Mach-O, stripped section headers): the header is 16-byte aligned in the data
    # segment, and so in the file; the unaligned copies are the magic as a constant in Go tools.
    pos = content.find(MAGIC)
    hits = 0
    while pos >= 0 and hits < MAX_HITS:
        if pos % 16 == 0:
            starts.append(pos)
            hits += 1
        pos = content.find(MAGIC, pos + 1)
    for start in dict.fromkeys(starts):
        found = _decode(content, start, elf)
        if found is not None:
            return found
    return None


def _decode(content: bytes, start: int, elf: ELFFile | None) -> BuildInfo | None:
    header = content[start : start + HEADER]
    if len(header) < HEADER or header[14] not in (4, 8):
        return None
    ptr_size, flags = header[14], header[15]
    if flags & FLAG_INLINE:
        version, pos = _varint_string(content, start + HEADER)
        modinfo, _ = _varint_string(content, pos) if version is not None else (None, 0)
    else:
        order = "big" if flags & FLAG_BIG_ENDIAN else "little"
        first = int.from_bytes(header[16 : 16 + ptr_size], order)
        second = int.from_bytes(header[16 + ptr_size : 16 + 2 * ptr_size], order)
        version = _go_string(elf, content, first, ptr_size, order)
        modinfo = _go_string(elf, content, second, ptr_size, order)
    if not version or not version.startswith(("go", "devel")):
        return None
    return BuildInfo(version, _strip_sentinels(modinfo or ""))


def _varint_string(content: bytes, pos: int) -> tuple[str | None, int]:
    length, shift = 0, 0
    while pos < len(content) and shift < 64:
        byte = content[pos]
        pos += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            if length > MAX_TEXT or pos + length > len(content):
                return None, pos
            return content[pos : pos + length].decode("utf-8", errors="replace"), pos + length
    return None, pos


def _go_string(elf: ELFFile | None, content: bytes, address: int, ptr_size: int, order: str) -> str | None:
    """Dereference a Go string header {data *byte, len int} at `address`."""
    header = elf_read(elf, content, address, 2 * ptr_size)
    if header is None:
        return None
    data = int.from_bytes(header[:ptr_size], order)
    length = int.from_bytes(header[ptr_size:], order)
    if length > MAX_TEXT:
        return None
    raw = elf_read(elf, content, data, length)
    return raw.decode("utf-8", errors="replace") if raw is not None else None


def _strip_sentinels(modinfo: str) -> str:
    if len(modinfo) >= 33 and modinfo[-17] == "\n":
        return modinfo[16:-16]
    return ""


class GoBinaryAnalyzer(Analyzer):
    """Catalog the Go toolchain (stdlib), main module and dependencies of Go executables."""

    name = "go-binary"
    version = 2
    max_size = 256 * 1024 * 1024

    def required(self, path: str, info: FileInfo) -> bool:
        return wants_binary(path, info, self.max_size)

    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        info = read_build_info(item.content)
        if info is None:
            return None
        return AnalysisResult(packages=tuple(packages_from(info, self.name)))


def packages_from(info: BuildInfo, cataloger: str) -> list[Package]:
    """stdlib, the main module (unless "(devel)") and every dependency, replacements applied."""
    main_path, main, deps = _parse_modinfo(info.modinfo)
    extra = {"go_version": info.go_version, "main_module": main["path"] if main else main_path}
    out: list[Package] = []
    token = info.go_version.split()[0] if info.go_version.split() else ""
    if token.startswith("go") and token[2:3].isdigit():
        version = token[2:]
        out.append(
            Package(
                name="stdlib",
                version=version,
                type=PackageType.GO_STDLIB,
                purl=purl("golang", "stdlib", f"v{version}"),
                cataloger=cataloger,
                extra=extra,
            )
        )
    if main and main["path"] and main["version"] not in ("", "(devel)"):
        out.append(_module(main, cataloger, {**extra, "main": "true"}))
    out.extend(_module(dep, cataloger, extra) for dep in deps if dep["path"] and dep["version"])
    return out


def _parse_modinfo(text: str) -> tuple[str, dict[str, str] | None, list[dict[str, str]]]:
    """Split the module text into the `path` line, the main module and the dependencies."""
    main_path, main, deps = "", None, []
    last: dict[str, str] | None = None
    for line in text.splitlines():
        kind, *fields = line.split("\t")
        path, version, checksum = [*fields, "", "", ""][:3]
        if kind == "path":
            main_path = path
        elif kind in ("mod", "dep"):
            last = {"path": path, "version": version, "h1": checksum}
            if kind == "mod":
                main = last
            else:
                deps.append(last)
        elif kind == "=>" and last is not None:
            if _is_local(path, version):
                last["replaced_by"] = path  # a directory has no module identity: keep the requirement
            else:
                last.update(
                    path=path, version=version, h1=checksum, replaces=f"{last['path']}@{last['version']}"
                )
    return main_path, main, deps


def _is_local(path: str, version: str) -> bool:
    return path.startswith(("./", "../", "/")) or path in (".", "..") or version in ("", "(devel)")


def _module(mod: dict[str, str], cataloger: str, extra: dict[str, str]) -> Package:
    path, version = mod["path"], mod["version"]
    namespace, _, base = path.rpartition("/")
    more = {**extra, **{k: v for k, v in mod.items() if k not in ("path", "version") and v}}
    return Package(
        name=path,
        version=version,
        type=PackageType.GOLANG,
        purl=purl("golang", base, version, namespace=namespace or None),
        cataloger=cataloger,
        extra=more,
    )
