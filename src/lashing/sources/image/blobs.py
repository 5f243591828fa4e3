"""Verified, bounded, decompressing layer streams.

A `LayerStream` wraps a raw blob (file, tar member or HTTP body), detects gzip / zstd /
uncompressed tar from the magic bytes, hashes the compressed bytes (the blob digest) and the
uncompressed bytes (the diff_id), and enforces the size and compression-ratio bounds as it goes.
`finish()` drains what the tar reader left and raises `DigestMismatchError` on any mismatch, so a
layer's analysis is only accepted once its bytes are proven.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from typing import TYPE_CHECKING, BinaryIO, Protocol

import zstandard

from lashing.errors import DigestMismatchError, InvalidImageError, LimitExceededError

if TYPE_CHECKING:
    from lashing.sources.image.interface import Limits

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_CHUNK = 1024 * 1024

try:  # ISA-L's inflate (python-isal) is 2.5x faster than zlib on layer blobs; same gzip semantics
    from isal import igzip as _igzip
    from isal.isal_zlib import error as _IsalError

    _ISAL_ERRORS: tuple[type[BaseException], ...] = (_IsalError,)
except ImportError:  # pragma: no cover - isal is a declared dependency; stay usable without it
    _igzip = None
    _ISAL_ERRORS = ()


def _gzip_reader(raw: object) -> Readable:
    """A streaming gzip decoder over `raw` (multi-member aware, like gzip.GzipFile)."""
    if _igzip is not None:
        return _igzip.IGzipFile(fileobj=raw, mode="rb")  # type: ignore[arg-type]
    return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[arg-type]


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def hasher_for(digest: str) -> hashlib._Hash:
    algo = digest.split(":", 1)[0]
    if algo not in ("sha256", "sha512"):
        raise InvalidImageError(f"unsupported digest algorithm {algo!r}")
    return hashlib.new(algo)


class HashingReader:
    """Counts and hashes every byte read from `raw`; optionally stops at `limit` bytes."""

    def __init__(self, raw: Readable, digest: str | None, limit: int | None = None, what: str = "blob"):
        self._raw = raw
        self._digest = digest
        self._hash = hasher_for(digest) if digest else None
        self._limit = limit
        self._what = what
        self.count = 0
        self._head = b""

    def unread(self, data: bytes) -> None:
        """Push back bytes already hashed (used to sniff magic bytes)."""
        self._head = data + self._head

    def read(self, size: int = -1) -> bytes:
        if self._head:
            take = self._head if size < 0 else self._head[:size]
            self._head = self._head[len(take) :]
            return take
        data = self._raw.read(size if size >= 0 else _CHUNK)
        if not data:
            return b""
        self.count += len(data)
        if self._limit is not None and self.count > self._limit:
            raise LimitExceededError(f"{self._what} is larger than its declared or allowed size")
        if self._hash is not None:
            self._hash.update(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:
        """`read` into a caller's buffer (ISA-L's gzip reader pulls input this way)."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass

    def verify(self) -> None:
        if self._hash is not None and self._digest is not None:
            actual = f"{self._digest.split(':', 1)[0]}:{self._hash.hexdigest()}"
            if actual != self._digest:
                raise DigestMismatchError(
                    f"{self._what} digest mismatch: expected {self._digest}, got {actual}"
                )


class LayerStream:
    """Decompressed tar bytes of one layer, verified against `digest` (blob) and `diff_id` (tar)."""

    def __init__(
        self,
        raw: BinaryIO | Readable,
        *,
        limits: Limits,
        digest: str | None = None,
        diff_id: str | None = None,
        declared_size: int | None = None,
        name: str = "layer",
        closer: object | None = None,
    ):
        self.name = name
        self._limits = limits
        self._closer = closer if closer is not None else raw
        compressed_limit = declared_size if declared_size is not None else limits.max_layer_bytes
        self._compressed = HashingReader(raw, digest, compressed_limit, f"{name} blob")
        magic = self._compressed.read(4)
        self._compressed.unread(magic)
        self._decoder: Readable
        if magic.startswith(GZIP_MAGIC):
            self.compression = "gzip"
            self._decoder = _gzip_reader(self._compressed)
        elif magic.startswith(ZSTD_MAGIC):
            self.compression = "zstd"
            self._decoder = zstandard.ZstdDecompressor().stream_reader(
                self._compressed, read_across_frames=True, closefd=False
            )
        else:
            self.compression = "none"
            self._decoder = self._compressed
        # When the blob is uncompressed its digest is its diff_id: one hash covers both.
        same = self.compression == "none" and digest is not None and digest == diff_id
        self._uncompressed = HashingReader(
            self._decoder, None if same else diff_id, limits.max_layer_bytes, f"{name} tar"
        )

    @property
    def bytes_read(self) -> int:
        return self._uncompressed.count

    @property
    def compressed_bytes(self) -> int:
        return self._compressed.count

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._uncompressed.read(size if size >= 0 else _CHUNK)
        except (OSError, EOFError, zlib.error, zstandard.ZstdError, *_ISAL_ERRORS) as exc:
            raise InvalidImageError(f"{self.name}: corrupt {self.compression} data ({exc})") from None
        if self.compression != "none":
            out, comp = self._uncompressed.count, max(self._compressed.count, 1)
            if out > self._limits.ratio_grace_bytes and out > comp * self._limits.max_compression_ratio:
                raise LimitExceededError(
                    f"{self.name} expands more than {self._limits.max_compression_ratio}x "
                    "(decompression bomb?)"
                )
        return data

    def finish(self) -> None:
        """Read to the end of the blob and verify both digests."""
        while self.read(_CHUNK):
            pass
        self._compressed.drain()
        self._compressed.verify()
        self._uncompressed.verify()

    def close(self) -> None:
        close = getattr(self._closer, "close", None)
        if callable(close):
            close()
