"""False positives: a clean Debian root filesystem plus common Python and npm packages.

The other half of a secret scanner's score. mmdebstrap builds the rootfs (shared with the other
real-image tests through tests/imagebuild.py), pip and npm install pinned popular packages; no
finding may reach HIGH (the CI gate), while the self-test keys libgnutls embeds are still reported
at LOW. Files per second are printed for the record (tests assert behaviour, never timings).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import imagebuild as ib
from lashing.analyzers.image import analyze_directory
from lashing.analyzers.secrets import SecretAnalyzer
from lashing.model import Severity

pytestmark = pytest.mark.slow

PIP = (
    "requests==2.32.3",
    "urllib3==2.2.3",
    "certifi==2024.8.30",
    "idna==3.10",
    "charset-normalizer==3.4.0",
    "cryptography==43.0.3",
    "cffi==1.17.1",
    "PyYAML==6.0.2",
    "Jinja2==3.1.4",
    "MarkupSafe==3.0.2",
    "PyJWT==2.9.0",
    "oauthlib==3.2.2",
    "paramiko==3.5.0",
    "SQLAlchemy==2.0.36",
    "redis==5.2.0",
)
NPM = ("express@4.21.1", "lodash@4.17.21", "axios@1.7.7", "jsonwebtoken@9.0.2", "pg@8.13.1", "dotenv@16.4.5")


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    base = ib.session_dir(tmp_path_factory)
    rootfs = ib.debian_rootfs(base)

    def pip(dest: Path) -> None:
        ib.run(
            [
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--no-compile",
                "--only-binary=:all:",
                "--target",
                dest / ib.SITE_PACKAGES,
                *PIP,
            ]
        )

    def npm(dest: Path) -> None:
        ib.run(
            [
                "npm",
                "install",
                "--prefix",
                dest / "srv/app",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--no-update-notifier",
                *NPM,
            ]
        )

    # installed below their usual image paths, so the scanner sees the paths it would in an image
    site = ib.cached(base / "secrets-pip", pip)
    node = ib.cached(base / "secrets-npm", npm)
    return [rootfs, site, node]


def test_clean_rootfs_and_packages_have_no_high_finding(trees: list[Path]) -> None:
    analyzer = SecretAnalyzer()
    start = time.perf_counter()
    analyses = [analyze_directory(tree, [analyzer]) for tree in trees]
    elapsed = time.perf_counter() - start
    findings = [f for a in analyses for f in a.findings]
    counts = [sum(1 for la in a.analyses for f in la.files if f.kind == "file") for a in analyses]
    files = sum(counts)
    print(f"\nsecret scan: {files} files in {elapsed:.2f} s, {files / elapsed:.0f} files/s, {len(findings)} findings")
    assert counts[0] > 8000 and counts[1] > 500 and counts[2] > 500  # the walks really covered the trees
    high = [(f.id, f.location.path, f.extra.get("match")) for f in findings if f.severity >= Severity.HIGH]
    assert high == []
    # libgnutls's embedded self-test keys: found, but capped as a third-party binary
    gnutls = [f for f in findings if "libgnutls" in f.location.path]
    assert gnutls and all(f.extra.get("context") == "third-party-binary" for f in gnutls)
