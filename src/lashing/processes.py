"""Process facts shared by the parts of lashing that fork workers (image layers, config scans)."""

from __future__ import annotations

import os
import threading


def can_fork() -> bool:
    """Forking is safe only where fork exists and no other thread runs (its locks would be copied held).
    Native threads count too (yara-x starts one for scan timeouts): on Linux they are read from /proc."""
    if not hasattr(os, "fork"):
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return threading.active_count() == 1
