"""Which OSV ecosystem, name and version a package is looked up under.

Distro advisories are keyed by release (``Debian:12``, ``Ubuntu:22.04:LTS``, ``Alpine:v3.18``,
``AlmaLinux:9``) and, for dpkg and apk, by the *source* package with the source version: a fix
backported by the distro is judged with the distro's own version, never the upstream one.
Language packages use the ecosystem's registry name (PEP 503 etc., see `lashing.db.normalize_name`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lashing.db.store import normalize_name
from lashing.model import OSInfo, Package, PackageType

# Package type -> OSV ecosystem for language packages (no release suffix).
_LANGUAGE: dict[PackageType, str] = {
    PackageType.PYTHON: "PyPI",
    PackageType.NPM: "npm",
    PackageType.GOLANG: "Go",
    PackageType.GO_STDLIB: "Go",
    PackageType.JAVA: "Maven",
    PackageType.GEM: "RubyGems",
    PackageType.CARGO: "crates.io",
    PackageType.COMPOSER: "Packagist",
    PackageType.NUGET: "NuGet",
}

# os-release ID -> (OSV ecosystem base, package type the distro installs).
_DISTROS: dict[str, tuple[str, PackageType]] = {
    "debian": ("Debian", PackageType.DEB),
    "ubuntu": ("Ubuntu", PackageType.DEB),
    "alpine": ("Alpine", PackageType.APK),
    "almalinux": ("AlmaLinux", PackageType.RPM),
    "rocky": ("Rocky Linux", PackageType.RPM),
}

DEBIAN_RELEASES = {
    "buzz": "1.1", "rex": "1.2", "bo": "1.3", "hamm": "2.0", "slink": "2.1", "potato": "2.2", "woody": "3.0",
    "sarge": "3.1", "etch": "4", "lenny": "5", "squeeze": "6", "wheezy": "7", "jessie": "8", "stretch": "9",
    "buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13", "forky": "14",
}  # fmt: skip


@dataclass(frozen=True)
class Query:
    """One advisory lookup: the ecosystem base and normalized name, the version to compare, and the exact
    ecosystem names that apply (a distro release), or None when any suffix of the base applies."""

    ecosystem_base: str
    name: str
    version: str
    ecosystems: frozenset[str] | None = None
    modular: bool | None = None  # RPM: installed from a module stream (modularitylabel); None = not RPM


def distro_ecosystems(os_info: OSInfo | None) -> tuple[str, frozenset[str]] | None:
    """The OSV ecosystem base and the release ecosystems for a detected OS, or None when unsupported."""
    if os_info is None or os_info.family not in _DISTROS:
        return None
    base, _ = _DISTROS[os_info.family]
    version = os_info.version.strip()
    if base == "Debian":
        major = DEBIAN_RELEASES.get(version.lower()) or DEBIAN_RELEASES.get(os_info.codename.lower())
        if major is None:
            match = re.match(r"(\d+)(?:\.(\d+))?", version)
            if not match:
                return None
            major = match.group(1) if int(match.group(1)) >= 4 else f"{match.group(1)}.{match.group(2) or 0}"
        return base, frozenset({f"Debian:{major}"})
    if base == "Ubuntu":
        match = re.match(r"(\d+)\.(\d+)", version)
        if not match:
            return None
        year, month = int(match.group(1)), int(match.group(2))
        release = f"{year}.{month:02d}"
        lts = month == 4 and year % 2 == 0
        return base, frozenset({f"Ubuntu:{release}:LTS" if lts else f"Ubuntu:{release}"})
    if base == "Alpine":
        match = re.match(r"v?(\d+)\.(\d+)", version)
        return (base, frozenset({f"Alpine:v{match.group(1)}.{match.group(2)}"})) if match else None
    match = re.match(r"(\d+)", version)  # AlmaLinux / Rocky Linux: major release
    return (base, frozenset({f"{base}:{match.group(1)}"})) if match else None


def distro_package_type(os_info: OSInfo | None) -> PackageType | None:
    return _DISTROS[os_info.family][1] if os_info is not None and os_info.family in _DISTROS else None


def query_for(pkg: Package, distro: tuple[str, frozenset[str]] | None, os_type: PackageType | None) -> Query | None:
    """The lookup for one package, or None when no advisory source covers it."""
    if pkg.type.is_os:
        if distro is None or pkg.type != os_type:
            return None
        base, ecosystems = distro
        if pkg.type == PackageType.RPM:  # RHEL-family OSV data is keyed by binary package, EVR version
            return Query(base, pkg.name, pkg.version, ecosystems, modular=bool(pkg.extra.get("modularitylabel")))
        name = pkg.source_name or pkg.name
        version = pkg.source_version or pkg.version
        return Query(base, normalize_name(base, name), version, ecosystems)
    base = _LANGUAGE.get(pkg.type)
    if base is None or not pkg.name or not pkg.version:
        return None
    version = pkg.version
    if base == "Go":
        version = version.removeprefix("go").removeprefix("v")
        if version in ("(devel)", "devel") or not version[:1].isdigit():
            return None
    return Query(base, normalize_name(base, pkg.name), version)
