"""Pull images from an OCI / Docker registry (Registry HTTP API v2) as an `ImageSource`.

reference.py    parse and validate `registry/repo:tag@digest`, Docker Hub defaults
credentials.py  flags, environment, ~/.docker/config.json and credential helpers
auth.py         anonymous, basic and bearer-token authentication (token cache per scope)
transport.py    http/https choice, bounded bodies, one-line errors
client.py       manifests, configs and streamed blobs, every one verified
resolve.py      tag -> index -> platform manifest, bounded and cycle-checked
source.py       RegistryImageSource and open_registry_image (used by sources.image.detect)
"""

from lashing.sources.image.registry.credentials import Credentials, resolve_credentials
from lashing.sources.image.registry.reference import Reference, looks_like_registry_reference, parse_reference
from lashing.sources.image.registry.source import RegistryImageSource, open_registry_image

__all__ = [
    "Credentials",
    "Reference",
    "RegistryImageSource",
    "looks_like_registry_reference",
    "open_registry_image",
    "parse_reference",
    "resolve_credentials",
]
