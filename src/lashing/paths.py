"""Where lashing keeps state: one directory, `LASHING_CACHE_DIR` when set, else the user cache dir."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def cache_dir() -> Path:
    """The single state directory (layer cache, advisory database)."""
    env = os.environ.get("LASHING_CACHE_DIR")
    return Path(env) if env else Path(platformdirs.user_cache_dir("lashing"))
