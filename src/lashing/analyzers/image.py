"""Analyze an image (or a root filesystem directory): read each layer once, cache, merge.

This is the orchestration step between sources and the report: it asks the layer cache first,
streams uncached layers through the walker, proves their digests, rebuilds the layered filesystem
and assembles the inventory.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from lashing.analyzers.filesystem import LayeredFilesystem
from lashing.analyzers.interface import Analyzer
from lashing.analyzers.inventory.assemble import Inventory, assemble
from lashing.analyzers.inventory.osrelease import finalize_os_purls, merge_os
from lashing.analyzers.walker import LayerAnalysis, analyzer_signature, walk_entries
from lashing.cache.layer_cache import LayerCache
from lashing.model import Layer
from lashing.sources.image.interface import DEFAULT_LIMITS, ImageSource, Limits
from lashing.sources.image.rootfs import iter_directory
from lashing.sources.image.tarwalk import iter_tar

log = logging.getLogger(__name__)

MAX_LAYER_WORKERS = 4

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


def analyze_image(
    source: ImageSource,
    analyzers: Sequence[Analyzer],
    cache: LayerCache | None = None,
    progress: ProgressHook | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ImageAnalysis:
    """Analyze every layer (from the cache when possible) and assemble the image inventory."""
    signature = analyzer_signature(analyzers)
    found: dict[int, LayerAnalysis] = {}
    for layer in source.layers:
        hit = cache.get(layer.diff_id, signature) if cache is not None else None
        if hit is not None:
            found[layer.index] = hit
            if progress:
                progress(layer, layer.size or 1, layer.size or 1)
    missing = [layer for layer in source.layers if layer.index not in found]
    # Decompression and hashing release the GIL: two layers at a time keep both cores busy.
    workers = max(1, min(len(missing), os.cpu_count() or 1, MAX_LAYER_WORKERS)) if source.parallel_layers else 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {
            layer.index: pool.submit(_analyze_layer, source, layer, analyzers, limits, progress) for layer in missing
        }
        for index, future in futures.items():
            found[index] = future.result()
            if cache is not None:
                cache.put(found[index], signature)
    pairs = [(layer, found[layer.index]) for layer in source.layers]
    return _finish(pairs, len(source.layers) - len(missing))


def _analyze_layer(
    source: ImageSource,
    layer: Layer,
    analyzers: Sequence[Analyzer],
    limits: Limits,
    progress: ProgressHook | None,
) -> LayerAnalysis:
    warnings: list[str] = []
    stream = source.open_layer(layer)
    name = f"layer {layer.index}"
    try:
        hook = None
        if progress is not None:

            def hook(_entry: object) -> None:
                progress(layer, stream.compressed_bytes, layer.size)

        entries = iter_tar(stream, max_members=limits.max_members, warn=warnings.append, name=name)
        analysis = walk_entries(layer.diff_id, entries, analyzers, warnings, on_file=hook)
        stream.finish()
    finally:
        stream.close()
    if progress is not None:
        progress(layer, layer.size or stream.compressed_bytes, layer.size or stream.compressed_bytes)
    for warning in warnings:
        log.info("%s: %s", name, warning)
    return analysis


def analyze_directory(
    root: Path, analyzers: Sequence[Analyzer], limits: Limits = DEFAULT_LIMITS
) -> ImageAnalysis:
    """Analyze a root filesystem directory as a single layer (no cache: directories change in place)."""
    warnings: list[str] = []
    layer = Layer(index=0, diff_id="", created_by=f"directory {root}")
    entries = iter_directory(root, max_entries=limits.max_members, warn=warnings.append)
    analysis = walk_entries("", entries, analyzers, warnings)
    return _finish([(layer, analysis)], 0)


def _finish(pairs: list[tuple[Layer, LayerAnalysis]], cached: int) -> ImageAnalysis:
    fs = LayeredFilesystem(pairs)
    inventory = assemble(pairs, fs)
    os_info = merge_os(list(inventory.os_sources))
    packages = tuple(finalize_os_purls(list(inventory.packages), os_info))
    inventory = replace(inventory, os=os_info, packages=packages)
    warnings = tuple(w for _, a in pairs for w in a.warnings)
    return ImageAnalysis(
        layers=tuple(layer for layer, _ in pairs),
        analyses=tuple(a for _, a in pairs),
        filesystem=fs,
        inventory=inventory,
        warnings=warnings,
        cached_layers=cached,
    )
