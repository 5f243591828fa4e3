"""Analyze an image (or a root filesystem directory): read each layer once, cache, merge.

This is the orchestration step between sources and the report: it asks the layer cache first,
streams uncached layers through the walker, proves their digests, rebuilds the layered filesystem
and assembles the inventory and the findings.

Findings (secrets, malware) are reported for every layer, also for files a later layer deleted or
replaced: they still ship in the image. Each carries `extra["added_by_layer"]` (diff_id) and
`extra["deleted_by_layer"]` (the diff_id of the layer that deleted or overwrote the file, else "")
with `extra["removed_how"]` ("deleted", "replaced" or ""). Image config findings come from
`Analyzer.analyze_config` and are not cached.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from lashing.analyzers.filesystem import FileVersion, LayeredFilesystem
from lashing.analyzers.forked import ForkedLayer
from lashing.analyzers.interface import Analyzer
from lashing.analyzers.inventory.assemble import Inventory, assemble
from lashing.analyzers.inventory.osrelease import finalize_os_purls, merge_os
from lashing.analyzers.walker import LayerAnalysis, analyzer_signature, walk_entries
from lashing.cache.layer_cache import LayerCache
from lashing.errors import LashingError
from lashing.model import Finding, Layer
from lashing.processes import can_fork
from lashing.sources.image.interface import DEFAULT_LIMITS, ImageSource, Limits
from lashing.sources.image.rootfs import iter_directory
from lashing.sources.image.tarwalk import iter_tar

log = logging.getLogger(__name__)

MAX_LAYER_WORKERS = 4
# Layers at least this large go to forked processes when the source allows it (see `_fork_largest`).
FORK_MIN_BYTES = 16 * 1024 * 1024

# Called with (layer, bytes done, bytes total or None) as a layer is read; total None means "unknown".
ProgressHook = Callable[[Layer, int, int | None], None]


@dataclass(frozen=True)
class ImageAnalysis:
    """The layered filesystem, per-layer analyses and the final inventory of one image."""

    layers: tuple[Layer, ...]
    analyses: tuple[LayerAnalysis, ...]
    filesystem: LayeredFilesystem
    inventory: Inventory
    warnings: tuple[str, ...]
    cached_layers: int = 0
    findings: tuple[Finding, ...] = ()


def analyze_image(
    source: ImageSource,
    analyzers: Sequence[Analyzer],
    cache: LayerCache | None = None,
    progress: ProgressHook | None = None,
    limits: Limits = DEFAULT_LIMITS,
    while_reading: Callable[[], object] | None = None,
    while_verifying: Callable[[ImageAnalysis], object] | None = None,
) -> ImageAnalysis:
    """Analyze every layer (from the cache when possible) and assemble the image inventory.

    `while_reading`, when given, is called once on this thread while the layers are read by worker
    threads and forked processes: work the caller needs next (e.g. importing its report writer) then
    overlaps the reading instead of following it.

    `while_verifying`, when given, is called once with the assembled analysis before the digests of the
    forked layers are proven: their processes hash them after sending their analyses, so the caller's next
    work (e.g. rendering its report) overlaps the hashing instead of the reading. Nothing it computed may be
    used unless this function returns: a digest mismatch is raised after it, and wins over its errors."""
    signature = analyzer_signature(analyzers)
    found: dict[int, LayerAnalysis] = {}
    for layer in source.layers:
        hit = cache.get(layer.diff_id, signature) if cache is not None else None
        if hit is not None:
            found[layer.index] = hit
            if progress:
                progress(layer, layer.size or 1, layer.size or 1)
    missing = [layer for layer in source.layers if layer.index not in found]
    forked = _fork_largest(source, missing, analyzers, limits, defer_digest=while_verifying is not None)
    try:
        # Decompression and hashing release the GIL: two layers at a time keep both cores busy.
        threaded = [layer for layer in missing if layer.index not in forked]
        workers = max(1, min(len(threaded), os.cpu_count() or 1, MAX_LAYER_WORKERS)) if source.parallel_layers else 1
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {
                layer.index: pool.submit(_analyze_layer, source, layer, analyzers, limits, progress)
                for layer in threaded
            }
            if while_reading is not None:
                while_reading()
            for index, future in futures.items():
                found[index] = future.result()
                if cache is not None:
                    cache.put(found[index], signature)
        for layer in missing:
            if layer.index in forked:
                found[layer.index] = forked[layer.index].result()
                if progress:
                    progress(layer, layer.size or 1, layer.size or 1)
        if while_verifying is None:
            _prove(forked, found, cache, signature)
        pairs = [(_redacted(layer, analyzers), found[layer.index]) for layer in source.layers]
        config_warnings: list[str] = []
        config_findings = _config_findings(source, analyzers, config_warnings)
        analysis = _finish(pairs, len(source.layers) - len(missing), config_findings, tuple(config_warnings))
        if while_verifying is not None:
            try:
                while_verifying(analysis)
            except Exception:
                _prove(forked, found, cache, signature)  # unproven bytes explain an error best
                raise
            _prove(forked, found, cache, signature)
    finally:
        for child in forked.values():  # a layer failed: stop the others' processes
            child.cancel()
    return analysis


def _prove(
    forked: dict[int, ForkedLayer], found: dict[int, LayerAnalysis], cache: LayerCache | None, signature: str
) -> None:
    """Wait for each forked layer's proof of its bytes; only proven analyses reach the cache."""
    for index in list(forked):
        forked.pop(index).verified()
        if cache is not None:
            cache.put(found[index], signature)


def _fork_largest(
    source: ImageSource, missing: Sequence[Layer], analyzers: Sequence[Analyzer], limits: Limits,
    defer_digest: bool = False,
) -> dict[int, ForkedLayer]:
    """Start a process for each of the largest layers, one per spare core, leaving the rest (and at
    least one layer) to this process's threads. Only for sources read from local files, and only
    before any thread of ours runs. `defer_digest`: the processes hash their layers after sending their
    analyses (see `analyze_image`'s `while_verifying`)."""
    cores = min(_usable_cores(), MAX_LAYER_WORKERS)
    if not source.forkable_layers or len(missing) < 2 or cores < 2 or not can_fork():
        return {}
    sizes = {layer.index: source.stored_size(layer) or 0 for layer in missing}
    biggest = sorted(missing, key=lambda layer: sizes[layer.index], reverse=True)[: min(cores - 1, len(missing) - 1)]
    forked: dict[int, ForkedLayer] = {}
    for layer in biggest:
        if sizes[layer.index] >= FORK_MIN_BYTES:
            work = partial(_read_layer, source, layer, analyzers, limits, None, defer_digest)
            try:
                forked[layer.index] = ForkedLayer(f"layer {layer.index}", work, [c.fd for c in forked.values()])
            except OSError as exc:  # no process or pipe left (a pids limit): the rest go to threads
                log.debug("cannot fork for layer %d: %s", layer.index, exc)
                break
    return forked


def _usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a container's cpuset), else all of them."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _redacted(layer: Layer, analyzers: Sequence[Analyzer]) -> Layer:
    """The layer with secrets in its history line (build args) masked before it reaches any report."""
    text = layer.created_by
    if not text:
        return layer
    for analyzer in analyzers:
        text = analyzer.redact(text)
    return layer if text == layer.created_by else replace(layer, created_by=text)


def _config_findings(source: ImageSource, analyzers: Sequence[Analyzer], warnings: list[str]) -> list[Finding]:
    """Ask each analyzer about the image config and history (Env, Labels, Cmd, build args)."""
    found: list[Finding] = []
    config = source.config if isinstance(getattr(source, "config", None), dict) else {}
    for analyzer in analyzers:
        try:
            found.extend(analyzer.analyze_config(config, source.layers))
        except LashingError:
            raise
        except Exception as exc:  # the config is untrusted input too
            log.debug("analyzer %s failed on the image config", analyzer.name, exc_info=True)
            warnings.append(f"image config: {analyzer.name} could not parse it ({type(exc).__name__})")
    return found


def _analyze_layer(
    source: ImageSource,
    layer: Layer,
    analyzers: Sequence[Analyzer],
    limits: Limits,
    progress: ProgressHook | None,
) -> LayerAnalysis:
    """One layer's analysis, its bytes proven."""
    analysis, _ = _read_layer(source, layer, analyzers, limits, progress)
    return analysis


def _read_layer(
    source: ImageSource,
    layer: Layer,
    analyzers: Sequence[Analyzer],
    limits: Limits,
    progress: ProgressHook | None,
    defer_digest: bool = False,
) -> tuple[LayerAnalysis, Callable[[], None] | None]:
    """One layer's analysis, and with `defer_digest` the proof still to run: it verifies the layer's digests
    (hashing them only then when the layer is an uncompressed local file) and closes the stream. Without
    `defer_digest` the bytes are proven before this returns, and the proof is None."""
    warnings: list[str] = []
    stream = source.open_layer(layer, defer_digest=defer_digest)
    name = f"layer {layer.index}"
    try:
        hook = None
        if progress is not None:

            def hook(_entry: object) -> None:
                progress(layer, stream.compressed_bytes, layer.size)

        entries = iter_tar(stream, max_members=limits.max_members, warn=warnings.append, name=name)
        analysis = walk_entries(layer.diff_id, entries, analyzers, warnings, on_file=hook)
        if not defer_digest:
            stream.finish()
    except BaseException:
        stream.close()
        raise
    proof = None
    if defer_digest:

        def proof() -> None:
            try:
                stream.finish()
            finally:
                stream.close()

    else:
        stream.close()
    if progress is not None:
        progress(layer, layer.size or stream.compressed_bytes, layer.size or stream.compressed_bytes)
    for warning in warnings:
        log.info("%s: %s", name, warning)
    return analysis, proof


def analyze_directory(
    root: Path, analyzers: Sequence[Analyzer], limits: Limits = DEFAULT_LIMITS
) -> ImageAnalysis:
    """Analyze a root filesystem directory as a single layer (no cache: directories change in place)."""
    warnings: list[str] = []
    layer = Layer(index=0, diff_id="", created_by=f"directory {root}")
    entries = iter_directory(root, max_entries=limits.max_members, warn=warnings.append)
    analysis = walk_entries("", entries, analyzers, warnings)
    return _finish([(layer, analysis)], 0)


def _finish(
    pairs: list[tuple[Layer, LayerAnalysis]],
    cached: int,
    config_findings: Sequence[Finding] = (),
    config_warnings: tuple[str, ...] = (),
) -> ImageAnalysis:
    fs = LayeredFilesystem(pairs)
    inventory = assemble(pairs, fs)
    os_info = merge_os(list(inventory.os_sources))
    packages = tuple(finalize_os_purls(list(inventory.packages), os_info))
    inventory = replace(inventory, os=os_info, packages=packages)
    warnings = tuple(w for _, a in pairs for w in a.warnings) + config_warnings
    findings = (*attribute_findings(pairs, fs), *config_findings)
    return ImageAnalysis(
        layers=tuple(layer for layer, _ in pairs),
        analyses=tuple(a for _, a in pairs),
        filesystem=fs,
        inventory=inventory,
        warnings=warnings,
        cached_layers=cached,
        findings=findings,
    )


def attribute_findings(pairs: Sequence[tuple[Layer, LayerAnalysis]], fs: LayeredFilesystem) -> list[Finding]:
    """Every layer's findings, each saying which layer added its file and which one removed it."""
    out: list[Finding] = []
    for layer, analysis in pairs:
        for item in analysis.results:
            if not item.result.findings:
                continue
            version = _version_in(fs, item.path, layer)
            removed_by = (version.deleted_by or version.replaced_by) if version is not None else None
            how = "" if removed_by is None else ("deleted" if version and version.deleted_by else "replaced")
            provenance = {
                "added_by_layer": layer.diff_id,
                "deleted_by_layer": removed_by.diff_id if removed_by is not None else "",
                "removed_how": how,
            }
            for finding in item.result.findings:
                out.append(replace(finding, extra={**finding.extra, **provenance}))
    return out


def _version_in(fs: LayeredFilesystem, path: str, layer: Layer) -> FileVersion | None:
    for version in fs.history(path):
        if version.added_by.index == layer.index:
            return version
    return None
