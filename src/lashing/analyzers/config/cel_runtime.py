"""The CEL engine (`common-expression-language`'s Rust extension), loaded without its package's CLI.

`import cel` runs the package's `__init__`, which imports its interactive CLI and with it prompt_toolkit
(~75 ms, a quarter of a small scan's start-up). The extension module itself needs none of that, so it is
loaded directly from the package folder; any surprise in that layout falls back to the plain import.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any


def _load() -> ModuleType:
    """The extension module; registered as `cel.cel`, so a later `import cel` reuses it (the extension
    cannot be initialized twice in one process: its logger bridge panics)."""
    loaded = sys.modules.get("cel.cel") or sys.modules.get("cel")
    if loaded is not None:
        return loaded
    try:
        spec = importlib.util.find_spec("cel")
        folder = Path(next(iter(spec.submodule_search_locations or ())))  # type: ignore[union-attr]
        library = next(p for p in sorted(folder.glob("cel.*")) if p.suffix in (".so", ".pyd"))
        loader = importlib.machinery.ExtensionFileLoader("cel.cel", str(library))
        module = importlib.util.module_from_spec(importlib.util.spec_from_loader("cel.cel", loader))
        sys.modules["cel.cel"] = module
        loader.exec_module(module)
        module.compile  # noqa: B018 - the API we use must be there
        module.Context  # noqa: B018
        return module
    except Exception:  # any other layout: the documented import
        if sys.modules.get("cel.cel") is not None and not hasattr(sys.modules["cel.cel"], "Context"):
            del sys.modules["cel.cel"]
        import cel

        return cel


_cel = _load()
compile: Any = _cel.compile  # the library's own name
Context: Any = _cel.Context
