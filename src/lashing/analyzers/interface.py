"""The analyzer contract (after Trivy's fanal): declare the files you want, analyze one file at a time.

One walk over a layer asks every analyzer `required(path, info)`; the walker reads each wanted file
once (bounded by the largest `max_size` among the analyzers that want it) and hands the bytes to
`analyze`. No analyzer opens an image or a layer itself. Results are cached per layer, keyed by the
layer's diff_id and every analyzer's `name`/`version`, so bump `version` when output changes.

Besides packages and OS facts, an analyzer may return findings (secrets, malware): their location's
path is the file's, the walker fills in the layer and the image assembly says which layer added the
file and which one deleted it. Image-level data (config, history) reaches `analyze_config`, once per
image and not cached (it is small and not part of any layer).
"""

from __future__ import annotations

import stat
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from lashing.model import Finding, Layer, OSInfo, Package


@dataclass(frozen=True)
class FileInfo:
    """Metadata of one regular file in a layer or directory. `path` is relative, no leading '/'."""

    path: str
    size: int
    mode: int = 0o644

    @property
    def executable(self) -> bool:
        return bool(self.mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))


@dataclass(frozen=True)
class AnalysisInput:
    """A wanted file with its content (already bounded by `max_size`)."""

    info: FileInfo
    content: bytes

    @property
    def path(self) -> str:
        return self.info.path


@dataclass(frozen=True)
class AnalysisResult:
    """What one analyzer found in one file.

    Package locations are filled in by the image assembly; each finding's `location` names the file
    (path and line) and the walker sets its path (hardlinks get their own copy) and layer diff_id.
    """

    packages: tuple[Package, ...] = ()
    os: OSInfo | None = None
    warnings: tuple[str, ...] = field(default=())
    findings: tuple[Finding, ...] = ()


class Analyzer(ABC):
    """A file analyzer. Subclasses set `name`, `version` and, if they need large files, `max_size`."""

    name: ClassVar[str]
    version: ClassVar[int] = 1
    max_size: ClassVar[int] = 16 * 1024 * 1024

    @abstractmethod
    def required(self, path: str, info: FileInfo) -> bool:
        """Cheap test on path (and size/mode) only; called for every regular file."""

    @abstractmethod
    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        """Parse one file. Raise nothing for malformed content: return warnings instead."""

    def analyze_config(self, config: Mapping[str, Any], layers: Sequence[Layer]) -> tuple[Finding, ...]:
        """Findings in the image config (Env, Labels, Cmd, history); most analyzers have none."""
        return ()

    def redact(self, text: str) -> str:
        """`text` (a history `created_by` line bound for reports) with anything sensitive masked."""
        return text
