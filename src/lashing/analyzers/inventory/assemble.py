"""Turn per-layer analyzer results into the image's final inventory with layer attribution.

A package is in the image when the file that declares it is visible in the final filesystem. It
was introduced by the earliest layer from which every later version of that file (up to the
visible one) still declares it: when a later layer rewrites `var/lib/dpkg/status` to add packages,
the old ones keep their original layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from lashing.analyzers.filesystem import LayeredFilesystem
from lashing.analyzers.interface import AnalysisResult
from lashing.analyzers.walker import LayerAnalysis
from lashing.model import Layer, Location, OSInfo, Package


@dataclass(frozen=True)
class Inventory:
    os: OSInfo | None
    packages: tuple[Package, ...]
    os_sources: tuple[OSInfo, ...] = ()


def _identity(pkg: Package) -> tuple[str, str, str]:
    return (pkg.type.value, pkg.name, pkg.version)


def assemble(layers: Sequence[tuple[Layer, LayerAnalysis]], fs: LayeredFilesystem) -> Inventory:
    """Collect the packages and OS facts of the files visible in the final filesystem."""
    by_layer: dict[int, dict[str, list[AnalysisResult]]] = {}
    for layer, analysis in layers:
        per_path: dict[str, list[AnalysisResult]] = {}
        for item in analysis.results:
            per_path.setdefault(item.path, []).append(item.result)
        by_layer[layer.index] = per_path

    packages: list[Package] = []
    os_found: list[OSInfo] = []
    declared: dict[tuple[int, str], frozenset[tuple[str, str, str]]] = {}

    def declares(layer: Layer, path: str) -> frozenset[tuple[str, str, str]]:
        key = (layer.index, path)
        if key not in declared:
            results = by_layer.get(layer.index, {}).get(path, [])
            declared[key] = frozenset(_identity(p) for r in results for p in r.packages)
        return declared[key]

    paths = sorted({p for per_path in by_layer.values() for p in per_path})
    for path in paths:
        visible = fs.visible(path)
        if visible is None or visible.record.kind not in ("file", "hardlink"):
            continue
        top = visible.added_by
        results = by_layer.get(top.index, {}).get(path, [])
        lineage = _lineage(fs, path, top)
        location = Location(path=path, layer_diff_id=top.diff_id or None)
        for result in results:
            if result.os is not None:
                os_found.append(result.os)
            for pkg in result.packages:
                origin = lineage[0]
                for older in lineage[1:]:  # walk back while older versions still declare the package
                    if _identity(pkg) not in declares(older, path):
                        break
                    origin = older
                packages.append(replace(pkg, locations=_declared_at(location, pkg.locations), layer=origin))
    return Inventory(os=None, packages=tuple(packages), os_sources=tuple(os_found))


def _lineage(fs: LayeredFilesystem, path: str, top: Layer) -> list[Layer]:
    """Layers that wrote `path` without a deletion in between, newest first, ending at `top`."""
    chain: list[Layer] = []
    for version in reversed(fs.history(path)):
        if version.added_by.index > top.index:
            continue
        if chain and version.deleted_by is not None:
            break
        chain.append(version.added_by)
    return chain


def _declared_at(location: Location, own: tuple[Location, ...]) -> tuple[Location, ...]:
    """The declaring file first; a location the cataloger gave for that same file (a lockfile line) keeps
    its line and gains the layer."""
    same = next((loc for loc in own if loc.path == location.path), None)
    if same is None:
        return (location, *own)
    first = replace(same, layer_diff_id=location.layer_diff_id)
    return (first, *(loc for loc in own if loc is not same))
