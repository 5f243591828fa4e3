"""From a reference to one platform's image manifest: tag -> (index ->)* manifest, every hop verified.

Indexes (OCI index, Docker manifest list) are resolved by platform; nesting is bounded by
`Limits.max_index_depth` and a digest seen twice is a cycle (content addressing makes a real cycle
impossible, so meeting one means verification was bypassed somewhere: refuse rather than loop).
Docker schema 1 manifests (deprecated since 2017, unsigned layer history) are rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lashing.errors import InvalidImageError
from lashing.sources.image.interface import Limits, parse_json_document
from lashing.sources.image.manifest import (
    DOCKER_SCHEMA1,
    INDEX_TYPES,
    MANIFEST_TYPES,
    Platform,
    media_type_of,
    select_from_index,
)
from lashing.sources.image.registry.client import SCHEMA1_MESSAGE, RegistryClient
from lashing.sources.image.registry.reference import Reference

IMAGE_CONFIG_TYPES = (
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
)


@dataclass(frozen=True)
class ResolvedManifest:
    """The chosen image manifest, its digest and the digest of the index it was chosen from."""

    digest: str
    manifest: dict[str, Any]
    media_type: str
    index_digest: str | None = None


def classify(data: bytes, content_type: str, what: str, ref: Reference, limits: Limits) -> tuple[dict, str]:
    """Parse a fetched manifest document and name its media type; reject schema 1."""
    if content_type in DOCKER_SCHEMA1:
        raise InvalidImageError(SCHEMA1_MESSAGE.format(ref=ref.short))
    doc = parse_json_document(data, what, limits.max_manifest_bytes)
    if doc.get("schemaVersion") == 1:
        raise InvalidImageError(SCHEMA1_MESSAGE.format(ref=ref.short))
    known = INDEX_TYPES + MANIFEST_TYPES
    media_type = media_type_of(doc, content_type if content_type in known else None)
    if media_type in DOCKER_SCHEMA1:
        raise InvalidImageError(SCHEMA1_MESSAGE.format(ref=ref.short))
    return doc, media_type


def resolve_manifest(
    client: RegistryClient, ref: Reference, platform: Platform | None, limits: Limits
) -> ResolvedManifest:
    """Fetch the reference and walk indexes down to the image manifest for `platform`."""
    data, content_type, digest = client.get_manifest(ref.manifest_ref, ref.digest)
    doc, media_type = classify(data, content_type, f"manifest {ref.short}", ref, limits)
    top = digest
    seen = {digest}
    depth = 0
    while media_type in INDEX_TYPES:
        depth += 1
        if depth > limits.max_index_depth:
            raise InvalidImageError(f"{ref.short}: image indexes nest deeper than {limits.max_index_depth} levels")
        desc = select_from_index(doc, platform)
        child = desc["digest"]
        if child in seen:
            raise InvalidImageError(f"{ref.short}: image index cycle through {child}")
        seen.add(child)
        what = f"manifest {child[:19]}"
        data, content_type, digest = client.get_manifest(child, child)
        if len(data) != desc["size"]:
            raise InvalidImageError(f"{what} is {len(data)} bytes, the index says {desc['size']}")
        fallback = desc.get("mediaType") if isinstance(desc.get("mediaType"), str) else content_type
        doc, media_type = classify(data, fallback, what, ref, limits)
    if media_type not in MANIFEST_TYPES:
        raise InvalidImageError(f"{ref.short}: unsupported manifest media type {str(media_type)[:80]!r}")
    config = doc.get("config")
    config_type = config.get("mediaType") if isinstance(config, dict) else None
    if isinstance(config_type, str) and config_type not in IMAGE_CONFIG_TYPES:
        raise InvalidImageError(f"{ref.short} is not a container image (config media type {config_type[:80]!r})")
    return ResolvedManifest(digest, doc, media_type, top if top != digest else None)
