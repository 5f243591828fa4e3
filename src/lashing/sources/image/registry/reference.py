"""Image references: `[registry[:port]/]repo[/path][:tag][@digest]`, with Docker Hub defaults.

The grammar follows the distribution reference rules: the first component names a registry when it
contains a `.` or a `:`, is `localhost`, or is a bracketed IPv6 address; otherwise the image is on
Docker Hub (`alpine` -> `registry-1.docker.io/library/alpine:latest`). Repository components are
lowercase alphanumerics with single `.`/`_`/`__`/`-` runs between them; tags are at most 128 chars.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lashing.errors import UsageError

DOCKER_HUB = "registry-1.docker.io"
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})
MAX_NAME_LENGTH = 255
MAX_REFERENCE_LENGTH = 1024

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})")
_HOST_LABEL = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_DOMAIN = re.compile(rf"(?:{_HOST_LABEL}(?:\.{_HOST_LABEL})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{{1,5}})?")
_LOCAL_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.zst", ".oci", ".json")


@dataclass(frozen=True)
class Reference:
    """A parsed image reference. `tag` defaults to `latest` only when there is no digest."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def host(self) -> str:
        """The registry host without its port (brackets kept for IPv6)."""
        if self.registry.startswith("["):
            return self.registry[: self.registry.index("]") + 1]
        return self.registry.rsplit(":", 1)[0]

    @property
    def manifest_ref(self) -> str:
        """What goes after `/manifests/`: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def short(self) -> str:
        """`repo:tag` or `repo@digest`, for messages."""
        if self.digest:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag or 'latest'}"

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str) -> Reference:
    """Parse and validate an image reference; raise a one-line `UsageError` on anything else."""
    original = text
    if not isinstance(text, str) or not text or len(text) > MAX_REFERENCE_LENGTH:
        raise UsageError("invalid image reference: empty or too long")
    if text.startswith("docker://"):
        text = text[len("docker://") :]
    if text != text.strip() or any(ord(c) < 33 or ord(c) > 126 for c in text):
        raise UsageError(f"invalid image reference {_shown(original)}: whitespace or non-ASCII characters")
    name, digest = text, None
    if "@" in text:
        name, _, digest = text.partition("@")
        if not _DIGEST.fullmatch(digest):
            raise UsageError(f"invalid image reference {_shown(original)}: bad digest {_shown(digest)}")
    registry, remainder = _split_registry(name, original)
    tag = None
    last_slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > last_slash:
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise UsageError(f"invalid image reference {_shown(original)}: bad tag {_shown(tag)}")
    if not remainder or not all(_COMPONENT.fullmatch(part) for part in remainder.split("/")):
        raise UsageError(
            f"invalid image reference {_shown(original)}: repository names are lowercase letters, digits "
            "and single . _ - separators"
        )
    if registry == DOCKER_HUB and "/" not in remainder:
        remainder = f"library/{remainder}"
    if len(registry) + 1 + len(remainder) > MAX_NAME_LENGTH:
        raise UsageError(f"invalid image reference {_shown(original)}: name longer than {MAX_NAME_LENGTH}")
    if tag is None and digest is None:
        tag = "latest"
    return Reference(registry=registry, repository=remainder, tag=tag, digest=digest)


def _split_registry(name: str, original: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    is_domain = sep and (
        "." in first or ":" in first or first == "localhost" or first.startswith("[") or first != first.lower()
    )
    if not is_domain:
        return DOCKER_HUB, name
    if not _DOMAIN.fullmatch(first):
        raise UsageError(f"invalid image reference {_shown(original)}: bad registry host {_shown(first)}")
    port = first.rsplit(":", 1)[1] if ":" in first and not first.endswith("]") else None
    if port is not None and not 0 < int(port) < 65536:
        raise UsageError(f"invalid image reference {_shown(original)}: bad port {port}")
    if first.lower() in DOCKER_HUB_ALIASES:
        return DOCKER_HUB, rest
    return first, rest


def looks_like_registry_reference(arg: str) -> bool:
    """True when `arg` is a valid reference and not a local path (a path that exists is never one)."""
    if not arg or arg.startswith(("/", "./", "../", "~", ".")) or arg.endswith(_LOCAL_SUFFIXES):
        return False
    try:
        if Path(arg).exists() or Path(arg.partition(":")[0]).exists():
            return False
    except (OSError, ValueError):
        return False
    try:
        parse_reference(arg)
    except UsageError:
        return False
    return True


def _shown(text: str) -> str:
    """Quote untrusted text for a one-line message: bounded, control characters escaped."""
    return repr(text[:80] + ("..." if len(text) > 80 else ""))
