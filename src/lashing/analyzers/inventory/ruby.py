"""Installed Ruby gems: the gemspecs RubyGems writes under `specifications/` (and `specifications/default/`).

Installed gemspecs are generated Ruby (`Gem::Specification#to_ruby`): `s.name = "x".freeze`,
`s.version = "1.2"`, `s.licenses = [...]`, after a `# stub: NAME VERSION PLATFORM ...` comment.
They are read with regular expressions, never executed; the stub line and the file name are the
fallbacks when an assignment is not a literal.
"""

from __future__ import annotations

import re

from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.analyzers.inventory._common import clean_licenses, purl
from lashing.model import Package, PackageType

_STRING = r"""(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'|%q\{([^}\n]*)\}|%q\(([^)\n]*)\))"""


def _assignment(field: str) -> re.Pattern[str]:
    """`s.FIELD = "literal"` (optionally wrapped in Gem::Version.new) at the start of a line."""
    return re.compile(rf"^\s*\w+\.{field}\s*=\s*(?:Gem::Version\.new\(\s*)?" + _STRING, re.MULTILINE)


_NAME = _assignment("name")
_VERSION = _assignment("version")
_LICENSES = re.compile(r"^\s*\w+\.licen[sc]es?\s*=\s*(.*)$", re.MULTILINE)
_STUB = re.compile(r"^# stub: (\S+) (\S+)", re.MULTILINE)
_ANY_STRING = re.compile(_STRING)


def _literal(match: re.Match[str] | None) -> str:
    return next((g for g in match.groups() if g is not None), "").strip() if match else ""


def split_spec_name(file_name: str) -> tuple[str, str]:
    """`rake-13.0.6.gemspec` -> ("rake", "13.0.6"); platform suffixes stay in the version part."""
    stem = file_name.rsplit("/", 1)[-1].removesuffix(".gemspec")
    match = re.match(r"^(.+?)-(\d[^-]*)(?:-.+)?$", stem)
    return (match.group(1), match.group(2)) if match else (stem, "")


class GemSpecAnalyzer(Analyzer):
    """Catalog gems from installed gemspec files."""

    name = "ruby-gemspec"
    version = 1
    max_size = 1024 * 1024

    def required(self, path: str, info: FileInfo) -> bool:
        return path.endswith(".gemspec") and (
            "/specifications/" in path or path.startswith("specifications/")
        )

    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        text = item.content.decode("utf-8", errors="replace")
        stub = _STUB.search(text)
        file_name, file_version = split_spec_name(item.path)
        name = _literal(_NAME.search(text)) or (stub.group(1) if stub else "") or file_name
        version = _literal(_VERSION.search(text)) or (stub.group(2) if stub else "") or file_version
        if not name or not version or len(name) > 256 or len(version) > 128:
            return AnalysisResult(warnings=("gemspec without a literal name and version",))
        licenses: list[str] = []
        for line in _LICENSES.finditer(text):
            licenses.extend(_literal(m) for m in _ANY_STRING.finditer(line.group(1)))
        pkg = Package(
            name=name,
            version=version,
            type=PackageType.GEM,
            purl=purl("gem", name, version),
            licenses=clean_licenses(licenses),
            cataloger=self.name,
            extra={"default_gem": "true"} if "/specifications/default/" in item.path else {},
        )
        return AnalysisResult(packages=(pkg,))
