"""From one IMAGE argument to a Report: open the source, analyze, assemble (no presentation here)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from lashing import __version__
from lashing.analyzers.image import ImageAnalysis, ProgressHook, analyze_directory, analyze_image
from lashing.analyzers.interface import Analyzer
from lashing.analyzers.inventory import default_catalogers
from lashing.cache.layer_cache import LayerCache
from lashing.model import ArtifactInfo, Finding, Report
from lashing.sources.image.detect import DirectoryTarget, RegistryOptions, open_target
from lashing.sources.image.interface import DEFAULT_LIMITS, Limits
from lashing.sources.image.manifest import Platform


@dataclass(frozen=True)
class ScanOptions:
    platform: Platform | None = None
    registry: RegistryOptions | None = None
    use_cache: bool = True
    limits: Limits = DEFAULT_LIMITS


def analyzers_for(scanners: Sequence[str], lockfiles: bool = False) -> list[Analyzer]:
    """The analyzers one walk needs for the chosen scanners (the inventory is always read)."""
    analyzers: list[Analyzer] = list(default_catalogers())
    if lockfiles:
        from lashing.analyzers.lockfiles import default_lockfile_analyzers

        analyzers.extend(default_lockfile_analyzers())
    if "secret" in scanners:
        from lashing.analyzers.secrets import SecretAnalyzer

        analyzers.append(SecretAnalyzer())
    if "malware" in scanners:
        from lashing.analyzers.malware import MalwareAnalyzer

        analyzers.append(MalwareAnalyzer())
    if "config" in scanners:  # image hygiene: the CIS Docker / dockle checks on config, history and files
        from lashing.analyzers.hygiene import HygieneAnalyzer

        analyzers.append(HygieneAnalyzer())
    return analyzers


def whole_image_findings(
    analysis: ImageAnalysis, config: dict | None, scanners: Sequence[str], today: date | None = None
) -> list[Finding]:
    """Checks that need the final filesystem or the detected OS rather than one file: world-writable PATH
    directories and an enabled sshd (malware), distro end of life (config/hygiene)."""
    found: list[Finding] = []
    if "malware" in scanners:
        from lashing.analyzers.malware import check_filesystem

        found.extend(check_filesystem(analysis.filesystem, config or {}))
    if "config" in scanners:
        from lashing.analyzers.hygiene.checks import check_eol

        found.extend(check_eol(analysis.inventory.os, today or date.today()))
    return found


def scan_inventory(
    target: str,
    options: ScanOptions | None = None,
    analyzers: Sequence[Analyzer] | None = None,
    progress: ProgressHook | None = None,
    scanners: Sequence[str] = (),
    while_reading: Callable[[], object] | None = None,
    while_verifying: Callable[[Report], object] | None = None,
) -> tuple[Report, ImageAnalysis]:
    """Inventory one image or directory (plus the findings of the chosen scanners' analyzers); returns the
    Report and the analysis behind it. `while_reading` runs once during the scan; `while_verifying` once
    with the Report this returns, while the largest layers' digests may still be computed (see
    analyze_image: what it computes is for use only once this returns)."""
    options = options or ScanOptions()
    analyzers = list(analyzers) if analyzers is not None else default_catalogers()
    opened = open_target(target, options.platform, options.limits, options.registry)
    if isinstance(opened, DirectoryTarget):
        if while_reading is not None:
            while_reading()
        analysis = analyze_directory(opened.path, analyzers, options.limits)
        report = _report(ArtifactInfo(name=target, kind="directory"), None, analysis, scanners)
        if while_verifying is not None:
            while_verifying(report)
        return report, analysis
    built: list[Report] = []

    def verifying(analysis: ImageAnalysis) -> None:
        built.append(_report(opened.artifact, opened.config, analysis, scanners))
        while_verifying(built[0])  # type: ignore[misc]

    cache = LayerCache() if options.use_cache else None
    try:
        with opened:
            analysis = analyze_image(opened, analyzers, cache, progress, options.limits, while_reading,
                                     verifying if while_verifying is not None else None)
            report = built[0] if built else _report(opened.artifact, opened.config, analysis, scanners)
    finally:
        if cache is not None:
            cache.close()
    return report, analysis


def _report(artifact: ArtifactInfo, config: dict | None, analysis: ImageAnalysis, scanners: Sequence[str]) -> Report:
    return Report(
        artifact=artifact,
        os=analysis.inventory.os,
        layers=analysis.layers if artifact.kind != "directory" else (),
        packages=analysis.inventory.packages,
        findings=(*analysis.findings, *whole_image_findings(analysis, config, scanners)),
        warnings=analysis.warnings,
        tool_version=__version__,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def scan_vulnerabilities(report: Report, database: Path | None = None) -> Report:
    """Add vulnerability findings for the report's packages from the advisory database."""
    from lashing.analyzers.vulns.matcher import match_report
    from lashing.db import AdvisoryStore

    with AdvisoryStore.open(database) as store:
        return match_report(report, store)


def load_target(
    target: str,
    options: ScanOptions | None = None,
    analyzers: Sequence[Analyzer] | None = None,
    progress: ProgressHook | None = None,
    scanners: Sequence[str] = (),
    while_reading: Callable[[], object] | None = None,
    while_verifying: Callable[[Report], object] | None = None,
) -> Report:
    """The inventory Report of an image, directory or existing SBOM file (CycloneDX / SPDX JSON).
    `while_verifying` is called with the Report of an image or directory (see scan_inventory), never for
    an SBOM file."""
    path = Path(target)
    if path.is_file() and _is_sbom(path):
        from lashing.sources.sbom import read_sbom

        return read_sbom(path)
    report, _ = scan_inventory(target, options, analyzers, progress=progress, scanners=scanners,
                               while_reading=while_reading, while_verifying=while_verifying)
    return report


def _is_sbom(path: Path) -> bool:
    """Cheap sniff: CycloneDX / SPDX JSON or SPDX tag-value (never an image tar)."""
    from lashing.sources.sbom import is_sbom

    return is_sbom(path)
