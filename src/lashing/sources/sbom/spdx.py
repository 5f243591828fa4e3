"""SPDX 2.2/2.3 (JSON, and tag-value turned into the same shape) to a lashing Report, as plain data.

A package's purl is its PACKAGE-MANAGER `purl` external ref; the OS is the package of purpose
OPERATING-SYSTEM, else the purls' `distro=`. Tool facts come from lashing's `lashing:<key>=<value>`
comment lines, Trivy's `Key: value` annotations and `sourceInfo` ("built package from: glibc 2.36-9"),
and Syft's `sourceInfo` paths ("acquired package info from DPKG DB: /var/lib/dpkg/status").
"""

from __future__ import annotations

import re
from typing import Any

from lashing.model import ArtifactInfo, Layer, OSInfo, Package, Report
from lashing.sources.sbom import InvalidSbomError
from lashing.sources.sbom._packages import Entry, os_from_purls, os_info, text, to_package

SPDX_VERSIONS = ("SPDX-2.2", "SPDX-2.3")
MAX_PACKAGES = 2_000_000
_NO_LICENSE = ("", "NOASSERTION", "NONE")
_BUILT_FROM = re.compile(r"built package from:\s*(?P<name>\S+)(?:\s+(?P<version>\S+))?")


def _purl(package: dict[str, Any]) -> str:
    refs = package.get("externalRefs")
    for ref in refs if isinstance(refs, list) else []:
        if not isinstance(ref, dict):
            continue
        category = text(ref.get("referenceCategory")).replace("_", "-").upper()
        if category == "PACKAGE-MANAGER" and text(ref.get("referenceType")) == "purl":
            return text(ref.get("referenceLocator"))
    return ""


def _entry(package: dict[str, Any]) -> Entry:
    entry = Entry(name=text(package.get("name")), version=text(package.get("versionInfo")), purl=_purl(package))
    for field in ("licenseDeclared", "licenseConcluded"):
        value = text(package.get(field))
        if value not in _NO_LICENSE:
            entry.licenses.append(value)
            break
    for line in text(package.get("comment")).splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith("lashing:"):
            entry.add_property(key.strip(), value)
    annotations = package.get("annotations")
    for note in annotations if isinstance(annotations, list) else []:
        if isinstance(note, dict) and "trivy" in text(note.get("annotator")).lower():
            key, sep, value = text(note.get("comment")).partition(": ")
            if sep:
                entry.add_property(f"aquasecurity:trivy:{key.strip()}", value)
    info = text(package.get("sourceInfo"))
    built = _BUILT_FROM.match(info)
    if built and not entry.fact("source_name"):
        entry.add("source_name", built.group("name"))
        if not entry.fact("trivy_src_version"):
            entry.add("source_version", built.group("version") or "")
    elif ": /" in info and "path" not in entry.facts:
        for path in info.rsplit(": ", 1)[1].split(", "):
            if path.startswith("/"):
                entry.add("path", path.lstrip("/"))
    return entry


def _os(package: dict[str, Any]) -> OSInfo | None:
    codename = ""
    for line in text(package.get("comment")).splitlines():
        if line.startswith("lashing:os:codename="):
            codename = line.partition("=")[2].strip()
    found = os_info(text(package.get("name")), text(package.get("versionInfo")),
                    text(package.get("description")), codename)
    if found is not None and "lashing:os:distroless=true" in text(package.get("comment")):
        from dataclasses import replace

        found = replace(found, distroless=True)
    return found


def read_spdx_json(document: dict[str, Any]) -> Report:
    """The Report a parsed SPDX 2.x JSON document describes."""
    version = text(document.get("spdxVersion"))
    if version not in SPDX_VERSIONS:
        raise InvalidSbomError(f"unsupported spdxVersion {version or '(missing)'!r}; "
                               f"supported: {', '.join(SPDX_VERSIONS)}")
    packages = document.get("packages", [])
    if not isinstance(packages, list):
        raise InvalidSbomError("SPDX 'packages' is not a list")
    if len(packages) > MAX_PACKAGES:
        raise InvalidSbomError(f"SPDX document has more than {MAX_PACKAGES} packages")
    layers: dict[str, Layer] = {}
    found: list[Package] = []
    os_found: OSInfo | None = None
    for index, package in enumerate(packages):
        if not isinstance(package, dict):
            raise InvalidSbomError(f"SPDX package #{index + 1} is not an object")
        purpose = text(package.get("primaryPackagePurpose")).replace("_", "-").upper()
        if purpose == "OPERATING-SYSTEM":
            os_found = os_found or _os(package)
            continue
        pkg = to_package(_entry(package), layers)
        if pkg is not None:
            found.append(pkg)
    return Report(
        artifact=ArtifactInfo(name=text(document.get("name")), kind="sbom"),
        os=os_found or os_from_purls(found),
        layers=tuple(sorted(layers.values(), key=lambda layer: layer.index)),
        packages=tuple(found),
    )


# tag-value tags -> JSON field (package section only; everything else is skipped)
_TAGS = {
    "PackageName": "name", "PackageVersion": "versionInfo", "PackageLicenseDeclared": "licenseDeclared",
    "PackageLicenseConcluded": "licenseConcluded", "PackageComment": "comment", "PrimaryPackagePurpose":
    "primaryPackagePurpose", "PackageSourceInfo": "sourceInfo", "PackageSummary": "summary",
}


def read_tag_value(content: str) -> Report:
    """An SPDX 2.x tag-value document, turned into the JSON shape and read as such."""
    document: dict[str, Any] = {"packages": []}
    current: dict[str, Any] | None = None
    lines = iter(content.splitlines())
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        tag, sep, value = line.partition(":")
        if not sep or not re.fullmatch(r"[A-Za-z]+", tag.strip()):
            raise InvalidSbomError(f"SPDX tag-value line {number} is not 'Tag: value'")
        tag, value = tag.strip(), value.strip()
        if value.startswith("<text>"):
            value = value[len("<text>"):]
            while "</text>" not in value:
                more = next(lines, None)
                if more is None:
                    raise InvalidSbomError(f"SPDX tag-value <text> opened at line {number} never closes")
                value += "\n" + more
            value = value[: value.index("</text>")]
        if tag == "SPDXVersion":
            document["spdxVersion"] = value
        elif tag == "DocumentName":
            document["name"] = value
        elif tag == "PackageName":
            current = {"name": value}
            document["packages"].append(current)
        elif current is not None and tag == "ExternalRef":
            parts = value.split(None, 2)
            if len(parts) == 3:
                current.setdefault("externalRefs", []).append(
                    {"referenceCategory": parts[0], "referenceType": parts[1], "referenceLocator": parts[2]}
                )
        elif current is not None and tag in _TAGS:
            current[_TAGS[tag]] = value
        elif tag in ("FileName", "SnippetSPDXID", "LicenseID"):
            current = None  # a file, snippet or license section ends the package
    return read_spdx_json(document)
