"""Gemfile.lock (and gems.locked): the specs of the GEM and GIT sections.

A spec line is `    name (version)` or `    name (version-platform)`; one gem built for several
platforms is one package listing them in `extra["platforms"]`. PATH specs are local gems (usually
the project itself) and are not listed. DEPENDENCIES names the direct gems; the lockfile does not
keep Gemfile groups, so dev gems are not known.
"""

from __future__ import annotations

import re

from lashing.analyzers.interface import AnalysisResult
from lashing.analyzers.lockfiles._base import MAX_PACKAGES, LockfileAnalyzer, flags, make_package
from lashing.model import PackageType

_SPEC = re.compile(r"^    ([^\s(]+) \(([^)\s]+)\)\s*$")
_DEPENDENCY = re.compile(r"^  ([^\s(!]+)!?(?: \(.*\))?\s*$")
_SECTION = re.compile(r"^[A-Z][A-Z ]*$")


class GemfileLockAnalyzer(LockfileAnalyzer):
    """Bundler lockfiles."""

    name = "gemfile-lock"
    filenames = ("Gemfile.lock", "gems.locked")
    max_size = 8 * 1024 * 1024

    def parse(self, path: str, content: str) -> AnalysisResult | None:
        section, in_specs = "", False
        gems: dict[tuple[str, str], dict[str, object]] = {}
        direct: set[str] = set()
        for number, raw in enumerate(content.splitlines(), 1):
            line = raw.rstrip("\r")
            if _SECTION.match(line):
                section, in_specs = line, False
            elif line == "  specs:":
                in_specs = True
            elif section in ("GEM", "GIT") and in_specs and (match := _SPEC.match(line)):
                name, (version, _, platform) = match.group(1), match.group(2).partition("-")
                gem = gems.setdefault((name, version), {"line": number, "platforms": [], "source": section})
                platforms = gem["platforms"]
                if isinstance(platforms, list) and (platform or "ruby") not in platforms:
                    platforms.append(platform or "ruby")
            elif section == "DEPENDENCIES" and (match := _DEPENDENCY.match(line)):
                direct.add(match.group(1))
            if len(gems) >= MAX_PACKAGES:
                break
        if not gems and not _SECTION.search(content.split("\n", 1)[0]):
            return AnalysisResult(warnings=("Gemfile.lock: no GEM or GIT specs found",))
        out = []
        for (name, version), gem in gems.items():
            platforms = gem["platforms"] if isinstance(gem["platforms"], list) else []
            extra = flags(
                direct=(name in direct) if direct else None,
                platforms=",".join(platforms),
                source=str(gem["source"]).lower(),
            )
            line = gem["line"] if isinstance(gem["line"], int) else None
            out.append(make_package(PackageType.GEM, name, version, self.name, path, line,
                                    purl_type="gem", extra=extra))  # fmt: skip
        return AnalysisResult(packages=tuple(out))
