"""The one domain model shared by every source, analyzer, policy and report.

All values are frozen dataclasses: they can be cached, compared, hashed and merged.
pydantic's TypeAdapter serializes them where they cross a boundary (layer cache, JSON report).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, TypeVar

_T = TypeVar("_T")


def fast_init(cls: type[_T]) -> type[_T]:
    """Give a frozen dataclass an `__init__` that fills the instance's `__dict__` in one step.

    The generated one sets every field through `object.__setattr__` (~0.1 us each; a Finding took ~2 us to
    build, and a large config scan builds tens of thousands). The instance stays frozen (assignments
    still raise), equal, hashed and pickled as before; defaults and default factories are the fields'."""
    params, values, defaults = [], [], {}
    for item in fields(cls):
        name = item.name
        if item.default is not MISSING:
            defaults[f"_d_{name}"] = item.default
            params.append(f"{name}=_d_{name}")
            values.append(name)
        elif item.default_factory is not MISSING:
            defaults[f"_f_{name}"] = item.default_factory
            params.append(f"{name}=_NOTHING")
            values.append(f"_f_{name}() if {name} is _NOTHING else {name}")
        else:
            params.append(name)
            values.append(name)
    body = ", ".join(f"{item.name!r}: {value}" for item, value in zip(fields(cls), values, strict=True))
    namespace: dict[str, Any] = {**defaults, "_NOTHING": _NOTHING}
    exec(f"def __init__(self, {', '.join(params)}):\n    self.__dict__.update({{{body}}})\n", namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[misc]
    return cls


_NOTHING: Any = object()


class Severity(enum.IntEnum):
    """Ordered severity; comparisons (`>=`) drive the CI gate."""

    UNKNOWN = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Parse a case-insensitive name ("high", "MODERATE" -> MEDIUM)."""
        key = text.strip().upper()
        aliases = {"MODERATE": "MEDIUM", "IMPORTANT": "HIGH", "NEGLIGIBLE": "LOW", "NONE": "UNKNOWN"}
        return cls[aliases.get(key, key)]

    @classmethod
    def from_score(cls, score: float) -> Severity:
        """The CVSS v3/v4 qualitative band of a base score (also GitHub's security-severity bands)."""
        if score >= 9.0:
            return cls.CRITICAL
        if score >= 7.0:
            return cls.HIGH
        if score >= 4.0:
            return cls.MEDIUM
        return cls.LOW if score > 0.0 else cls.UNKNOWN


class PackageType(enum.StrEnum):
    """Package manager / ecosystem a package was found through (purl types where one exists)."""

    DEB = "deb"
    APK = "apk"
    RPM = "rpm"
    PYTHON = "pypi"
    NPM = "npm"
    GOLANG = "golang"
    GO_STDLIB = "go-stdlib"
    JAVA = "maven"
    GEM = "gem"
    CARGO = "cargo"
    COMPOSER = "composer"
    NUGET = "nuget"

    @property
    def is_os(self) -> bool:
        return self in (PackageType.DEB, PackageType.APK, PackageType.RPM)


class FindingKind(enum.StrEnum):
    VULNERABILITY = "vulnerability"
    SECRET = "secret"
    MALWARE = "malware"
    CONFIG = "config"
    HYGIENE = "hygiene"


@dataclass(frozen=True)
class Layer:
    """One image layer: its compressed blob digest, its uncompressed diff_id and the history entry."""

    index: int
    diff_id: str
    digest: str | None = None
    size: int | None = None
    media_type: str | None = None
    created_by: str | None = None
    created: str | None = None


@fast_init
@dataclass(frozen=True)
class Location:
    """Where something was found: a path, optionally inside a layer, optionally a line range."""

    path: str
    layer_diff_id: str | None = None
    line: int | None = None
    end_line: int | None = None


@dataclass(frozen=True)
class OSInfo:
    """Detected operating system, e.g. family="debian", version="12", codename="bookworm"."""

    family: str
    version: str = ""
    codename: str = ""
    name: str = ""
    distroless: bool = False


@dataclass(frozen=True)
class Package:
    """One installed package.

    `name`/`version` are as the package manager reports them. For distro packages, `source_name`
    and `source_version` name the source package (what distro advisories are keyed on), `epoch`
    and `release` are split out for rpm. `locations` lists the files that declared the package;
    `layer` is the layer that introduced it.
    """

    name: str
    version: str
    type: PackageType
    purl: str = ""
    source_name: str = ""
    source_version: str = ""
    epoch: int | None = None
    release: str = ""
    arch: str = ""
    licenses: tuple[str, ...] = ()
    locations: tuple[Location, ...] = ()
    layer: Layer | None = None
    cataloger: str = ""
    extra: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Identity used to de-duplicate: type, name, version and the first declaring path."""
        first = self.locations[0].path if self.locations else ""
        return (self.type.value, self.name, self.version, first)


@fast_init
@dataclass(frozen=True)
class Finding:
    """One problem: a vulnerability, secret, malware hit, misconfiguration or hygiene issue."""

    id: str
    kind: FindingKind
    severity: Severity
    title: str
    description: str = ""
    package: Package | None = None
    location: Location | None = None
    aliases: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    fixed_versions: tuple[str, ...] = ()
    fix_state: str = ""
    remediation: str = ""
    extra: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    def at(self, location: Location | None, extra: Mapping[str, str]) -> Finding:
        """This finding with another location and extra map (`dataclasses.replace` in one step: a rule's
        findings are copies of one prototype, and a config scan makes tens of thousands)."""
        copy = object.__new__(Finding)
        copy.__dict__.update(self.__dict__, location=location, extra=extra)
        return copy


@dataclass(frozen=True)
class ArtifactInfo:
    """What was scanned: the reference as given, its kind and, for images, its digests and tags."""

    name: str
    kind: str
    digest: str | None = None
    config_digest: str | None = None
    repo_tags: tuple[str, ...] = ()
    architecture: str = ""
    os: str = ""
    created: str | None = None


@dataclass(frozen=True)
class Report:
    """Everything one scan produced."""

    artifact: ArtifactInfo
    os: OSInfo | None = None
    layers: tuple[Layer, ...] = ()
    packages: tuple[Package, ...] = ()
    findings: tuple[Finding, ...] = ()
    warnings: tuple[str, ...] = ()
    tool_version: str = ""
    generated_at: str = ""
