"""OCI / Docker manifest and index handling shared by the layout, archive and registry sources."""

from __future__ import annotations

import platform as host_platform
from dataclasses import dataclass
from typing import Any

from lashing.errors import InvalidImageError, UsageError
from lashing.sources.image.interface import validate_digest

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
LAYER_TYPES = (
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
)


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise UsageError(f"invalid platform {text!r}: expected os/arch[/variant], e.g. linux/arm64")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else "")

    @classmethod
    def host(cls) -> Platform:
        machine = host_platform.machine().lower()
        arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
            machine, machine
        )
        return cls("linux", arch)

    def matches(self, desc_platform: Any) -> bool:
        if not isinstance(desc_platform, dict):
            return False
        if desc_platform.get("os") != self.os or desc_platform.get("architecture") != self.architecture:
            return False
        return not self.variant or desc_platform.get("variant", "") == self.variant

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


def media_type_of(doc: dict[str, Any], fallback: str | None = None) -> str:
    """A document's media type: its own field, else the descriptor's, else guessed from its shape."""
    mt = doc.get("mediaType") or fallback
    if isinstance(mt, str) and mt:
        return mt
    if doc.get("schemaVersion") == 1:
        return DOCKER_SCHEMA1[0]
    if "manifests" in doc:
        return OCI_INDEX
    if "layers" in doc and "config" in doc:
        return OCI_MANIFEST
    raise InvalidImageError("document is neither an image index nor an image manifest")


def check_descriptor(desc: Any, what: str) -> dict[str, Any]:
    """A descriptor must carry a valid digest and a non-negative integer size."""
    if not isinstance(desc, dict):
        raise InvalidImageError(f"{what} is not a descriptor object")
    validate_digest(desc.get("digest"), f"{what} digest")
    size = desc.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidImageError(f"{what} has no valid size")
    return desc


def select_from_index(index: dict[str, Any], platform: Platform | None, ref_name: str | None = None) -> dict:
    """Pick one descriptor from an index by ref-name annotation, then platform, then the only entry."""
    manifests = index.get("manifests")
    if not isinstance(manifests, list) or not manifests:
        raise InvalidImageError("image index lists no manifests")
    candidates = [check_descriptor(d, "index entry") for d in manifests]
    if ref_name is not None:
        named = [
            d
            for d in candidates
            if (d.get("annotations") or {}).get("org.opencontainers.image.ref.name") == ref_name
        ]
        if not named:
            raise UsageError(f"no image tagged {ref_name!r} in the index")
        candidates = named
    if len(candidates) == 1 and (platform is None or "platform" not in candidates[0]):
        return candidates[0]
    wanted = platform or Platform.host()
    for desc in candidates:
        if wanted.matches(desc.get("platform")):
            return desc
    with_platform = [d for d in candidates if isinstance(d.get("platform"), dict)]
    if platform is None and len(candidates) == 1:
        return candidates[0]
    if not with_platform and platform is None:
        raise UsageError("the index holds several images: choose one with IMAGE:TAG")
    offered = ", ".join(sorted({_platform_text(d.get("platform")) for d in with_platform})) or "none"
    raise UsageError(f"no image for platform {wanted} in the index (offered: {offered})")


def _platform_text(p: Any) -> str:
    if not isinstance(p, dict):
        return "?"
    return "/".join(str(p.get(k)) for k in ("os", "architecture", "variant") if p.get(k))


def image_manifest_parts(manifest: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return (config descriptor, layer descriptors) of an image manifest, checked."""
    config = check_descriptor(manifest.get("config"), "manifest config")
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        raise InvalidImageError("image manifest has no layers list")
    checked = [check_descriptor(d, f"layer {i}") for i, d in enumerate(layers)]
    for desc in checked:
        mt = desc.get("mediaType")
        if isinstance(mt, str) and mt not in LAYER_TYPES and "tar" not in mt:
            raise InvalidImageError(f"unsupported layer media type {mt!r}")
    return config, checked
