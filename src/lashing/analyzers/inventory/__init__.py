"""Inventory catalogers: one module per package manager; `default_catalogers()` lists them all."""

from __future__ import annotations

from lashing.analyzers.interface import Analyzer


def default_catalogers() -> list[Analyzer]:
    """Every cataloger, OS detection first. Each declares the paths it wants: the image is read once."""
    from lashing.analyzers.inventory.apk import ApkAnalyzer
    from lashing.analyzers.inventory.dotnet import DotnetDepsAnalyzer
    from lashing.analyzers.inventory.dpkg import DpkgAnalyzer
    from lashing.analyzers.inventory.golang import GoBinaryAnalyzer
    from lashing.analyzers.inventory.java import JavaArchiveAnalyzer
    from lashing.analyzers.inventory.npm import NpmPackageAnalyzer
    from lashing.analyzers.inventory.osrelease import OSReleaseAnalyzer
    from lashing.analyzers.inventory.php import ComposerInstalledAnalyzer
    from lashing.analyzers.inventory.python import PythonPackageAnalyzer
    from lashing.analyzers.inventory.rpm import RpmAnalyzer
    from lashing.analyzers.inventory.ruby import GemSpecAnalyzer
    from lashing.analyzers.inventory.rust import RustAuditableAnalyzer

    return [
        OSReleaseAnalyzer(),
        DpkgAnalyzer(),
        ApkAnalyzer(),
        RpmAnalyzer(),
        PythonPackageAnalyzer(),
        NpmPackageAnalyzer(),
        GoBinaryAnalyzer(),
        JavaArchiveAnalyzer(),
        GemSpecAnalyzer(),
        RustAuditableAnalyzer(),
        ComposerInstalledAnalyzer(),
        DotnetDepsAnalyzer(),
    ]
