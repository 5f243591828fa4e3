"""Spooled report text (lashing.report.spool): ranges copied by the kernel land exactly where plain text
would, whatever the target (a file behind Python's text buffers, a pipe, a stream without a file)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from pathlib import Path

from lashing.analyzers.config.scan import PARALLEL_MIN_FILES
from lashing.report.spool import FileRange, RangeWriter, Spool, coalesce, read_text

PIECES = ["alpha\n", "βeta ✓\n", "", "gamma" * 5000, "δ\n"]


def _spooled(folder: Path) -> tuple[Spool, list[FileRange]]:
    spool = Spool(str(folder))
    ranges = [spool.put("s" if i % 2 else "t", piece.encode()) for i, piece in enumerate(PIECES)]
    return spool, ranges


def _interleaved(writer: RangeWriter, ranges: list[FileRange]) -> str:
    expected = ""
    for i, (piece, where) in enumerate(zip(PIECES, ranges, strict=True)):
        text = f"<{i}>"
        writer.write(text)
        writer.copy(where)
        expected += text + piece
    writer.write("<end>")
    writer.close()
    return expected + "<end>"


def test_ranges_into_a_buffered_text_file(tmp_path: Path) -> None:
    spool, ranges = _spooled(tmp_path)
    target = tmp_path / "out.txt"
    with open(target, "w", encoding="utf-8") as stream:
        writer = RangeWriter(stream)
        expected = _interleaved(writer, ranges)
    spool.close()
    assert writer._method == "copy_file_range"  # the bytes went file to file in the kernel
    assert target.read_text(encoding="utf-8") == expected


def test_ranges_into_a_pipe(tmp_path: Path) -> None:
    _, ranges = _spooled(tmp_path)
    read_end, write_end = os.pipe()
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(os.fdopen(read_end, "rb").read()))
    reader.start()
    with os.fdopen(write_end, "w", encoding="utf-8") as stream:
        writer = RangeWriter(stream)
        expected = _interleaved(writer, ranges)
    reader.join()
    assert writer._method == "sendfile"  # copy_file_range refuses a pipe
    assert received[0].decode("utf-8") == expected


def test_ranges_into_a_stream_without_a_file(tmp_path: Path) -> None:
    _, ranges = _spooled(tmp_path)
    stream = io.StringIO()
    expected = _interleaved(RangeWriter(stream), ranges)
    assert stream.getvalue() == expected
    assert [read_text(r) for r in ranges] == PIECES


def test_forked_writers_never_share_a_file(tmp_path: Path) -> None:
    spool = Spool(str(tmp_path))
    mine = spool.put("x", b"parent")
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            child = spool.put("x", b"child!")
            code = 0 if child.path != mine.path and child.offset == 0 else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert spool.put("x", b"again") == FileRange(mine.path, 6, 5)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"{os.getpid()}-x", f"{pid}-x"])


def test_coalesce_joins_only_ranges_that_continue_each_other() -> None:
    a, b, c = FileRange("f", 0, 5), FileRange("f", 5, 3), FileRange("g", 8, 1)
    assert list(coalesce([a, b, c, "t", FileRange("f", 8, 2), FileRange("f", 20, 1)])) == [
        FileRange("f", 0, 8), c, "t", FileRange("f", 8, 2), FileRange("f", 20, 1)]


def test_config_json_is_the_same_through_a_pipe_a_file_and_stdout_redirected(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"  # enough files for forked workers, each writing its own spool files
    folder.mkdir()
    for i in range(PARALLEL_MIN_FILES + 50):
        security = "securityContext: {privileged: true}" if i % 3 else "securityContext: {runAsNonRoot: true}"
        (folder / f"pod-{i:04d}.yaml").write_text(
            f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nspec:\n  containers:\n"
            f"  - name: c\n    image: nginx:1.{i}\n    {security}\n")
    env = {**os.environ, "LASHING_CACHE_DIR": str(tmp_path / "cache"), "TMPDIR": str(tmp_path)}
    command = [sys.executable, "-m", "lashing", "config", str(folder), "--format", "json"]
    piped = subprocess.run(command, capture_output=True, env=env, timeout=300).stdout
    subprocess.run([*command, "-o", str(tmp_path / "out.json")], env=env, timeout=300, check=False)
    with open(tmp_path / "redirected.json", "wb") as handle:
        subprocess.run(command, stdout=handle, env=env, timeout=300, check=False)

    def body(data: bytes) -> bytes:
        return b"\n".join(line for line in data.split(b"\n") if b'"generated_at"' not in line)

    assert piped.count(b'"id": "LSH-') > 2000
    written, redirected = (tmp_path / "out.json").read_bytes(), (tmp_path / "redirected.json").read_bytes()
    assert body(piped) == body(written) == body(redirected)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("lashing-report-")]  # the spool is removed
