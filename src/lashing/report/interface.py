"""The report-format contract: one `ReportFormat` per output format, each in its own module."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import IO

from lashing.model import Report


class ReportFormat(ABC):
    """Turns a `Report` into text on a stream.

    `name` is what `--format` accepts; `write` raises `LashingError` (never anything else) when the
    report cannot be expressed in the format.
    """

    name: str = ""
    description: str = ""
    # True when the text depends on the stream it goes to (a terminal gets colors): it cannot be written
    # ahead into a buffer and copied later.
    needs_stream: bool = False

    @abstractmethod
    def write(self, report: Report, stream: IO[str]) -> None:
        """Write the whole report to `stream` (a text stream; the caller closes it)."""
