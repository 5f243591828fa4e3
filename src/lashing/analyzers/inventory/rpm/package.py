"""An rpm header -> `Package`.

Version convention: `Package.version` is `VERSION-RELEASE`, prefixed with `EPOCH:` whenever the
header has an EPOCH tag (also `0:`), as rpm's own `%{EVR}` prints it. The parts stay separate for
version comparison: `epoch` (int, or None when the tag is absent: rpm then compares as 0) and
`release`; `extra["rpm_version"]` holds the bare VERSION. The source package comes from SOURCERPM
(`openssl-3.0.7-27.el9.src.rpm` -> source_name "openssl", source_version "3.0.7-27.el9"; the
source epoch is taken to be the binary's); without SOURCERPM the package is its own source.
"""

from __future__ import annotations

from lashing.analyzers.inventory.osrelease import os_purl
from lashing.analyzers.inventory.rpm import header as tags
from lashing.analyzers.inventory.rpm.header import Header, HeaderError
from lashing.model import Package, PackageType

PSEUDO_PACKAGES = ("gpg-pubkey", "gpg-pubkey-release")

# VENDOR prefixes -> purl namespace, used until the OS is known (finalize_os_purls overrides it).
_VENDORS = (
    ("red hat", "redhat"), ("centos", "centos"), ("rocky", "rocky"), ("almalinux", "almalinux"),
    ("fedora", "fedora"), ("amazon", "amzn"), ("oracle", "oracle"), ("suse", "suse"), ("opensuse", "opensuse"),
    ("vmware", "photon"), ("microsoft", "mariner"),
)


def split_source_rpm(srpm: str) -> tuple[str, str] | None:
    """`name-version-release.src.rpm` -> (name, "version-release"); None when it does not look like one."""
    for suffix in (".src.rpm", ".nosrc.rpm"):
        if srpm.endswith(suffix):
            srpm = srpm[: -len(suffix)]
            break
    else:
        return None
    parts = srpm.rsplit("-", 2)
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], f"{parts[1]}-{parts[2]}"


def vendor_namespace(vendor: str) -> str | None:
    lowered = vendor.lower()
    return next((ns for prefix, ns in _VENDORS if lowered.startswith(prefix)), None)


def package_from_header(hdr: Header, cataloger: str) -> Package | None:
    """None for pseudo-packages (gpg-pubkey); HeaderError for a header without a name or version."""
    name, version = hdr.string(tags.NAME), hdr.string(tags.VERSION)
    if name in PSEUDO_PACKAGES:
        return None
    if not name or not version:
        raise HeaderError("header has no readable NAME or VERSION")
    release = hdr.string(tags.RELEASE) or ""
    epoch = hdr.integer(tags.EPOCH)
    arch = hdr.string(tags.ARCH) or ""
    vr = f"{version}-{release}" if release else version
    evr = f"{epoch}:{vr}" if epoch is not None else vr
    srpm = hdr.string(tags.SOURCERPM) or ""
    source = split_source_rpm(srpm)
    source_name, source_version = source if source else (name, vr)
    license_text = (hdr.string(tags.LICENSE) or "").strip()
    vendor = (hdr.string(tags.VENDOR) or "").strip()
    qualifiers = {"arch": arch} if arch else {}
    if epoch is not None:
        qualifiers["epoch"] = str(epoch)
    if srpm:
        qualifiers["upstream"] = srpm
    purl = os_purl("rpm", name, vr, qualifiers, vendor_namespace(vendor))
    extra = {"rpm_version": version}
    if vendor:
        extra["vendor"] = vendor
    if srpm:
        extra["sourcerpm"] = srpm
    modularity = hdr.string(tags.MODULARITYLABEL)
    if modularity:
        extra["modularitylabel"] = modularity
    return Package(
        name=name, version=evr, type=PackageType.RPM, purl=purl, source_name=source_name,
        source_version=source_version, epoch=epoch, release=release, arch=arch,
        licenses=(license_text,) if license_text else (), cataloger=cataloger, extra=extra,
    )
