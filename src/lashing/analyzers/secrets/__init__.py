"""Secret scanning: rules as data (rules.yaml), one keyword pass per file, every layer and the config.

Public API:

    SecretAnalyzer()                      the analyzer to add to `analyze_image` / `analyze_directory`
    SecretScanner().scan(path, data)      findings in one file's bytes
    scan_image_config(config, layers)     findings in Env, Labels, Cmd, Entrypoint and history
    scan_secrets_in_directory(path)       findings in a source tree or root filesystem (`lashing fs`)
    builtin_catalog(), parse_catalog(t)   the rule catalog
"""

from __future__ import annotations

from pathlib import Path

from lashing.analyzers.secrets.analyzer import SecretAnalyzer
from lashing.analyzers.secrets.config import CONFIG_PATH, HISTORY_PATH, scan_image_config
from lashing.analyzers.secrets.rules import Catalog, Rule, RuleError, builtin_catalog, parse_catalog
from lashing.analyzers.secrets.scanner import SecretScanner, redact, shannon_entropy
from lashing.model import Finding

__all__ = [
    "CONFIG_PATH",
    "HISTORY_PATH",
    "Catalog",
    "Rule",
    "RuleError",
    "SecretAnalyzer",
    "SecretScanner",
    "builtin_catalog",
    "parse_catalog",
    "redact",
    "scan_image_config",
    "scan_secrets_in_directory",
    "shannon_entropy",
]


def scan_secrets_in_directory(path: str | Path, catalog: Catalog | None = None) -> tuple[Finding, ...]:
    """Secret findings of every file under `path` (walked without following links or crossing mounts)."""
    from lashing.analyzers.image import analyze_directory

    return analyze_directory(Path(path), [SecretAnalyzer(catalog)]).findings
