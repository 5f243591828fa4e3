"""NuGet packages of .NET applications: `<app>.deps.json`, written by the SDK beside the app.

`libraries` maps "Name/Version" to `{"type": "package" | "project" | "reference", ...}`; `targets`
maps each target framework (and runtime) to the same keys with their runtime assets. A package
library that no target lists was not deployed (compile-time only) and is left out; projects
(the application itself and its project references) are not packages.
"""

from __future__ import annotations

from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.analyzers.inventory._common import load_json, purl
from lashing.model import Package, PackageType

MAX_LIBRARIES = 50_000


class DotnetDepsAnalyzer(Analyzer):
    """Catalog NuGet packages from .deps.json files."""

    name = "dotnet-deps"
    version = 1
    max_size = 32 * 1024 * 1024

    def required(self, path: str, info: FileInfo) -> bool:
        return path.endswith(".deps.json")

    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        data, error = load_json(item.content)
        if error:
            return AnalysisResult(warnings=(f"deps.json: {error}",))
        if not isinstance(data, dict) or not isinstance(data.get("libraries"), dict):
            return AnalysisResult(warnings=("deps.json has no libraries object",))
        targets = data.get("targets")
        deployed: set[str] | None = None
        if isinstance(targets, dict) and targets:
            deployed = {key for target in targets.values() if isinstance(target, dict) for key in target}
        packages = []
        for key, library in list(data["libraries"].items())[:MAX_LIBRARIES]:
            if not isinstance(library, dict) or library.get("type") != "package":
                continue
            if deployed is not None and key not in deployed:
                continue
            name, _, version = key.partition("/")
            if not name or not version:
                continue
            packages.append(
                Package(
                    name=name,
                    version=version,
                    type=PackageType.NUGET,
                    purl=purl("nuget", name, version),
                    cataloger=self.name,
                    extra={"sha512": library["sha512"]} if isinstance(library.get("sha512"), str) else {},
                )
            )
        return AnalysisResult(packages=tuple(packages))
