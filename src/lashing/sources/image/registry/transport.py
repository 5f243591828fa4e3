"""HTTP details shared by the registry client and the token fetcher: schemes, bounded bodies, errors."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

import httpx

from lashing.errors import LimitExceededError, RegistryError

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
INSECURE_ENV = "LASHING_INSECURE_REGISTRIES"


def split_host(hostport: str) -> str:
    """`host:port` -> `host` (IPv6 stays bracketed)."""
    if hostport.startswith("["):
        return hostport[: hostport.find("]") + 1]
    return hostport.rsplit(":", 1)[0] if hostport.count(":") == 1 else hostport


def insecure_allowed(hostport: str, insecure: bool = False, env: Mapping[str, str] | None = None) -> bool:
    """Plain HTTP is allowed for loopback hosts, with `--insecure`, or for hosts in LASHING_INSECURE_REGISTRIES."""
    host = split_host(hostport).lower()
    if insecure or host in LOCAL_HOSTS or host.startswith("127."):
        return True
    env = os.environ if env is None else env
    listed = {entry.lower() for entry in re.split(r"[\s,]+", env.get(INSECURE_ENV, "")) if entry}
    return hostport.lower() in listed or host in listed


def registry_scheme(hostport: str, insecure: bool = False, env: Mapping[str, str] | None = None) -> str:
    return "http" if insecure_allowed(hostport, insecure, env) else "https"


def read_bounded(response: httpx.Response, limit: int, what: str) -> bytes:
    """The whole (decoded) body, refusing more than `limit` bytes whether declared or streamed."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise LimitExceededError(f"{what} is {declared} bytes, over the {limit}-byte limit")
    chunks: list[bytes] = []
    total = 0
    try:
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > limit:
                raise LimitExceededError(f"{what} is over the {limit}-byte limit")
            chunks.append(chunk)
    except (httpx.HTTPError, httpx.StreamError) as exc:
        raise RegistryError(f"reading {what} failed: {one_line(str(exc)) or type(exc).__name__}") from None
    return b"".join(chunks)


def error_detail(response: httpx.Response) -> str:
    """The registry's own error code and message (`{"errors": [...]}`), bounded, or ''."""
    try:
        body = read_bounded(response, 64 * 1024, "error body")
    except (LimitExceededError, RegistryError):
        return ""
    try:
        errors = json.loads(body).get("errors")
        first = errors[0]
        text = f"{first.get('code', '')}: {first.get('message', '')}".strip(": ")
    except (ValueError, AttributeError, IndexError, KeyError, TypeError):
        return ""
    return one_line(text)


def transport_error(exc: Exception, registry: str, what: str) -> RegistryError:
    """A one-line RegistryError for a connection-level failure."""
    message = one_line(str(exc)) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return RegistryError(f"timed out talking to {registry} ({what})")
    if isinstance(exc, httpx.TooManyRedirects):
        return RegistryError(f"{registry}: too many redirects fetching {what}")
    if isinstance(exc, httpx.ConnectError):
        hint = ""
        if "SSL" in message or "certificate" in message.lower():
            hint = " (a plain-HTTP registry needs --insecure or LASHING_INSECURE_REGISTRIES)"
        return RegistryError(f"cannot connect to {registry}: {message}{hint}")
    return RegistryError(f"{registry}: {what} failed: {message}")


def one_line(text: str, limit: int = 200) -> str:
    """Collapse whitespace and control characters; bound the length (for untrusted text in messages)."""
    text = re.sub(r"[\x00-\x1f\x7f\s]+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."
