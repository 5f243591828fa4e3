"""Configuration scanning: Kubernetes, Compose, `docker run`, RBAC and control-plane files against one catalog.

    from lashing.analyzers.config import scan_paths, Settings
    result = scan_paths([Path("deploy/")], Settings(allowed_registries=("registry.example.com",)))
"""

from __future__ import annotations

from lashing.analyzers.config.catalog import Rule, find_rule, load_catalog
from lashing.analyzers.config.engine import Settings
from lashing.analyzers.config.scan import FileResult, ScanResult, scan_content, scan_paths

__all__ = ["FileResult", "Rule", "ScanResult", "Settings", "find_rule", "load_catalog", "scan_content", "scan_paths"]
