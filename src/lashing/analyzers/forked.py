"""Analyze one layer in a forked child process, for parallelism the GIL does not allow.

Reading a layer is mostly Python (tar headers, catalogers), so layers analyzed on threads take turns
on one core. A forked child gets the interpreter as it is (modules imported, analyzers built) for a
few milliseconds, reads its layer through its own file handle, and sends the `LayerAnalysis` back
over a pipe as msgspec JSON (the layer cache's codec, decoded with the same type checks). The child
never returns into the caller's stack: it leaves with `os._exit`, so no cleanup, buffer flush or
atexit hook of the parent runs twice.

Two messages cross the pipe: the analysis (length-prefixed), then the verdict of the layer's proof. The
work may leave the proof (hashing the layer to verify its digests) until after the analysis is sent:
the parent then works with the analysis while the child hashes, and `verified()` tells whether the
bytes it was read from are the image's. Work that proved its layer already sends an empty verdict.

Errors keep their meaning: a `LashingError` raised in the child (digest mismatch, limit exceeded,
corrupt tar) is raised again in the parent with its class and message; a child that dies without an
answer (killed, out of memory) is an `InvalidImageError` naming the layer; any other exception is a bug,
raised in the parent as `ChildError` (an internal error, as on a thread) carrying the child's traceback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn

import msgspec

from lashing.analyzers.walker import LayerAnalysis
from lashing.errors import InvalidImageError, LashingError

MAX_ANSWER_BYTES = 1024**3  # a LayerAnalysis this large means something is badly wrong
MAX_VERDICT_BYTES = 1024**2  # an error message and a traceback
_LENGTH = 8  # bytes of the analysis message's length prefix (big-endian)

# A child's work: the layer's analysis and, when the proof of its bytes was left for later, that proof
# (raises what verifying the layer raises).
Work = Callable[[], tuple[LayerAnalysis, Callable[[], None] | None]]


class ChildError(RuntimeError):
    """An unexpected exception in a layer's analysis process (a bug, not bad input)."""


@dataclass(frozen=True)
class _Answer:
    analysis: LayerAnalysis | None = None
    error_module: str = ""  # a LashingError's class, to raise it again in the parent
    error_class: str = ""
    error: str = ""
    trace: str = ""  # the child's traceback, for anything else


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(_Answer)




class ForkedLayer:
    """A child process analyzing one layer: `result()` waits for its LayerAnalysis, `verified()` for the
    proof of the layer's bytes (then the child is gone). Call both, or `cancel()`.

    Raises OSError when the process cannot be started (no pipe or process left): nothing is left open.
    `close_in_child` are descriptors the child has no use for (earlier children's pipes)."""

    def __init__(self, name: str, work: Work, close_in_child: Sequence[int] = ()):
        self.name = name
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            raise
        if pid == 0:  # the child: do the work, write the answer, leave
            for fd in (read_end, *close_in_child):
                with contextlib.suppress(OSError):
                    os.close(fd)
            _child(work, write_end)
        os.close(write_end)
        self._pid, self._fd = pid, read_end

    @property
    def fd(self) -> int:
        return self._fd

    def result(self) -> LayerAnalysis:
        """The layer's analysis; not yet proven when the work left its proof for later (see `verified`)."""
        try:
            data = self._read_answer()
        except BaseException:  # an oversized answer, or Ctrl-C while waiting: stop the child too
            self.cancel()
            raise
        answer = self._decode(data) if data is not None else None
        if answer is None or answer.analysis is None:
            status = self._finish()
            if answer is None:
                raise InvalidImageError(f"{self.name}: the process analyzing it ended without an answer ({status})")
            self._raise(answer)
        return answer.analysis  # type: ignore[union-attr]

    def verified(self) -> None:
        """Wait for the child's proof of the layer's bytes and reap it; raises what the proof raised
        (a digest mismatch) or an InvalidImageError when the child died before telling."""
        try:
            data = self._read_all(MAX_VERDICT_BYTES, "verdict")
        except BaseException:
            self.cancel()
            raise
        status = self._finish()
        if not data:
            raise InvalidImageError(f"{self.name}: the process analyzing it ended without an answer ({status})")
        answer = self._decode(data)
        if answer.error or answer.error_class:
            self._raise(answer)

    def _decode(self, data: bytes) -> _Answer:
        try:
            return _DECODER.decode(data)
        except msgspec.DecodeError as exc:
            self.cancel()
            raise InvalidImageError(f"{self.name}: unreadable answer from its analysis process ({exc})") from None

    def _raise(self, answer: _Answer) -> NoReturn:
        error_class = getattr(sys.modules.get(answer.error_module), answer.error_class, None)
        if isinstance(error_class, type) and issubclass(error_class, LashingError):
            try:
                error = error_class(answer.error)
            except TypeError:  # a constructor that wants more than a message
                error = LashingError(answer.error)
            raise error
        raise ChildError(f"{self.name}: {answer.error}\n{answer.trace}".rstrip())

    def cancel(self) -> None:
        """Stop the child (the scan failed elsewhere) and reap it."""
        if self._pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            self._finish()

    def _finish(self) -> str:
        """Close our end of the pipe and reap the child; its exit status as text."""
        os.close(self._fd)
        return self._reap()

    def _read_answer(self) -> bytes | None:
        """The length-prefixed analysis message; None when the pipe ends first."""
        head = self._read_exact(_LENGTH)
        if head is None:
            return None
        size = int.from_bytes(head, "big")
        if size > MAX_ANSWER_BYTES:
            raise InvalidImageError(f"{self.name}: analysis answer over {MAX_ANSWER_BYTES} bytes")
        return self._read_exact(size)

    def _read_exact(self, size: int) -> bytes | None:
        parts: list[bytes] = []
        left = size
        while left:
            chunk = os.read(self._fd, min(left, 1 << 20))
            if not chunk:
                return None
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts)

    def _read_all(self, limit: int, what: str) -> bytes:
        parts: list[bytes] = []
        total = 0
        while chunk := os.read(self._fd, 1 << 20):
            total += len(chunk)
            if total > limit:
                raise InvalidImageError(f"{self.name}: {what} over {limit} bytes")
            parts.append(chunk)
        return b"".join(parts)

    def _reap(self) -> str:
        pid, self._pid = self._pid, 0
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            return f"killed by signal {os.WTERMSIG(status)}"
        return f"exit status {os.waitstatus_to_exitcode(status)}"


def _child(work: Work, fd: int) -> None:
    """Run in the forked child only; never returns."""
    code = 0
    try:
        proof = None
        try:
            analysis, proof = work()
            answer = _Answer(analysis=analysis)
        except BaseException as exc:
            answer = _error_answer(exc)
        message = _ENCODER.encode(answer)
        _write(fd, len(message).to_bytes(_LENGTH, "big") + message)
        if answer.analysis is not None:
            verdict = _Answer()
            try:
                if proof is not None:
                    proof()
            except BaseException as exc:
                verdict = _error_answer(exc)
            _write(fd, _ENCODER.encode(verdict))
    except BaseException:  # the pipe closed under us (the parent gave up): nothing left to tell
        code = 1
    finally:
        os._exit(code)


def _error_answer(exc: BaseException) -> _Answer:
    if isinstance(exc, LashingError):
        return _Answer(error_module=type(exc).__module__, error_class=type(exc).__qualname__, error=str(exc))
    # a bug (or Ctrl-C): the parent raises it as ChildError
    return _Answer(error=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc())


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
