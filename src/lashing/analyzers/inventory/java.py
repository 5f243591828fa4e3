"""Java archives (jar, war, ear, Jenkins jpi/hpi): Maven coordinates of everything packed inside.

Every `META-INF/maven/<group>/<artifact>/pom.properties` names one artifact (a shaded jar holds
several). An archive without any falls back to its MANIFEST.MF and file name. Archives nested in
archives (`WEB-INF/lib`, `BOOT-INF/lib`, jars in jars) are read from memory, bounded in depth, in
total inflated bytes and in entries, so a zip bomb costs at most those bounds.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field

from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.analyzers.inventory._common import purl
from lashing.model import Package, PackageType

ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".jpi", ".hpi")
MAX_DEPTH = 4
MAX_NESTED_BYTES = 256 * 1024 * 1024
MAX_TEXT = 1024 * 1024
MAX_ENTRIES = 100_000
MAX_ARCHIVES = 10_000
MAX_WARNINGS = 20
_VERSION = re.compile(r"\d[0-9A-Za-z]*(?:[.\-_+][0-9A-Za-z]+)*")
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, NotImplementedError)


@dataclass
class _Walk:
    """State of one top-level archive: bytes left for nested archives, warnings, packages found."""

    nested_bytes: int = field(default_factory=lambda: MAX_NESTED_BYTES)
    archives_left: int = field(default_factory=lambda: MAX_ARCHIVES)
    warnings: list[str] = field(default_factory=list)
    packages: list[Package] = field(default_factory=list)


def split_file_name(file_name: str) -> tuple[str, str]:
    """`commons-lang3-3.12.0.jar` -> ("commons-lang3", "3.12.0"); ("stem", "") when no version shows."""
    stem = file_name.rsplit("/", 1)[-1]
    stem = stem[: stem.rfind(".")] if "." in stem else stem
    fallback = None
    for match in reversed(list(re.finditer(r"-(?=\d)", stem))):
        cut = match.start()
        version = stem[cut + 1 :]
        if cut > 0 and _VERSION.fullmatch(version):
            if "." in version:
                return stem[:cut], version
            fallback = fallback or (stem[:cut], version)
    return fallback or (stem, "")


def parse_properties(raw: bytes) -> dict[str, str]:
    """Java .properties subset: `key=value` / `key: value` lines, `#`/`!` comments."""
    out: dict[str, str] = {}
    for line in raw.decode("latin-1").splitlines():
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        match = re.match(r"([^=:\s]+)\s*[=:\s]\s*(.*)", line)
        if match:
            out[match.group(1)] = match.group(2).strip()
    return out


def parse_manifest(raw: bytes) -> dict[str, str]:
    """The main section of a MANIFEST.MF, continuation lines joined."""
    out: dict[str, str] = {}
    last = None
    for line in raw.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line:
            if out:
                break
            continue
        if line.startswith(" ") and last is not None:
            out[last] += line[1:]
        elif ":" in line:
            key, _, value = line.partition(":")
            last = key.strip()
            out[last] = value.strip()
    return out


class JavaArchiveAnalyzer(Analyzer):
    """Catalog Maven artifacts in Java archives, recursing into nested archives."""

    name = "java-archive"
    version = 1
    max_size = 512 * 1024 * 1024

    def required(self, path: str, info: FileInfo) -> bool:
        return path.lower().endswith(ARCHIVE_SUFFIXES)

    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        state = _Walk()
        self._walk(item.content, item.path.rsplit("/", 1)[-1], "", 0, state)
        warnings = state.warnings[:MAX_WARNINGS]
        if len(state.warnings) > MAX_WARNINGS:
            warnings.append(f"{len(state.warnings) - MAX_WARNINGS} more warnings not shown")
        return AnalysisResult(packages=tuple(state.packages), warnings=tuple(warnings))

    def _walk(self, data: bytes, file_name: str, inner: str, depth: int, state: _Walk) -> None:
        label = inner or file_name
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except _ZIP_ERRORS:
            state.warnings.append(f"{label}: not a readable zip archive")
            return
        with archive:
            members = archive.infolist()
            if len(members) > MAX_ENTRIES:
                state.warnings.append(f"{label}: {len(members)} entries, over the bound of {MAX_ENTRIES}")
                return
            found = []
            for member in members:
                if member.filename.startswith("META-INF/maven/") and member.filename.endswith(
                    "/pom.properties"
                ):
                    raw = _read(archive, member, MAX_TEXT, state, label)
                    pkg = (
                        self._from_pom(parse_properties(raw), member.filename, inner)
                        if raw is not None
                        else None
                    )
                    if pkg is not None:
                        found.append(pkg)
            if not found:
                pkg = self._from_manifest(archive, file_name, inner, state, label)
                found.extend([pkg] if pkg is not None else [])
            state.packages.extend(found)
            for member in members:
                if not member.is_dir() and member.filename.lower().endswith(ARCHIVE_SUFFIXES):
                    self._nested(archive, member, inner, depth, state, label)

    def _nested(
        self,
        archive: zipfile.ZipFile,
        member: zipfile.ZipInfo,
        inner: str,
        depth: int,
        state: _Walk,
        label: str,
    ) -> None:
        nested = f"{inner}!/{member.filename}" if inner else member.filename
        if depth + 1 > MAX_DEPTH:
            state.warnings.append(f"{nested}: nested deeper than {MAX_DEPTH} archives, not read")
            return
        if state.archives_left <= 0:
            state.warnings.append(f"{nested}: over {MAX_ARCHIVES} nested archives, not read")
            return
        if member.file_size > state.nested_bytes:
            state.warnings.append(f"{nested}: nested archives over {MAX_NESTED_BYTES} bytes in all, not read")
            return
        raw = _read(archive, member, state.nested_bytes, state, label)
        if raw is not None:
            state.nested_bytes -= len(raw)
            state.archives_left -= 1
            self._walk(raw, member.filename.rsplit("/", 1)[-1], nested, depth + 1, state)

    def _from_pom(self, props: dict[str, str], member: str, inner: str) -> Package | None:
        parts = member.split("/")
        group = props.get("groupId") or (parts[2] if len(parts) == 5 else "")
        artifact = props.get("artifactId") or (parts[3] if len(parts) == 5 else "")
        version = props.get("version", "")
        if not artifact or not version:
            return None
        return self._package(group, artifact, version, inner, "pom.properties")

    def _from_manifest(
        self, archive: zipfile.ZipFile, file_name: str, inner: str, state: _Walk, label: str
    ) -> Package | None:
        manifest: dict[str, str] = {}
        try:
            member = archive.getinfo("META-INF/MANIFEST.MF")
        except KeyError:
            member = None
        if member is not None:
            raw = _read(archive, member, MAX_TEXT, state, label)
            manifest = parse_manifest(raw) if raw is not None else {}
        stem, file_version = split_file_name(file_name)
        version = manifest.get("Implementation-Version") or manifest.get("Bundle-Version") or file_version
        name = stem if file_version else ""
        name = name or manifest.get("Bundle-SymbolicName", "").split(";")[0].strip()
        name = name or manifest.get("Implementation-Title", "") or stem
        if not name or not version:
            return None
        return self._package("", name, version, inner, "manifest" if manifest else "file name")

    def _package(self, group: str, artifact: str, version: str, inner: str, evidence: str) -> Package:
        extra = {"artifact_id": artifact, "evidence": evidence}
        if group:
            extra["group_id"] = group
        if inner:
            extra["archive_path"] = inner
        return Package(
            name=f"{group}:{artifact}" if group else artifact,
            version=version,
            type=PackageType.JAVA,
            purl=purl("maven", artifact, version, namespace=group or None),
            cataloger=self.name,
            extra=extra,
        )


def _read(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, limit: int, state: _Walk, label: str
) -> bytes | None:
    """Inflate one member, never more than `limit` bytes (headers may lie about sizes)."""
    try:
        with archive.open(member) as handle:
            data = handle.read(limit + 1)
    except (*_ZIP_ERRORS, RuntimeError) as exc:
        state.warnings.append(f"{label}: {member.filename}: unreadable ({type(exc).__name__})")
        return None
    if len(data) > limit:
        state.warnings.append(f"{label}: {member.filename}: over {limit} bytes inflated, not read")
        return None
    return data
