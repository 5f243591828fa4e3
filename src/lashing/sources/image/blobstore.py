"""Read-only access to the files of an OCI layout directory or of an image tar archive.

Both stores refuse names that climb out of their root and links that point outside it, read
documents with a size bound, and open layer blobs as streams (never copying them anywhere).
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import IO

from lashing.errors import DigestMismatchError, InvalidImageError
from lashing.sources.image.interface import validate_digest
from lashing.sources.image.tarwalk import BoundedTarInfo, normalize_member_path, symlink_target

MAX_LINK_HOPS = 16


def blob_path(digest: str) -> str:
    algo, _, hexpart = validate_digest(digest, "blob digest").partition(":")
    return f"blobs/{algo}/{hexpart}"


class BlobStore(ABC):
    """Named files of an image container format."""

    # True when streams returned by open() are independent and may be read from several threads.
    independent_streams: bool = True

    @abstractmethod
    def open(self, name: str) -> tuple[IO[bytes], int]:
        """Open the file `name` (relative), returning the stream and its size."""

    @abstractmethod
    def exists(self, name: str) -> bool: ...

    def size(self, name: str) -> int:
        """The size of the file `name`."""
        stream, size = self.open(name)
        stream.close()
        return size

    def read(self, name: str, limit: int, what: str) -> bytes:
        stream, size = self.open(name)
        with stream:
            if size > limit:
                raise InvalidImageError(f"{what} is {size} bytes, over the {limit}-byte limit")
            return stream.read(limit + 1)

    def read_blob(self, digest: str, limit: int, what: str) -> bytes:
        """Read a content-addressed blob and check that it hashes to its digest."""
        data = self.read(blob_path(digest), limit, what)
        check_digest(data, digest, what)
        return data

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


def check_digest(data: bytes, digest: str, what: str) -> None:
    algo, _, expected = digest.partition(":")
    actual = hashlib.new(algo, data).hexdigest()
    if actual != expected:
        raise DigestMismatchError(f"{what} digest mismatch: expected {digest}, got {algo}:{actual}")


class DirBlobStore(BlobStore):
    """Files under a directory; symlinks are not followed out of it."""

    def __init__(self, root: Path):
        self.root = root.resolve()

    def _path(self, name: str) -> Path:
        rel = normalize_member_path(name)
        if not rel:
            raise InvalidImageError(f"invalid path {name!r} in image layout")
        path = (self.root / rel).resolve()
        if path != self.root and self.root not in path.parents:
            raise InvalidImageError(f"{name!r} points outside the image layout")
        return path

    def exists(self, name: str) -> bool:
        try:
            return self._path(name).is_file()
        except InvalidImageError:
            return False

    def open(self, name: str) -> tuple[IO[bytes], int]:
        path = self._path(name)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            raise InvalidImageError(f"image layout is missing {name}") from None
        except OSError as exc:
            raise InvalidImageError(f"cannot open {name} in image layout: {exc.strerror}") from None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise InvalidImageError(f"{name} in image layout is not a regular file")
        return _Section(os.fdopen(fd, "rb"), st.st_size), st.st_size


class TarBlobStore(BlobStore):
    """Members of an (uncompressed or gzip) tar archive, read in place; links resolved inside it.

    In an uncompressed archive each open() gets its own file handle on the member's byte range, so
    layers can be read in parallel; in a compressed one all reads share the decompressor.
    """

    def __init__(self, path: Path, max_members: int):
        self.path = path
        with open(path, "rb") as head:
            magic = head.read(6)
        self.independent_streams = not magic.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x28\xb5\x2f\xfd"))
        try:
            self._tar = tarfile.open(path, mode="r:*", tarinfo=BoundedTarInfo)  # type: ignore[call-overload]
            self._members: dict[str, tarfile.TarInfo] = {}
            for count, member in enumerate(self._tar, 1):
                if count > max_members:
                    raise InvalidImageError(f"{path.name} has more than {max_members} members")
                name = normalize_member_path(member.name)
                if name:
                    self._members[name] = member
        except tarfile.ReadError:
            raise InvalidImageError(f"{path} is not a tar archive (expected a docker-archive or OCI archive)") from None
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise InvalidImageError(f"{path} is not a readable tar archive ({exc})") from None

    def _member(self, name: str) -> tarfile.TarInfo:
        current = normalize_member_path(name)
        for _ in range(MAX_LINK_HOPS):
            member = self._members.get(current or "")
            if member is None:
                raise InvalidImageError(f"archive is missing {name}")
            if member.isfile():
                return member
            if member.issym():
                current = symlink_target(current or "", member.linkname)
            elif member.islnk():
                current = normalize_member_path(member.linkname)
            else:
                raise InvalidImageError(f"{name} in archive is not a regular file")
            if current is None:
                raise InvalidImageError(f"{name} in archive links outside the archive")
        raise InvalidImageError(f"{name} in archive: too many levels of links")

    def exists(self, name: str) -> bool:
        try:
            self._member(name)
            return True
        except InvalidImageError:
            return False

    def size(self, name: str) -> int:
        return self._member(name).size

    def open(self, name: str) -> tuple[IO[bytes], int]:
        member = self._member(name)
        if self.independent_streams:
            handle = open(self.path, "rb")
            handle.seek(member.offset_data)
            return _Section(handle, member.size), member.size
        stream = self._tar.extractfile(member)
        if stream is None:
            raise InvalidImageError(f"{name} in archive cannot be read")
        return stream, member.size

    def close(self) -> None:
        self._tar.close()


class _Section(io.RawIOBase):
    """The `size` bytes of an open regular file starting at its current position.

    Reads use `os.pread` at the section's own cursor, so `skip()` is a seek and other readers of the
    same descriptor (the parallel digest of an uncompressed layer, see `blobs.LayerStream`) never move
    it. `fileno`, `start` and `size` describe the byte range for such readers.
    """

    def __init__(self, handle: IO[bytes], size: int):
        self._handle = handle
        self.start = handle.tell()
        self.size = size
        self._pos = self.start
        self._end = self.start + size
        self._pread = _PREAD

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._handle.fileno()

    def tell(self) -> int:
        return self._pos - self.start

    def read(self, size: int = -1) -> bytes:
        left = self._end - self._pos
        if left <= 0:
            return b""
        want = left if size is None or size < 0 else min(size, left)
        if self._pread:
            data = os.pread(self._handle.fileno(), want, self._pos)
            if 0 < len(data) < want:  # a short read of a regular file: go on until EOF or `want`
                parts = [data]
                got = len(data)
                while got < want:
                    more = os.pread(self._handle.fileno(), want - got, self._pos + got)
                    if not more:
                        break
                    parts.append(more)
                    got += len(more)
                data = b"".join(parts)
        else:  # pragma: no cover - platforms without pread
            self._handle.seek(self._pos)
            data = self._handle.read(want)
        self._pos += len(data)
        return data

    def skip(self, size: int) -> int:
        """Move `size` bytes forward without reading them; returns how far it moved (less at the end)."""
        step = max(0, min(size, self._end - self._pos))
        self._pos += step
        return step

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._handle.close()
        super().close()


_PREAD = hasattr(os, "pread")
