"""composer.lock: `packages` and `packages-dev` (dev). The version is kept as composer spells it
(`v6.4.1` stays `v6.4.1`); the purl namespace is the vendor. Direct dependencies are in composer.json,
not the lockfile, and are not known here.
"""

from __future__ import annotations

from lashing.analyzers.interface import AnalysisResult
from lashing.analyzers.inventory._common import text
from lashing.analyzers.lockfiles._base import MAX_PACKAGES, LockfileAnalyzer, flags, load_json_lines, make_package
from lashing.model import Package, PackageType


class ComposerLockAnalyzer(LockfileAnalyzer):
    """composer.lock outside vendor trees' installed metadata (that is `installed.json`)."""

    name = "composer-lock"
    filenames = ("composer.lock",)

    def parse(self, path: str, content: str) -> AnalysisResult | None:
        data, lines, error = load_json_lines(content, 2)
        if error or not isinstance(data, dict):
            return AnalysisResult(warnings=(f"composer.lock: {error or 'not an object'}",))
        out: list[Package] = []
        seen: set[tuple[str, str]] = set()
        for section in ("packages", "packages-dev"):
            entries = data.get(section)
            if not isinstance(entries, list):
                continue
            for index, entry in enumerate(entries[:MAX_PACKAGES]):
                if not isinstance(entry, dict):
                    continue
                name, version = text(entry.get("name")), text(entry.get("version"))
                if not name or not version or (name, version) in seen:
                    continue
                seen.add((name, version))
                vendor, _, project = name.rpartition("/")
                extra = flags(dev=section == "packages-dev", composer_type=text(entry.get("type")))
                out.append(make_package(
                    PackageType.COMPOSER, name, version, self.name, path, lines.get((section, index)),
                    purl_type="composer", purl_name=project, namespace=vendor or None, extra=extra,
                ))  # fmt: skip
        return AnalysisResult(packages=tuple(out))
