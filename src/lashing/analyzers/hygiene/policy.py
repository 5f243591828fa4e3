"""Allowed registries and base images: a list of reference prefixes; no list, no restriction.

References are normalized the way Docker does before matching: `debian:12` is
`docker.io/library/debian:12`, `team/app` is `docker.io/team/app`, `index.docker.io` and
`registry-1.docker.io` are `docker.io`. A prefix matches at a path boundary: `ghcr.io/acme` allows
`ghcr.io/acme/app:1` but not `ghcr.io/acme-evil/app`.
"""

from __future__ import annotations

from collections.abc import Sequence

from lashing.analyzers.hygiene.catalog import finding
from lashing.model import Finding, Location

DOCKER_HUB = "docker.io"
_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io", "registry.hub.docker.com")


def normalize_reference(reference: str) -> str:
    """`reference` with its registry and, for Docker Hub official images, `library/` spelled out."""
    ref = reference.strip()
    first, sep, rest = ref.partition("/")
    if not sep or ("." not in first and ":" not in first and first != "localhost"):
        registry, path = DOCKER_HUB, ref
    else:
        registry, path = first.lower(), rest
    if registry in _HUB_ALIASES:
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    return f"{registry}/{path}"


def _is_registry(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost"


def _normalize_prefix(prefix: str) -> str:
    """A policy prefix in normalized form; a bare registry ends with '/'."""
    norm = prefix.strip().rstrip("/")
    first, sep, rest = norm.partition("/")
    if _is_registry(first) or first == DOCKER_HUB:
        registry = DOCKER_HUB if first.lower() in (*_HUB_ALIASES, DOCKER_HUB) else first.lower()
        return f"{registry}/{rest}" if sep else f"{registry}/"
    return normalize_reference(norm)  # "debian" -> docker.io/library/debian, "team/app" -> docker.io/team/app


def is_allowed(reference: str, allowed: Sequence[str]) -> bool:
    """True when `allowed` is empty or `reference` starts with one of its prefixes at a boundary."""
    if not allowed:
        return True
    ref = normalize_reference(reference)
    for prefix in allowed:
        if not prefix.strip():
            continue
        full = _normalize_prefix(prefix)
        if full.endswith("/"):
            if ref.startswith(full):
                return True
        elif ref == full or ref.startswith((full + "/", full + ":", full + "@")):
            return True
    return False


def check_registries(reference: str, base_name: str, allowed: Sequence[str]) -> list[Finding]:
    """Policy findings for the image reference and its base image name (either may be "")."""
    if not allowed:
        return []
    out = []
    where = ", ".join(allowed)
    if reference and not is_allowed(reference, allowed):
        out.append(
            finding(
                "LSH-IMG-REGISTRY",
                Location("<image reference>"),
                detail=f"{normalize_reference(reference)} is not under any of: {where}.",
                extra={"match": reference[:80], "policy": where[:200]},
            )
        )
    if base_name and not is_allowed(base_name, allowed):
        out.append(
            finding(
                "LSH-IMG-BASE-NOT-ALLOWED",
                Location("<image config>/Labels"),
                detail=f"{normalize_reference(base_name)} is not under any of: {where}.",
                extra={"match": base_name[:80], "policy": where[:200]},
            )
        )
    return out
