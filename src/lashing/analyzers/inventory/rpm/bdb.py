"""rpm's legacy Berkeley DB backend (`Packages`, a DB hash database), parsed page by page.

Page 0 is the hash metadata page (magic 0x061561, whose byte order gives the file's, page size,
last page number). Hash pages (types 2 and 13) hold an index of item offsets after the 26-byte page
header; items alternate key/data. An item is either H_KEYDATA (type 1, bytes follow; its length runs
to the previous item's offset) or H_OFFPAGE (type 3: first overflow page number and total length);
overflow pages (type 7) chain through `next_pgno` and carry `hf_offset` bytes each. rpm's keys are
4-byte package numbers in the file's byte order; key 0 holds a counter, not a header.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

HASH_MAGIC = 0x061561
P_HASH_UNSORTED, P_OVERFLOW, P_HASHMETA, P_HASH = 2, 7, 8, 13
H_KEYDATA, H_DUPLICATE, H_OFFPAGE, H_OFFDUP = 1, 2, 3, 4
PAGE_HEADER = 26
CHECKSUM_BYTES = 6  # checksummed databases: 2 bytes of alignment and a 4-byte checksum after the header
DBMETA_CHKSUM = 0x01
MAX_WARNINGS = 20


class _Pages:
    """Bounds-checked page access in the file's byte order."""

    def __init__(self, data: bytes, order: str, pagesize: int, header: int) -> None:
        self.data, self.order, self.pagesize, self.header = data, order, pagesize, header
        self.count = len(data) // pagesize

    def page(self, pgno: int) -> bytes | None:
        if not 0 < pgno < self.count:
            return None
        return self.data[pgno * self.pagesize : (pgno + 1) * self.pagesize]

    def u16(self, page: bytes, offset: int) -> int:
        return int(struct.unpack_from(self.order + "H", page, offset)[0])

    def u32(self, page: bytes, offset: int) -> int:
        return int(struct.unpack_from(self.order + "I", page, offset)[0])


def read_blobs(data: bytes, warnings: list[str]) -> Iterator[tuple[int, bytes]]:
    """Yield (package number, header blob) for every record, in key order."""
    pages = _open(data, warnings)
    if pages is None:
        return
    records: dict[int, bytes] = {}
    problems: list[str] = []
    for pgno in range(1, pages.count):
        page = pages.page(pgno)
        if page is None or page[25] not in (P_HASH, P_HASH_UNSORTED) or pages.u32(page, 8) != pgno:
            continue
        for key, value in _items(pages, page, problems):
            if len(key) == 4 and len(value) >= 8:
                records.setdefault(int.from_bytes(key, "little" if pages.order == "<" else "big"), value)
    warnings.extend(problems[:MAX_WARNINGS])
    if len(problems) > MAX_WARNINGS:
        warnings.append(f"{len(problems)} problems in all")
    for key in sorted(records):
        yield key, records[key]


def _open(data: bytes, warnings: list[str]) -> _Pages | None:
    if len(data) < 512:
        warnings.append("not a Berkeley DB file (too short)")
        return None
    for order in ("<", ">"):
        if struct.unpack_from(order + "I", data, 12)[0] == HASH_MAGIC:
            break
    else:
        warnings.append("not a Berkeley DB hash database")
        return None
    pagesize = struct.unpack_from(order + "I", data, 20)[0]
    if pagesize < 512 or pagesize > 65536 or pagesize & (pagesize - 1):
        warnings.append(f"invalid page size {pagesize}")
        return None
    if data[24] != 0:
        warnings.append("encrypted Berkeley DB databases are not supported")
        return None
    if data[25] != P_HASHMETA:
        warnings.append(f"metadata page has type {data[25]}, not a hash database")
        return None
    header = PAGE_HEADER + (CHECKSUM_BYTES if data[26] & DBMETA_CHKSUM else 0)
    pages = _Pages(data, order, pagesize, header)
    if len(data) % pagesize:
        warnings.append("file size is not a multiple of the page size (truncated?)")
    return pages


def _items(pages: _Pages, page: bytes, problems: list[str]) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) pairs of one hash page; bad items are reported and skipped."""
    pgno = pages.u32(page, 8)
    entries = pages.u16(page, 20)
    if pages.header + 2 * entries > pages.pagesize or entries % 2:
        problems.append(f"page {pgno}: bad entry count {entries}")
        return
    offsets = [pages.u16(page, pages.header + 2 * i) for i in range(entries)]
    for i in range(0, entries, 2):
        key = _item(pages, page, offsets, i, problems)
        value = _item(pages, page, offsets, i + 1, problems)
        if key is not None and value is not None:
            yield key, value


def _item(pages: _Pages, page: bytes, offsets: list[int], i: int, problems: list[str]) -> bytes | None:
    pgno = pages.u32(page, 8)
    start = offsets[i]
    end = pages.pagesize if i == 0 else offsets[i - 1]
    if not pages.header + 2 * len(offsets) <= start < end <= pages.pagesize:
        problems.append(f"page {pgno}: item {i} out of bounds")
        return None
    kind = page[start]
    if kind == H_KEYDATA:
        return page[start + 1 : end]
    if kind == H_OFFPAGE and end - start >= 12:
        first, total = pages.u32(page, start + 4), pages.u32(page, start + 8)
        return _overflow(pages, first, total, problems)
    problems.append(f"page {pgno}: item {i} has unsupported type {kind}")
    return None


def _overflow(pages: _Pages, pgno: int, total: int, problems: list[str]) -> bytes | None:
    """Concatenate an overflow chain; refuse loops, wrong page types and lengths that do not add up."""
    if total > len(pages.data):
        problems.append(f"overflow item at page {pgno}: length {total} exceeds the file")
        return None
    parts: list[bytes] = []
    have = 0
    seen: set[int] = set()
    while pgno and have < total:
        page = pages.page(pgno)
        if page is None or pgno in seen or page[25] != P_OVERFLOW:
            problems.append(f"overflow chain broken at page {pgno}")
            return None
        seen.add(pgno)
        used = pages.u16(page, 22)
        if pages.header + used > pages.pagesize:
            problems.append(f"overflow page {pgno}: length {used} exceeds the page")
            return None
        parts.append(page[pages.header : pages.header + used])
        have += used
        pgno = pages.u32(page, 16)
    if have != total:
        problems.append(f"overflow item: {have} bytes found, {total} declared")
        return None
    return b"".join(parts)
