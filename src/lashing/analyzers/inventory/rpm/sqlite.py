"""rpm's SQLite backend (`rpmdb.sqlite`, rpm >= 4.16): one header blob per row of `Packages`.

The file's bytes are deserialized into an in-memory database (nothing touches the disk), with the
WAL flag cleared (an in-memory database cannot be in WAL mode), `trusted_schema` off and a progress
handler that bounds the work a hostile file can cause.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

SQLITE_MAGIC = b"SQLite format 3\x00"
MAX_VM_STEPS = 200_000_000  # sqlite VM instructions for the whole read; ~seconds of work
_PROGRESS_EVERY = 10_000
MAX_VALUE = 128 * 1024 * 1024  # largest string/blob sqlite may build (a generated column could ask for 1 GB)


def read_blobs(data: bytes, warnings: list[str]) -> Iterator[tuple[int, bytes]]:
    """Yield (hnum, header blob) for each row; problems become warnings."""
    if len(data) < 100 or not data.startswith(SQLITE_MAGIC):
        warnings.append("not an SQLite database")
        return
    if data[18] == 2 or data[19] == 2:  # WAL mode: read/write format versions 2 -> legacy 1
        data = data[:18] + b"\x01\x01" + data[20:]
    con = sqlite3.connect(":memory:")
    con.text_factory = bytes  # names in a damaged schema need not be UTF-8
    steps = 0

    def progress() -> int:
        nonlocal steps
        steps += _PROGRESS_EVERY
        return 1 if steps > MAX_VM_STEPS else 0

    try:
        con.set_progress_handler(progress, _PROGRESS_EVERY)
        con.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE)
        con.deserialize(data)
        con.execute("PRAGMA trusted_schema=OFF")
        con.execute("PRAGMA query_only=ON")
        kind = con.execute("SELECT type FROM sqlite_master WHERE name = 'Packages'").fetchone()
        if kind is None or kind[0] != b"table":
            warnings.append("no Packages table")
            return
        for hnum, blob in con.execute("SELECT hnum, blob FROM Packages ORDER BY hnum"):
            if isinstance(blob, bytes):
                yield int(hnum) if isinstance(hnum, int) else 0, blob
            else:
                warnings.append(f"row {hnum}: blob is not binary")
    except (sqlite3.Error, ValueError) as exc:
        reason = "work limit exceeded" if steps > MAX_VM_STEPS else str(exc)
        warnings.append(f"SQLite database unreadable: {reason}")
    finally:
        con.close()
