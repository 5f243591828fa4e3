"""Work on many small items (config files) in forked worker processes, answers in the items' order.

The caller prepares everything shared (the compiled catalogs) before calling: every worker inherits it.
Work goes out in chunks through a pipe holding the chunk numbers: a worker takes the next number with
one 4-byte read (atomic on a pipe, so each number reaches exactly one worker), and a worker that drew
cheap files simply takes more. Each worker answers on its own pipe with frames: "started chunk n", then
"chunk n" and its pickled answers. The parent reads whichever pipe is ready and yields answers in order.

This replaces multiprocessing.Pool, for two reasons. Its three helper threads took ~0.2 s of the
parent's CPU on a 2,500-file scan, CPU the two workers of a 2-core machine then lacked. And a worker
dying in native code (a crash in a C extension) left the pool waiting forever. Here a worker that dies
is an end of file on its pipe: the chunk it had started is done again one item per fresh process, so
only the item that kills its process is lost (`crashed` gives its answer), not the scan.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import selectors
import signal
import struct
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")

_NUMBER = struct.Struct("<I")
_FRAME = struct.Struct("<IQ")  # chunk number, payload length (STARTED: the worker took that chunk)
_STARTED = 2**64 - 1
GC_EVERY = 8  # chunks
_MAX_QUEUE_BYTES = 32 * 1024  # well under a pipe's 64 KiB: the whole queue is written before forking


def chunk_size(count: int, preferred: int = 16) -> int:
    """Items per chunk: `preferred`, or more when the chunk numbers would not fit the queue pipe."""
    return max(preferred, -(-count // (_MAX_QUEUE_BYTES // _NUMBER.size)))


def run_forked(items: Sequence[Item], work: Callable[[Item], Answer], workers: int,
               crashed: Callable[[Item, str], Answer], chunk: int | None = None,
               retry: bool = True) -> Iterator[Answer]:
    """`work(item)` for every item, computed in `workers` forked processes, yielded in the items' order.
    `work` must not raise (it answers errors itself). The items of a chunk whose process died are done
    again one per process (`retry`); an item whose own process dies is answered by `crashed(item, why)`."""
    size = chunk or chunk_size(len(items))
    chunks = [items[start:start + size] for start in range(0, len(items), size)]
    if not chunks:
        return
    queue_read, queue_write = os.pipe()
    try:
        os.write(queue_write, b"".join(_NUMBER.pack(n) for n in range(len(chunks))))
    finally:
        os.close(queue_write)
    pids: dict[int, int] = {}  # answer pipe -> worker pid
    gc.freeze()  # what the workers inherit stays out of their collector's walks (and its page writes)
    try:
        for _ in range(max(1, min(workers, len(chunks)))):
            answers_read, answers_write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker: never returns into the caller's stack
                code = 1
                try:
                    for fd in (answers_read, *pids):
                        os.close(fd)
                    _work(queue_read, answers_write, chunks, work)
                    code = 0
                finally:
                    os._exit(code)
            os.close(answers_write)
            pids[answers_read] = pid
        os.close(queue_read)
        queue_read = -1
        yield from _collect(pids, chunks, work, crashed, retry)
    finally:
        if queue_read >= 0:
            os.close(queue_read)
        for fd, pid in pids.items():
            with contextlib.suppress(OSError):
                os.close(fd)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _work(queue: int, out: int, chunks: list[Sequence[Item]], work: Callable[[Item], Answer]) -> None:
    """A worker's loop: take a chunk number, announce it, answer it; until the queue is empty.

    The cycle collector runs between chunks (every GC_EVERY), not on allocation counts: the parse trees
    and findings of a file are freed by reference counting; what it finds is rare (a recursive YAML alias),
    and a scan of the worker's few survivors costs less than its automatic runs (~4% of a config scan)."""
    gc.disable()
    done = 0
    while True:
        if done and done % GC_EVERY == 0:
            gc.collect()
        done += 1
        taken = os.read(queue, _NUMBER.size)
        if not taken:
            return
        (number,) = _NUMBER.unpack(taken)
        _write(out, _FRAME.pack(number, _STARTED))
        payload = pickle.dumps([work(item) for item in chunks[number]], protocol=pickle.HIGHEST_PROTOCOL)
        _write(out, _FRAME.pack(number, len(payload)) + payload)


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _collect(pids: dict[int, int], chunks: list[Sequence[Item]], work: Callable[[Item], Answer],
             crashed: Callable[[Item, str], Answer], retry: bool) -> Iterator[Answer]:
    """Read every worker's frames as they come; yield answers in chunk order."""

    def again(number: int, why: str) -> list[Answer]:
        if not retry:
            return [crashed(item, why) for item in chunks[number]]
        return [_alone(item, work, crashed, why) for item in chunks[number]]

    done: dict[int, list[Answer]] = {}
    started: dict[int, int | None] = dict.fromkeys(pids)
    buffers = {fd: bytearray() for fd in pids}
    next_chunk = 0
    with selectors.DefaultSelector() as selector:
        for fd in pids:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            for key, _ in selector.select():
                fd = int(key.fd)
                data = os.read(fd, 1 << 20)
                if data:
                    buffers[fd] += data
                    _frames(buffers[fd], started, fd, done)
                    continue
                selector.unregister(fd)
                number = started[fd]
                if number is not None:  # the worker died during that chunk
                    done[number] = again(number, _death(pids.pop(fd)))
            while next_chunk in done:
                yield from done.pop(next_chunk)
                next_chunk += 1
    for number in range(next_chunk, len(chunks)):  # chunks nobody took: every worker died
        yield from done.pop(number, None) or again(number, "the worker processes ended early")


def _frames(buffer: bytearray, started: dict[int, int | None], fd: int, done: dict[int, list[Answer]]) -> None:
    while len(buffer) >= _FRAME.size:
        number, length = _FRAME.unpack_from(buffer)
        if length == _STARTED:
            started[fd] = number
            del buffer[:_FRAME.size]
            continue
        end = _FRAME.size + length
        if len(buffer) < end:
            return
        done[number] = pickle.loads(memoryview(buffer)[_FRAME.size:end])  # our own worker's bytes
        started[fd] = None
        del buffer[:end]


def _death(pid: int) -> str:
    """How a worker ended, reaped."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return "the worker process disappeared"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = str(number)
        return f"the scanning process was killed by signal {number} ({name})"
    return f"the scanning process exited with status {os.WEXITSTATUS(status)}"


def _alone(item: Item, work: Callable[[Item], Answer], crashed: Callable[[Item, str], Answer], why: str) -> Answer:
    """`item` again, in a process of its own: the answer, or `crashed` when that process dies too."""
    answers = list(run_forked([item], work, 1, crashed, chunk=1, retry=False))
    return answers[0] if answers else crashed(item, why)
