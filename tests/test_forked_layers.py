"""Layers analyzed in forked processes: same answers as on threads, same errors, no stray children.

`analyze_image` sends the largest layers of a local image to forked children (one per spare core) so
the Python part of reading them runs in parallel. These tests lower the size threshold so small
crafted images take that path, and check it against the threaded path on the same image.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

import lashing.analyzers.forked as forked
import lashing.analyzers.image as image_mod
from craft import LayerSpec, Member, build_docker_archive, build_oci_layout
from lashing.analyzers.image import analyze_image
from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.cache.layer_cache import LayerCache
from lashing.errors import DigestMismatchError, InvalidImageError, LashingError, LimitExceededError
from lashing.model import Package, PackageType
from lashing.processes import can_fork
from lashing.sources.image.detect import open_target
from lashing.sources.image.interface import Limits

PARENT = os.getpid()


class Lister(Analyzer):
    """One package per `*.pkg` file, named by its path, versioned by its content."""

    name = "lister"
    version = 1

    def required(self, path: str, info: FileInfo) -> bool:
        return path.endswith(".pkg")

    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        return AnalysisResult(packages=(Package(name=item.path, version=item.content.decode(), type=PackageType.NPM),))


class DiesInChild(Lister):
    """Kills its own process when run anywhere but in the test process: a child that dies mid-layer."""

    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        if os.getpid() != PARENT:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().analyze(item)


def _layers(big_files: int = 40) -> list[LayerSpec]:
    big = [Member(f"usr/lib/f{i}.pkg", f"{i}.0".encode()) for i in range(big_files)]
    big += [Member(f"usr/share/blob{i}", os.urandom(20_000)) for i in range(20)]
    return [
        LayerSpec(big, compression="none"),
        LayerSpec([Member("app/a.pkg", b"1.0"), Member("usr/lib/.wh.f3.pkg", b"")], compression="none"),
        LayerSpec([Member("app/b.pkg", b"2.0")], compression="none"),
    ]


@pytest.fixture
def fork_everything(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fork for any layer size and record which layers were forked."""
    started: list[str] = []
    real = forked.ForkedLayer.__init__

    def spy(self: forked.ForkedLayer, name: str, *args: object) -> None:
        started.append(name)
        real(self, name, *args)  # type: ignore[arg-type]

    _wait_for_one_thread()
    monkeypatch.setattr(image_mod, "FORK_MIN_BYTES", 0)
    monkeypatch.setattr(image_mod, "_usable_cores", lambda: 2)
    monkeypatch.setattr(forked.ForkedLayer, "__init__", spy)
    return started


def _wait_for_one_thread() -> None:
    """Threads of earlier tests can still be listed by the kernel for a moment after they were joined."""
    deadline = time.monotonic() + 5
    while not can_fork() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert can_fork(), os.listdir("/proc/self/task")


def _archive(tmp_path: Path, big_files: int = 40, tamper: tuple[bytes, bytes, int] | None = None) -> Path:
    """The test image as a docker-archive; `tamper` = (member name, bytes after it, offset): the byte
    at that offset from the first such bytes after the member's name is changed."""
    path = tmp_path / "img.tar"
    build_docker_archive(path, _layers(big_files))
    if tamper is not None:
        member, after, offset = tamper
        raw = bytearray(path.read_bytes())
        at = raw.find(after, raw.find(member) + 512) + offset
        raw[at] ^= 0xFF
        path.write_bytes(bytes(raw))
    return path


def _pipes() -> list[str]:
    """This process's open pipes (counting every descriptor would count files that earlier tests left to
    the garbage collector, which may close them at any moment)."""
    links = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # the descriptor listdir itself used
            continue
    return sorted(link for link in links if link.startswith("pipe:"))


def _no_children_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@pytest.mark.parametrize("layout", ["docker-archive", "oci-layout"])
def test_forked_layers_give_the_threaded_answer(tmp_path: Path, fork_everything: list[str], layout: str) -> None:
    if layout == "docker-archive":
        target = tmp_path / "img.tar"
        build_docker_archive(target, _layers())
    else:
        target = tmp_path / "layout"
        build_oci_layout(target, _layers())
    with open_target(str(target)) as source:
        with_fork = analyze_image(source, [Lister()], cache=LayerCache(tmp_path / "a.sqlite"))
    assert fork_everything == ["layer 0"]  # the largest layer, one child on two cores
    image_mod.FORK_MIN_BYTES = 1 << 62  # type: ignore[misc]  # restored by monkeypatch
    with open_target(str(target)) as source:
        threaded = analyze_image(source, [Lister()], cache=LayerCache(tmp_path / "b.sqlite"))
    assert fork_everything == ["layer 0"]
    assert with_fork.analyses == threaded.analyses
    assert with_fork.inventory.packages == threaded.inventory.packages
    names = sorted(p.name for p in with_fork.inventory.packages)
    assert "usr/lib/f3.pkg" not in names and {"app/a.pkg", "app/b.pkg", "usr/lib/f0.pkg"} <= set(names)
    assert len(names) == 39 + 2
    # the forked layer's analysis reached the cache like the others
    with open_target(str(target)) as source:
        warm = analyze_image(source, [Lister()], cache=LayerCache(tmp_path / "a.sqlite"))
    assert warm.cached_layers == 3 and warm.analyses == threaded.analyses
    assert _no_children_left()


def test_a_tampered_forked_layer_fails_with_the_digest_error(tmp_path: Path, fork_everything: list[str]) -> None:
    path = _archive(tmp_path, tamper=(b"usr/share/blob7", b"", 5000))  # a skipped file's data, big layer
    cache = LayerCache(tmp_path / "c.sqlite")
    with open_target(str(path)) as source:
        diff_id = source.layers[0].diff_id
        with pytest.raises(DigestMismatchError, match=r"layer 0 .*digest mismatch"):
            analyze_image(source, [Lister()], cache=cache)
    assert fork_everything == ["layer 0"]
    assert cache.get(diff_id, "lister:1") is None
    assert _no_children_left()


def test_a_limit_hit_in_a_child_keeps_its_class(tmp_path: Path, fork_everything: list[str]) -> None:
    path = _archive(tmp_path)
    with open_target(str(path)) as source, pytest.raises(LimitExceededError, match="more than 10 members"):
        analyze_image(source, [Lister()], limits=Limits(max_members=10))
    assert _no_children_left()


def test_a_child_that_dies_is_a_one_line_error(tmp_path: Path, fork_everything: list[str]) -> None:
    path = _archive(tmp_path)
    with open_target(str(path)) as source, pytest.raises(InvalidImageError) as info:
        analyze_image(source, [DiesInChild()])
    assert str(info.value) == "layer 0: the process analyzing it ended without an answer (killed by signal 9)"
    assert _no_children_left()


def test_an_unexpected_error_in_a_child_is_an_internal_error_naming_the_layer(
    tmp_path: Path, fork_everything: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in a child is not blamed on the image: ChildError (an internal error, as on a thread), with
    the child's traceback in its message."""
    real = image_mod._read_layer

    def broken(source, layer, *args):  # type: ignore[no-untyped-def]
        if os.getpid() != PARENT:
            raise RuntimeError("boom")
        return real(source, layer, *args)

    monkeypatch.setattr(image_mod, "_read_layer", broken)
    path = _archive(tmp_path)
    with open_target(str(path)) as source, pytest.raises(forked.ChildError) as info:
        analyze_image(source, [Lister()])
    first, *rest = str(info.value).splitlines()
    assert first == "layer 0: RuntimeError: boom"
    assert "Traceback" in rest[0] and any("in broken" in line for line in rest)
    assert not isinstance(info.value, LashingError)
    assert _no_children_left()


class PluginError(LashingError):
    """A LashingError defined outside lashing.errors (as analyzers' own rule errors are)."""


class FailsInChild(Lister):
    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        if os.getpid() != PARENT:
            raise PluginError(f"bad rule while reading {item.path}")
        return super().analyze(item)


def test_a_lashing_error_of_another_module_keeps_its_class(tmp_path: Path, fork_everything: list[str]) -> None:
    path = _archive(tmp_path)
    with open_target(str(path)) as source, pytest.raises(PluginError, match=r"^bad rule while reading usr/lib/"):
        analyze_image(source, [FailsInChild()])
    assert _no_children_left()


def test_when_fork_fails_the_layers_go_to_threads(
    tmp_path: Path, fork_everything: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_more_processes() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    path = _archive(tmp_path)
    open_pipes = _pipes()
    monkeypatch.setattr(forked.os, "fork", no_more_processes)
    with open_target(str(path)) as source:
        result = analyze_image(source, [Lister()])
    assert fork_everything == ["layer 0"]  # it was tried
    assert len(result.inventory.packages) == 41
    assert _pipes() == open_pipes  # the pipe was closed
    assert _no_children_left()


def test_no_fork_while_a_native_thread_runs() -> None:
    """Threads the threading module does not know (started by C code, as yara-x's timeout thread) count."""
    import _thread
    import threading

    _wait_for_one_thread()
    started, stop = threading.Event(), threading.Event()

    def native() -> None:
        started.set()
        stop.wait()

    _thread.start_new_thread(native, ())
    started.wait()
    try:
        assert threading.active_count() == 1  # invisible to the threading module
        assert not can_fork()
    finally:
        stop.set()


def test_a_failing_threaded_layer_stops_the_forked_one(tmp_path: Path, fork_everything: list[str]) -> None:
    path = _archive(tmp_path, tamper=(b"app/b.pkg", b"2.0", 0))  # layer 2's file: fails on this process's thread
    with open_target(str(path)) as source, pytest.raises(DigestMismatchError, match="layer 2"):
        analyze_image(source, [Lister()])
    assert fork_everything == ["layer 0"]
    assert _no_children_left()


def test_no_fork_while_another_thread_runs(tmp_path: Path, fork_everything: list[str]) -> None:
    import threading

    path = _archive(tmp_path)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with open_target(str(path)) as source:
            result = analyze_image(source, [Lister()])
    finally:
        stop.set()
        other.join()
    assert fork_everything == []
    assert len(result.inventory.packages) == 41


def test_while_reading_runs_once_while_layers_are_read(tmp_path: Path, fork_everything: list[str]) -> None:
    """The caller's own work (the CLI imports its report writer) overlaps the reading: it runs after the
    forked child started and before its answer is taken, once per scan, also when everything is cached."""
    path = _archive(tmp_path)
    calls: list[tuple[int, int]] = []
    real_result = forked.ForkedLayer.result

    def result(self: forked.ForkedLayer) -> object:
        calls.append((len(fork_everything), -1))
        return real_result(self)

    cache = LayerCache(tmp_path / "c.sqlite")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(forked.ForkedLayer, "result", result)
        with open_target(str(path)) as source:
            mark = lambda: calls.append((len(fork_everything), 1))  # noqa: E731
            analyze_image(source, [Lister()], cache=cache, while_reading=mark)
    assert calls == [(1, 1), (1, -1)]  # child started, then our work, then its answer
    calls.clear()
    with open_target(str(path)) as source:
        warm = analyze_image(source, [Lister()], cache=cache, while_reading=lambda: calls.append((0, 1)))
    assert warm.cached_layers == 3 and calls == [(0, 1)]


def test_an_oversized_answer_is_refused_and_the_child_stopped(
    tmp_path: Path, fork_everything: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(forked, "MAX_ANSWER_BYTES", 4096)  # the big layer's analysis is larger than this
    path = _archive(tmp_path, big_files=400)
    with open_target(str(path)) as source, pytest.raises(InvalidImageError, match="answer over 4096 bytes"):
        analyze_image(source, [Lister()])
    assert _no_children_left()


@pytest.mark.parametrize("layout", ["docker-archive", "oci-layout"])
def test_only_layers_over_the_size_threshold_are_forked(
    tmp_path: Path, fork_everything: list[str], monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    """The threshold applies to the stored size: docker save's manifest gives none, so it comes from the
    archive member (a bug once kept docker-archives from ever forking)."""
    monkeypatch.setattr(image_mod, "FORK_MIN_BYTES", 200_000)  # the big layer holds 400 kB of random data
    if layout == "docker-archive":
        target = _archive(tmp_path)
    else:
        target = tmp_path / "layout"
        build_oci_layout(target, _layers())
    with open_target(str(target)) as source:
        assert (source.stored_size(source.layers[0]) or 0) > 200_000
        analyze_image(source, [Lister()])
    assert fork_everything == ["layer 0"]


# -- the proof of a forked layer's bytes, left until after its analysis (while_verifying) -------------------


def test_while_verifying_sees_the_analysis_the_scan_returns(tmp_path: Path, fork_everything: list[str]) -> None:
    """The hook gets the assembled analysis once, and the same analysis is returned after the proof; the
    forked layer reaches the cache only once proven."""
    path = _archive(tmp_path)
    seen: list[object] = []
    cache = LayerCache(tmp_path / "c.sqlite")
    with open_target(str(path)) as source:
        diff_id = source.layers[0].diff_id
        result = analyze_image(source, [Lister()], cache=cache, while_verifying=seen.append)
    assert fork_everything == ["layer 0"] and seen == [result]
    assert len(result.inventory.packages) == 41
    assert cache.get(diff_id, "lister:1") == result.analyses[0]
    with open_target(str(path)) as source:
        plain = analyze_image(source, [Lister()])
    assert plain.analyses == result.analyses and plain.inventory == result.inventory
    assert _no_children_left()


def test_a_tampered_layer_fails_after_while_verifying_and_is_not_cached(
    tmp_path: Path, fork_everything: list[str]
) -> None:
    """Bytes the walk skipped are changed: the walk succeeds, the analysis goes to the hook, then the
    child's hash fails and the scan raises the digest error (nothing of the layer is cached)."""
    path = _archive(tmp_path, tamper=(b"usr/share/blob7", b"", 5000))
    seen: list[object] = []
    cache = LayerCache(tmp_path / "c.sqlite")
    with open_target(str(path)) as source:
        diff_id = source.layers[0].diff_id
        with pytest.raises(DigestMismatchError, match=r"layer 0 .*digest mismatch"):
            analyze_image(source, [Lister()], cache=cache, while_verifying=seen.append)
    assert len(seen) == 1  # the hook ran on the unproven analysis; the caller must not use what it made
    assert cache.get(diff_id, "lister:1") is None
    assert _no_children_left()


def test_a_digest_error_wins_over_an_error_of_while_verifying(tmp_path: Path, fork_everything: list[str]) -> None:
    """The caller's work on unproven bytes may fail because of them: the digest error is what is raised."""

    def fails(_analysis: object) -> None:
        raise LashingError("cannot write the report")

    tampered = _archive(tmp_path, tamper=(b"usr/share/blob7", b"", 5000))
    with open_target(str(tampered)) as source, pytest.raises(DigestMismatchError):
        analyze_image(source, [Lister()], while_verifying=fails)
    assert _no_children_left()
    (tmp_path / "good").mkdir()
    good = _archive(tmp_path / "good")
    with open_target(str(good)) as source, pytest.raises(LashingError, match="cannot write the report"):
        analyze_image(source, [Lister()], while_verifying=fails)  # proven bytes: the caller's own error
    assert _no_children_left()


def test_the_forked_layer_is_hashed_after_its_analysis_is_sent(
    tmp_path: Path, fork_everything: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With while_verifying the child starts hashing only once its analysis is sent (so the hash overlaps
    the caller's work, not the walk); without it, the hash runs while the layer is read, as before."""
    from lashing.sources.image import blobs

    log = tmp_path / "order.log"
    real_hash, real_send = blobs._SectionDigest._hash, forked._write

    def logged_hash(self: object) -> None:
        if os.getpid() != PARENT:  # the small layers are hashed in this process, on threads
            with open(log, "a") as out:
                out.write("hash\n")
        real_hash(self)  # type: ignore[arg-type]

    def logged_send(fd: int, data: bytes) -> None:
        what = "verdict" if b'"analysis":null' in data else "analysis"
        with open(log, "a") as out:
            out.write(f"send {what}\n")
        real_send(fd, data)

    monkeypatch.setattr(blobs._SectionDigest, "_hash", logged_hash)
    monkeypatch.setattr(forked, "_write", logged_send)
    for hook, order in ((lambda _: None, ["send analysis", "hash", "send verdict"]),
                        (None, ["hash", "send analysis", "send verdict"])):
        log.write_text("")
        (tmp_path / str(len(order)) / str(hook is None)).mkdir(parents=True)
        with open_target(str(_archive(tmp_path / str(len(order)) / str(hook is None)))) as source:
            analyze_image(source, [Lister()], while_verifying=hook)
        assert log.read_text().split("\n")[:-1] == order
    assert _no_children_left()


def test_a_child_killed_while_hashing_is_a_one_line_error(
    tmp_path: Path, fork_everything: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lashing.sources.image import blobs

    real_hash = blobs._SectionDigest._hash

    def dies(self: object) -> None:
        if os.getpid() != PARENT:
            os.kill(os.getpid(), signal.SIGKILL)
        real_hash(self)  # type: ignore[arg-type]

    monkeypatch.setattr(blobs._SectionDigest, "_hash", dies)
    with open_target(str(_archive(tmp_path))) as source, pytest.raises(InvalidImageError) as info:
        analyze_image(source, [Lister()], while_verifying=lambda _: None)
    assert str(info.value) == "layer 0: the process analyzing it ended without an answer (killed by signal 9)"
    assert _no_children_left()
