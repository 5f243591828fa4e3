"""Our tar header reader against Python's tarfile and GNU tar, on every header format they write."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from lashing.errors import InvalidImageError
from lashing.sources.image.tarstream import TarStream

KINDS = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink",
         tarfile.LNKTYPE: "hardlink", tarfile.CHRTYPE: "other", tarfile.FIFOTYPE: "other"}


def _tree(root: Path) -> Path:
    """A directory with long names, deep paths, unicode, links, a fifo and files of awkward sizes."""
    (root / "a" / ("deep/" * 40)).mkdir(parents=True)
    (root / "a" / ("deep/" * 40) / ("n" * 120)).write_bytes(b"x" * 513)
    (root / "é-ünïcode.txt").write_text("héllo")
    (root / "empty").write_bytes(b"")
    (root / "block").write_bytes(os.urandom(512 * 3))
    (root / ("L" * 200)).write_bytes(b"long")
    (root / "link").symlink_to("../" * 3 + "etc/passwd")
    (root / ("s" * 150)).symlink_to("t" * 150)
    os.link(root / "block", root / "hard")
    os.mkfifo(root / "fifo")
    return root


def _ours(data: bytes) -> list[tuple[str, str, int, str, bytes]]:
    stream = TarStream(io.BytesIO(data))
    out = []
    for m in stream.members():
        content = stream.read_data(m.size) if m.kind == "file" else b""
        out.append((m.name.rstrip("/"), m.kind, m.size, m.linkname if m.kind in ("symlink", "hardlink") else "",
                    content))
    return out


def _theirs(data: bytes) -> list[tuple[str, str, int, str, bytes]]:
    out = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for m in tar:
            kind = KINDS.get(m.type, "other")
            content = tar.extractfile(m).read() if kind == "file" else b""
            out.append((m.name.rstrip("/"), kind, m.size if kind == "file" else 0,
                        m.linkname if kind in ("symlink", "hardlink") else "", content))
    return out


@pytest.mark.parametrize("fmt", ["gnu", "posix", "ustar", "v7", "oldgnu"])
def test_gnu_tar_formats_parse_like_tarfile(tmp_path: Path, fmt: str) -> None:
    root = _tree(tmp_path / "tree")
    archive = tmp_path / "t.tar"
    proc = subprocess.run(["tar", f"--format={fmt}", "-cf", str(archive), "-C", str(root), "."],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        # ustar and v7 cannot store the long names: GNU tar says so and writes the rest.
        assert fmt in ("ustar", "v7") and "too long" in proc.stderr, proc.stderr
    data = archive.read_bytes()
    assert _ours(data) == _theirs(data)
    assert len(_ours(data)) >= (8 if fmt in ("ustar", "v7") else 12)


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_python_tarfile_formats_parse_like_tarfile(tmp_path: Path, fmt: int) -> None:
    root = _tree(tmp_path / "tree")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for path in sorted(root.rglob("*")):
            rel = str(path.relative_to(root))
            if fmt == tarfile.USTAR_FORMAT and (len(rel) > 250 or any(len(p) > 100 for p in rel.split("/"))):
                continue
            if fmt == tarfile.USTAR_FORMAT and path.is_symlink() and len(os.readlink(path)) > 100:
                continue
            tar.add(path, arcname=rel, recursive=False)
    data = buf.getvalue()
    assert _ours(data) == _theirs(data)


def test_large_member_sizes_in_base256(tmp_path: Path) -> None:
    info = tarfile.TarInfo("big")
    info.size = 9 * 1024**3  # over 8 GiB: GNU base-256 size field
    header = info.tobuf(format=tarfile.GNU_FORMAT)
    stream = TarStream(io.BytesIO(header + b"x" * 100))
    member = next(stream.members())
    assert member.size == 9 * 1024**3
    with pytest.raises(InvalidImageError, match="ends in the middle"):
        list(stream.members())


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda h: h[:148] + b"0000000\0" + h[156:], "bad checksum"),
        (lambda h: h[:124] + b"zzzzzzzzzzz\0" + h[136:], "bad number|bad checksum"),
        (lambda h: h[:200], "middle of a header"),
    ],
)
def test_corrupt_headers(mutate, message: str) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("f")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    data = buf.getvalue()
    with pytest.raises(InvalidImageError, match=message):
        list(TarStream(io.BytesIO(mutate(data[:512]) + data[512:] if len(mutate(data[:512])) == 512
                                  else mutate(data[:512]))).members())
