"""Installed Composer packages: `vendor/composer/installed.json`.

Composer 1 writes a JSON list of package objects; Composer 2 writes `{"packages": [...], "dev": ...,
"dev-package-names": [...]}`. Versions are kept as Composer records them ("v1.2.3" stays "v1.2.3").
"""

from __future__ import annotations

from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.analyzers.inventory._common import clean_licenses, load_json, purl, text
from lashing.model import Package, PackageType

MAX_PACKAGES = 50_000
INSTALLED = "vendor/composer/installed.json"


class ComposerInstalledAnalyzer(Analyzer):
    """Catalog PHP packages that Composer installed into a vendor directory."""

    name = "composer-installed"
    version = 1
    max_size = 32 * 1024 * 1024

    def required(self, path: str, info: FileInfo) -> bool:
        return path == INSTALLED or path.endswith("/" + INSTALLED)

    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        data, error = load_json(item.content)
        if error:
            return AnalysisResult(warnings=(f"installed.json: {error}",))
        dev_names: set[str] = set()
        if isinstance(data, dict):
            entries = data.get("packages")
            names = data.get("dev-package-names")
            dev_names = {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()
        else:
            entries = data
        if not isinstance(entries, list):
            return AnalysisResult(warnings=("installed.json has no package list",))
        packages = []
        for entry in entries[:MAX_PACKAGES]:
            pkg = self._package(entry, dev_names)
            if pkg is not None:
                packages.append(pkg)
        return AnalysisResult(packages=tuple(packages))

    def _package(self, entry: object, dev_names: set[str]) -> Package | None:
        if not isinstance(entry, dict):
            return None
        name, version = text(entry.get("name")), text(entry.get("version"))
        if not name or not version:
            return None
        vendor, _, project = name.rpartition("/")
        license_field = entry.get("license")
        licenses = license_field if isinstance(license_field, list) else [license_field]
        extra = {"composer_type": text(entry.get("type"))}
        if name in dev_names:
            extra["dev"] = "true"
        return Package(
            name=name,
            version=version,
            type=PackageType.COMPOSER,
            purl=purl("composer", project, version, namespace=vendor or None),
            licenses=clean_licenses(licenses),
            cataloger=self.name,
            extra=extra,
        )
