"""The forked workers of a config scan (lashing.analyzers.config.parallel): answers in order, every item
answered once, a worker dying in native code costs only the item that killed it, and no process is left
behind, whatever happens to the caller."""

from __future__ import annotations

import faulthandler
import os
import signal
import time
from pathlib import Path

import pytest

from lashing.analyzers.config import parallel, scan
from lashing.analyzers.config.scan import PARALLEL_MIN_FILES, scan_paths


def _children() -> set[int]:
    """Live child processes of this process (zombies included: they were not reaped)."""
    me = str(os.getpid())
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me:
                found.add(int(entry.name))
    return found


def _crashed(item: int, why: str) -> str:
    return f"crashed {item}: {why}"


def _pid_of_work(item: int) -> tuple[int, int]:
    time.sleep(0.0005)  # long enough for both workers to be started before the queue is empty
    return item, os.getpid()


def test_answers_come_in_order_from_several_processes() -> None:
    before = _children()
    answers = list(parallel.run_forked(list(range(1000)), _pid_of_work, 2, _crashed, chunk=7))
    assert [item for item, _ in answers] == list(range(1000))
    workers = {pid for _, pid in answers}
    assert len(workers) == 2 and os.getpid() not in workers
    assert _children() == before


def test_uneven_work_is_shared() -> None:
    """A worker that drew slow items leaves the rest to the other one (chunks are taken, not dealt)."""
    def work(item: int) -> tuple[int, int]:
        if item < 8:
            time.sleep(0.2)
        return item, os.getpid()

    answers = list(parallel.run_forked(list(range(400)), work, 2, _crashed, chunk=8))
    slow_worker = answers[0][1]
    assert sum(1 for _, pid in answers if pid != slow_worker) > 300


@pytest.mark.parametrize("how", [signal.SIGSEGV, signal.SIGKILL])
def test_a_dying_worker_costs_only_the_item_that_killed_it(how: signal.Signals) -> None:
    def work(item: int) -> str:
        if item == 13:
            faulthandler.disable()  # pytest's would print the simulated crash's stack
            os.kill(os.getpid(), how)
        return f"ok {item}"

    before = _children()
    answers = list(parallel.run_forked(list(range(100)), work, 2, _crashed, chunk=10))
    assert answers[13] == f"crashed 13: the scanning process was killed by signal {int(how)} ({how.name})"
    assert answers[:13] + answers[14:] == [f"ok {i}" for i in range(100) if i != 13]
    assert _children() == before


def test_every_worker_dying_still_answers_every_item() -> None:
    def work(item: int) -> str:
        if item % 10 == 0:
            os._exit(7)
        return f"ok {item}"

    answers = list(parallel.run_forked(list(range(60)), work, 2, _crashed, chunk=10))
    assert len(answers) == 60
    for item, answer in enumerate(answers):
        expected = _crashed(item, "the scanning process exited with status 7") if item % 10 == 0 else f"ok {item}"
        assert answer == expected


def test_a_caller_that_stops_early_leaves_no_process() -> None:
    before = _children()
    answers = parallel.run_forked(list(range(10_000)), _pid_of_work, 2, _crashed, chunk=5)
    assert next(answers)[0] == 0
    answers.close()  # e.g. an exception in the caller's loop
    assert _children() == before


def test_large_answers_and_many_chunks() -> None:
    """Answers far over a pipe's buffer, and more chunks than the queue holds at the preferred size."""
    count = 20_000
    size = parallel.chunk_size(count, preferred=1)
    assert size > 1  # the chunk numbers must fit the queue pipe
    answers = list(parallel.run_forked(list(range(count)), lambda i: str(i) * 50, 2, _crashed, chunk=size))
    assert answers == [str(i) * 50 for i in range(count)]


def test_a_config_file_that_kills_its_worker_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through scan_paths: a native crash on one file (simulated) skips that file with a warning."""
    for i in range(PARALLEL_MIN_FILES + 10):
        (tmp_path / f"pod-{i:04d}.yaml").write_text(
            f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nspec:\n  containers: [{{name: c, image: nginx}}]\n")
    real = scan.scan_content

    def crashing(path: str, content: bytes, settings: scan.Settings | None = None,
                 keep_hits: bool = False) -> scan.FileResult:
        if path.endswith("pod-0042.yaml"):
            faulthandler.disable()
            os.kill(os.getpid(), signal.SIGSEGV)
        return real(path, content, settings, keep_hits)

    monkeypatch.setattr(scan, "scan_content", crashing)
    result = scan_paths([tmp_path], workers=2)
    assert result.files_scanned == PARALLEL_MIN_FILES + 10
    assert result.files_failed == 1
    assert result.warnings == [f"{tmp_path / 'pod-0042.yaml'}: could not be analysed (the scanning process was "
                               "killed by signal 11 (SIGSEGV)); skipped"]
    assert len({f.location.path for f in result.findings}) == PARALLEL_MIN_FILES + 9


def test_cyclic_garbage_in_a_worker_is_collected() -> None:
    """Workers run the cycle collector between chunks, not on allocation counts: garbage that only it
    can free (a cycle holding 1 MiB, per item) must not pile up over 400 items."""
    import resource

    def work(item: int) -> int:
        cycle: list[object] = [bytearray(1 << 20)]
        cycle.append(cycle)
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # MiB

    peaks = list(parallel.run_forked(list(range(400)), work, 2, _crashed, chunk=1))
    assert max(peaks) - min(peaks) < 100, (min(peaks), max(peaks))


def _inherited_objects_frozen(_item: int) -> bool:
    import gc

    return gc.get_freeze_count() > 0 and id(_SHARED) not in {id(o) for o in gc.get_objects()}


_SHARED: dict[str, list[int]] = {}


def test_what_workers_inherit_is_out_of_their_collectors_sight() -> None:
    """Objects made before forking (the compiled catalogs) are frozen: the workers' collections skip them."""
    import gc

    global _SHARED
    _SHARED = {"made": [1, 2, 3]}  # a tracked container created after any earlier freeze
    try:
        assert all(parallel.run_forked(list(range(4)), _inherited_objects_frozen, 2, _crashed, chunk=1))
    finally:
        gc.unfreeze()
