"""Generated Python code compiled once per machine, as CPython keeps its own bytecode.

The CEL translation (cel_python) turns a kind's rules into a few hundred lines of Python that CPython takes
~10 ms per function to compile, in every process of every scan. The code objects are kept in the cache
directory (marshal, as in `__pycache__`), named by a hash of the interpreter's bytecode magic number and the
source, with that hash again inside the file: a file that does not carry it, or does not load, is compiled
again and replaced. Writing is best effort (a read-only cache costs only the compile).
"""

from __future__ import annotations

import marshal
from importlib.util import MAGIC_NUMBER
from types import CodeType

from lashing.paths import cache_dir, content_digest, read_state_file, write_state_file


def compiled(source: str, filename: str) -> CodeType:
    """`compile(source, filename, "exec")`, from the cache when it holds that source's code."""
    digest = content_digest(MAGIC_NUMBER, filename.encode(), source.encode())
    path = cache_dir() / "code" / f"{digest.hex()}.bin"
    data = read_state_file(path)
    if data is not None and data.startswith(digest):
        try:
            code = marshal.loads(data[len(digest):])
        except (ValueError, EOFError, TypeError):
            code = None
        if isinstance(code, CodeType):
            return code
    code = compile(source, filename, "exec")
    write_state_file(path, digest + marshal.dumps(code))
    return code
