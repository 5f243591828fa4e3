"""The rpm header blob as the package databases store it, parsed with strict bounds checks.

Layout (big endian): `il` (index entry count) and `dl` (data store length), then `il` entries of
16 bytes (tag, type, offset into the store, count), then the `dl`-byte data store. Database blobs
have no leading header magic; a blob that starts with it (8e ad e8 01) is accepted too.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

HEADER_MAGIC = b"\x8e\xad\xe8\x01"
MAX_INDEX_ENTRIES = 0xFFFF  # rpm's own limit (hdrchkTags)
MAX_DATA_LENGTH = 0x0FFFFFFF  # rpm's own limit (hdrchkData): 256 MiB

# Tag numbers (rpmtag.h).
NAME, VERSION, RELEASE, EPOCH, SUMMARY = 1000, 1001, 1002, 1003, 1004
VENDOR, LICENSE, ARCH, SOURCERPM, MODULARITYLABEL = 1011, 1014, 1022, 1044, 5096

# Value types (rpmtag.h: rpmTagType).
CHAR, INT8, INT16, INT32, INT64, STRING, BIN, STRING_ARRAY, I18NSTRING = 1, 2, 3, 4, 5, 6, 7, 8, 9
_INT_FORMATS = {CHAR: ("B", 1), INT8: ("B", 1), INT16: ("H", 2), INT32: ("I", 4), INT64: ("Q", 8)}
_STRING_TYPES = (STRING, STRING_ARRAY, I18NSTRING)


class HeaderError(ValueError):
    """The blob is not a well-formed rpm header."""


@dataclass(frozen=True)
class Entry:
    tag: int
    type: int
    offset: int
    count: int


class Header:
    """Index of one header blob; values are decoded on demand and bounds-checked."""

    def __init__(self, blob: bytes) -> None:
        if blob[:4] == HEADER_MAGIC:
            blob = blob[8:]
        if len(blob) < 8:
            raise HeaderError(f"header too short ({len(blob)} bytes)")
        il, dl = struct.unpack_from(">II", blob, 0)
        if il == 0 or il > MAX_INDEX_ENTRIES:
            raise HeaderError(f"index entry count {il} out of range")
        if dl > MAX_DATA_LENGTH:
            raise HeaderError(f"data length {dl} out of range")
        store = 8 + 16 * il
        if store + dl > len(blob):
            raise HeaderError(f"header truncated: needs {store + dl} bytes, has {len(blob)}")
        self._blob = bytes(blob)
        self._start, self._end = store, store + dl
        self._entries: dict[int, Entry] = {}
        for i in range(il):
            tag, typ, offset, count = struct.unpack_from(">IIII", blob, 8 + 16 * i)
            if tag not in self._entries:
                self._entries[tag] = Entry(tag, typ, offset, count)

    def __contains__(self, tag: int) -> bool:
        return tag in self._entries

    def string(self, tag: int) -> str | None:
        """A STRING, or the first string of an I18NSTRING / STRING_ARRAY; None when absent or invalid."""
        entry = self._entries.get(tag)
        if entry is None or entry.type not in _STRING_TYPES or entry.count < 1:
            return None
        found = self._cstring(entry.offset)
        return found[0] if found else None

    def strings(self, tag: int, limit: int = 4096) -> list[str] | None:
        entry = self._entries.get(tag)
        if entry is None or entry.type not in _STRING_TYPES or entry.count < 1:
            return None
        out: list[str] = []
        offset = entry.offset
        for _ in range(min(entry.count, limit)):
            found = self._cstring(offset)
            if found is None:
                return None
            out.append(found[0])
            offset += found[1] + 1
        return out

    def integer(self, tag: int) -> int | None:
        """The first value of an integer entry; None when absent or out of bounds."""
        entry = self._entries.get(tag)
        if entry is None or entry.type not in _INT_FORMATS or entry.count < 1:
            return None
        fmt, size = _INT_FORMATS[entry.type]
        if entry.offset + size > self._end - self._start:
            return None
        return int(struct.unpack_from(">" + fmt, self._blob, self._start + entry.offset)[0])

    def _cstring(self, offset: int) -> tuple[str, int] | None:
        """The NUL-terminated string at `offset` and its length in bytes; None if it runs off the store."""
        start = self._start + offset
        if start >= self._end:
            return None
        end = self._blob.find(b"\0", start, self._end)
        if end < 0:
            return None
        raw = self._blob[start:end]
        return raw.decode("utf-8", errors="replace"), len(raw)


def parse_header(blob: bytes) -> Header:
    """Parse a header blob; raises HeaderError (never anything else) when it is malformed."""
    try:
        return Header(blob)
    except struct.error as exc:  # cannot happen after the length checks, kept as a guard
        raise HeaderError(str(exc)) from None
