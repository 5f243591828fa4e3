"""Real root filesystems for cataloger tests, built once per pytest session.

The Debian root filesystem is the one `imagebuild.debian_rootfs` makes for the image tests (same
suite and packages, same session directory), so a session that runs both pays for mmdebstrap once.
Register it in a test module with:

    rootfs = pytest.fixture(scope="session")(debian_rootfs)
"""

from __future__ import annotations

from pathlib import Path

import pytest

import imagebuild


def debian_rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Debian bookworm `minbase` rootfs with openssl, curl, ca-certificates and python3 (~35 s once)."""
    return imagebuild.debian_rootfs(imagebuild.session_dir(tmp_path_factory))


def dpkg_query(admindir: Path) -> list[tuple[str, str, str, str, str, str]]:
    """dpkg-query's view of a dpkg database: (name, version, arch, source, source version, status abbrev)."""
    fmt = "${Package}|${Version}|${Architecture}|${source:Package}|${source:Version}|${db:Status-Abbrev}\n"
    out = imagebuild.run(["dpkg-query", "--admindir", admindir, "-W", "-f", fmt], capture=True)
    return [tuple(line.split("|")) for line in out.splitlines() if line]  # type: ignore[misc]
