"""The secret analyzer: every regular file of every layer under the size bound, plus the image config."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.analyzers.secrets.config import HISTORY_PATH, scan_image_config
from lashing.analyzers.secrets.rules import Catalog, builtin_catalog, builtin_rules_text
from lashing.analyzers.secrets.scanner import SecretScanner
from lashing.model import Finding, Layer

# Bump when the scanning code changes its output; rule changes are covered by the catalog digest.
CODE_VERSION = 1


def _version(digest: str) -> int:
    return CODE_VERSION * 10**9 + int(digest[:7], 16)


class SecretAnalyzer(Analyzer):
    """Wants every non-empty regular file up to the catalog's size bound (10 MiB by default).

    Its `version` folds in a digest of the rule catalog, so editing a rule invalidates exactly the
    cached secret results of every layer.
    """

    name = "secrets"
    version: ClassVar[int] = _version(hashlib.sha256(builtin_rules_text().encode()).hexdigest())
    max_size: ClassVar[int] = 10 * 1024 * 1024

    def __init__(self, catalog: Catalog | None = None, *, scan_config: bool = True):
        self.scanner = SecretScanner(catalog)
        catalog = self.scanner.catalog
        if catalog is not builtin_catalog():
            self.version = _version(catalog.digest or "0" * 7)  # type: ignore[misc]
        self.max_size = catalog.max_file_size  # type: ignore[misc]
        self.scan_config = scan_config

    def required(self, path: str, info: FileInfo) -> bool:
        return 0 < info.size <= self.max_size

    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        findings = self.scanner.scan(item.path, item.content)
        return AnalysisResult(findings=tuple(findings)) if findings else None

    def analyze_config(self, config: Mapping[str, Any], layers: Sequence[Layer]) -> tuple[Finding, ...]:
        if not self.scan_config:
            return ()
        return tuple(scan_image_config(config, layers, self.scanner))

    def redact(self, text: str) -> str:
        return self.scanner.redact_text(text, HISTORY_PATH) if self.scan_config else text
