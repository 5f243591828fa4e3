"""Auto-detect what one IMAGE argument names and open it.

Order: an existing directory (OCI layout if it has `oci-layout`, else a root filesystem), an
existing file (docker-archive if it has `manifest.json`, else OCI archive), `PATH:TAG` for a tag
inside a local layout or archive, and finally a registry reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lashing.errors import InvalidImageError, UsageError
from lashing.sources.image.blobstore import DirBlobStore, TarBlobStore
from lashing.sources.image.docker_archive import DockerArchiveSource
from lashing.sources.image.interface import DEFAULT_LIMITS, ImageSource, Limits
from lashing.sources.image.manifest import Platform
from lashing.sources.image.oci import OCILayoutSource


@dataclass(frozen=True)
class RegistryOptions:
    """How to reach a registry: credentials given on the command line or in the environment."""

    username: str | None = None
    password: str | None = None
    token: str | None = None
    insecure: bool = False
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DirectoryTarget:
    """A root filesystem directory: analyzed as one layer."""

    path: Path


def open_target(
    arg: str,
    platform: Platform | None = None,
    limits: Limits = DEFAULT_LIMITS,
    registry: RegistryOptions | None = None,
) -> ImageSource | DirectoryTarget:
    """Open the image or directory that `arg` names."""
    path, tag = _split_local(arg)
    if path is not None:
        if path.is_dir():
            if (path / "oci-layout").exists():
                return OCILayoutSource(DirBlobStore(path), arg, "oci-layout", tag, platform, limits)
            if tag is not None:
                raise UsageError(f"{path} is a plain directory: it has no tags")
            return DirectoryTarget(path)
        return _open_archive(path, arg, tag, platform, limits)
    from lashing.sources.image.registry import open_registry_image

    return open_registry_image(arg, platform=platform, limits=limits, options=registry or RegistryOptions())


def _split_local(arg: str) -> tuple[Path | None, str | None]:
    path = Path(arg)
    if path.exists():
        return path, None
    for i, char in enumerate(arg):
        if char == ":" and i and Path(arg[:i]).exists():
            return Path(arg[:i]), arg[i + 1 :]
    if arg.startswith(("/", "./", "../")) or arg.endswith((".tar", ".tar.gz", ".tgz")):
        raise UsageError(f"no such file or directory: {arg}")
    return None, None


def _open_archive(
    path: Path, arg: str, tag: str | None, platform: Platform | None, limits: Limits
) -> ImageSource:
    if not path.is_file():
        raise InvalidImageError(f"{path} is neither a directory nor a regular file")
    store = TarBlobStore(path, limits.max_members)
    try:
        if store.exists("manifest.json"):
            return DockerArchiveSource(store, arg, tag, limits)
        if store.exists("oci-layout"):
            return OCILayoutSource(store, arg, "oci-archive", tag, platform, limits)
    except BaseException:
        store.close()
        raise
    store.close()
    raise InvalidImageError(
        f"{path} is neither a docker-archive (manifest.json) nor an OCI archive (oci-layout)"
    )
