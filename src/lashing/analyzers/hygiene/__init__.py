"""Image hygiene: the dockle / CIS Docker Benchmark image checks on config, history, OS and layers.

Public API:

    check_image(config, layers, os_info, packages, today, *, max_age_days=180,
                allowed_registries=(), reference="")         every config/history/OS finding
    HygieneAnalyzer(today=None, ...)                          setuid files and empty passwords in the
                                                              layers; `analyze_config` = check_image
                                                              without the OS (not known yet)
    check_eol(os_info, today), check_age(config, today)       single checks
    check_registries(reference, base_name, allowed)           the allowed-registries policy
    normalize_reference(ref), is_allowed(ref, allowed)
    builtin_checks()                                          checks.yaml: id, title, severity, aliases

Finding kind HYGIENE, ids LSH-IMG-*, dockle ids (CIS-DI-0001, DKL-DI-0005, ...) in `aliases`.
"""

from __future__ import annotations

from lashing.analyzers.hygiene.analyzer import HygieneAnalyzer, empty_passwords, setuid_file
from lashing.analyzers.hygiene.catalog import Check, builtin_checks
from lashing.analyzers.hygiene.checks import (
    DEFAULT_MAX_AGE_DAYS,
    check_age,
    check_eol,
    check_history,
    check_image,
    parse_created,
)
from lashing.analyzers.hygiene.policy import check_registries, is_allowed, normalize_reference

__all__ = [
    "DEFAULT_MAX_AGE_DAYS",
    "Check",
    "HygieneAnalyzer",
    "builtin_checks",
    "check_age",
    "check_eol",
    "check_history",
    "check_image",
    "check_registries",
    "empty_passwords",
    "is_allowed",
    "normalize_reference",
    "parse_created",
    "setuid_file",
]
