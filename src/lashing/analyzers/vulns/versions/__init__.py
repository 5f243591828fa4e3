"""Exact version ordering per OSV ecosystem: ``compare(ecosystem, a, b)`` and ``comparator_for(ecosystem)``.

Every comparator is total and never raises: malformed versions fall back to a deterministic order.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from lashing.errors import LashingError

from . import apk, composer, dpkg, maven, nuget, pep440, rpm, rubygems, semver

Comparator = Callable[[str, str], int]
"""A function returning <0, 0 or >0 as its first version sorts before, equal to or after its second."""

_SCHEMES: dict[str, Comparator] = {
    "Debian": dpkg.compare,
    "Ubuntu": dpkg.compare,
    "Alpine": apk.compare,
    "Wolfi": apk.compare,
    "Chainguard": apk.compare,
    "MinimOS": apk.compare,
    "AlmaLinux": rpm.compare,
    "Rocky Linux": rpm.compare,
    "Red Hat": rpm.compare,
    "CentOS": rpm.compare,
    "openSUSE": rpm.compare,
    "SUSE": rpm.compare,
    "Oracle Linux": rpm.compare,
    "Amazon Linux": rpm.compare,
    "Fedora": rpm.compare,
    "Mageia": rpm.compare,
    "openEuler": rpm.compare,
    "Photon OS": rpm.compare,
    "Azure Linux": rpm.compare,
    "PyPI": pep440.compare,
    "npm": semver.compare,
    "crates.io": semver.compare,
    "Go": semver.compare_go,
    "Hex": semver.compare,
    "Pub": semver.compare,
    "Bitnami": semver.compare,
    "Maven": maven.compare,
    "RubyGems": rubygems.compare,
    "NuGet": nuget.compare,
    "Packagist": composer.compare,
    "kubernetes": semver.compare,  # Kubernetes component advisories (vuln-list-k8s, OSV-shaped)
}


# Range evaluation compares the same few versions over and over (sorting events, then walking them):
# memoizing each scheme's comparison makes that cheap, whatever the parsing cost of the scheme.
_CACHED: dict[Comparator, Comparator] = {fn: lru_cache(maxsize=1 << 16)(fn) for fn in set(_SCHEMES.values())}
_SCHEMES = {name: _CACHED[fn] for name, fn in _SCHEMES.items()}


def scheme_name(ecosystem: str) -> str:
    """The base ecosystem name: ``Debian:12`` -> ``Debian``, ``Ubuntu:22.04:LTS`` -> ``Ubuntu``."""
    return ecosystem.split(":", 1)[0].strip()


def comparator_for(ecosystem: str) -> Comparator | None:
    """The comparator of an OSV ecosystem name (suffixes after ':' ignored), or None when unknown."""
    return _SCHEMES.get(scheme_name(ecosystem))


def compare(ecosystem: str, a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` sorts before, equal to or after ``b`` in ``ecosystem``'s ordering."""
    cmp = comparator_for(ecosystem)
    if cmp is None:
        raise LashingError(f"no version ordering known for ecosystem {ecosystem!r}")
    result = cmp(a, b)
    return (result > 0) - (result < 0)


__all__ = ["Comparator", "comparator_for", "compare", "scheme_name"]
