"""Compile lashing's modules to bytecode before timing it, as installing a wheel does.

`pip install lashing` writes every module's `.pyc` at install time; an editable install does not, and
with PYTHONDONTWRITEBYTECODE set (as in some CI images) every run then compiles ~60 modules from source
(~70 ms on the image scan). Benchmarks measure the installed product, so they compile first.
"""

from __future__ import annotations

import compileall
import importlib.util
from pathlib import Path


def compile_lashing() -> None:
    """Write (or refresh) the `.pyc` of every module of the lashing package that is imported."""
    spec = importlib.util.find_spec("lashing")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("lashing is not installed: pip install -e .")
    for folder in spec.submodule_search_locations:
        compileall.compile_dir(Path(folder), quiet=1)
