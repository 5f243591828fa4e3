"""A small synchronous Registry HTTP API v2 client (httpx): manifests, small blobs, streamed blobs.

Everything fetched is bounded and verified: a manifest against the digest it was asked for (or the
registry's `Docker-Content-Digest`), a config blob against its descriptor. Layer blobs stream through
`BlobStream` (no temp file, no full download in memory) and are verified by `LayerStream`. Redirects
are followed (registries send blob downloads to object storage; httpx drops the Authorization header
when the redirect leaves the registry's origin). Plain HTTP only for loopback hosts, `--insecure` or
LASHING_INSECURE_REGISTRIES.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing

import httpx

from lashing import __version__
from lashing.errors import AuthenticationError, DigestMismatchError, InvalidImageError, RegistryError
from lashing.sources.image.interface import DEFAULT_LIMITS, Limits, validate_digest
from lashing.sources.image.manifest import DOCKER_LIST, DOCKER_MANIFEST, DOCKER_SCHEMA1, OCI_INDEX, OCI_MANIFEST
from lashing.sources.image.registry.auth import RegistryAuth, how_to_login, parse_challenge
from lashing.sources.image.registry.credentials import Credentials
from lashing.sources.image.registry.reference import Reference
from lashing.sources.image.registry.transport import (
    error_detail,
    insecure_allowed,
    read_bounded,
    registry_scheme,
    transport_error,
)

SCHEMA1_MESSAGE = (
    "{ref} is a Docker schema 1 manifest, which is not supported (deprecated since 2017); "
    "re-push it with a current Docker or skopeo"
)
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))
RETRIES = 2
_RETRY_STATUS = frozenset({502, 503, 504})
_CHUNK = 256 * 1024


class BlobUnknownError(RegistryError):
    """The registry does not hold a blob (HTTP 404)."""


class RegistryClient:
    """Pull-only access to one repository of one registry."""

    def __init__(
        self,
        ref: Reference,
        credentials: Credentials,
        *,
        insecure: bool = False,
        limits: Limits = DEFAULT_LIMITS,
        timeout: float = 30.0,
        env: Mapping[str, str] | None = None,
    ):
        self.ref = ref
        self.registry = ref.registry
        self.limits = limits
        self.base_url = f"{registry_scheme(ref.registry, insecure, env)}://{ref.registry}"
        self._scope = f"repository:{ref.repository}:pull"
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=True,
            max_redirects=5,
            headers={"User-Agent": f"lashing/{__version__}"},
        )
        self.auth = RegistryAuth(
            ref.registry, credentials, self._http, lambda host: insecure_allowed(host, insecure, env)
        )

    def close(self) -> None:
        self._http.close()

    # -- requests ----------------------------------------------------------------------------

    def _send(self, path: str, headers: dict[str, str], what: str) -> httpx.Response:
        """GET with auth (one challenge round) and a couple of retries on transient failures."""
        url = self.base_url + path
        challenged = False
        attempt = 0
        while True:
            request_headers = dict(headers)
            authorization = self.auth.header(self._scope)
            if authorization:
                request_headers["Authorization"] = authorization
            try:
                response = self._http.send(self._http.build_request("GET", url, headers=request_headers), stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                if attempt < RETRIES:
                    attempt += 1
                    time.sleep(0.2 * attempt)
                    continue
                raise transport_error(exc, self.registry, what) from None
            except httpx.RequestError as exc:
                raise transport_error(exc, self.registry, what) from None
            if response.status_code == 401 and not challenged:
                challenge = parse_challenge(response.headers.get("www-authenticate", ""))
                response.close()
                self.auth.respond(challenge, self._scope)
                challenged = True
                continue
            if response.status_code in _RETRY_STATUS and attempt < RETRIES:
                response.close()
                attempt += 1
                time.sleep(0.3 * attempt)
                continue
            return response

    def _check(self, response: httpx.Response, kind: str, name: str) -> None:
        """Raise a one-line error for anything but 200."""
        status = response.status_code
        if status == 200:
            return
        source = self.auth.credentials.source
        if status == 401:
            if source == "anonymous":
                raise AuthenticationError(
                    f"{self.registry} requires authentication for {self.ref.repository} (or it does not exist)"
                    f"{how_to_login()}"
                )
            raise AuthenticationError(
                f"{self.registry} rejected the credentials from {source} for {self.ref.repository}"
            )
        if status == 403:
            raise AuthenticationError(f"{self.registry} denied access to {self.ref.repository} ({source})")
        if status == 404:
            if kind == "manifest":
                shown = f"{self.ref.repository}@{name}" if ":" in name else f"{self.ref.repository}:{name}"
                raise RegistryError(f"manifest unknown: {shown} on {self.registry}")
            raise BlobUnknownError(f"{kind} unknown: {name} in {self.ref.repository} on {self.registry}")
        if status == 429:
            raise RegistryError(f"{self.registry} is rate-limiting requests (HTTP 429); retry later or log in")
        detail = error_detail(response)
        raise RegistryError(
            f"{self.registry} answered HTTP {status} for {kind} {name}" + (f" ({detail})" if detail else "")
        )

    # -- content -----------------------------------------------------------------------------

    def get_manifest(self, reference: str, expected: str | None = None) -> tuple[bytes, str, str]:
        """Fetch a manifest or index: (bytes, Content-Type, verified digest)."""
        what = f"manifest {self.ref.repository}:{reference}" if ":" not in reference else f"manifest {reference[:19]}"
        response = self._send(f"/v2/{self.ref.repository}/manifests/{reference}", {"Accept": MANIFEST_ACCEPT}, what)
        with closing(response):
            self._check(response, "manifest", reference)
            data = read_bounded(response, self.limits.max_manifest_bytes, what)
            header_digest = response.headers.get("docker-content-digest")
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type in DOCKER_SCHEMA1:  # signed: its digest covers the payload without signatures
            raise InvalidImageError(SCHEMA1_MESSAGE.format(ref=self.ref.short))
        if expected is None and header_digest:
            try:
                expected = validate_digest(header_digest.strip(), "Docker-Content-Digest")
            except InvalidImageError:
                expected = None
        return data, content_type, verify_bytes(data, expected, what)

    def get_blob(self, digest: str, size: int | None, limit: int, what: str) -> bytes:
        """A small blob (the image config), size-checked and verified against its digest."""
        validate_digest(digest, f"{what} digest")
        if size is not None and size > limit:
            raise InvalidImageError(f"{what} is {size} bytes, over the {limit}-byte limit")
        response = self._send(f"/v2/{self.ref.repository}/blobs/{digest}", {}, what)
        with closing(response):
            self._check(response, what, digest)
            data = read_bounded(response, limit, what)
        if size is not None and len(data) != size:
            raise InvalidImageError(f"{what} is {len(data)} bytes, its descriptor says {size}")
        verify_bytes(data, digest, what)
        return data

    def open_blob(
        self, digest: str, size: int | None, what: str, on_bytes: Callable[[int], None] | None = None
    ) -> BlobStream:
        """Stream a (layer) blob; the caller verifies it (LayerStream) and closes it."""
        validate_digest(digest, f"{what} digest")
        response = self._send(f"/v2/{self.ref.repository}/blobs/{digest}", {"Accept-Encoding": "identity"}, what)
        try:
            self._check(response, "blob", digest)
            declared = response.headers.get("content-length", "")
            if size is not None and declared.isdigit() and int(declared) != size:
                raise InvalidImageError(f"{what} is {declared} bytes on the registry, the manifest says {size}")
        except BaseException:
            response.close()
            raise
        return BlobStream(response, what, self.registry, on_bytes)


class BlobStream:
    """A file-like view (`read(n)`, `close()`) of a streaming HTTP body, exactly as sent (no decoding)."""

    def __init__(
        self, response: httpx.Response, what: str, registry: str, on_bytes: Callable[[int], None] | None = None
    ):
        self._response = response
        self._registry = registry
        self._chunks: Iterator[bytes] = response.iter_raw(_CHUNK)
        self._buffer = b""
        self._what = what
        self._on_bytes = on_bytes
        self.bytes_received = 0

    def read(self, size: int = -1, /) -> bytes:
        while not self._buffer:
            try:
                chunk = next(self._chunks, None)
            except (httpx.HTTPError, httpx.StreamError) as exc:
                raise transport_error(exc, self._registry, f"download of {self._what}") from None
            if chunk is None:
                return b""
            self._buffer = chunk
            self.bytes_received += len(chunk)
            if self._on_bytes is not None:
                self._on_bytes(len(chunk))
        if size < 0 or size >= len(self._buffer):
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def close(self) -> None:
        self._response.close()


def verify_bytes(data: bytes, expected: str | None, what: str) -> str:
    """Return the digest of `data`; raise DigestMismatchError when it is not `expected`."""
    algo = expected.split(":", 1)[0] if expected else "sha256"
    if algo not in ("sha256", "sha512"):
        raise InvalidImageError(f"{what}: unsupported digest algorithm {algo!r}")
    actual = f"{algo}:{hashlib.new(algo, data).hexdigest()}"
    if expected is not None and actual != expected:
        raise DigestMismatchError(f"{what} digest mismatch: expected {expected}, got {actual}")
    return actual
