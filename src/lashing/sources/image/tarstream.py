"""A small, fast, bounded reader of tar headers from a forward-only stream.

Python's `tarfile` in stream mode spends most of a layer's time on per-header bookkeeping; image
layers have tens of thousands of members, so we parse the ustar / GNU / PAX headers ourselves
(the formats of POSIX.1-2001 and GNU tar) and skip member data in large reads, or by seeking when
the stream can (`can_skip`: an uncompressed layer whose digest is computed apart, see `blobs`).
Long names, PAX records and member counts are bounded; a header with a bad checksum is a corrupt layer.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from lashing.errors import InvalidImageError, LimitExceededError

BLOCK = 512
ZERO_BLOCK = bytes(BLOCK)
READ_CHUNK = 256 * 1024
SEEK_READ_CHUNK = 16 * 1024
MAX_HEADER_BYTES = 1024 * 1024

# typeflag -> kind; data follows the header for regular files and for unknown types (as tarfile does).
_KINDS = {b"0": "file", b"\0": "file", b"7": "file", b"1": "hardlink", b"2": "symlink", b"5": "dir",
          b"3": "other", b"4": "other", b"6": "other"}
_DATA_KINDS = ("file", "unknown")


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class RawMember:
    name: str
    kind: str
    size: int
    mode: int
    linkname: str


class TarStream:
    """Iterate members of a tar stream; `read_data(n)` reads from the current member."""

    def __init__(self, stream: Readable, what: str = "layer"):
        self._stream = stream
        self._what = what
        self._buf = b""
        self._pos = 0
        self._left = 0  # data bytes of the current member not yet consumed
        self._pad = 0
        # A stream that can seek (an uncompressed layer whose digest is computed apart) skips member
        # data instead of reading it, and reads ahead less since most of what follows is skipped.
        self._seek = stream.skip if getattr(stream, "can_skip", False) else None  # type: ignore[attr-defined]
        self._chunk = SEEK_READ_CHUNK if self._seek is not None else READ_CHUNK

    # -- buffered stream ------------------------------------------------------------------------
    def _fill(self, need: int) -> bool:
        """Make at least `need` bytes available; False at end of stream."""
        while len(self._buf) - self._pos < need:
            chunk = self._stream.read(max(self._chunk, need))
            if not chunk:
                return False
            self._buf = self._buf[self._pos :] + chunk
            self._pos = 0
        return True

    def _take(self, n: int) -> bytes:
        if not self._fill(n):
            raise InvalidImageError(f"{self._what}: tar ends in the middle of a member")
        data = self._buf[self._pos : self._pos + n]
        self._pos += n
        return data

    def _skip(self, n: int) -> None:
        available = len(self._buf) - self._pos
        if n <= available:
            self._pos += n
            return
        n -= available
        self._buf, self._pos = b"", 0
        if self._seek is not None:
            if self._seek(n) != n:
                raise InvalidImageError(f"{self._what}: tar ends in the middle of a member")
            return
        while n > 0:
            chunk = self._stream.read(min(n, 4 * READ_CHUNK))
            if not chunk:
                raise InvalidImageError(f"{self._what}: tar ends in the middle of a member")
            n -= len(chunk)

    # -- members --------------------------------------------------------------------------------
    def read_data(self, limit: int) -> bytes:
        """Read up to `limit` bytes of the current member's data."""
        n = min(limit, self._left)
        data = self._take(n) if n else b""
        self._left -= n
        return data

    def members(self) -> Iterator[RawMember]:
        for name, kind, size, mode, link in self.member_tuples():
            yield RawMember(name, kind, size, mode, link)

    def member_tuples(self) -> Iterator[tuple[str, str, int, int, str]]:
        """`members()` as plain (name, kind, size, mode, linkname) tuples: the walk's hot loop."""
        long_name: str | None = None
        long_link: str | None = None
        pax: dict[str, str] = {}
        global_pax: dict[str, str] = {}
        while True:
            skip = self._left + self._pad
            self._left = self._pad = 0
            pos = self._pos + skip
            if len(self._buf) - pos >= BLOCK:  # the next header is buffered already (small members)
                header = self._buf[pos : pos + BLOCK]
                self._pos = pos + BLOCK
            else:
                self._skip(skip)
                if not self._fill(BLOCK):
                    if len(self._buf) - self._pos:
                        raise InvalidImageError(f"{self._what}: tar ends in the middle of a header")
                    return
                header = self._take(BLOCK)
            if header == ZERO_BLOCK:
                return
            _check_sum(header, self._what)
            flag = header[156:157]
            size = _number(header[124:136], self._what)
            if flag in (b"L", b"K", b"x", b"g"):
                if size > MAX_HEADER_BYTES:
                    kind = "long-name" if flag in (b"L", b"K") else "PAX"
                    raise LimitExceededError(f"{self._what}: tar {kind} header of {size} bytes")
                body = self._take(size)
                self._skip(-size % BLOCK)
                if flag == b"L":
                    long_name = _text(body.split(b"\0", 1)[0])
                elif flag == b"K":
                    long_link = _text(body.split(b"\0", 1)[0])
                elif flag == b"x":
                    pax.update(_pax_records(body, self._what))
                else:
                    global_pax.update(_pax_records(body, self._what))
                continue
            if pax or global_pax:
                fields = {**global_pax, **pax}
                name = fields.get("path") or long_name or _ustar_name(header)
                link = fields.get("linkpath") or long_link or _text(header[157:257].split(b"\0", 1)[0])
                if "size" in fields:
                    size = _pax_int(fields["size"], self._what)
                pax = {}
            else:
                name = long_name or _ustar_name(header)
                link = long_link or _text(header[157:257].split(b"\0", 1)[0])
            kind = _KINDS.get(flag, "unknown")
            long_name = long_link = None
            if kind in _DATA_KINDS:
                self._left, self._pad = size, -size % BLOCK
            mode = _number(header[100:108], self._what) & 0o7777
            yield name, "other" if kind == "unknown" else kind, size if kind == "file" else 0, mode, link


def _check_sum(header: bytes, what: str, _adler32: Callable[[bytes], int] = zlib.adler32) -> None:
    stored = _number(header[148:156], what)
    # The byte sum of the header with its checksum field counted as 8 spaces. Adler-32's low half is
    # 1 + the byte sum mod 65521; a 256-byte half sums to at most 65280, so each half's sum is exact.
    unsigned = (_adler32(header[:256]) & 0xFFFF) + (_adler32(header[256:]) & 0xFFFF) + 254 - sum(header[148:156])
    if stored == unsigned:
        return
    signed = unsigned - 2 * sum(b for b in header[:148] + header[156:] if b > 127)
    if stored != signed:
        raise InvalidImageError(f"{what}: corrupt tar header (bad checksum)")


def _number(field: bytes, what: str) -> int:
    """Octal ASCII, or GNU base-256 when the high bit of the first byte is set."""
    if field and field[0] & 0x80:
        if field[0] == 0xFF:
            raise InvalidImageError(f"{what}: negative number in tar header")
        return int.from_bytes(field[1:], "big")
    text = field.split(b"\0", 1)[0]
    try:
        return int(text, 8)  # int() itself ignores surrounding whitespace
    except ValueError:
        text = text.strip()
        if not text:
            return 0
        raise InvalidImageError(f"{what}: corrupt tar header (bad number {text[:12]!r})") from None


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _ustar_name(header: bytes) -> str:
    name = _text(header[0:100].split(b"\0", 1)[0])
    if header[257:263] == b"ustar\0":  # POSIX ustar: a prefix field extends the name
        prefix = _text(header[345:500].split(b"\0", 1)[0])
        if prefix:
            return f"{prefix}/{name}"
    return name


def _pax_records(body: bytes, what: str) -> dict[str, str]:
    """Parse `<len> <key>=<value>\\n` records."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(body) and body[pos] != 0:
        space = body.find(b" ", pos)
        if space < 0:
            raise InvalidImageError(f"{what}: corrupt PAX header")
        try:
            length = int(body[pos:space])
        except ValueError:
            raise InvalidImageError(f"{what}: corrupt PAX header") from None
        record = body[space + 1 : pos + length]
        if length <= 0 or pos + length > len(body) or not record.endswith(b"\n") or b"=" not in record:
            raise InvalidImageError(f"{what}: corrupt PAX header")
        key, _, value = record[:-1].partition(b"=")
        records[_text(key)] = _text(value)
        pos += length
    return records


def _pax_int(text: str, what: str) -> int:
    if not text.isdigit():
        raise InvalidImageError(f"{what}: corrupt PAX size {text[:20]!r}")
    return int(text)
