"""Craft OCI layouts and docker archives byte by byte, for whiteout, hostile-input and cache tests.

Real-world images come from tests/imagebuild.py (mmdebstrap, umoci, skopeo); this module makes the
shapes those tools refuse to make: traversal names, escaping links, devices, bombs, bad digests.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import zstandard


@dataclass
class Member:
    """One tar member: kind 'file', 'dir', 'symlink', 'hardlink', 'char', 'fifo'."""

    name: str
    data: bytes = b""
    kind: str = "file"
    link: str = ""
    mode: int = 0o644
    size: int | None = None  # override the header size (truncation tests)


@dataclass
class LayerSpec:
    members: Sequence[Member]
    compression: str = "gzip"  # gzip | zstd | none
    created_by: str = ""
    raw: bytes | None = None  # use these bytes as the blob instead of building a tar
    diff_id: str | None = None  # with raw: the diff_id to declare (else the digest of raw)


@dataclass
class Built:
    path: Path
    layer_blobs: list[bytes] = field(default_factory=list)
    diff_ids: list[str] = field(default_factory=list)
    manifest_digest: str = ""


_TYPES = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "char": tarfile.CHRTYPE,
    "fifo": tarfile.FIFOTYPE,
}


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_tar(members: Sequence[Member]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for m in members:
            info = tarfile.TarInfo(m.name)
            info.type = _TYPES[m.kind]
            info.mode = m.mode if m.kind != "dir" else 0o755
            info.linkname = m.link
            if m.kind == "file":
                info.size = len(m.data)
                tar.addfile(info, io.BytesIO(m.data))
            else:
                tar.addfile(info)
    return buf.getvalue()


def compress(data: bytes, how: str) -> bytes:
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


MEDIA = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "none": "application/vnd.oci.image.layer.v1.tar",
}


def _write_blob(root: Path, data: bytes) -> str:
    digest = sha256(data)
    path = root / "blobs" / "sha256" / digest[7:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest


def build_oci_layout(
    root: Path, layers: Sequence[LayerSpec], arch: str = "amd64", tag: str = "latest"
) -> Built:
    """An OCI image layout directory holding one image made of `layers`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    built = Built(root)
    descs = []
    for spec in layers:
        tar = spec.raw if spec.raw is not None else make_tar(spec.members)
        blob = tar if spec.raw is not None else compress(tar, spec.compression)
        built.layer_blobs.append(blob)
        built.diff_ids.append(spec.diff_id or sha256(tar))
        descs.append(
            {"mediaType": MEDIA[spec.compression], "digest": _write_blob(root, blob), "size": len(blob)}
        )
    config = {
        "architecture": arch,
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": built.diff_ids},
        "history": [{"created_by": s.created_by or f"layer {i}"} for i, s in enumerate(layers)],
    }
    config_bytes = json.dumps(config).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": _write_blob(root, config_bytes),
            "size": len(config_bytes),
        },
        "layers": descs,
    }
    manifest_bytes = json.dumps(manifest).encode()
    built.manifest_digest = _write_blob(root, manifest_bytes)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": built.manifest_digest,
                "size": len(manifest_bytes),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (root / "index.json").write_text(json.dumps(index))
    return built


def write_blob(root: Path, data: bytes) -> str:
    return _write_blob(root, data)


def tar_directory(src: Path, dest: Path, members_from: Path | None = None) -> Path:
    """Pack a directory (an OCI layout) into a tar archive: an `oci-archive`."""
    with tarfile.open(dest, "w") as tar:
        for path in sorted(src.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(src)), recursive=False)
    return dest


def build_docker_archive(dest: Path, layers: Sequence[LayerSpec], tags: Sequence[str] = ("demo:1",)) -> Built:
    """A classic `docker save` archive: `<id>/layer.tar` per layer, `<config>.json`, manifest.json."""
    built = Built(dest)
    files: dict[str, bytes] = {}
    names = []
    for i, spec in enumerate(layers):
        tar = spec.raw if spec.raw is not None else make_tar(spec.members)
        diff_id = sha256(tar)
        built.diff_ids.append(diff_id)
        name = f"{diff_id[7:71]}{i}/layer.tar"
        files[name] = tar
        names.append(name)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": built.diff_ids},
        "history": [{"created_by": s.created_by or f"layer {i}"} for i, s in enumerate(layers)],
    }
    config_bytes = json.dumps(config).encode()
    config_name = f"{sha256(config_bytes)[7:]}.json"
    files[config_name] = config_bytes
    files["manifest.json"] = json.dumps(
        [{"Config": config_name, "RepoTags": list(tags), "Layers": names}]
    ).encode()
    with tarfile.open(dest, "w") as out:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    return built
