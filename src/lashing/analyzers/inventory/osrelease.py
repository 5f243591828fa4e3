"""Operating-system detection from os-release and the distributions' own release files.

Each file gives its raw facts (`OSReleaseAnalyzer`); `merge_os` turns every answer found in the
image into one `OSInfo`, and `finalize_os_purls` then gives distro packages their purl namespace
and `distro=<family>-<version>` qualifier, which a per-file cataloger cannot know.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from packageurl import PackageURL

from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.model import OSInfo, Package, PackageType

MAX_RELEASE_FILE = 64 * 1024

OS_RELEASE = ("etc/os-release", "usr/lib/os-release")
RELEASE_FILES = (
    "etc/debian_version", "etc/alpine-release", "etc/redhat-release", "etc/centos-release",
    "etc/rocky-release", "etc/almalinux-release", "etc/fedora-release", "etc/system-release",
    "etc/lsb-release",
)

# Debian major release -> codename, for a bare etc/debian_version.
DEBIAN_CODENAMES = {
    "6": "squeeze", "7": "wheezy", "8": "jessie", "9": "stretch", "10": "buster", "11": "bullseye",
    "12": "bookworm", "13": "trixie", "14": "forky", "15": "duke",
}

# "<Name> release <version> (<codename>)" lines: name prefix -> family.
_RELEASE_NAMES = (
    ("red hat enterprise linux", "rhel"), ("centos", "centos"), ("rocky linux", "rocky"),
    ("almalinux", "almalinux"), ("fedora", "fedora"), ("oracle linux", "ol"), ("amazon linux", "amzn"),
    ("cloudlinux", "cloudlinux"), ("scientific linux", "scientific"), ("eurolinux", "eurolinux"),
    ("navy linux", "navylinux"), ("virtuozzo", "virtuozzo"),
)
_RELEASE_RE = re.compile(r"^(?P<name>.+?)\s+release\s+(?P<version>[0-9][\w.]*)(?:\s*\((?P<codename>[^)]*)\))?")

# Families whose release files other distributions carry for compatibility (Ubuntu's
# debian_version, Oracle Linux's redhat-release): they lose to any other family found.
_BASE_FAMILIES = ("debian", "rhel")

# OS family -> (package type, purl namespace).
_FAMILY_PURL = {
    "debian": (PackageType.DEB, "debian"), "ubuntu": (PackageType.DEB, "ubuntu"),
    "alpine": (PackageType.APK, "alpine"), "wolfi": (PackageType.APK, "wolfi"),
    "chainguard": (PackageType.APK, "chainguard"), "postmarketos": (PackageType.APK, "postmarketos"),
    "rhel": (PackageType.RPM, "redhat"), "centos": (PackageType.RPM, "centos"),
    "rocky": (PackageType.RPM, "rocky"), "almalinux": (PackageType.RPM, "almalinux"),
    "fedora": (PackageType.RPM, "fedora"), "amzn": (PackageType.RPM, "amzn"), "ol": (PackageType.RPM, "oracle"),
    "sles": (PackageType.RPM, "sles"), "sled": (PackageType.RPM, "sles"),
    "opensuse-leap": (PackageType.RPM, "opensuse"), "opensuse-tumbleweed": (PackageType.RPM, "opensuse"),
    "opensuse": (PackageType.RPM, "opensuse"), "photon": (PackageType.RPM, "photon"),
    "mariner": (PackageType.RPM, "mariner"), "azurelinux": (PackageType.RPM, "azurelinux"),
}


class OSReleaseAnalyzer(Analyzer):
    """Reads os-release and the legacy release files; one raw `OSInfo` per file."""

    name = "os-release"
    version = 1
    max_size = MAX_RELEASE_FILE

    def required(self, path: str, info: FileInfo) -> bool:
        return path in OS_RELEASE or path in RELEASE_FILES

    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        text = item.content[:MAX_RELEASE_FILE].decode("utf-8", errors="replace")
        if item.path in OS_RELEASE:
            found = parse_os_release(text)
        elif item.path == "etc/lsb-release":
            found = parse_lsb_release(text)
        elif item.path == "etc/debian_version":
            found = parse_debian_version(text)
        elif item.path == "etc/alpine-release":
            found = parse_alpine_release(text)
        else:
            found = parse_release_line(text)
        if found is None:
            return AnalysisResult(warnings=(f"{item.path}: no operating system recognized",))
        return AnalysisResult(os=found)


def parse_key_values(text: str) -> dict[str, str]:
    """Shell-style KEY=value lines (os-release(5)); quotes and escapes removed, junk lines skipped."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        key = key.strip()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            continue
        try:
            parts = shlex.split(raw, posix=True)
        except ValueError:
            parts = [raw.strip().strip("\"'")]
        values[key] = " ".join(parts)
    return values


def parse_os_release(text: str) -> OSInfo | None:
    """os-release: ID, VERSION_ID, VERSION_CODENAME, PRETTY_NAME (Debian testing has no VERSION_ID)."""
    kv = parse_key_values(text)
    family = kv.get("ID", "").strip().lower()
    if not family:
        return None
    codename = kv.get("VERSION_CODENAME", "") or kv.get("UBUNTU_CODENAME", "")
    if not codename:
        match = re.search(r"\(([^)]+)\)", kv.get("VERSION", ""))
        codename = match.group(1).strip().lower() if match and family in ("debian", "ubuntu") else ""
    version = kv.get("VERSION_ID", "") or codename
    name = kv.get("PRETTY_NAME", "") or " ".join(filter(None, (kv.get("NAME", ""), kv.get("VERSION", ""))))
    home = kv.get("HOME_URL", "")
    distroless = name.lower().startswith("distroless") or "distroless" in home.lower()
    return OSInfo(family=family, version=version, codename=codename, name=name, distroless=distroless)


def parse_lsb_release(text: str) -> OSInfo | None:
    kv = parse_key_values(text)
    family = kv.get("DISTRIB_ID", "").strip().lower()
    if not family:
        return None
    return OSInfo(family=family, version=kv.get("DISTRIB_RELEASE", ""),
                  codename=kv.get("DISTRIB_CODENAME", ""), name=kv.get("DISTRIB_DESCRIPTION", ""))


def parse_debian_version(text: str) -> OSInfo | None:
    """`12.5` (a point release, kept whole here: `merge_os` reduces it) or `trixie/sid` (testing)."""
    line = text.strip().splitlines()[0].strip() if text.strip() else ""
    if re.fullmatch(r"\d+(\.\d+)*", line):
        major = line.split(".")[0]
        return OSInfo(family="debian", version=line, codename=DEBIAN_CODENAMES.get(major, ""))
    match = re.fullmatch(r"([a-z]+)(?:/sid)?", line)
    if match:
        return OSInfo(family="debian", version=match.group(1), codename=match.group(1))
    return None


def parse_alpine_release(text: str) -> OSInfo | None:
    line = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not re.fullmatch(r"\d+\.\d+[\w.+-]*", line):
        return None
    return OSInfo(family="alpine", version=line)


def parse_release_line(text: str) -> OSInfo | None:
    """`Rocky Linux release 9.3 (Blue Onyx)` and the like (redhat/centos/fedora/system-release)."""
    line = text.strip().splitlines()[0].strip() if text.strip() else ""
    match = _RELEASE_RE.match(line)
    if not match:
        return None
    lowered = match.group("name").lower()
    family = next((fam for prefix, fam in _RELEASE_NAMES if lowered.startswith(prefix)), "")
    if not family:
        return None
    codename = (match.group("codename") or "").strip()
    return OSInfo(family=family, version=match.group("version"), codename=codename)


def merge_os(results: Sequence[OSInfo | None]) -> OSInfo | None:
    """One answer from every file's answer.

    The family is the most frequent one, except that debian and rhel lose to any other family
    (derivatives ship their release files). Within that family, answers that carry a name
    (os-release, lsb-release) are preferred for version, codename and name; Debian's version is
    reduced to its major number and a point release from debian_version goes into the name.
    """
    found = [r for r in results if r is not None and r.family]
    if not found:
        return None
    counts = Counter(r.family for r in found)
    candidates = [f for f in counts if f not in _BASE_FAMILIES] or list(counts)
    family = max(candidates, key=lambda f: counts[f])  # max keeps the first of equals: file order
    mine = [r for r in found if r.family == family]
    primary = [r for r in mine if r.name] or mine

    def pick(attr: str) -> str:
        for group in (primary, mine):
            values = Counter(getattr(r, attr) for r in group if getattr(r, attr))
            if values:
                return max(values, key=lambda v: values[v])
        return ""

    version, codename, name = pick("version"), pick("codename"), pick("name")
    if family == "debian":
        version, name = _debian_point_release(mine, version, codename, name)
    return OSInfo(family=family, version=version, codename=codename, name=name,
                  distroless=any(r.distroless for r in mine))


def _debian_point_release(answers: list[OSInfo], version: str, codename: str, name: str) -> tuple[str, str]:
    major = version.split(".")[0] if re.fullmatch(r"\d+(\.\d+)*", version) else version
    points = sorted((r.version for r in answers if r.version.startswith(major + ".")), key=len, reverse=True)
    point = points[0] if points else ""
    if not name:
        name = f"Debian GNU/Linux {point or major}" + (f" ({codename})" if codename else "")
    elif point and f" {major} " in f"{name} ":
        name = f"{name} ".replace(f" {major} ", f" {point} ", 1).rstrip()
    return major, name


def finalize_os_purls(packages: Sequence[Package], os_info: OSInfo | None) -> list[Package]:
    """Give the OS's packages their purl namespace and `distro` qualifier (other packages unchanged)."""
    if os_info is None or not os_info.family:
        return list(packages)
    ptype, namespace = _FAMILY_PURL.get(os_info.family, (None, os_info.family))
    distro = f"{os_info.family}-{os_info.version}" if os_info.version else os_info.family
    out: list[Package] = []
    for pkg in packages:
        if not pkg.type.is_os or (ptype is not None and pkg.type != ptype):
            out.append(pkg)
            continue
        out.append(replace(pkg, purl=_rewrite_purl(pkg, namespace, distro)))
    return out


def os_purl(kind: str, name: str, version: str, qualifiers: dict[str, str], namespace: str | None = None) -> str:
    """A distro package's purl; empty qualifier values are dropped; "" when no purl can be made."""
    clean = {k: v.strip() for k, v in qualifiers.items() if v and v.strip()}
    try:
        return PackageURL(type=kind, namespace=namespace or None, name=name, version=version or None,
                          qualifiers=clean).to_string()
    except (ValueError, TypeError):
        return ""


def _rewrite_purl(pkg: Package, namespace: str, distro: str) -> str:
    try:
        old = PackageURL.from_string(pkg.purl) if pkg.purl else None
    except ValueError:
        old = None
    if old is None:
        return os_purl(pkg.type.value, pkg.name, pkg.version, {"arch": pkg.arch, "distro": distro}, namespace)
    qualifiers = {**(old.qualifiers or {}), "distro": distro}
    return os_purl(old.type, old.name, old.version or "", qualifiers, namespace)
