"""Bounded downloads for the advisory feeds: streamed to a file, refused past a byte bound."""

from __future__ import annotations

from pathlib import Path

import httpx

from lashing.db.store import DatabaseError

CHUNK = 1 << 20


def download(client: httpx.Client, url: str, dest: Path, max_bytes: int,
             oversize: type[Exception] = DatabaseError) -> bool:
    """Stream `url` into `dest`; False on 404. Raises `oversize` when the declared or actual size passes
    `max_bytes` (the server may lie about content-length) and DatabaseError on other failures."""
    try:
        with client.stream("GET", url) as response:
            if response.status_code == 404:
                return False
            if response.status_code != 200:
                raise DatabaseError(f"cannot fetch {url}: HTTP {response.status_code}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise oversize(f"{url}: {declared} bytes, over the bound of {max_bytes}")
            size = 0
            with open(dest, "wb") as out:
                for chunk in response.iter_bytes(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise oversize(f"{url}: over the bound of {max_bytes} bytes")
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise DatabaseError(f"cannot reach {url}: {type(exc).__name__}: {exc}") from None
    return True
