"""Tests keep lashing's state (caches, databases) in a temporary LASHING_CACHE_DIR, never in $HOME, also when
pytest is run directly rather than through scripts/test.sh (which sets one and removes it afterwards)."""

from __future__ import annotations

import os
import shutil
import tempfile

_made: list[str] = []


def pytest_configure(config: object) -> None:
    if not os.environ.get("LASHING_CACHE_DIR"):
        _made.append(tempfile.mkdtemp(prefix="lashing-test-cache-"))
        os.environ["LASHING_CACHE_DIR"] = _made[0]


def pytest_unconfigure(config: object) -> None:
    for folder in _made:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop("LASHING_CACHE_DIR", None)
