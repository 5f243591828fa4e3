"""Registry authentication: anonymous, basic, and the Docker bearer-token flow.

On a 401 the registry's `WWW-Authenticate` challenge says what it wants. `Basic` gets the username
and password. `Bearer realm=...,service=...,scope=...` sends us to a token server: a GET with basic
credentials (or none, for anonymous pulls), or an OAuth2 POST when we hold a refresh token (Docker's
`identitytoken`). The answer's `token` or `access_token` is cached per scope until it expires. A token
given with `--registry-token` is sent as it is. Credentials go to a plain-HTTP realm only when that
host could be reached over HTTP anyway (loopback, `--insecure`, LASHING_INSECURE_REGISTRIES).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from lashing.errors import AuthenticationError, LimitExceededError, RegistryError
from lashing.sources.image.registry.credentials import Credentials
from lashing.sources.image.registry.transport import one_line, read_bounded, transport_error

MAX_CHALLENGE_CHARS = 8192
MAX_TOKEN_RESPONSE = 1024 * 1024
DEFAULT_TOKEN_LIFETIME = 60
_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)')
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~+/=-]+")


@dataclass(frozen=True)
class Challenge:
    """One `WWW-Authenticate` challenge: its scheme (lowercase) and auth-params."""

    scheme: str
    params: dict[str, str]


def parse_challenge(header: str) -> Challenge | None:
    """Parse the first challenge of a `WWW-Authenticate` header; None when there is none."""
    header = header[:MAX_CHALLENGE_CHARS].strip()
    match = re.match(r"([A-Za-z][A-Za-z0-9_-]*)(?:\s+|$)", header)
    if not match:
        return None
    params: dict[str, str] = {}
    pos = match.end()
    while pos < len(header):
        param = _PARAM.match(header, pos)
        if param is None or param.end() == pos:
            break  # the next challenge (or junk) starts here
        value = param.group(2) if param.group(2) is not None else param.group(3)
        params[param.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
        pos = param.end()
    return Challenge(match.group(1).lower(), params)


class RegistryAuth:
    """Turns challenges into Authorization headers for one registry; thread-safe token cache."""

    def __init__(
        self,
        registry: str,
        credentials: Credentials,
        http: httpx.Client,
        http_realm_allowed: Callable[[str], bool],
    ):
        self.registry = registry
        self.credentials = credentials
        self._http = http
        self._http_realm_allowed = http_realm_allowed
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}
        self._use_basic = False
        self.token_requests = 0

    def header(self, scope: str) -> str | None:
        """The Authorization header to send for `scope` now, if any."""
        creds = self.credentials
        if creds.token:
            return f"Bearer {creds.token}"
        with self._lock:
            cached = self._tokens.get(scope)
            if cached is not None and cached[1] > time.monotonic():
                return cached[0]
            use_basic = self._use_basic
        if use_basic and creds.has_basic:
            return basic_header(creds)
        return None

    def respond(self, challenge: Challenge | None, scope: str) -> None:
        """Get what a 401 challenge asks for, or raise AuthenticationError saying what is missing."""
        creds = self.credentials
        if creds.token:
            raise AuthenticationError(f"{self.registry} rejected the registry token ({creds.source})")
        if challenge is None or challenge.scheme not in ("basic", "bearer"):
            scheme = challenge.scheme if challenge else "none"
            raise AuthenticationError(f"{self.registry} asks for unsupported authentication (scheme {scheme!r})")
        if challenge.scheme == "basic":
            if not creds.has_basic:
                raise AuthenticationError(f"{self.registry} requires a username and password{how_to_login()}")
            with self._lock:
                self._use_basic = True
            return
        token, lifetime = self._fetch_token(challenge, scope)
        with self._lock:
            self._tokens[scope] = (f"Bearer {token}", time.monotonic() + max(lifetime - 5, 1))

    def _fetch_token(self, challenge: Challenge, scope: str) -> tuple[str, int]:
        realm = challenge.params.get("realm", "")
        parts = urlsplit(realm)
        try:
            host = f"{parts.hostname}:{parts.port}" if parts.port else (parts.hostname or "")
        except ValueError:  # a port that is not a number
            host = ""
        if parts.scheme not in ("http", "https") or not host:
            raise AuthenticationError(f"{self.registry} sent an unusable token realm {one_line(realm, 80)!r}")
        creds = self.credentials
        sends_secret = creds.has_basic or bool(creds.identity_token)
        if parts.scheme == "http" and sends_secret and not self._http_realm_allowed(host):
            raise AuthenticationError(
                f"{self.registry} wants credentials sent to a plain-HTTP token server ({host}); "
                "refusing (allow it with --insecure or LASHING_INSECURE_REGISTRIES)"
            )
        scopes = (challenge.params.get("scope") or scope).split()
        service = challenge.params.get("service")
        self.token_requests += 1
        try:
            if creds.identity_token:
                form = {"grant_type": "refresh_token", "refresh_token": creds.identity_token, "client_id": "lashing"}
                if service:
                    form["service"] = service
                form["scope"] = " ".join(scopes)
                request = self._http.build_request("POST", realm, data=form)
            else:
                query = [("scope", s) for s in scopes] + ([("service", service)] if service else [])
                request = self._http.build_request("GET", realm, params=query)
                if creds.has_basic:
                    request.headers["Authorization"] = basic_header(creds)
            response = self._http.send(request, stream=True)
        except httpx.RequestError as exc:
            raise transport_error(exc, host, "token request") from None
        with closing(response):
            if response.status_code in (401, 403):
                who = f"the credentials from {creds.source}" if creds.source != "anonymous" else "anonymous access"
                raise AuthenticationError(f"{self.registry}: the token server {host} rejected {who}{how_to_login()}")
            if response.status_code != 200:
                raise RegistryError(f"{self.registry}: the token server {host} answered HTTP {response.status_code}")
            try:
                body = read_bounded(response, MAX_TOKEN_RESPONSE, "token response")
            except LimitExceededError as exc:
                raise RegistryError(f"{self.registry}: {exc}") from None
        return _token_from(body, self.registry)


def basic_header(creds: Credentials) -> str:
    raw = f"{creds.username or ''}:{creds.password or ''}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def _token_from(body: bytes, registry: str) -> tuple[str, int]:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        doc = None
    if not isinstance(doc, dict):
        raise RegistryError(f"{registry}: the token server's answer is not a JSON object")
    token = doc.get("token") or doc.get("access_token")
    if not isinstance(token, str) or not _TOKEN_CHARS.fullmatch(token):
        raise RegistryError(f"{registry}: the token server's answer holds no usable token")
    lifetime = doc.get("expires_in")
    if not isinstance(lifetime, int) or isinstance(lifetime, bool) or lifetime <= 0:
        lifetime = DEFAULT_TOKEN_LIFETIME
    return token, min(lifetime, 24 * 3600)


def how_to_login() -> str:
    """The hint appended to 'needs credentials' messages."""
    return " (use --username/--password, LASHING_USERNAME/LASHING_PASSWORD or `docker login`)"
