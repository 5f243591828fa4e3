"""Generated Python code compiled once per machine, as CPython keeps its own bytecode.

The CEL translation (cel_python) turns a kind's rules into a few hundred lines of Python that CPython takes
~10 ms per function to compile, in every process of every scan. The code objects are kept in the cache
directory (marshal, as in `__pycache__`), named by a hash of the interpreter's bytecode magic number and the
source, with that hash again inside the file: a file that does not carry it, or does not load, is compiled
again and replaced. Writing is best effort (a read-only cache costs only the compile).
"""

from __future__ import annotations

import marshal
import os
from importlib.util import MAGIC_NUMBER
from pathlib import Path
from types import CodeType

try:  # CPython's own BLAKE2; hashlib would first load OpenSSL's bindings (~3 ms at start-up)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - other interpreters
    from hashlib import blake2b


def compiled(source: str, filename: str) -> CodeType:
    """`compile(source, filename, "exec")`, from the cache when it holds that source's code."""
    digest = blake2b(MAGIC_NUMBER + filename.encode() + b"\0" + source.encode(), digest_size=20).digest()
    path = _folder() / f"{digest.hex()}.bin"
    try:
        data = path.read_bytes()
        if data.startswith(digest):
            code = marshal.loads(data[len(digest):])
            if isinstance(code, CodeType):
                return code
    except (OSError, ValueError, EOFError, TypeError):
        pass
    code = compile(source, filename, "exec")
    _save(path, digest + marshal.dumps(code))
    return code


def _folder() -> Path:
    from lashing.paths import cache_dir

    return cache_dir() / "code"


def _save(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_bytes(data)
        os.replace(partial, path)
    except OSError:
        return
