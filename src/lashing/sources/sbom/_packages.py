"""From what an SBOM entry says (purl, name, version, tool properties) to lashing's `Package` and `OSInfo`.

Both readers reduce an entry to an `Entry` whose `facts` use one vocabulary, whichever tool wrote it:
lashing's own `lashing:*` properties, Trivy's `aquasecurity:trivy:*` (SrcName, SrcVersion, SrcRelease,
SrcEpoch, FilePath, LayerDiffID) and Syft's `syft:*` (metadata:source, metadata:sourceVersion,
location:N:path, location:N:layerID). The purl decides the package type; its `upstream=`, `epoch=`,
`arch=` and `distro=` qualifiers fill what properties leave open.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from packageurl import PackageURL

from lashing.analyzers.inventory.osrelease import DEBIAN_CODENAMES
from lashing.analyzers.inventory.rpm.package import split_source_rpm
from lashing.model import Layer, Location, OSInfo, Package, PackageType

MAX_TEXT = 4096  # longest name/version/property value kept

PURL_TYPES = {
    "deb": PackageType.DEB, "apk": PackageType.APK, "rpm": PackageType.RPM, "pypi": PackageType.PYTHON,
    "npm": PackageType.NPM, "golang": PackageType.GOLANG, "maven": PackageType.JAVA, "gem": PackageType.GEM,
    "cargo": PackageType.CARGO, "composer": PackageType.COMPOSER, "nuget": PackageType.NUGET,
}
# property name -> fact key (exact names; Syft's numbered location keys are matched by _SYFT_LOCATION)
PROPERTY_FACTS = {
    "lashing:package:type": "type", "lashing:package:source_name": "source_name",
    "lashing:package:source_version": "source_version", "lashing:package:arch": "arch",
    "lashing:package:epoch": "epoch", "lashing:package:release": "release", "lashing:cataloger": "cataloger",
    "lashing:location:path": "path", "lashing:layer:diff_id": "layer_diff_id", "lashing:layer:index": "layer_index",
    "lashing:layer:digest": "layer_digest", "lashing:layer:created_by": "layer_created_by",
    "aquasecurity:trivy:SrcName": "source_name", "aquasecurity:trivy:SrcVersion": "trivy_src_version",
    "aquasecurity:trivy:SrcRelease": "trivy_src_release", "aquasecurity:trivy:SrcEpoch": "trivy_src_epoch",
    "aquasecurity:trivy:FilePath": "path", "aquasecurity:trivy:LayerDiffID": "layer_diff_id",
    "aquasecurity:trivy:LayerDigest": "layer_digest",
    "syft:metadata:source": "source_name", "syft:metadata:sourceVersion": "source_version",
    "syft:package:foundBy": "cataloger",
}
_SYFT_LOCATION = re.compile(r"syft:location:\d+:(path|layerID)")
# OS names as tools write them (Trivy's families, purl namespaces) -> lashing's os-release families
_FAMILIES = {
    "redhat": "rhel", "red hat": "rhel", "oracle": "ol", "oraclelinux": "ol", "amazon": "amzn", "alma": "almalinux",
    "rockylinux": "rocky", "opensuse.leap": "opensuse-leap", "opensuse.tumbleweed": "opensuse-tumbleweed",
    "suse linux enterprise server": "sles", "slles": "sles", "cbl-mariner": "mariner",
}
_DISTRO = re.compile(r"^(?P<family>[a-z][a-z0-9._ -]*?)-(?P<version>v?\d[\w.+~-]*)$")


@dataclass
class Entry:
    """One SBOM package entry in a tool-neutral form."""

    name: str
    version: str
    purl: str
    facts: dict[str, list[str]] = field(default_factory=dict)
    licenses: list[str] = field(default_factory=list)

    def add(self, key: str, value: object) -> None:
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            values = self.facts.setdefault(key, [])
            text = str(value).strip()[:MAX_TEXT]
            if text not in values:
                values.append(text)

    def add_property(self, name: str, value: object) -> None:
        """A CycloneDX property / SPDX annotation under its tool's name."""
        key = PROPERTY_FACTS.get(name)
        if key is None and (match := _SYFT_LOCATION.fullmatch(name)):
            key = "path" if match.group(1) == "path" else "layer_diff_id"
        if key is not None:
            self.add(key, value)

    def fact(self, key: str) -> str:
        values = self.facts.get(key)
        return values[0] if values else ""


def text(value: object) -> str:
    """A JSON value as bounded text ("" for anything but strings and numbers)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return str(value).strip()[:MAX_TEXT]


def parse_purl(value: str) -> PackageURL | None:
    if not value or len(value) > MAX_TEXT:
        return None
    try:
        return PackageURL.from_string(value)
    except ValueError:
        return None


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _purl_name(purl: PackageURL) -> str:
    """The package name as lashing's catalogers write it for this ecosystem."""
    ns, name = purl.namespace or "", purl.name
    if purl.type == "npm" and ns:
        return f"{ns}/{name}"
    if purl.type == "maven" and ns:
        return f"{ns}:{name}"
    if purl.type in ("golang", "composer") and ns:
        return f"{ns}/{name}"
    return name


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 10 else None


def to_package(entry: Entry, layers: dict[str, Layer]) -> Package | None:
    """The lashing Package for an entry, or None when its ecosystem is not one lashing knows."""
    purl = parse_purl(entry.purl)
    qualifiers = dict(purl.qualifiers or {}) if purl else {}
    ptype = PURL_TYPES.get(purl.type) if purl else None
    if ptype == PackageType.GOLANG and purl is not None and purl.name == "stdlib" and not purl.namespace:
        ptype = PackageType.GO_STDLIB
    if entry.fact("type"):
        ptype = next((t for t in PackageType if t.value == entry.fact("type")), ptype)
    if ptype is None:
        return None
    derived = _purl_name(purl) if purl else ""
    name = entry.name if entry.name and (not derived or _canon(entry.name) == _canon(derived)) else derived
    version = entry.version or (purl.version if purl and purl.version else "")
    if not name:
        return None
    epoch = _int(entry.fact("epoch") or qualifiers.get("epoch", ""))
    if ptype in (PackageType.DEB, PackageType.RPM) and epoch is not None and not version.startswith(f"{epoch}:"):
        version = f"{epoch}:{version}"
    if ptype == PackageType.DEB and epoch is None:
        head, sep, _ = version.partition(":")
        epoch = _int(head) if sep else None
    if ptype == PackageType.GO_STDLIB:
        version = version.removeprefix("v")
    release = entry.fact("release")
    if ptype == PackageType.RPM and not release and "-" in version:
        release = version.rsplit("-", 1)[1]
    source_name, source_version = _source(entry, ptype, name, version, qualifiers.get("upstream", ""))
    layer = _layer(entry, layers)
    locations = tuple(Location(p.lstrip("/"), layer.diff_id if layer else None) for p in entry.facts.get("path", []))
    return Package(
        name=name, version=version, type=ptype, purl=entry.purl, source_name=source_name,
        source_version=source_version, epoch=epoch, release=release if ptype == PackageType.RPM else "",
        arch=entry.fact("arch") or qualifiers.get("arch", ""), licenses=tuple(entry.licenses[:16]),
        locations=locations, layer=layer, cataloger=entry.fact("cataloger") or "sbom",
    )


def _source(entry: Entry, ptype: PackageType, name: str, version: str, upstream: str) -> tuple[str, str]:
    """Source package name and version: tool properties, then the purl's `upstream=`, then the package itself."""
    source_name, source_version = entry.fact("source_name"), entry.fact("source_version")
    if not source_version and entry.fact("trivy_src_version"):
        source_version = entry.fact("trivy_src_version")
        if entry.fact("trivy_src_release"):
            source_version += "-" + entry.fact("trivy_src_release")
        src_epoch = entry.fact("trivy_src_epoch")
        if ptype == PackageType.DEB and src_epoch not in ("", "0"):
            source_version = f"{src_epoch}:{source_version}"
    if upstream and not source_name:
        if ptype == PackageType.RPM:
            split = split_source_rpm(upstream)
            source_name, source_version = split if split else (upstream, source_version)
        else:
            source_name, _, up_version = upstream.partition("@")
            source_version = source_version or up_version
    if not ptype.is_os:
        return source_name, source_version
    if ptype == PackageType.RPM:
        return source_name or name, source_version or version.split(":", 1)[-1]
    return source_name or name, source_version or version


def _layer(entry: Entry, layers: dict[str, Layer]) -> Layer | None:
    diff_id = entry.fact("layer_diff_id")
    if not diff_id:
        return None
    known = layers.get(diff_id)
    if known is None:
        index = _int(entry.fact("layer_index"))
        known = Layer(
            index=index if index is not None else len(layers), diff_id=diff_id,
            digest=entry.fact("layer_digest") or None, created_by=entry.fact("layer_created_by") or None,
        )
        layers[diff_id] = known
    return known


def os_info(family: str, version: str, name: str = "", codename: str = "") -> OSInfo | None:
    """An OSInfo in lashing's vocabulary (Debian reduced to its major release, the point release in the name)."""
    family = _FAMILIES.get(family.strip().lower(), family.strip().lower())
    if not family:
        return None
    version = version.strip()
    if family == "debian" and re.fullmatch(r"\d+(\.\d+)+", version):
        point, version = version, version.split(".")[0]
        name = name or f"Debian GNU/Linux {point}"
    if family == "debian" and not codename:
        codename = DEBIAN_CODENAMES.get(version, "")
    return OSInfo(family=family, version=version, codename=codename, name=name)


def os_from_purls(packages: list[Package]) -> OSInfo | None:
    """The OS named by the most frequent `distro=` qualifier of the distro packages (`debian-12`, `alpine-3.18.4`)."""
    counts: Counter[str] = Counter()
    for pkg in packages:
        purl = parse_purl(pkg.purl) if pkg.type.is_os else None
        distro = (purl.qualifiers or {}).get("distro", "") if purl else ""
        if distro:
            counts[distro] += 1
    if not counts:
        return None
    distro = counts.most_common(1)[0][0].lower()
    match = _DISTRO.match(distro)
    if match:
        return os_info(match.group("family"), match.group("version").removeprefix("v"))
    return os_info(distro, "")
