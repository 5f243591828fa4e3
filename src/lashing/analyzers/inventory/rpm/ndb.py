"""rpm's NDB backend (`Packages.db`, SUSE's default since rpm 4.16), read from its documented layout.

All integers little endian. The file starts with slot pages (4096 bytes each, `slotnpages` of them):
the first 32 bytes are the database header (magic "RpmP", version 0, generation, slotnpages,
next package index), then 16-byte slots ("Slot", package index, block offset, block count; a zero
offset is a free slot). Offsets and counts are in 16-byte blocks. A blob is a 16-byte head
("BlbS", package index, timestamp, length), the header data, zero padding to the block count, and a
12-byte tail (adler32 of head+data+padding, length, "BlbE").
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

DB_MAGIC = b"RpmP"
SLOT_MAGIC = b"Slot"
BLOB_HEAD_MAGIC = b"BlbS"
BLOB_TAIL_MAGIC = b"BlbE"
PAGE_SIZE = 4096
SLOT_SIZE = 16
BLOCK_SIZE = 16
HEADER_SIZE = 32
BLOB_HEAD, BLOB_TAIL = 16, 12
MAX_WARNINGS = 20


def read_blobs(data: bytes, warnings: list[str]) -> Iterator[tuple[int, bytes]]:
    """Yield (package index, header blob) for each used slot, in slot order; bad slots are warned."""
    if len(data) < HEADER_SIZE or data[:4] != DB_MAGIC:
        warnings.append("not an rpm NDB database")
        return
    version, _generation, npages = struct.unpack_from("<III", data, 4)
    if version != 0:
        warnings.append(f"unsupported NDB version {version}")
        return
    if npages == 0 or npages * PAGE_SIZE > len(data):
        warnings.append(f"slot page count {npages} does not fit the file ({len(data)} bytes)")
        return
    min_block = npages * PAGE_SIZE // BLOCK_SIZE
    problems = 0
    for offset in range(HEADER_SIZE, npages * PAGE_SIZE, SLOT_SIZE):
        magic = data[offset : offset + 4]
        pkgidx, blkoff, blkcnt = struct.unpack_from("<III", data, offset + 4)
        if magic == SLOT_MAGIC and blkoff == 0:
            continue  # free slot
        error = "bad slot magic" if magic != SLOT_MAGIC else _slot_error(pkgidx, blkoff, blkcnt, min_block, len(data))
        blob = None if error else _read_blob(data, pkgidx, blkoff, blkcnt)
        if isinstance(blob, bytes):
            yield pkgidx, blob
            continue
        problems += 1
        if problems <= MAX_WARNINGS:
            warnings.append(f"slot {offset // SLOT_SIZE} (package {pkgidx}): {error or blob}")
    if problems > MAX_WARNINGS:
        warnings.append(f"{problems} bad slots in all")


def _slot_error(pkgidx: int, blkoff: int, blkcnt: int, min_block: int, size: int) -> str:
    if pkgidx == 0 or blkcnt == 0:
        return "empty package index or block count"
    if blkoff < min_block:
        return "blob offset inside the slot pages"
    if (blkoff + blkcnt) * BLOCK_SIZE > size:
        return "blob runs past the end of the file"
    if blkcnt * BLOCK_SIZE < BLOB_HEAD + BLOB_TAIL:
        return "blob too small"
    return ""


def _read_blob(data: bytes, pkgidx: int, blkoff: int, blkcnt: int) -> bytes | str:
    """The blob's data, or a reason it is unusable."""
    start, end = blkoff * BLOCK_SIZE, (blkoff + blkcnt) * BLOCK_SIZE
    magic, idx, _stamp, length = struct.unpack_from("<4sIII", data, start)
    if magic != BLOB_HEAD_MAGIC or idx != pkgidx:
        return "bad blob head"
    if (BLOB_HEAD + length + BLOB_TAIL + BLOCK_SIZE - 1) // BLOCK_SIZE != blkcnt:
        return "blob length does not match its block count"
    adler, tail_len, tail_magic = struct.unpack_from("<I I 4s", data, end - BLOB_TAIL)
    if tail_magic != BLOB_TAIL_MAGIC or tail_len != length:
        return "bad blob tail"
    if zlib.adler32(memoryview(data)[start : end - BLOB_TAIL]) != adler:
        return "blob checksum mismatch"
    return data[start + BLOB_HEAD : start + BLOB_HEAD + length]
