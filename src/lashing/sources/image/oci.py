"""OCI image layout (directory or tar archive) as an ImageSource."""

from __future__ import annotations

from typing import Any

from lashing.errors import InvalidImageError
from lashing.model import ArtifactInfo, Layer
from lashing.sources.image.blobs import LayerStream
from lashing.sources.image.blobstore import BlobStore, blob_path
from lashing.sources.image.interface import (
    DEFAULT_LIMITS,
    ImageSource,
    Limits,
    layers_from_config,
    parse_json_document,
)
from lashing.sources.image.manifest import (
    DOCKER_SCHEMA1,
    INDEX_TYPES,
    MANIFEST_TYPES,
    Platform,
    image_manifest_parts,
    media_type_of,
    select_from_index,
)


def resolve_manifest(
    store: BlobStore,
    index: dict[str, Any],
    platform: Platform | None,
    ref_name: str | None,
    limits: Limits,
) -> tuple[str, dict[str, Any]]:
    """Follow index -> (nested index ->) image manifest; returns (manifest digest, manifest)."""
    seen: set[str] = set()
    doc, name = index, ref_name
    for _depth in range(limits.max_index_depth + 1):
        desc = select_from_index(doc, platform, name)
        digest = desc["digest"]
        if digest in seen:
            raise InvalidImageError(f"image index cycle through {digest}")
        seen.add(digest)
        raw = store.read_blob(digest, limits.max_manifest_bytes, f"manifest {digest[:19]}")
        doc = parse_json_document(raw, f"manifest {digest[:19]}", limits.max_manifest_bytes)
        mt = media_type_of(doc, desc.get("mediaType"))
        if mt in MANIFEST_TYPES:
            return digest, doc
        if mt in DOCKER_SCHEMA1:
            raise InvalidImageError("Docker schema 1 manifests are not supported (deprecated since 2017)")
        if mt not in INDEX_TYPES:
            raise InvalidImageError(f"unsupported manifest media type {mt!r}")
        name = None
    raise InvalidImageError(f"image indexes nest deeper than {limits.max_index_depth} levels")


class OCILayoutSource(ImageSource):
    """An image inside an OCI layout, from a directory or an `oci-archive` tar."""

    def __init__(
        self,
        store: BlobStore,
        name: str,
        kind: str,
        ref_name: str | None = None,
        platform: Platform | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ):
        self.store = store
        self.limits = limits
        self.parallel_layers = self.forkable_layers = store.independent_streams
        if not store.exists("oci-layout"):
            raise InvalidImageError(f"{name} is not an OCI image layout (no oci-layout file)")
        index = parse_json_document(
            store.read("index.json", limits.max_manifest_bytes, "index.json"),
            "index.json",
            limits.max_manifest_bytes,
        )
        digest, manifest = resolve_manifest(store, index, platform, ref_name, limits)
        config_desc, layer_descs = image_manifest_parts(manifest)
        config_digest = config_desc["digest"]
        self.config = parse_json_document(
            store.read_blob(config_digest, limits.max_config_bytes, "image config"),
            "image config",
            limits.max_config_bytes,
        )
        self.layers = layers_from_config(self.config, layer_descs, limits)
        self.artifact = ArtifactInfo(
            name=name,
            kind=kind,
            digest=digest,
            config_digest=config_digest,
            repo_tags=(ref_name,) if ref_name else (),
            architecture=str(self.config.get("architecture", "")),
            os=str(self.config.get("os", "")),
            created=self.config.get("created") if isinstance(self.config.get("created"), str) else None,
        )

    def open_layer(self, layer: Layer, *, defer_digest: bool = False) -> LayerStream:
        if layer.digest is None:
            raise InvalidImageError(f"layer {layer.index} has no digest")
        stream, size = self.store.open(blob_path(layer.digest))
        declared = layer.size if layer.size is not None else size
        if size != declared:
            stream.close()
            raise InvalidImageError(f"layer {layer.index} blob is {size} bytes, the manifest says {declared}")
        return LayerStream(
            stream,
            limits=self.limits,
            digest=layer.digest,
            diff_id=layer.diff_id,
            declared_size=declared,
            name=f"layer {layer.index}",
            defer_digest=defer_digest,
        )

    def close(self) -> None:
        self.store.close()
