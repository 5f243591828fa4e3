"""An existing SBOM as the scan input: CycloneDX JSON 1.2-1.7, SPDX 2.2/2.3 JSON and SPDX 2.x tag-value.

`is_sbom` sniffs the first bytes; `read_sbom` returns the inventory `Report` (artifact kind "sbom") that
the vulnerability matcher takes like an image's. Files are bounded (256 MiB, nesting depth, entry count)
and anything malformed raises `InvalidSbomError` with a one-line message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lashing.errors import LashingError
from lashing.model import Report

MAX_SBOM_BYTES = 256 * 1024**2
SNIFF_BYTES = 64 * 1024


class InvalidSbomError(LashingError):
    """The SBOM file is malformed, hostile, too large or of an unsupported format or version."""


def _head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(SNIFF_BYTES).removeprefix(b"\xef\xbb\xbf").lstrip()


def is_sbom(path: Path) -> bool:
    """Cheap sniff: a JSON object naming CycloneDX or SPDX 2 near its start, or an SPDX tag-value document."""
    try:
        head = _head(path)
    except OSError:
        return False
    if head.startswith(b"{"):
        return b'"CycloneDX"' in head or b'"spdxVersion"' in head
    return head.startswith((b"SPDXVersion:", b"##")) and b"SPDXVersion: SPDX-2" in head


def read_sbom(path: Path) -> Report:
    """The packages, OS and artifact an SBOM file describes; raises InvalidSbomError."""
    try:
        size = path.stat().st_size
        if size > MAX_SBOM_BYTES:
            raise InvalidSbomError(f"{path}: SBOM is larger than {MAX_SBOM_BYTES // 1024**2} MiB")
        data = path.read_bytes()[: MAX_SBOM_BYTES + 1]
    except OSError as exc:
        raise InvalidSbomError(f"{path}: cannot read SBOM: {exc.strerror or exc}") from None
    if len(data) > MAX_SBOM_BYTES:
        raise InvalidSbomError(f"{path}: SBOM is larger than {MAX_SBOM_BYTES // 1024**2} MiB")
    try:
        return _named(_read(path, data.removeprefix(b"\xef\xbb\xbf").lstrip()), path)
    except InvalidSbomError as exc:
        message = str(exc)
        raise InvalidSbomError(message if message.startswith(f"{path}:") else f"{path}: {message}") from None


def _read(path: Path, body: bytes) -> Report:
    if body.startswith((b"SPDXVersion:", b"##")):
        from lashing.sources.sbom.spdx import read_tag_value

        return read_tag_value(_decode(path, body))
    document = _load_json(path, body)
    if document.get("bomFormat") == "CycloneDX":
        from lashing.sources.sbom.cyclonedx import read_cyclonedx

        return read_cyclonedx(document)
    if "spdxVersion" in document:
        from lashing.sources.sbom.spdx import read_spdx_json

        return read_spdx_json(document)
    if "@context" in document and "spdx" in str(document.get("@context"))[:300].lower():
        raise InvalidSbomError(f"{path}: SPDX 3 (JSON-LD) is not supported; use SPDX 2.3 or CycloneDX")
    raise InvalidSbomError(f"{path}: not a CycloneDX or SPDX JSON document (no bomFormat or spdxVersion)")


def _decode(path: Path, body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidSbomError(f"{path}: SBOM is not UTF-8 (byte {exc.start})") from None


def _load_json(path: Path, body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(_decode(path, body))
    except json.JSONDecodeError as exc:
        raise InvalidSbomError(f"{path}: SBOM is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    except RecursionError:
        raise InvalidSbomError(f"{path}: SBOM JSON is nested too deeply") from None
    if not isinstance(document, dict):
        raise InvalidSbomError(f"{path}: SBOM JSON is not an object")
    return document


def _named(report: Report, path: Path) -> Report:
    """Fill the artifact name from the file name when the document names nothing."""
    if report.artifact.name:
        return report
    from dataclasses import replace

    return replace(report, artifact=replace(report.artifact, name=path.name))


__all__ = ["MAX_SBOM_BYTES", "InvalidSbomError", "is_sbom", "read_sbom"]
