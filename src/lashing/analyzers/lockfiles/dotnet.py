"""NuGet packages.lock.json: `dependencies` per target framework (and runtime, `net8.0/linux-x64`).

One package per name and resolved version, listing its frameworks in `extra["target_frameworks"]`;
`Direct` entries are direct, `Transitive` and `CentralTransitive` are not, `Project` entries are
projects of the solution and are not listed. The lockfile does not mark test-only packages.
"""

from __future__ import annotations

from lashing.analyzers.interface import AnalysisResult
from lashing.analyzers.inventory._common import text
from lashing.analyzers.lockfiles._base import MAX_PACKAGES, LockfileAnalyzer, flags, load_json_lines, make_package
from lashing.model import PackageType


class NugetLockAnalyzer(LockfileAnalyzer):
    """packages.lock.json (lockfile versions 1 and 2)."""

    name = "nuget-lock"
    filenames = ("packages.lock.json",)

    def parse(self, path: str, content: str) -> AnalysisResult | None:
        data, lines, error = load_json_lines(content, 3)
        if error or not isinstance(data, dict) or not isinstance(data.get("dependencies"), dict):
            return AnalysisResult(warnings=(f"packages.lock.json: {error or 'no dependencies object'}",))
        found: dict[tuple[str, str], dict[str, object]] = {}
        for framework, entries in data["dependencies"].items():
            if not isinstance(entries, dict):
                continue
            for name, entry in entries.items():
                if not isinstance(entry, dict) or len(found) >= MAX_PACKAGES:
                    continue
                kind, version = text(entry.get("type")), text(entry.get("resolved"))
                if not version or kind == "Project":
                    continue
                item = found.setdefault(
                    (name, version),
                    {"line": lines.get(("dependencies", framework, name)), "direct": False, "frameworks": []},
                )
                item["direct"] = bool(item["direct"]) or kind == "Direct"
                frameworks = item["frameworks"]
                if isinstance(frameworks, list) and framework not in frameworks:
                    frameworks.append(framework)
        out = []
        for (name, version), item in found.items():
            frameworks = item["frameworks"] if isinstance(item["frameworks"], list) else []
            extra = flags(direct=bool(item["direct"]), target_frameworks=",".join(frameworks))
            line = item["line"] if isinstance(item["line"], int) else None
            out.append(make_package(PackageType.NUGET, name, version, self.name, path, line,
                                    purl_type="nuget", extra=extra))  # fmt: skip
        return AnalysisResult(packages=tuple(out))
