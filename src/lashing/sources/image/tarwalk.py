"""Safe, streaming iteration over the members of a layer tar.

Nothing is extracted. Member names are normalized to relative paths inside the image root; names
that climb out of it are skipped with a warning. Headers are parsed by `tarstream` (bounded long-name
and PAX headers); `BoundedTarInfo` applies the same bounds where Python's tarfile reads an outer
archive (docker-archive, OCI archive).
"""

from __future__ import annotations

import posixpath
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lashing.errors import LimitExceededError
from lashing.sources.image.tarstream import Readable, TarStream

MAX_HEADER_BYTES = 1024 * 1024


class BoundedTarInfo(tarfile.TarInfo):
    """TarInfo whose GNU long-name and PAX extended headers may not exceed MAX_HEADER_BYTES."""

    def _proc_gnulong(self, tarfile):  # type: ignore[no-untyped-def]
        if self.size > MAX_HEADER_BYTES:
            raise LimitExceededError(f"tar long-name header of {self.size} bytes")
        return super()._proc_gnulong(tarfile)  # type: ignore[misc]

    def _proc_pax(self, tarfile):  # type: ignore[no-untyped-def]
        if self.size > MAX_HEADER_BYTES:
            raise LimitExceededError(f"tar PAX header of {self.size} bytes")
        return super()._proc_pax(tarfile)  # type: ignore[misc]


@dataclass(frozen=True)
class TarEntry:
    """One member: kind is 'file', 'dir', 'symlink', 'hardlink' or 'other' (devices, fifos). Also the walk's
    file-index entry (`walker.FileRecord`): the entry it sees is the record it keeps."""

    path: str
    kind: str
    size: int = 0
    mode: int = 0
    link: str = ""


def normalize_member_path(name: str) -> str | None:
    """Return the member's path relative to the image root, or None if it escapes the root."""
    if not (name.startswith(("/", ".")) or "/." in name or "//" in name):  # already normal (most names)
        return name[:-1] if name.endswith("/") else name
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


def resolve_hardlink(link: str) -> str | None:
    """Hardlink targets are archive member names: normalize them the same way."""
    return normalize_member_path(link)


def symlink_target(path: str, link: str) -> str | None:
    """Resolve a symlink's target lexically inside the image root (absolute links are root-relative)."""
    base = "" if link.startswith("/") else posixpath.dirname(path)
    return normalize_member_path(posixpath.join(base, link) if base else link)


def iter_tar(
    stream: Readable, *, max_members: int, warn: Callable[[str], None], name: str = "layer"
) -> Iterator[tuple[TarEntry, Callable[[int], bytes]]]:
    """Yield (entry, read) for each member; `read(limit)` returns up to `limit` bytes of a file entry.

    `read` is only valid until the next entry is requested (the stream moves on).
    """
    tar = TarStream(stream, name)
    count = 0
    for member_name, kind, size, mode, link in tar.member_tuples():
        count += 1
        if count > max_members:
            raise LimitExceededError(f"{name} has more than {max_members} members")
        path = normalize_member_path(member_name)
        if path is None:
            warn(f"{name}: skipped member escaping the image root: {member_name[:200]!r}")
            continue
        if not path:
            continue
        if kind == "hardlink":
            target = resolve_hardlink(link)
            if target is None:
                warn(f"{name}: skipped hardlink escaping the image root: {path}")
                continue
            link = target
        elif kind != "symlink":
            link = ""
        entry = TarEntry(path, kind, size, mode, link)
        yield entry, _reader(tar, size, path) if kind == "file" else _no_content


def _no_content(limit: int) -> bytes:
    return b""


def _reader(tar: TarStream, size: int, path: str) -> Callable[[int], bytes]:
    def read(limit: int) -> bytes:
        return tar.read_data(min(limit, size))

    return read
