"""Where registry credentials come from: flags, environment, then `~/.docker/config.json`.

The Docker config (directory from `DOCKER_CONFIG`, else `~/.docker`) is read the way the Docker CLI
reads it: a credential helper (`credHelpers[registry]`, else `credsStore`) runs as
`docker-credential-<name> get` with the server on stdin when that binary is on PATH; otherwise
`auths[registry]` gives a base64 `auth`, a `username`/`password` pair, an `identitytoken` (an OAuth2
refresh token) or a `registrytoken` (a bearer token). Docker Hub is keyed `https://index.docker.io/v1/`.
Secrets never reach a log line or an exception message.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from lashing.sources.image.registry.reference import DOCKER_HUB, DOCKER_HUB_ALIASES

log = logging.getLogger(__name__)

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
MAX_CONFIG_BYTES = 1024 * 1024
HELPER_TIMEOUT = 10.0
_HELPER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Credentials:
    """What we may present to one registry. Secrets are left out of `repr`."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)  # sent as `Authorization: Bearer`
    identity_token: str | None = field(default=None, repr=False)  # OAuth2 refresh token
    source: str = "anonymous"

    @property
    def has_basic(self) -> bool:
        return bool(self.username) and self.password is not None


ANONYMOUS = Credentials()


def resolve_credentials(
    registry: str,
    *,
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Credentials:
    """Flags first, then `LASHING_USERNAME`/`LASHING_PASSWORD`/`LASHING_REGISTRY_TOKEN`, then Docker's."""
    env = os.environ if env is None else env
    if token:
        return Credentials(token=token, source="--registry-token")
    if username:
        return Credentials(username=username, password=password or "", source="flags")
    if env.get("LASHING_REGISTRY_TOKEN"):
        return Credentials(token=env["LASHING_REGISTRY_TOKEN"], source="LASHING_REGISTRY_TOKEN")
    if env.get("LASHING_USERNAME"):
        return Credentials(
            username=env["LASHING_USERNAME"], password=env.get("LASHING_PASSWORD", ""), source="environment"
        )
    return docker_config_credentials(registry, env=env) or ANONYMOUS


def docker_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("DOCKER_CONFIG")
    return Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"


def docker_config_credentials(registry: str, env: Mapping[str, str] | None = None) -> Credentials | None:
    """Credentials for `registry` from the Docker CLI config, or None."""
    path = docker_config_path(env)
    config = _load_config(path)
    if config is None:
        return None
    keys = _server_keys(registry)
    helpers = config.get("credHelpers")
    helper = next((helpers[k] for k in keys if isinstance(helpers, dict) and isinstance(helpers.get(k), str)), None)
    helper = helper or (config.get("credsStore") if isinstance(config.get("credsStore"), str) else None)
    if helper:
        found = run_credential_helper(helper, keys[0])
        if found is not None:
            return found
    auths = config.get("auths")
    if isinstance(auths, dict):
        for key, entry in auths.items():
            if isinstance(entry, dict) and _normalize_key(key) in keys:
                found = _from_auth_entry(entry, f"{path} auths")
                if found is not None:
                    return found
    return None


def _load_config(path: Path) -> dict | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_CONFIG_BYTES:
        log.warning("ignoring %s: larger than %d bytes", path, MAX_CONFIG_BYTES)
        return None
    try:
        doc = json.loads(data)
    except ValueError:
        log.warning("ignoring %s: not valid JSON", path)
        return None
    return doc if isinstance(doc, dict) else None


def _server_keys(registry: str) -> list[str]:
    """The config keys that may name `registry`, the helper's server name first."""
    if registry == DOCKER_HUB or registry in DOCKER_HUB_ALIASES:
        return [DOCKER_HUB_KEY, *sorted(DOCKER_HUB_ALIASES)]
    return [registry]


def _normalize_key(key: str) -> str:
    """`https://host:port/v1/` -> `host:port`; Docker Hub's legacy key is kept as it is."""
    if key == DOCKER_HUB_KEY:
        return key
    if "://" in key:
        key = urlsplit(key).netloc or key
    return key.split("/", 1)[0]


def _from_auth_entry(entry: dict, source: str) -> Credentials | None:
    username, password = entry.get("username"), entry.get("password")
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            decoded = base64.b64decode(auth, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            log.warning("ignoring a malformed 'auth' value in %s", source)
            decoded = ""
        if ":" in decoded:
            username, _, password = decoded.partition(":")
    identity = entry.get("identitytoken")
    if isinstance(identity, str) and identity:
        return Credentials(
            username=username if isinstance(username, str) else None, identity_token=identity, source=source
        )
    if isinstance(entry.get("registrytoken"), str) and entry["registrytoken"]:
        return Credentials(token=entry["registrytoken"], source=source)
    if isinstance(username, str) and username and isinstance(password, str):
        return Credentials(username=username, password=password, source=source)
    return None


def run_credential_helper(name: str, server: str, timeout: float = HELPER_TIMEOUT) -> Credentials | None:
    """Ask `docker-credential-<name> get`; None when it is missing, fails or has nothing for `server`."""
    if not _HELPER_NAME.fullmatch(name):
        log.warning("ignoring credential helper with an invalid name")
        return None
    binary = shutil.which(f"docker-credential-{name}")
    if binary is None:
        log.debug("credential helper docker-credential-%s is not installed", name)
        return None
    try:
        proc = subprocess.run([binary, "get"], input=server.encode(), capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("credential helper docker-credential-%s failed: %s", name, type(exc).__name__)
        return None
    if proc.returncode != 0:
        log.debug("credential helper docker-credential-%s has no credentials for %s", name, server)
        return None
    try:
        doc = json.loads(proc.stdout[:MAX_CONFIG_BYTES])
    except ValueError:
        log.warning("credential helper docker-credential-%s printed something that is not JSON", name)
        return None
    if not isinstance(doc, dict):
        return None
    username, secret = doc.get("Username"), doc.get("Secret")
    if not isinstance(secret, str) or not secret:
        return None
    source = f"docker-credential-{name}"
    if username == "<token>":
        return Credentials(identity_token=secret, source=source)
    if isinstance(username, str) and username:
        return Credentials(username=username, password=secret, source=source)
    return None
