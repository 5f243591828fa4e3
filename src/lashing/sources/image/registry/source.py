"""An image in a registry (Registry HTTP API v2) as an `ImageSource`.

Opening resolves the reference to one platform's manifest and fetches the (verified) config; layers
are only downloaded when `open_layer` streams them, straight into a verifying `LayerStream`.

Foreign / non-distributable layers (Windows base layers, `urls` in the descriptor) are fetched from
the registry like any other; when the registry does not hold the blob the layer fails with a clear
`InvalidImageError`. The descriptor's external `urls` are never followed: they point anywhere (an
SSRF vector inside CI) and the content's licence forbids redistribution anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from lashing.errors import InvalidImageError
from lashing.model import ArtifactInfo, Layer
from lashing.sources.image.blobs import LayerStream
from lashing.sources.image.interface import (
    DEFAULT_LIMITS,
    ImageSource,
    Limits,
    layers_from_config,
    parse_json_document,
)
from lashing.sources.image.manifest import Platform, image_manifest_parts
from lashing.sources.image.registry.client import BlobUnknownError, RegistryClient
from lashing.sources.image.registry.credentials import Credentials, resolve_credentials
from lashing.sources.image.registry.reference import Reference, parse_reference
from lashing.sources.image.registry.resolve import resolve_manifest

if TYPE_CHECKING:
    from lashing.sources.image.detect import RegistryOptions

FOREIGN_MARKERS = ("nondistributable", "foreign")


class RegistryImageSource(ImageSource):
    """One image pulled from a registry: manifest and config at open, layers streamed on demand."""

    parallel_layers = True  # one HTTP response per layer; the httpx client and token cache are thread-safe

    def __init__(
        self,
        reference: str | Reference,
        *,
        platform: Platform | None = None,
        limits: Limits = DEFAULT_LIMITS,
        credentials: Credentials | None = None,
        insecure: bool = False,
        on_bytes: Callable[[int], None] | None = None,
        timeout: float = 30.0,
        env: Mapping[str, str] | None = None,
        name: str | None = None,
    ):
        self.reference = reference if isinstance(reference, Reference) else parse_reference(reference)
        self.limits = limits
        self.on_bytes = on_bytes
        if credentials is None:
            credentials = resolve_credentials(self.reference.registry, env=env)
        self.client = RegistryClient(
            self.reference, credentials, insecure=insecure, limits=limits, timeout=timeout, env=env
        )
        try:
            self._open(name or str(reference), platform)
        except BaseException:
            self.client.close()
            raise

    def _open(self, name: str, platform: Platform | None) -> None:
        ref, limits = self.reference, self.limits
        resolved = resolve_manifest(self.client, ref, platform, limits)
        self.manifest: dict[str, Any] = resolved.manifest
        self.manifest_digest = resolved.digest
        self.index_digest = resolved.index_digest
        config_desc, layer_descs = image_manifest_parts(resolved.manifest)
        config_digest = config_desc["digest"]
        raw = self.client.get_blob(config_digest, config_desc["size"], limits.max_config_bytes, "image config")
        self.config = parse_json_document(raw, "image config", limits.max_config_bytes)
        self.layers = layers_from_config(self.config, layer_descs, limits)
        self._foreign = {
            i
            for i, desc in enumerate(layer_descs)
            if desc.get("urls") or any(m in str(desc.get("mediaType", "")) for m in FOREIGN_MARKERS)
        }
        created = self.config.get("created")
        self.artifact = ArtifactInfo(
            name=name,
            kind="registry",
            digest=resolved.digest,
            config_digest=config_digest,
            repo_tags=(f"{ref.registry}/{ref.repository}:{ref.tag}",) if ref.tag else (),
            architecture=str(self.config.get("architecture", "")),
            os=str(self.config.get("os", "")),
            created=created if isinstance(created, str) else None,
        )

    def open_layer(self, layer: Layer, *, defer_digest: bool = False) -> LayerStream:
        """Stream the layer blob from the registry into a verifying, decompressing LayerStream."""
        if layer.digest is None:
            raise InvalidImageError(f"layer {layer.index} has no digest")
        what = f"layer {layer.index} ({layer.digest[:19]})"
        try:
            raw = self.client.open_blob(layer.digest, layer.size, what, self.on_bytes)
        except BlobUnknownError:
            if layer.index in self._foreign:
                raise InvalidImageError(
                    f"{what} is a foreign (non-distributable) layer the registry does not serve; "
                    "lashing does not download from the layer's external URLs"
                ) from None
            raise
        try:
            return LayerStream(
                raw,
                limits=self.limits,
                digest=layer.digest,
                diff_id=layer.diff_id,
                declared_size=layer.size,
                name=what,
            )
        except BaseException:
            raw.close()
            raise

    def close(self) -> None:
        self.client.close()


def open_registry_image(
    arg: str,
    platform: Platform | None = None,
    limits: Limits = DEFAULT_LIMITS,
    options: RegistryOptions | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> RegistryImageSource:
    """Open `arg` (a registry reference) with credentials from options, environment or Docker config."""
    ref = parse_reference(arg)
    credentials = resolve_credentials(
        ref.registry,
        username=options.username if options else None,
        password=options.password if options else None,
        token=options.token if options else None,
    )
    return RegistryImageSource(
        ref,
        platform=platform,
        limits=limits,
        credentials=credentials,
        insecure=bool(options and options.insecure),
        on_bytes=on_bytes,
        name=arg,
    )
