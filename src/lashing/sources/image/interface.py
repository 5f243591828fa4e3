"""What every image source (docker-archive, OCI layout/archive, registry) provides.

A source resolves one image to its config and ordered layers, and opens each layer as an
*uncompressed tar stream whose digests are verified* (see `blobs.open_layer_stream`). Sources never
extract anything to disk.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lashing.errors import InvalidImageError
from lashing.model import ArtifactInfo, Layer
from lashing.sources.image.blobs import LayerStream


@dataclass(frozen=True)
class Limits:
    """Bounds applied to untrusted images. Defaults are generous for real images, fatal for bombs."""

    max_manifest_bytes: int = 4 * 1024 * 1024
    max_config_bytes: int = 8 * 1024 * 1024
    max_layers: int = 512
    max_layer_bytes: int = 16 * 1024**3
    max_compression_ratio: int = 250
    ratio_grace_bytes: int = 64 * 1024 * 1024
    max_member_bytes: int = 8 * 1024**3
    max_members: int = 2_000_000
    max_index_depth: int = 4


DEFAULT_LIMITS = Limits()


class ImageSource(ABC):
    """A resolved image: artifact info, image config, layers; layers open as verified tar streams."""

    artifact: ArtifactInfo
    config: dict[str, Any]
    layers: list[Layer]
    # True when open_layer may be called from several threads at once (each layer has its own handle).
    parallel_layers: bool = False
    # True when a forked child process may open and read a layer by itself: layers are local files
    # read through handles of their own (not a network client shared with the parent).
    forkable_layers: bool = False

    @abstractmethod
    def open_layer(self, layer: Layer, *, defer_digest: bool = False) -> LayerStream:
        """Open a layer as a verified, decompressed, size-bounded tar stream (verified by its `finish()`).

        `defer_digest`: an uncompressed layer of a local file is hashed by `finish()` itself rather than on
        a thread while it is read (other streams hash as they are read whatever is asked)."""

    def stored_size(self, layer: Layer) -> int | None:
        """The layer's size as stored (what open_layer reads before decompressing), when known."""
        return layer.size

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files or connections."""

    def __enter__(self) -> ImageSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def parse_json_document(data: bytes, what: str, limit: int) -> dict[str, Any]:
    """Parse a bounded JSON object (manifest, index, config) or raise a one-line error."""
    if len(data) > limit:
        raise InvalidImageError(f"{what} is {len(data)} bytes, over the {limit}-byte limit")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidImageError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidImageError(f"{what} is not a JSON object")
    return doc


def layers_from_config(
    config: dict[str, Any], descriptors: list[dict[str, Any]] | None, limits: Limits
) -> list[Layer]:
    """Pair the config's diff_ids with the manifest's layer descriptors and non-empty history entries."""
    rootfs = config.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) for d in diff_ids):
        raise InvalidImageError("image config has no rootfs.diff_ids list")
    if len(diff_ids) > limits.max_layers:
        raise InvalidImageError(f"image has {len(diff_ids)} layers, over the limit of {limits.max_layers}")
    if descriptors is not None and len(descriptors) != len(diff_ids):
        raise InvalidImageError(
            f"manifest lists {len(descriptors)} layers but the config has {len(diff_ids)} diff_ids"
        )
    history = [h for h in config.get("history") or [] if isinstance(h, dict) and not h.get("empty_layer")]
    layers = []
    for i, diff_id in enumerate(diff_ids):
        validate_digest(diff_id, "diff_id")
        desc = descriptors[i] if descriptors is not None else {}
        hist = history[i] if i < len(history) else {}
        digest = desc.get("digest")
        if digest is not None:
            validate_digest(digest, "layer digest")
        size = desc.get("size")
        layers.append(
            Layer(
                index=i,
                diff_id=diff_id,
                digest=digest,
                size=size if isinstance(size, int) else None,
                media_type=desc.get("mediaType"),
                created_by=_str_or_none(hist.get("created_by")),
                created=_str_or_none(hist.get("created")),
            )
        )
    return layers


_HEX = frozenset("0123456789abcdef")


def validate_digest(digest: object, what: str) -> str:
    """Accept `sha256:<64 hex>` or `sha512:<128 hex>`; anything else is a hostile or broken image."""
    if isinstance(digest, str) and ":" in digest:
        algo, _, hexpart = digest.partition(":")
        want = {"sha256": 64, "sha512": 128}.get(algo)
        if want and len(hexpart) == want and set(hexpart) <= _HEX:
            return digest
    raise InvalidImageError(f"invalid {what}: {str(digest)[:80]!r}")


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def history_entries(config: Mapping[str, Any], layers: Sequence[Layer]) -> Iterator[tuple[int, str, Layer | None]]:
    """(history index, created_by, the layer the entry produced or None) for every history entry with a
    created_by; `empty_layer` entries produce no layer."""
    history = config.get("history")
    non_empty = 0
    for i, entry in enumerate(history if isinstance(history, list) else []):
        if not isinstance(entry, Mapping):
            continue
        layer = None
        if not entry.get("empty_layer"):
            layer = layers[non_empty] if non_empty < len(layers) else None
            non_empty += 1
        created_by = entry.get("created_by")
        if isinstance(created_by, str) and created_by:
            yield i, created_by, layer
