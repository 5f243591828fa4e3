"""One pass over a layer (or a directory): every analyzer sees only the files it asked for.

The result, a `LayerAnalysis`, is what the layer cache stores: the layer's file index (for
provenance: which layer added or deleted a file), its whiteouts and each analyzer's result per path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.errors import LashingError
from lashing.model import Location
from lashing.sources.image.tarwalk import TarEntry

log = logging.getLogger(__name__)

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"


# A file-index entry (path, kind, size, mode, link) is the member as the walk read it: one object per member
# instead of a copy of each (11,219 in the bench image's base layer).
FileRecord = TarEntry


@dataclass(frozen=True)
class PathResult:
    path: str
    analyzer: str
    result: AnalysisResult


@dataclass(frozen=True)
class LayerAnalysis:
    """Everything learnt from one layer; independent of the layers around it, hence cacheable."""

    diff_id: str
    files: tuple[FileRecord, ...] = ()
    whiteouts: tuple[str, ...] = ()
    opaque_dirs: tuple[str, ...] = ()
    results: tuple[PathResult, ...] = ()
    warnings: tuple[str, ...] = field(default=())


def analyzer_signature(analyzers: Sequence[Analyzer]) -> str:
    """Stable text naming every analyzer and its version: part of the cache key."""
    return ",".join(sorted(f"{a.name}:{a.version}" for a in analyzers))


def walk_entries(
    diff_id: str,
    entries: Iterable[tuple[TarEntry, Callable[[int], bytes]]],
    analyzers: Sequence[Analyzer],
    warnings: list[str],
    on_file: Callable[[TarEntry], None] | None = None,
) -> LayerAnalysis:
    """Run the analyzers over the entries of one layer and build its LayerAnalysis."""
    files: dict[str, FileRecord] = {}
    whiteouts: list[str] = []
    opaque: list[str] = []
    results: dict[tuple[str, str], AnalysisResult] = {}
    hardlinks: list[FileRecord] = []
    checks = [(analyzer, analyzer.required) for analyzer in analyzers]  # bound once, called per file
    for entry, read in entries:
        directory, _, base = entry.path.rpartition("/")
        if base.startswith(WHITEOUT_PREFIX):
            if base == OPAQUE_MARKER:
                opaque.append(directory)
            else:
                target = base[len(WHITEOUT_PREFIX) :]
                whiteouts.append(f"{directory}/{target}" if directory else target)
            continue
        record = entry if type(entry) is FileRecord else FileRecord(entry.path, entry.kind, entry.size, entry.mode,
                                                                    entry.link)
        files[entry.path] = record
        if on_file is not None:
            on_file(entry)
        if entry.kind == "hardlink":
            hardlinks.append(record)
            continue
        if entry.kind != "file":
            continue
        info = FileInfo(entry.path, entry.size, entry.mode)
        path = entry.path
        wanted = [a for a, required in checks if required(path, info)]
        if not wanted:
            continue
        limit = max(a.max_size for a in wanted)
        if entry.size > limit:
            skipped = [a.name for a in wanted if a.max_size < entry.size]
            warnings.append(f"{entry.path}: {entry.size} bytes, over the size bound of {', '.join(skipped)}")
            wanted = [a for a in wanted if a.max_size >= entry.size]
            if not wanted:
                continue
        item = AnalysisInput(info, read(entry.size))
        for analyzer in wanted:
            result = run_analyzer(analyzer, item, warnings)
            if result is not None:
                if result.findings:
                    result = locate_findings(result, entry.path, diff_id)
                results[(entry.path, analyzer.name)] = result
    _copy_hardlink_results(hardlinks, files, results, analyzers, diff_id)
    return LayerAnalysis(
        diff_id=diff_id,
        files=tuple(files.values()),
        whiteouts=tuple(whiteouts),
        opaque_dirs=tuple(opaque),
        results=tuple(PathResult(p, a, r) for (p, a), r in results.items()),
        warnings=tuple(warnings),
    )


def run_analyzer(analyzer: Analyzer, item: AnalysisInput, warnings: list[str]) -> AnalysisResult | None:
    """Call one analyzer; a crash on hostile content becomes a warning, never a failed scan."""
    try:
        result = analyzer.analyze(item)
    except LashingError:
        raise
    except Exception as exc:  # analyzers parse untrusted bytes; one bad file must not stop the scan
        log.debug("analyzer %s failed on %s", analyzer.name, item.path, exc_info=True)
        warnings.append(f"{item.path}: {analyzer.name} could not parse it ({type(exc).__name__}: {exc})")
        return None
    if result is None or (not result.packages and result.os is None and not result.warnings and not result.findings):
        return None
    warnings.extend(f"{item.path}: {w}" for w in result.warnings)
    return replace(result, warnings=())


def locate_findings(result: AnalysisResult, path: str, diff_id: str) -> AnalysisResult:
    """Point every finding at `path` in layer `diff_id` (keeping the analyzer's line numbers)."""
    located = []
    for finding in result.findings:
        old = finding.location or Location(path)
        where = Location(path, diff_id or None, old.line, old.end_line)
        located.append(replace(finding, location=where))
    return replace(result, findings=tuple(located))


def _copy_hardlink_results(
    hardlinks: list[FileRecord],
    files: dict[str, FileRecord],
    results: dict[tuple[str, str], AnalysisResult],
    analyzers: Sequence[Analyzer],
    diff_id: str,
) -> None:
    """A hardlink shares its target's bytes: give it the target's results where the analyzer wants it."""
    for link in hardlinks:
        target = files.get(link.link)
        if target is None or target.kind != "file":
            continue
        info = FileInfo(link.path, target.size, target.mode)
        for analyzer in analyzers:
            found = results.get((link.link, analyzer.name))
            if found is not None and analyzer.required(link.path, info):
                if found.findings:
                    found = locate_findings(found, link.path, diff_id)
                results[(link.path, analyzer.name)] = found
