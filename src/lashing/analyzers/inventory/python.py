"""Installed Python distributions: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO` and `*.egg-info` files.

The metadata is RFC 822 headers (core metadata spec); only the header block is parsed. The purl uses
the PEP 503 normalized name, the package keeps the name the metadata spells.
"""

from __future__ import annotations

import re

from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.analyzers.inventory._common import clean_licenses, purl
from lashing.model import Package, PackageType

_NORMALIZE = re.compile(r"[-_.]+")
_SUFFIXES = (".dist-info/METADATA", ".egg-info/PKG-INFO", ".egg-info")


def normalize_name(name: str) -> str:
    """PEP 503 normalization: runs of '-', '_', '.' become '-', lower case."""
    return _NORMALIZE.sub("-", name).lower()


class PythonPackageAnalyzer(Analyzer):
    """Catalog Python distributions from their installed core metadata."""

    name = "python-installed"
    version = 1
    max_size = 4 * 1024 * 1024

    def required(self, path: str, info: FileInfo) -> bool:
        return path.endswith(_SUFFIXES)

    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        # The email parser (~5 ms of imports) loads on first use, by whichever thread or forked process reads
        # a layer with Python metadata, rather than before the layers are handed out (a Debian base layer
        # has none: its process need not wait for it).
        from email.parser import HeaderParser
        from email.policy import compat32

        # Headers end at the first blank line; the (possibly huge) description body is never parsed.
        text = item.content.decode("utf-8", errors="replace")
        head, _, _ = text.replace("\r\n", "\n").partition("\n\n")
        message = HeaderParser(policy=compat32).parsestr(head + "\n")
        name = (message.get("Name") or "").strip()
        version = (message.get("Version") or "").strip()
        if not name or not version:
            return AnalysisResult(warnings=("python metadata without Name or Version",))
        if len(name) > 256 or len(version) > 256:
            return AnalysisResult(warnings=("python metadata Name or Version is implausibly long",))
        pkg = Package(
            name=name,
            version=version,
            type=PackageType.PYTHON,
            purl=purl("pypi", normalize_name(name), version),
            licenses=_licenses(message),
            cataloger=self.name,
            extra={"metadata_version": (message.get("Metadata-Version") or "").strip()},
        )
        return AnalysisResult(packages=(pkg,))


def _licenses(message) -> tuple[str, ...]:
    """License-Expression (PEP 639), else a one-line License field, else the license classifiers."""
    expression = message.get("License-Expression")
    if expression and expression.strip():
        return clean_licenses([expression])
    raw = message.get("License") or ""
    if raw.strip() and "\n" not in raw.strip() and len(raw.strip()) <= 100:
        found = clean_licenses([raw])
        if found:
            return found
    classifiers = []
    for value in message.get_all("Classifier") or []:
        parts = [p.strip() for p in str(value).split("::")]
        if parts[0] == "License" and len(parts) >= 2 and parts[-1] != "OSI Approved":
            classifiers.append(parts[-1])
    return clean_licenses(classifiers)
