"""Lockfile catalogers for source trees (`lashing fs DIR`): one module per ecosystem family.

Each analyzer asks for its lockfile by name (never inside `node_modules/`, where the inventory npm
cataloger reads the installed packages) and reports the locked packages with their purl, the line of
their entry, and `extra["direct"]` / `extra["dev"]` where the format says.
"""

from __future__ import annotations

from lashing.analyzers.interface import Analyzer


def default_lockfile_analyzers() -> list[Analyzer]:
    """Every lockfile cataloger."""
    from lashing.analyzers.lockfiles.dotnet import NugetLockAnalyzer
    from lashing.analyzers.lockfiles.golang import GoModAnalyzer
    from lashing.analyzers.lockfiles.java import PomAnalyzer
    from lashing.analyzers.lockfiles.npm import PackageLockAnalyzer
    from lashing.analyzers.lockfiles.php import ComposerLockAnalyzer
    from lashing.analyzers.lockfiles.pnpm import PnpmLockAnalyzer
    from lashing.analyzers.lockfiles.python import PipfileLockAnalyzer, PoetryLockAnalyzer, UvLockAnalyzer
    from lashing.analyzers.lockfiles.requirements import RequirementsAnalyzer
    from lashing.analyzers.lockfiles.ruby import GemfileLockAnalyzer
    from lashing.analyzers.lockfiles.rust import CargoLockAnalyzer
    from lashing.analyzers.lockfiles.yarn import YarnLockAnalyzer

    return [
        RequirementsAnalyzer(),
        PoetryLockAnalyzer(),
        PipfileLockAnalyzer(),
        UvLockAnalyzer(),
        PackageLockAnalyzer(),
        YarnLockAnalyzer(),
        PnpmLockAnalyzer(),
        GoModAnalyzer(),
        CargoLockAnalyzer(),
        ComposerLockAnalyzer(),
        GemfileLockAnalyzer(),
        PomAnalyzer(),
        NugetLockAnalyzer(),
    ]
