"""CycloneDX 1.6 JSON through cyclonedx-python-lib.

The image is `metadata.component` (type container, version = manifest digest); the OS is a component
of type operating-system; each package is a library component whose bom-ref is its purl plus a
`package-id` qualifier (a hash of its identity, locations and layer), so one package found at two
paths gives two components. lashing facts ride in `lashing:*` properties; declaring files are also
`evidence.occurrences`. Vulnerability findings become `vulnerabilities[]` (see `_cdx_vulns`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import IO, Any, TypeVar

from cyclonedx.exception import CycloneDxException
from cyclonedx.model import Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.component_evidence import ComponentEvidence, Occurrence
from cyclonedx.model.dependency import Dependable, Dependency
from cyclonedx.model.license import DisjunctiveLicense, License, LicenseExpression
from cyclonedx.model.tool import ToolRepository
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.spdx import fixup_id, is_expression
from sortedcontainers import SortedSet

from lashing import __version__
from lashing.errors import LashingError
from lashing.model import Layer, OSInfo, Package, Report
from lashing.report._cdx_vulns import vulnerabilities
from lashing.report._common import package_fingerprint, package_ids, package_purl, report_time
from lashing.report.interface import ReportFormat

IMAGE_REF = "lashing:image"
T = TypeVar("T")


def _props(pairs: Iterable[tuple[str, object]]) -> list[Property]:
    return [Property(name=name, value=str(value)) for name, value in pairs if value not in (None, "")]


def _layer_props(prefix: str, layer: Layer | None) -> list[tuple[str, object]]:
    if layer is None:
        return []
    return [
        (f"{prefix}:index", layer.index), (f"{prefix}:diff_id", layer.diff_id),
        (f"{prefix}:digest", layer.digest), (f"{prefix}:created_by", layer.created_by),
    ]


def cdx_licenses(values: Iterable[str]) -> list[License]:
    """SPDX ids as ids, one expression as an expression, anything else by name (never mixed invalidly)."""
    items = [(v, fixup_id(v)) for v in values if v.strip()]
    exprs = {v for v, i in items if i is None and is_expression(v)}
    if exprs and len(items) == 1:
        return [LicenseExpression(items[0][0])]
    if exprs and all(i or v in exprs for v, i in items):
        return [LicenseExpression(" AND ".join(f"({i or v})" for v, i in items))]
    return [DisjunctiveLicense(id=i) if i else DisjunctiveLicense(name=v) for v, i in items]


def package_component(pkg: Package, package_id: str) -> Component:
    """One package as a library component with its lashing properties and evidence."""
    purl = package_purl(pkg)
    if purl is not None:
        ref_purl = purl._replace(qualifiers={**(purl.qualifiers or {}), "package-id": package_id})
        bom_ref = ref_purl.to_string()
    else:
        bom_ref = f"lashing:package/{pkg.type.value}/{package_id}"
    pairs: list[tuple[str, object]] = [("lashing:package:type", pkg.type.value)]
    pairs += _layer_props("lashing:layer", pkg.layer)
    pairs += [("lashing:location:path", loc.path) for loc in pkg.locations]
    pairs += [
        ("lashing:package:source_name", pkg.source_name),
        ("lashing:package:source_version", pkg.source_version),
        ("lashing:package:arch", pkg.arch), ("lashing:package:epoch", pkg.epoch),
        ("lashing:package:release", pkg.release), ("lashing:cataloger", pkg.cataloger),
    ]
    pairs += [(f"lashing:package:extra:{key}", value) for key, value in sorted(pkg.extra.items())]
    occurrences = [Occurrence(location="/" + loc.path.lstrip("/"), line=loc.line) for loc in pkg.locations]
    return Component(
        type=ComponentType.LIBRARY,
        name=pkg.name,
        version=pkg.version or None,
        bom_ref=bom_ref,
        purl=purl,
        licenses=cdx_licenses(pkg.licenses),
        properties=_props(pairs),
        evidence=ComponentEvidence(occurrences=occurrences) if occurrences else None,
    )


def os_component(os_info: OSInfo) -> Component:
    return Component(
        type=ComponentType.OPERATING_SYSTEM,
        name=os_info.family,
        version=os_info.version or None,
        description=os_info.name or None,
        bom_ref=f"lashing:os/{os_info.family}@{os_info.version}",
        properties=_props([
            ("lashing:os:codename", os_info.codename),
            ("lashing:os:distroless", str(os_info.distroless).lower()),
        ]),
    )


def image_component(report: Report) -> Component:
    art = report.artifact
    pairs: list[tuple[str, object]] = [
        ("lashing:image:kind", art.kind), ("lashing:image:config_digest", art.config_digest),
        ("lashing:image:architecture", art.architecture), ("lashing:image:os", art.os),
        ("lashing:image:created", art.created),
    ]
    pairs += [("lashing:image:repo_tag", tag) for tag in art.repo_tags]
    for layer in report.layers:
        pairs += _layer_props(f"lashing:image:layer:{layer.index}", layer)[1:]
    kind = ComponentType.CONTAINER if art.kind != "directory" else ComponentType.FILE
    return Component(
        type=kind, name=art.name, version=art.digest or None, bom_ref=IMAGE_REF, properties=_props(pairs)
    )


def build_bom(report: Report) -> Bom:
    """The report as a cyclonedx-python-lib `Bom` (not yet serialized)."""
    version = report.tool_version or __version__
    tool = Component(type=ComponentType.APPLICATION, name="lashing", version=version)
    image = image_component(report)
    bom = Bom(metadata=BomMetaData(
        component=image, tools=ToolRepository(components=[tool]), timestamp=report_time(report)
    ))
    refs: dict[Package, str] = {}
    by_key: dict[tuple[str, str, str, str], str] = {}
    components = []
    for pkg, package_id in zip(report.packages, package_ids(report.packages), strict=True):
        component = package_component(pkg, package_id)
        components.append(component)
        refs.setdefault(pkg, str(component.bom_ref.value))
        by_key.setdefault(pkg.key, str(component.bom_ref.value))
    add_in_order(bom.components, components, component_order)

    def ref_for(pkg: Package) -> str:
        """A finding's package -> its component's bom-ref (a new component when it is not listed)."""
        ref = refs.get(pkg) or by_key.get(pkg.key)
        if ref is None:
            component = package_component(pkg, package_fingerprint(pkg) + "-finding")
            bom.components.add(component)
            ref = refs[pkg] = str(component.bom_ref.value)
        return ref

    for vuln in vulnerabilities(report, ref_for, IMAGE_REF):
        bom.vulnerabilities.add(vuln)
    if report.os is not None:
        bom.components.add(os_component(report.os))
    _register_dependencies(bom, image)
    return bom


def component_order(component: Component) -> tuple:
    """The library's own order of components (`Component.__lt__`: type, group, name, version, bom-ref, with
    None last), as a plain key: the first fields it compares, which tell apart any two distinct bom-refs."""
    return tuple(
        (value is None, value or "")
        for value in (component.type.value, component.group, component.name, component.version,
                      component.bom_ref.value)
    )


def add_in_order(target: SortedSet, items: Iterable[T], key: Callable[[T], Any]) -> None:
    """Add `items` to one of the library's sorted sets, cheaply.

    The library's model objects compare by building a tuple of all their fields, and each `add` bisects the
    set (about log2(n) comparisons, each building two such tuples). Added in ascending order, every item is
    appended after one comparison. `key` only has to agree with the objects' own order to be fast: the set
    still places each item by that order, so a disagreement costs time, never a different result."""
    for item in sorted(items, key=key):
        target.add(item)


def _register_dependencies(bom: Bom, image: Component) -> None:
    """What `bom.register_dependency(image, components)` makes (the image depends on every component, each
    component has an entry of its own), with the entries added in their order (by ref)."""
    root = Dependency(ref=image.bom_ref)
    add_in_order(root.dependencies, [Dependency(ref=c.bom_ref) for c in bom.components], _dependency_order)
    add_in_order(bom.dependencies, [root, *(Dependency(ref=c.bom_ref) for c in bom.components)], _dependency_order)
    _index_dependencies(bom)


def _dependency_order(dependency: Dependency) -> str:
    return str(dependency.ref)


def _index_dependencies(bom: Bom) -> None:
    """Make `bom.register_dependency` find existing entries through a dict instead of a linear scan.

    The library's version (also called once per component by `Bom.validate()` inside every
    outputter) scans all dependencies for each call: O(n^2), minutes for a few thousand packages
    (cyclonedx-python-lib issue #1006). This keeps its behaviour for this one Bom instance.
    """
    index: dict[str, Dependency] = {str(d.ref.value): d for d in bom.dependencies}

    def register(target: Dependable, depends_on: Iterable[Dependable] | None = None) -> None:
        children = list(depends_on or ())
        entry = index.get(str(target.bom_ref.value))
        if entry is None:
            entry = Dependency(ref=target.bom_ref, dependencies=[Dependency(ref=c.bom_ref) for c in children])
            index[str(target.bom_ref.value)] = entry
            bom.dependencies.add(entry)
        elif children:
            entry.dependencies.update(Dependency(ref=c.bom_ref) for c in children)
        for child in children:
            register(child)

    bom.register_dependency = register  # type: ignore[method-assign]


def render(report: Report, indent: int | None = 2) -> str:
    """CycloneDX 1.6 JSON text; raises LashingError when the library refuses the model."""
    try:
        return JsonV1Dot6(build_bom(report)).output_as_string(indent=indent)
    except (CycloneDxException, ValueError) as exc:
        raise LashingError(f"cannot write CycloneDX: {exc}") from None


class CycloneDxJsonFormat(ReportFormat):
    name = "cyclonedx-json"
    description = "CycloneDX 1.6 JSON SBOM (with vulnerabilities when the scan found any)"

    def write(self, report: Report, stream: IO[str]) -> None:
        stream.write(render(report))
        stream.write("\n")
