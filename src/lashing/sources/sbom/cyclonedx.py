"""CycloneDX JSON (spec 1.2-1.7) to a lashing Report, read as plain JSON with the essentials checked.

Packages are the components (nested `components[].components` included, depth-first, bounded) whose purl
names an ecosystem lashing knows; the OS is the `operating-system` component, else the purls' `distro=`.
Layer order comes from the image component (lashing's `lashing:image:layer:N:diff_id`, Trivy's
`aquasecurity:trivy:DiffID` list) when the SBOM has it.
"""

from __future__ import annotations

import re
from typing import Any

from lashing.model import ArtifactInfo, Layer, OSInfo, Package, Report
from lashing.sources.sbom import InvalidSbomError
from lashing.sources.sbom._packages import Entry, os_from_purls, os_info, text, to_package

SPEC_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
MAX_DEPTH = 64
MAX_COMPONENTS = 2_000_000
_IMAGE_LAYER = re.compile(r"lashing:image:layer:(\d+):(diff_id|digest|created_by)")


def _properties(item: dict[str, Any]) -> list[tuple[str, str]]:
    props = item.get("properties")
    if not isinstance(props, list):
        return []
    return [(text(p.get("name")), text(p.get("value"))) for p in props if isinstance(p, dict)]


def _licenses(item: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for choice in item.get("licenses") or []:
        if not isinstance(choice, dict):
            continue
        if text(choice.get("expression")):
            out.append(text(choice.get("expression")))
        lic = choice.get("license")
        if isinstance(lic, dict) and (text(lic.get("id")) or text(lic.get("name"))):
            out.append(text(lic.get("id")) or text(lic.get("name")))
    return out


def _entry(component: dict[str, Any]) -> Entry:
    entry = Entry(name=text(component.get("name")), version=text(component.get("version")),
                  purl=text(component.get("purl")), licenses=_licenses(component))
    for name, value in _properties(component):
        entry.add_property(name, value)
    evidence = component.get("evidence")
    occurrences = evidence.get("occurrences") if isinstance(evidence, dict) else None
    for occurrence in occurrences if isinstance(occurrences, list) else []:
        if isinstance(occurrence, dict):
            entry.add("path", text(occurrence.get("location")).lstrip("/"))
    if "path" in entry.facts:
        entry.facts["path"] = list(dict.fromkeys(p.lstrip("/") for p in entry.facts["path"]))
    return entry


def iter_components(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every component, nested ones included, in document order; raises InvalidSbomError past the bounds."""
    top = document.get("components", [])
    if not isinstance(top, list):
        raise InvalidSbomError("CycloneDX 'components' is not a list")
    out: list[dict[str, Any]] = []
    stack: list[tuple[int, list[Any], int]] = [(0, top, 0)]
    while stack:
        depth, items, start = stack.pop()
        for index in range(start, len(items)):
            component = items[index]
            if not isinstance(component, dict):
                raise InvalidSbomError(f"CycloneDX component #{len(out) + 1} is not an object")
            out.append(component)
            if len(out) > MAX_COMPONENTS:
                raise InvalidSbomError(f"CycloneDX SBOM has more than {MAX_COMPONENTS} components")
            children = component.get("components")
            if isinstance(children, list) and children:
                if depth + 1 > MAX_DEPTH:
                    raise InvalidSbomError(f"CycloneDX components are nested deeper than {MAX_DEPTH} levels")
                stack.append((depth, items, index + 1))
                stack.append((depth + 1, children, 0))
                break
    return out


def _image_layers(subject: dict[str, Any]) -> dict[str, Layer]:
    """The image's layers in order, keyed by diff_id, from the metadata component's properties."""
    found: dict[int, dict[str, str]] = {}
    trivy: list[str] = []
    for name, value in _properties(subject):
        match = _IMAGE_LAYER.fullmatch(name)
        if match and value:
            found.setdefault(int(match.group(1)), {})[match.group(2)] = value
        elif name == "aquasecurity:trivy:DiffID" and value:
            trivy.append(value)
    layers = [Layer(i, f["diff_id"], f.get("digest"), created_by=f.get("created_by"))
              for i, f in sorted(found.items()) if f.get("diff_id")]
    if not layers:
        layers = [Layer(i, diff_id) for i, diff_id in enumerate(dict.fromkeys(trivy))]
    return {layer.diff_id: layer for layer in layers}


def _os(component: dict[str, Any]) -> OSInfo | None:
    props = dict(_properties(component))
    codename = props.get("lashing:os:codename") or props.get("syft:distro:versionCodename", "")
    found = os_info(text(component.get("name")), text(component.get("version")),
                    text(component.get("description")), codename)
    if found is not None and props.get("lashing:os:distroless") == "true":
        from dataclasses import replace

        found = replace(found, distroless=True)
    return found


def read_cyclonedx(document: dict[str, Any]) -> Report:
    """The Report a parsed CycloneDX JSON document describes."""
    spec = text(document.get("specVersion"))
    if spec not in SPEC_VERSIONS:
        raise InvalidSbomError(f"unsupported CycloneDX specVersion {spec or '(missing)'!r}; "
                               f"supported: {', '.join(SPEC_VERSIONS)}")
    metadata = document.get("metadata") if isinstance(document.get("metadata"), dict) else {}
    subject = metadata.get("component") if isinstance(metadata.get("component"), dict) else {}
    layers = _image_layers(subject)
    packages: list[Package] = []
    os_found: OSInfo | None = None
    skipped = 0
    for component in iter_components(document):
        if text(component.get("type")) == "operating-system":
            os_found = os_found or _os(component)
            continue
        pkg = to_package(_entry(component), layers)
        if pkg is not None:
            packages.append(pkg)
        elif text(component.get("type")) in ("library", "framework", "application") and component.get("purl"):
            skipped += 1
    props = dict(_properties(subject))
    tags = [v for k, v in _properties(subject) if k in ("lashing:image:repo_tag", "aquasecurity:trivy:RepoTag")]
    digest = text(subject.get("version")) if text(subject.get("version")).startswith("sha256:") else None
    artifact = ArtifactInfo(
        name=text(subject.get("name")), kind="sbom", digest=digest,
        config_digest=props.get("lashing:image:config_digest") or props.get("aquasecurity:trivy:ImageID") or None,
        repo_tags=tuple(dict.fromkeys(tags)), architecture=props.get("lashing:image:architecture", ""),
        os=props.get("lashing:image:os", ""),
    )
    warnings = (f"{skipped} components with a purl of an ecosystem lashing does not scan were skipped",) \
        if skipped else ()
    return Report(
        artifact=artifact, os=os_found or os_from_purls(packages),
        layers=tuple(sorted(layers.values(), key=lambda layer: layer.index)), packages=tuple(packages),
        warnings=warnings,
    )
