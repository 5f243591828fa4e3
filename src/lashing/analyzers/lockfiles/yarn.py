"""yarn.lock: classic (v1, its own indented format) and berry (v2+, YAML with `__metadata`).

A name comes from the entry's resolution (berry) or its first descriptor (v1), so an alias
(`x@npm:y@1`) lists the real package `y`. Workspace, link, portal, file and patch entries are not
packages of their own. yarn.lock does not say which packages are dev-only; berry's workspace entries
say which are direct.
"""

from __future__ import annotations

import re

from lashing.analyzers.interface import AnalysisResult
from lashing.analyzers.lockfiles._base import MAX_PACKAGES, LockfileAnalyzer, flags, load_yaml_lines
from lashing.analyzers.lockfiles.npm import npm_package, plain_version
from lashing.model import Package

_LOCAL_PROTOCOLS = ("workspace:", "link:", "portal:", "file:", "patch:", "exec:")
_V1_VERSION = re.compile(r'^\s+version:?\s+"?([^"\s]+)"?\s*$')


def split_descriptor(descriptor: str) -> tuple[str, str]:
    """`@scope/name@range` -> ("@scope/name", "range"); the range may hold a protocol (`npm:`)."""
    descriptor = descriptor.strip().strip('"')
    at = descriptor.find("@", 1)
    return (descriptor, "") if at < 0 else (descriptor[:at], descriptor[at + 1 :])


def real_name(descriptor: str) -> tuple[str, str]:
    """The package a descriptor resolves to: ("name", "range"), following `npm:` aliases."""
    name, rng = split_descriptor(descriptor)
    if rng.startswith("npm:") and "@" in rng[5:]:
        return split_descriptor(rng[4:])
    return name, rng


class YarnLockAnalyzer(LockfileAnalyzer):
    """yarn.lock, classic or berry."""

    name = "yarn-lock"
    filenames = ("yarn.lock",)

    def parse(self, path: str, content: str) -> AnalysisResult | None:
        if re.search(r"^\"?__metadata\"?:", content, re.MULTILINE):
            return self._berry(path, content)
        return self._classic(path, content)

    def _classic(self, path: str, content: str) -> AnalysisResult:
        found: dict[tuple[str, str], int] = {}
        header: tuple[str, str, int] | None = None
        for number, raw in enumerate(content.splitlines(), 1):
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
            if not raw[0].isspace():
                if not raw.rstrip().endswith(":"):
                    return AnalysisResult(warnings=(f"yarn.lock: line {number} is not a v1 entry header",))
                first = raw.rstrip()[:-1].split(",")[0]
                name, rng = real_name(first)
                header = None if rng.startswith(_LOCAL_PROTOCOLS) else (name, rng, number)
            elif header is not None and (match := _V1_VERSION.match(raw)):
                if plain_version(match.group(1)) and len(found) < MAX_PACKAGES:
                    found.setdefault((header[0], match.group(1)), header[2])
                header = None
        return AnalysisResult(
            packages=tuple(npm_package(n, v, self.name, path, line, {}) for (n, v), line in found.items())
        )

    def _berry(self, path: str, content: str) -> AnalysisResult:
        data, lines, error = load_yaml_lines(content, 1)
        if error or not isinstance(data, dict):
            return AnalysisResult(warnings=(f"yarn.lock: {error or 'not a mapping'}",))
        direct: set[str] = set()
        workspaces = 0
        for entry in data.values():
            if isinstance(entry, dict) and "@workspace:" in str(entry.get("resolution", "")):
                workspaces += 1
                deps = entry.get("dependencies")
                direct.update(str(k) for k in deps) if isinstance(deps, dict) else None
        out: list[Package] = []
        seen: set[tuple[str, str]] = set()
        for key, entry in list(data.items())[:MAX_PACKAGES]:
            if key == "__metadata" or not isinstance(entry, dict):
                continue
            name, reference = split_descriptor(str(entry.get("resolution", "")))
            version = str(entry.get("version", ""))
            if not name or reference.startswith(_LOCAL_PROTOCOLS) or not plain_version(version):
                continue
            if (name, version) in seen:
                continue
            seen.add((name, version))
            descriptors = {split_descriptor(d)[0] for d in str(key).split(",")}
            is_direct = bool(descriptors & direct) if workspaces else None
            out.append(npm_package(name, version, self.name, path, lines.get((key,)), flags(direct=is_direct)))
        return AnalysisResult(packages=tuple(out))
