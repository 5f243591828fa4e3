"""`docker save` archives (classic `<id>/layer.tar` form and Docker 25+'s OCI-in-docker form)."""

from __future__ import annotations

import json
import re
from typing import Any

from lashing.errors import InvalidImageError, UsageError
from lashing.model import ArtifactInfo, Layer
from lashing.sources.image.blobs import LayerStream
from lashing.sources.image.blobstore import TarBlobStore, check_digest
from lashing.sources.image.interface import (
    DEFAULT_LIMITS,
    ImageSource,
    Limits,
    layers_from_config,
    parse_json_document,
)

_BLOB_NAME = re.compile(r"(?:^|/)blobs/sha256/([0-9a-f]{64})")
_CONFIG_NAME = re.compile(r"([0-9a-f]{64})\.json")


def _digest_from_name(name: str) -> str | None:
    """`blobs/sha256/<hex>` (Docker 25+) and `<hex>.json` (classic config) name their content's digest."""
    m = _BLOB_NAME.fullmatch(name) or _CONFIG_NAME.fullmatch(name)
    return f"sha256:{m.group(1)}" if m else None


class DockerArchiveSource(ImageSource):
    def __init__(
        self, store: TarBlobStore, name: str, tag: str | None = None, limits: Limits = DEFAULT_LIMITS
    ):
        self.store = store
        self.limits = limits
        self.parallel_layers = self.forkable_layers = store.independent_streams
        raw = store.read("manifest.json", limits.max_manifest_bytes, "manifest.json")
        try:
            entries = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidImageError(f"manifest.json is not valid JSON: {exc}") from None
        entry = self._select(entries, tag)
        config_name = entry.get("Config")
        layer_names = entry.get("Layers")
        if not isinstance(config_name, str) or not isinstance(layer_names, list):
            raise InvalidImageError("manifest.json entry lacks Config or Layers")
        if not all(isinstance(n, str) for n in layer_names):
            raise InvalidImageError("manifest.json Layers must be paths")
        config_bytes = store.read(config_name, limits.max_config_bytes, "image config")
        config_digest = _digest_from_name(config_name)
        if config_digest:
            check_digest(config_bytes, config_digest, "image config")
        self.config = parse_json_document(config_bytes, "image config", limits.max_config_bytes)
        self._layer_names = layer_names
        descriptors = [{"digest": _digest_from_name(n)} if _digest_from_name(n) else {} for n in layer_names]
        self.layers = layers_from_config(self.config, descriptors, limits)
        tags = tuple(t for t in entry.get("RepoTags") or [] if isinstance(t, str))
        self.artifact = ArtifactInfo(
            name=name,
            kind="docker-archive",
            digest=None,
            config_digest=config_digest,
            repo_tags=tags,
            architecture=str(self.config.get("architecture", "")),
            os=str(self.config.get("os", "")),
            created=self.config.get("created") if isinstance(self.config.get("created"), str) else None,
        )

    @staticmethod
    def _select(entries: Any, tag: str | None) -> dict[str, Any]:
        if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
            raise InvalidImageError("manifest.json must be a non-empty list of image entries")
        if tag is not None:
            for entry in entries:
                tags = entry.get("RepoTags") or []
                if tag in tags or any(t.rsplit(":", 1)[-1] == tag for t in tags if isinstance(t, str)):
                    return entry
            raise UsageError(f"no image tagged {tag!r} in the archive")
        if len(entries) > 1:
            raise UsageError(f"the archive holds {len(entries)} images: choose one with ARCHIVE:TAG")
        return entries[0]

    def stored_size(self, layer: Layer) -> int | None:
        return self.store.size(self._layer_names[layer.index])  # docker save lists no layer sizes

    def open_layer(self, layer: Layer, *, defer_digest: bool = False) -> LayerStream:
        name = self._layer_names[layer.index]
        stream, size = self.store.open(name)
        return LayerStream(
            stream,
            limits=self.limits,
            digest=layer.digest,
            diff_id=layer.diff_id,
            declared_size=size,
            name=f"layer {layer.index}",
            defer_digest=defer_digest,
        )

    def close(self) -> None:
        self.store.close()
