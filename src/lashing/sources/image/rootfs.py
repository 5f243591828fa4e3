"""A root filesystem directory, walked like one layer: no link is followed, nothing outside is read."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from lashing.errors import InvalidImageError, LimitExceededError
from lashing.sources.image.tarwalk import TarEntry


def iter_directory(
    root: Path, *, max_entries: int, warn: Callable[[str], None]
) -> Iterator[tuple[TarEntry, Callable[[int], bytes]]]:
    """Yield (entry, read) for everything below `root`, depth first, symlinks reported but not followed."""
    if not root.is_dir():
        raise InvalidImageError(f"{root} is not a directory")
    count = 0
    root_dev = root.stat().st_dev
    stack = [(root, "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as it:
                children = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            warn(f"{prefix or '/'}: cannot list ({exc.strerror})")
            continue
        for child in children:
            count += 1
            if count > max_entries:
                raise LimitExceededError(f"{root} has more than {max_entries} entries")
            rel = f"{prefix}/{child.name}" if prefix else child.name
            try:
                st = child.stat(follow_symlinks=False)
            except OSError as exc:
                warn(f"{rel}: cannot stat ({exc.strerror})")
                continue
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                yield TarEntry(rel, "symlink", 0, mode, os.readlink(child.path)), _nothing
            elif stat.S_ISDIR(st.st_mode):
                yield TarEntry(rel, "dir", 0, mode), _nothing
                if st.st_dev != root_dev:  # like `find -xdev`: /proc, /sys and other mounts are not the image
                    warn(f"{rel}: not crossing into another filesystem")
                    continue
                stack.append((Path(child.path), rel))
            elif stat.S_ISREG(st.st_mode):
                yield TarEntry(rel, "file", st.st_size, mode), _file_reader(child.path, rel, warn)
            else:
                yield TarEntry(rel, "other", 0, mode), _nothing


def _nothing(limit: int) -> bytes:
    return b""


def _file_reader(path: str, rel: str, warn: Callable[[str], None]) -> Callable[[int], bytes]:
    def read(limit: int) -> bytes:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError as exc:
            warn(f"{rel}: cannot read ({exc.strerror})")
            return b""
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return b""
            return f.read(limit)

    return read
