"""purl comparison per the purl spec: case rules per type; a pattern's missing parts match anything.

A pattern without a version matches every version; qualifiers and subpath are compared only when the
pattern gives them (each given qualifier must be present with the same value).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from packageurl import PackageURL

# Types whose namespace and name are case-insensitive (lowercased) per the purl type definitions.
_LOWER_NAMESPACE_AND_NAME = frozenset(
    {"alpm", "apk", "bitbucket", "composer", "deb", "github", "gitlab", "golang", "hex", "npm", "oci", "pub", "qpkg"}
)
_LOWER_NAMESPACE = frozenset({"rpm"})
_PYPI_SEPARATORS = re.compile(r"[-_.]+")


@dataclass(frozen=True)
class PurlPattern:
    """A parsed, case-normalized purl (or purl pattern: version, qualifiers and subpath optional)."""

    type: str
    namespace: str
    name: str
    version: str | None = None
    qualifiers: tuple[tuple[str, str], ...] = ()
    subpath: str | None = None
    text: str = ""

    def matches(self, candidate: PurlPattern) -> bool:
        """True when `candidate` (a package's full purl) is covered by this pattern."""
        if (self.type, self.namespace, self.name) != (candidate.type, candidate.namespace, candidate.name):
            return False
        if self.version is not None and self.version != candidate.version:
            return False
        if self.subpath is not None and self.subpath != candidate.subpath:
            return False
        have = dict(candidate.qualifiers)
        return all(have.get(key) == value for key, value in self.qualifiers)

    def __str__(self) -> str:
        return self.text


@lru_cache(maxsize=4096)
def parse_purl(text: str) -> PurlPattern | None:
    """Parse and normalize a purl; None when `text` is not a valid purl."""
    try:
        purl = PackageURL.from_string(text.strip())
    except (ValueError, TypeError):
        return None
    ptype = purl.type.lower()
    namespace = purl.namespace or ""
    name = purl.name or ""
    if ptype in _LOWER_NAMESPACE_AND_NAME:
        namespace, name = namespace.lower(), name.lower()
    elif ptype in _LOWER_NAMESPACE:
        namespace = namespace.lower()
    elif ptype == "pypi":
        name = _PYPI_SEPARATORS.sub("-", name.lower())
    version = purl.version or None
    if ptype == "oci" and version:
        version = version.lower()  # a digest
    qualifiers = purl.qualifiers if isinstance(purl.qualifiers, dict) else {}
    pairs = tuple(sorted((str(k).lower(), str(v)) for k, v in qualifiers.items()))
    subpath = purl.subpath.strip("/") if purl.subpath else None
    return PurlPattern(ptype, namespace, name, version, pairs, subpath or None, text.strip())
