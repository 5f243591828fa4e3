"""Where lashing keeps state: one directory, `LASHING_CACHE_DIR` when set, else the user cache dir.

Besides the databases, small derived files are kept there (parsed rule catalogs, compiled rule code): each
named by a digest of what it was made from, read back only within a size bound, written whole or not at all.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

try:  # CPython's own BLAKE2; hashlib would first load OpenSSL's bindings (~3 ms at start-up)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - other interpreters
    from hashlib import blake2b

MAX_STATE_FILE_BYTES = 64 * 1024**2


def cache_dir() -> Path:
    """The single state directory (layer cache, advisory database)."""
    env = os.environ.get("LASHING_CACHE_DIR")
    return Path(env) if env else Path(platformdirs.user_cache_dir("lashing"))


def content_digest(*parts: bytes) -> bytes:
    """A 20-byte digest of `parts` (each length-prefixed, so no two splits of the same bytes collide)."""
    digest = blake2b(digest_size=20)
    for part in parts:
        digest.update(b"%d\0" % len(part))
        digest.update(part)
    return digest.digest()


def read_state_file(path: Path, limit: int = MAX_STATE_FILE_BYTES) -> bytes | None:
    """A derived state file's bytes; None when it is missing, unreadable or larger than `limit`."""
    try:
        with open(path, "rb") as stream:
            data = stream.read(limit + 1)
    except OSError:
        return None
    return data if len(data) <= limit else None


def write_state_file(path: Path, data: bytes) -> None:
    """Write a derived state file whole (a sibling renamed into place), best effort: a read-only or full
    cache directory only means the file is made again next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_bytes(data)
        os.replace(partial, path)
    except OSError:
        return
