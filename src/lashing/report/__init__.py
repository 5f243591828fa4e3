"""Report formats: one `ReportFormat` module per output, chosen by name through `FORMATS`.

Format modules load on first use: the CycloneDX and SPDX libraries cost most of a second to
import, which a table or JSON run should not pay.
"""

from __future__ import annotations

import importlib
from typing import IO

from lashing.errors import UsageError
from lashing.model import Report
from lashing.report.interface import ReportFormat

# --format name -> (module, class). "cyclonedx" is accepted as a short alias of "cyclonedx-json".
_REGISTRY: dict[str, tuple[str, str]] = {
    "table": ("lashing.report.table", "TableFormat"),
    "json": ("lashing.report.json_report", "JsonFormat"),
    "cyclonedx-json": ("lashing.report.cyclonedx", "CycloneDxJsonFormat"),
    "spdx-json": ("lashing.report.spdx", "SpdxJsonFormat"),
    "sarif": ("lashing.report.sarif", "SarifFormat"),
    "html": ("lashing.report.html", "HtmlFormat"),
    "junit": ("lashing.report.junit", "JunitFormat"),
}
ALIASES = {"cyclonedx": "cyclonedx-json", "spdx": "spdx-json"}
FORMATS: tuple[str, ...] = (*_REGISTRY, *ALIASES)


def check_format(name: str) -> str:
    """The registry key of `name` (aliases resolved) without importing its writer; UsageError if unknown."""
    key = ALIASES.get(name, name)
    if key not in _REGISTRY:
        raise UsageError(f"unknown report format {name!r}; choose one of {', '.join(FORMATS)}")
    return key


def get_format(name: str) -> ReportFormat:
    """The writer for `name` (a key of FORMATS); raises UsageError for unknown names."""
    module, cls = _REGISTRY[check_format(name)]
    return getattr(importlib.import_module(module), cls)()


def write_report(report: Report, fmt: str, stream: IO[str]) -> None:
    """Write `report` as format `fmt` to the text stream; raises LashingError."""
    get_format(fmt).write(report, stream)


def load_report(data: bytes | str) -> Report:
    """Parse lashing's own JSON report (see json_report)."""
    from lashing.report.json_report import load_report as load

    return load(data)


__all__ = ["FORMATS", "ReportFormat", "check_format", "get_format", "load_report", "write_report"]
