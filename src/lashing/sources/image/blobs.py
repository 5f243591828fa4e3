"""Verified, bounded, decompressing layer streams.

A `LayerStream` wraps a raw blob (file, tar member or HTTP body), detects gzip / zstd /
uncompressed tar from the magic bytes, hashes the compressed bytes (the blob digest) and the
uncompressed bytes (the diff_id), and enforces the size and compression-ratio bounds as it goes.
`finish()` drains what the tar reader left and raises `DigestMismatchError` on any mismatch, so a
layer's analysis is only accepted once its bytes are proven.

An uncompressed blob that is a byte range of a local file (docker-archive member, OCI layout blob) takes
a faster path: its digest is computed on a thread from memory-mapped windows of the file (the GIL is
released while hashing) and the tar walk reads only headers and wanted files, seeking past the rest
(`can_skip`/`skip`). `finish()` waits for that digest and fails exactly as the streaming path does.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
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


class FileSection(Protocol):
    """A byte range of an open regular file (blobstore's `_Section`): readable, seekable forward."""

    start: int
    size: int

    def read(self, size: int = -1, /) -> bytes: ...
    def fileno(self) -> int: ...
    def skip(self, size: int) -> int: ...
    def tell(self) -> int: ...


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
        defer_digest: bool = False,
    ):
        self.name = name
        self._limits = limits
        self._closer = closer if closer is not None else raw
        compressed_limit = declared_size if declared_size is not None else limits.max_layer_bytes
        self._section: _SectionDigest | None = None
        if _seekable_section(raw):
            limit = min(compressed_limit, limits.max_layer_bytes)
            section = _SectionDigest.maybe(raw, digest, diff_id, limit, name, deferred=defer_digest)  # type: ignore[arg-type]
            if section is not None:
                self.compression = "none"
                self._section = section
                self._raw: FileSection = raw  # type: ignore[assignment]
                return
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
        if self._section is not None:
            return self._raw.tell()
        return self._uncompressed.count

    @property
    def compressed_bytes(self) -> int:
        if self._section is not None:
            return self._raw.tell()
        return self._compressed.count

    @property
    def can_skip(self) -> bool:
        """True when `skip()` seeks: the layer's digest is computed apart from what is read."""
        return self._section is not None

    def skip(self, size: int) -> int:
        """Move `size` bytes forward without reading them (only when `can_skip`); returns how far it moved."""
        if self._section is None:
            raise TypeError("this layer stream cannot skip")
        return self._raw.skip(size)

    def read(self, size: int = -1) -> bytes:
        if self._section is not None:
            return self._raw.read(size if size >= 0 else _CHUNK)
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
        if self._section is not None:
            self._section.verify()
            return
        while self.read(_CHUNK):
            pass
        self._compressed.drain()
        self._compressed.verify()
        self._uncompressed.verify()

    def close(self) -> None:
        if self._section is not None:
            self._section.cancel()  # the digest thread must stop reading before the descriptor closes
        close = getattr(self._closer, "close", None)
        if callable(close):
            close()


# The digest thread's read window. Small enough to stay in the CPU caches between the kernel's copy and the
# hash reading it back: a fresh process hashing the 223 MB base layer spent ~190 ms (~63 ms of it in the
# kernel) with 16 MiB windows, ~168 ms (~36 ms) with 1 MiB ones.
_SECTION_WINDOW = 1024 * 1024


def _seekable_section(raw: object) -> bool:
    """A byte range of a regular file that can be read at any offset (blobstore's `_Section`)."""
    return all(hasattr(raw, attr) for attr in ("fileno", "start", "size", "skip", "tell")) and hasattr(os, "pread")


class _SectionDigest:
    """Hash an uncompressed layer's file section on its own thread while the tar walk seeks past data.

    Hashing runs with the GIL released (one `pread` and one `update` per window of the file), from the
    section's start whatever the walk reads; `verify()` waits for it and raises
    `DigestMismatchError` exactly as the streaming path does. A section shorter than declared hashes
    what is there and so fails its digest. `deferred`: no thread; `verify()` hashes the section itself, on
    the caller's thread, after the walk (a forked reader does so once its analysis is sent, see `forked`).
    """

    def __init__(
        self, fd: int, start: int, size: int, digest: str | None, diff_id: str | None, name: str,
        deferred: bool = False,
    ):
        self._fd, self._start, self._size, self._name = fd, start, size, name
        self._checks: list[tuple[str, str]] = []  # (expected digest, what)
        if digest is not None:
            self._checks.append((digest, f"{name} blob"))
        if diff_id is not None and diff_id != digest:
            self._checks.append((diff_id, f"{name} tar"))
        self._hashes = {d.split(":", 1)[0]: hasher_for(d) for d, _ in self._checks}
        self._stop = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._hashed = False
        if not deferred:
            self._thread = threading.Thread(target=self._run, name=f"lashing-digest-{name}", daemon=True)
            self._thread.start()

    @classmethod
    def maybe(
        cls, raw: FileSection, digest: str | None, diff_id: str | None, limit: int, name: str,
        deferred: bool = False,
    ) -> _SectionDigest | None:
        """Start hashing when `raw` is an uncompressed tar section; None for compressed blobs."""
        fd, start, size = raw.fileno(), raw.start, raw.size
        magic = os.pread(fd, 4, start) if size else b""
        if magic.startswith((GZIP_MAGIC, ZSTD_MAGIC)):
            return None
        if size > limit:
            raise LimitExceededError(f"{name} blob is larger than its declared or allowed size")
        return cls(fd, start, size, digest, diff_id, name, deferred)

    def _run(self) -> None:
        try:
            self._hash()
        except BaseException as exc:  # re-raised on the caller's thread by verify()
            self._error = exc

    def _hash(self) -> None:
        hashes = list(self._hashes.values())
        pos, end = self._start, self._start + self._size
        buffer = bytearray(min(_SECTION_WINDOW, max(self._size, 1)))
        view = memoryview(buffer)
        while pos < end and not self._stop:
            # pread and update both run with the GIL released, a window at a time. Not mmap: a file
            # truncated under a mapping raises SIGBUS and kills the process; a short read here just
            # hashes what is there, and the digest then fails like any other tampering.
            got = os.preadv(self._fd, [view[: min(len(buffer), end - pos)]], pos)
            if got <= 0:
                break
            for h in hashes:
                h.update(view[:got])
            pos += got
        view.release()

    def cancel(self) -> None:
        self._stop = True
        if self._thread is not None:
            self._thread.join()

    def verify(self) -> None:
        if self._thread is not None:
            self._thread.join()
        elif not self._stop and not self._hashed:  # deferred: hash here, once
            self._hashed = True
            try:
                self._hash()
            except Exception as exc:
                self._error = exc
        if self._error is not None:
            raise InvalidImageError(f"{self._name}: cannot read the layer ({self._error})") from None
        if self._stop:
            raise InvalidImageError(f"{self._name}: digest was not computed (stream closed)")
        for expected, what in self._checks:
            algo = expected.split(":", 1)[0]
            actual = f"{algo}:{self._hashes[algo].hexdigest()}"
            if actual != expected:
                raise DigestMismatchError(f"{what} digest mismatch: expected {expected}, got {actual}")
