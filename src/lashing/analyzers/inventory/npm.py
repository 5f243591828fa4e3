"""Installed npm packages: the `package.json` at the top of each `node_modules/<name>` directory.

Covers project trees, nested `node_modules` and the global prefixes (`usr/lib/node_modules`,
`usr/local/lib/node_modules`). A package.json deeper inside a package (fixtures, sub-builds) is not
an installed package and is not asked for.
"""

from __future__ import annotations

from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.analyzers.inventory._common import clean_licenses, load_json, purl, text
from lashing.model import Package, PackageType


def is_installed_manifest(path: str) -> bool:
    """`.../node_modules/<name>/package.json` or `.../node_modules/@scope/<name>/package.json`."""
    if not path.endswith("/package.json"):
        return False
    parts = path.split("/")
    if len(parts) >= 3 and parts[-3] == "node_modules":
        return not parts[-2].startswith("@") and parts[-2] != ".bin"
    return (
        len(parts) >= 4 and parts[-4] == "node_modules" and parts[-3].startswith("@") and len(parts[-3]) > 1
    )


class NpmPackageAnalyzer(Analyzer):
    """Catalog npm packages from installed package.json files."""

    name = "npm-installed"
    version = 1
    max_size = 4 * 1024 * 1024

    def required(self, path: str, info: FileInfo) -> bool:
        return is_installed_manifest(path)

    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        data, error = load_json(item.content)
        if error:
            return AnalysisResult(warnings=(f"package.json: {error}",))
        if not isinstance(data, dict):
            return AnalysisResult(warnings=("package.json is not an object",))
        name, version = text(data.get("name")), text(data.get("version"))
        if not name or not version:
            return None  # placeholder manifests (no name/version) are not packages
        namespace, _, base = name.rpartition("/") if name.startswith("@") else ("", "", name)
        pkg = Package(
            name=name,
            version=version,
            type=PackageType.NPM,
            purl=purl("npm", base, version, namespace=namespace or None),
            licenses=licenses(data),
            cataloger=self.name,
        )
        return AnalysisResult(packages=(pkg,))


def licenses(data: dict) -> tuple[str, ...]:
    """`license` as an SPDX string, or the legacy `{type}` object, or a `licenses` list of either."""
    values: list[object] = []
    for key in ("license", "licenses"):
        field = data.get(key)
        items = field if isinstance(field, list) else [field]
        for entry in items:
            if isinstance(entry, dict):
                entry = entry.get("type")
            values.append(entry)
    return clean_licenses(values)
