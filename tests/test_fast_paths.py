"""The fast paths of uncompressed layers: digest on a thread while the walk seeks, cheaper tar headers.

An uncompressed layer read from a file section (docker-archive member, OCI layout blob) is hashed on
its own thread while the tar walk reads only headers and wanted files and seeks past the rest. These
tests pin that it sees exactly what the streaming path sees and fails exactly where it fails.
"""

from __future__ import annotations

import io
import os
import random
import tarfile
from pathlib import Path

import pytest

from craft import LayerSpec, Member, build_docker_archive, build_oci_layout, make_tar, sha256
from lashing.analyzers.image import analyze_image
from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.analyzers.walker import walk_entries
from lashing.cache.layer_cache import LayerCache
from lashing.errors import DigestMismatchError, InvalidImageError, LimitExceededError
from lashing.sources.image.blobs import LayerStream
from lashing.sources.image.blobstore import TarBlobStore, _Section
from lashing.sources.image.detect import open_target
from lashing.sources.image.interface import DEFAULT_LIMITS, Limits
from lashing.sources.image.tarstream import TarStream, _check_sum
from lashing.sources.image.tarwalk import iter_tar, normalize_member_path


class Picky(Analyzer):
    """Wants files whose name ends in `.want` (and records them): everything else is seeked past."""

    name = "picky"
    version = 1

    def __init__(self) -> None:
        self.seen: dict[str, bytes] = {}

    def required(self, path: str, info: FileInfo) -> bool:
        return path.endswith(".want")

    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        self.seen[item.path] = item.content
        return None


class Streamed:
    """A plain forward-only stream (no `skip`): forces the streaming path over the same bytes."""

    def __init__(self, data: bytes):
        self._io = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._io.read(size)


def _members(seed: int = 7) -> list[Member]:
    rnd = random.Random(seed)
    members = [Member("etc", kind="dir"), Member("etc/os-release", b'ID=debian\nVERSION_ID="12"\n')]
    for i in range(60):
        size = rnd.choice([0, 1, 511, 512, 513, 4096, 70_000, 300_000])
        data = rnd.randbytes(size)
        members.append(Member(f"d{i % 5}/f{i}{'.want' if i % 3 == 0 else ''}", data))
    members += [Member("d0/link", kind="symlink", link="f0.want"), Member("d1/hard", kind="hardlink", link="d1/f1")]
    return members


def _walk(stream: object, analyzer: Analyzer) -> tuple[list, dict]:
    warnings: list[str] = []
    entries = iter_tar(stream, max_members=10_000, warn=warnings.append)  # type: ignore[arg-type]
    analysis = walk_entries("sha256:" + "0" * 64, entries, [analyzer], warnings)
    return list(analysis.files), dict(analyzer.seen)  # type: ignore[attr-defined]


def _archive(tmp_path: Path, members: list[Member]) -> Path:
    path = tmp_path / "img.tar"
    build_docker_archive(path, [LayerSpec(members, compression="none")])
    return path


def test_section_stream_skips_and_matches_the_streaming_path(tmp_path: Path) -> None:
    members = _members()
    tar = make_tar(members)
    path = _archive(tmp_path, members)
    with open_target(str(path)) as source:
        stream = source.open_layer(source.layers[0])
        try:
            assert stream.can_skip and stream.compression == "none"
            fast_files, fast_seen = _walk(stream, Picky())
            stream.finish()
        finally:
            stream.close()
    slow_files, slow_seen = _walk(Streamed(tar), Picky())
    assert fast_files == slow_files
    assert fast_seen == slow_seen
    assert sorted(fast_seen) == sorted(m.name for m in members if m.name.endswith(".want"))


def test_tampered_data_of_a_skipped_file_fails_the_layer_and_caches_nothing(tmp_path: Path) -> None:
    members = [Member("a.want", b"wanted"), Member("skipped.bin", b"\0" * 100_000), Member("z.want", b"z")]
    path = _archive(tmp_path, members)
    raw = bytearray(path.read_bytes())
    at = raw.find(b"\0" * 100_000, raw.find(b"skipped.bin"))
    raw[at + 50_000] = 0x41  # inside the skipped member's data: headers and wanted files are intact
    path.write_bytes(bytes(raw))
    cache = LayerCache(tmp_path / "cache.sqlite")
    picky = Picky()
    with open_target(str(path)) as source:
        diff_id = source.layers[0].diff_id
        with pytest.raises(DigestMismatchError, match="digest mismatch"):
            analyze_image(source, [picky], cache=cache)
    assert picky.seen == {"a.want": b"wanted", "z.want": b"z"}  # the walk itself saw nothing wrong
    assert cache.get(diff_id, "picky:1") is None


def test_tampered_oci_layout_blob_fails_on_the_fast_path(tmp_path: Path) -> None:
    root = tmp_path / "layout"
    built = build_oci_layout(root, [LayerSpec([Member("x.want", b"x"), Member("big", b"B" * 50_000)], "none")])
    blob = root / "blobs" / "sha256" / sha256(built.layer_blobs[0])[7:]
    data = bytearray(blob.read_bytes())
    data[data.find(b"B" * 1000) + 10] = ord("C")
    blob.write_bytes(bytes(data))
    with open_target(str(root)) as source, pytest.raises(DigestMismatchError):
        analyze_image(source, [Picky()])


def _section_stream(path: Path, extra: int, limits: Limits = DEFAULT_LIMITS) -> LayerStream:
    """The layer of a one-layer docker-archive as a section claiming `extra` more bytes than it has."""
    store = TarBlobStore(path, 100)
    name = next(n for n in store._members if n.endswith("layer.tar"))
    member = store._member(name)
    store.close()
    handle = open(path, "rb")
    handle.seek(member.offset_data)
    tar = path.read_bytes()[member.offset_data : member.offset_data + member.size]
    return LayerStream(_Section(handle, member.size + extra), limits=limits, digest=None, diff_id=sha256(tar))


def test_truncated_section_fails_cleanly(tmp_path: Path) -> None:
    path = _archive(tmp_path, [Member("a.want", b"a" * 10_000)])
    # The section runs past the end of the file: the walk ends at the tar's end marker, the digest of
    # the (longer) section cannot match.
    stream = _section_stream(path, os.path.getsize(path))
    try:
        assert stream.can_skip
        _walk(stream, Picky())
        with pytest.raises(DigestMismatchError):
            stream.finish()
    finally:
        stream.close()
    # A member whose data runs past the end of the file: the seek cannot go that far.
    header = tarfile.TarInfo("huge")
    header.size = 1024**3
    blob = header.tobuf(format=tarfile.GNU_FORMAT) + b"x" * 1024
    root = tmp_path / "layout"
    build_oci_layout(root, [LayerSpec([], compression="none", raw=blob)])
    with open_target(str(root)) as source, pytest.raises(InvalidImageError, match="ends in the middle"):
        analyze_image(source, [Picky()])


_TRUNCATE_MID_HASH = """
import sys
from pathlib import Path
from lashing.errors import DigestMismatchError
from lashing.sources.image import blobs
from lashing.sources.image.detect import open_target

path = Path(sys.argv[1])
blobs._SECTION_WINDOW = 1 << 20
real = blobs.hasher_for


class Truncating:  # the archive shrinks to 1 MiB while the second window is about to be hashed
    def __init__(self, digest):
        self.inner, self.calls = real(digest), 0

    def update(self, data):
        self.calls += 1
        if self.calls == 2:
            with open(path, "r+b") as handle:
                handle.truncate(1 << 20)
        self.inner.update(data)

    def hexdigest(self):
        return self.inner.hexdigest()


blobs.hasher_for = Truncating
with open_target(str(path)) as source:
    stream = source.open_layer(source.layers[0])
    try:
        stream.finish()
    except DigestMismatchError as exc:
        print("clean:", exc)
    finally:
        stream.close()
"""


def test_archive_truncated_while_hashing_is_a_clean_error(tmp_path: Path) -> None:
    """The digest thread must not map the file: a mapping past a concurrent truncation raises SIGBUS."""
    import subprocess
    import sys

    path = _archive(tmp_path, [Member("big", os.urandom(6 * 1024 * 1024))])
    done = subprocess.run([sys.executable, "-c", _TRUNCATE_MID_HASH, str(path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("clean:") and "digest mismatch" in done.stdout


def test_section_bounds_still_hold(tmp_path: Path) -> None:
    path = _archive(tmp_path, [Member("a", os.urandom(200_000))])
    with pytest.raises(LimitExceededError):
        _section_stream(path, 0, Limits(max_layer_bytes=100_000))
    many = [Member(f"f{i}", b"x") for i in range(10)]
    path2 = tmp_path / "many"
    path2.mkdir()
    with open_target(str(_archive(path2, many))) as source, pytest.raises(LimitExceededError, match="members"):
        analyze_image(source, [Picky()], limits=Limits(max_members=5))


def test_closing_without_finish_stops_the_digest_thread(tmp_path: Path) -> None:
    path = _archive(tmp_path, [Member("a", os.urandom(3 * 1024 * 1024))])
    with open_target(str(path)) as source:
        stream = source.open_layer(source.layers[0])
        section = stream._section
        assert section is not None
        stream.read(512)
        stream.close()
        assert not section._thread.is_alive()


def test_compressed_blob_in_a_section_takes_the_streaming_path(tmp_path: Path) -> None:
    root = tmp_path / "layout"
    build_oci_layout(root, [LayerSpec([Member("x.want", b"x" * 5000)], compression="gzip")])
    picky = Picky()
    with open_target(str(root)) as source:
        stream = source.open_layer(source.layers[0])
        assert not stream.can_skip and stream.compression == "gzip"
        stream.close()
        analyze_image(source, [picky])
    assert picky.seen == {"x.want": b"x" * 5000}


def _reference_sum(header: bytes) -> int:
    return sum(header[:148]) + 8 * 32 + sum(header[156:])


def test_header_checksum_matches_the_byte_sum() -> None:
    rnd = random.Random(1)
    for i in range(2000):
        fill = rnd.choice([None, 0, 0xFF, 0x80])
        header = rnd.randbytes(512) if fill is None else bytes([fill]) * 512
        if i % 2:
            header = header[:148] + b"%06o\0 " % _reference_sum(header) + header[156:]
            _check_sum(header, "t")
        else:
            stored = header[:148] + b"%06o\0 " % (_reference_sum(header) + 1) + header[156:]
            with pytest.raises(InvalidImageError, match="checksum"):
                _check_sum(stored, "t")


def test_tar_numbers_with_spaces_and_nuls() -> None:
    info = tarfile.TarInfo("f")
    info.size = 5
    header = bytearray(info.tobuf(format=tarfile.USTAR_FORMAT))
    header[124:136] = b"    5      \0"  # spaces around the octal size, as some writers emit
    header[148:156] = b"        "
    header[148:156] = b"%06o\0 " % sum(header)
    data = bytes(header) + b"hello" + bytes(507) + bytes(1024)
    tar = TarStream(io.BytesIO(data))
    member = next(tar.members())
    assert (member.name, member.size, tar.read_data(10)) == ("f", 5, b"hello")


def test_normalize_member_path_fast_case_agrees_with_the_general_rule() -> None:
    def general(name: str) -> str | None:
        parts: list[str] = []
        for part in name.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    return None
                parts.pop()
            else:
                parts.append(part)
        return "/".join(parts)

    rnd = random.Random(3)
    alphabet = ["a", "b.c", ".", "..", "/", ".h", "", "x/"]
    for _ in range(20_000):
        name = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 8)))
        assert normalize_member_path(name) == general(name), name
