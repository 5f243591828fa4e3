"""Report text encoded where it is produced (a config scan's worker processes), kept in files, and copied
into the report by the kernel.

A JSON report of a large config scan is tens of megabytes of findings. Sent back to the parent through
pipes, that text was pickled, copied twice through the kernel, unpickled and finally encoded and written
again by the parent, after the scan, while the other core idled. Spooled, each worker appends the UTF-8
text to its own files (one per stream name, e.g. per severity, so the pieces the report puts next to each
other lie next to each other) and sends back only (file, offset, length); the parent copies the ranges
into the report with copy_file_range, without the bytes entering Python again.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO


@dataclass(frozen=True)
class FileRange:
    """`length` bytes of UTF-8 text at `offset` of the file `path`."""

    path: str
    offset: int
    length: int


class Spool:
    """Per-process append-only files in `folder`. A forked process that inherits a Spool writes files of its
    own (named by its pid), so no two processes ever write one file."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._pid = -1
        self._files: dict[str, tuple[int, int]] = {}  # stream name -> (fd, size)

    def put(self, stream: str, data: bytes) -> FileRange:
        """Append `data` to this process's file for `stream`; where it now lies."""
        if self._pid != os.getpid():  # first use in this process
            self._pid, self._files = os.getpid(), {}
        fd, size = self._files.get(stream) or (self._open(stream), 0)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        self._files[stream] = (fd, size + len(data))
        return FileRange(self._path(stream), size, len(data))

    def _path(self, stream: str) -> str:
        return os.path.join(self.folder, f"{self._pid}-{stream}")

    def _open(self, stream: str) -> int:
        return os.open(self._path(stream), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)

    def close(self) -> None:
        """Close this process's files (workers leave with os._exit, which closes them too)."""
        if self._pid == os.getpid():
            for fd, _ in self._files.values():
                os.close(fd)
        self._files = {}


def read_text(piece: FileRange) -> str:
    fd = os.open(piece.path, os.O_RDONLY)
    try:
        return os.pread(fd, piece.length, piece.offset).decode("utf-8")
    finally:
        os.close(fd)


def coalesce(pieces: Iterable[FileRange | str]) -> Iterator[FileRange | str]:
    """The same pieces, with ranges that continue each other in one file joined."""
    pending: FileRange | None = None
    for piece in pieces:
        if isinstance(piece, FileRange) and pending is not None and piece.path == pending.path \
                and piece.offset == pending.offset + pending.length:
            pending = FileRange(pending.path, pending.offset, pending.length + piece.length)
            continue
        if pending is not None:
            yield pending
            pending = None
        if isinstance(piece, FileRange):
            pending = piece
        else:
            yield piece
    if pending is not None:
        yield pending


class RangeWriter:
    """Writes text and file ranges, in order, to a text stream: ranges by copy_file_range into the stream's
    file (else sendfile, e.g. into a pipe), else read and written as text (a stream without a file)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self._sources: dict[str, int] = {}
        self._method = "copy_file_range"
        self._dirty = True  # text may sit in the stream's buffers
        try:
            self._target = stream.fileno()
        except (AttributeError, OSError, ValueError):  # io.StringIO and the like
            self._method = "text"

    def write(self, text: str) -> None:
        self.stream.write(text)
        self._dirty = True

    def copy(self, piece: FileRange) -> None:
        if self._method == "text":
            self.write(read_text(piece))
            return
        if self._dirty:
            self.stream.flush()
            self._dirty = False
        source = self._sources.get(piece.path)
        if source is None:
            source = self._sources[piece.path] = os.open(piece.path, os.O_RDONLY)
        offset, end = piece.offset, piece.offset + piece.length
        while offset < end:
            offset += self._copy_some(source, offset, end - offset)

    def _copy_some(self, source: int, offset: int, count: int) -> int:
        if self._method == "copy_file_range":
            try:
                copied = os.copy_file_range(source, self._target, count, offset)
                if copied > 0:
                    return copied
            except OSError:
                pass
            self._method = "sendfile"  # another filesystem, a pipe, an old kernel
        if self._method == "sendfile":
            try:
                copied = os.sendfile(self._target, source, offset, count)
                if copied > 0:
                    return copied
            except OSError:
                pass
            self._method = "write"
        data = os.pread(source, min(count, 1 << 20), offset)
        if not data:
            raise OSError(f"spool file ended early ({count} bytes missing)")
        view = memoryview(data)
        while view:
            view = view[os.write(self._target, view):]
        return len(data)

    def close(self) -> None:
        for fd in self._sources.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._sources = {}
