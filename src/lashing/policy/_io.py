"""Bounded reads of policy inputs (ignore files, VEX documents): size-capped, UTF-8, one-line errors."""

from __future__ import annotations

from pathlib import Path

from lashing.policy.interface import PolicyError


def read_text(path: Path, limit: int) -> str:
    """The file's text; PolicyError when it is missing, larger than `limit` bytes or not UTF-8."""
    try:
        with open(path, "rb") as stream:
            raw = stream.read(limit + 1)
    except OSError as exc:
        raise PolicyError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise PolicyError(f"{path} is larger than {limit // (1024 * 1024)} MiB")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path} is not UTF-8 text (byte {exc.start})") from None
