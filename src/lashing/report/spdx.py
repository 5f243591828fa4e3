"""SPDX 2.3 JSON through spdx-tools, validated before it is written.

The document DESCRIBES the image (a package of purpose CONTAINER), which CONTAINS the OS (purpose
OPERATING_SYSTEM) and every package. Packages carry their purl as a PACKAGE-MANAGER external ref; the
layer and location facts that SPDX 2.3 has no field for go into the package comment as
`lashing:<key>=<value>` lines (the same names as the CycloneDX properties). License strings that are
not valid SPDX expressions become `LicenseRef-` entries with the original text as extracted text.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable
from typing import IO

from spdx_tools.common.spdx_licensing import spdx_licensing
from spdx_tools.spdx.model import (
    Actor,
    ActorType,
    CreationInfo,
    Document,
    ExternalPackageRef,
    ExternalPackageRefCategory,
    ExtractedLicensingInfo,
    Package,
    PackagePurpose,
    Relationship,
    RelationshipType,
    SpdxNoAssertion,
)
from spdx_tools.spdx.validation.uri_validators import validate_url
from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream

from lashing import __version__
from lashing.errors import LashingError
from lashing.model import Package as LashingPackage
from lashing.model import Report
from lashing.report._common import digest_hex, package_ids, package_purl, report_time
from lashing.report._spdx_check import validate_document
from lashing.report.interface import ReportFormat

DOCUMENT_ID = "SPDXRef-DOCUMENT"
IMAGE_ID = "SPDXRef-Image"
OS_ID = "SPDXRef-OperatingSystem"
NAMESPACE_BASE = "https://lashing.dev/spdxdocs"


def slug(text: str, limit: int = 48) -> str:
    """Text reduced to the characters an SPDX id allows (letters, digits, '.', '-'); never empty."""
    value = re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-.")[:limit].strip("-.")
    return value or "x"


class _Licenses:
    """Turns license strings into SPDX expressions, collecting LicenseRef- texts for the rest."""

    def __init__(self) -> None:
        self.extracted: dict[str, ExtractedLicensingInfo] = {}

    def _term(self, value: str) -> str:
        try:
            if not spdx_licensing.validate(value).errors:
                return f"({value})"
        except Exception:  # license_expression can crash on odd input; such a value is not SPDX
            pass
        digest = hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:8]
        ref = f"LicenseRef-{slug(value, 40)}-{digest}"
        if ref not in self.extracted:
            self.extracted[ref] = ExtractedLicensingInfo(ref, extracted_text=value, license_name=value)
        return ref

    def declared(self, values: Iterable[str]):  # -> license_expression.LicenseExpression | SpdxNoAssertion
        terms = [self._term(v) for v in values if v.strip()]
        return spdx_licensing.parse(" AND ".join(terms)) if terms else SpdxNoAssertion()


def _comment(pairs: Iterable[tuple[str, object]]) -> str | None:
    lines = [f"{key}={' '.join(str(value).split())}" for key, value in pairs if value not in (None, "")]
    return "\n".join(lines) or None


def spdx_package(pkg: LashingPackage, spdx_id: str, licenses: _Licenses) -> Package:
    """One lashing package as an SPDX package (files not analyzed; declared licenses only)."""
    purl = package_purl(pkg)
    category = ExternalPackageRefCategory.PACKAGE_MANAGER
    locator = pkg.purl if pkg.purl.isprintable() and " " not in pkg.purl else purl and purl.to_string()
    refs = [ExternalPackageRef(category, "purl", locator)] if purl and locator else []
    layer = pkg.layer
    pairs: list[tuple[str, object]] = [("lashing:package:type", pkg.type.value)]
    if layer is not None:
        pairs += [
            ("lashing:layer:index", layer.index), ("lashing:layer:diff_id", layer.diff_id),
            ("lashing:layer:digest", layer.digest), ("lashing:layer:created_by", layer.created_by),
        ]
    pairs += [("lashing:location:path", loc.path) for loc in pkg.locations]
    pairs += [
        ("lashing:package:source_name", pkg.source_name),
        ("lashing:package:source_version", pkg.source_version),
        ("lashing:package:arch", pkg.arch), ("lashing:cataloger", pkg.cataloger),
    ]
    where = ", ".join("/" + loc.path.lstrip("/") for loc in pkg.locations[:8]) or "the image"
    homepage = pkg.extra.get("homepage", "")
    return Package(
        spdx_id=spdx_id,
        name=pkg.name if pkg.name.strip() else "unknown",
        version=pkg.version or None,
        download_location=SpdxNoAssertion(),
        supplier=SpdxNoAssertion(),
        files_analyzed=False,
        homepage=homepage if homepage and not validate_url(homepage) else None,
        source_info=f"found by lashing {pkg.cataloger or pkg.type.value} in {where}",
        license_concluded=SpdxNoAssertion(),
        license_declared=licenses.declared(pkg.licenses),
        copyright_text=SpdxNoAssertion(),
        external_references=refs,
        comment=_comment(pairs),
        primary_package_purpose=PackagePurpose.LIBRARY,
    )


def build_document(report: Report) -> Document:
    """The report as an spdx-tools `Document` (not validated)."""
    art = report.artifact
    hex_digest = digest_hex(art.digest) or "nodigest"
    namespace = f"{NAMESPACE_BASE}/{slug(art.name)}-{hex_digest}-{uuid.uuid4()}"
    creation = CreationInfo(
        spdx_version="SPDX-2.3", spdx_id=DOCUMENT_ID, name=art.name if art.name.strip() else "unnamed",
        document_namespace=namespace,
        creators=[Actor(ActorType.TOOL, f"lashing-{report.tool_version or __version__}")],
        created=report_time(report),
    )
    image = Package(
        spdx_id=IMAGE_ID, name=art.name if art.name.strip() else "unnamed", version=art.digest or None,
        download_location=SpdxNoAssertion(), files_analyzed=False,
        primary_package_purpose=PackagePurpose.CONTAINER if art.kind != "directory" else PackagePurpose.FILE,
        comment=_comment([
            ("lashing:image:kind", art.kind), ("lashing:image:config_digest", art.config_digest),
            ("lashing:image:architecture", art.architecture), ("lashing:image:os", art.os),
            *(("lashing:image:repo_tag", tag) for tag in art.repo_tags),
        ]),
    )
    packages = [image]
    relationships = [Relationship(DOCUMENT_ID, RelationshipType.DESCRIBES, IMAGE_ID)]
    if report.os is not None:
        osi = report.os
        packages.append(Package(
            spdx_id=OS_ID, name=osi.family or "unknown", version=osi.version or None,
            download_location=SpdxNoAssertion(), files_analyzed=False, description=osi.name or None,
            primary_package_purpose=PackagePurpose.OPERATING_SYSTEM,
            comment=_comment([
                ("lashing:os:codename", osi.codename), ("lashing:os:distroless", str(osi.distroless).lower()),
            ]),
        ))
        relationships.append(Relationship(IMAGE_ID, RelationshipType.CONTAINS, OS_ID))
    licenses = _Licenses()
    for pkg, package_id in zip(report.packages, package_ids(report.packages), strict=True):
        spdx_id = f"SPDXRef-Package-{slug(pkg.type.value, 16)}-{slug(pkg.name)}-{package_id}"
        packages.append(spdx_package(pkg, spdx_id, licenses))
        relationships.append(Relationship(IMAGE_ID, RelationshipType.CONTAINS, spdx_id))
    return Document(
        creation_info=creation, packages=packages, relationships=relationships,
        extracted_licensing_info=list(licenses.extracted.values()),
    )


def validated_document(report: Report) -> Document:
    """The document, checked with spdx-tools' validators; raises LashingError when it is invalid."""
    document = build_document(report)
    messages = validate_document(document)
    if messages:
        raise LashingError(
            f"generated SPDX document is invalid ({len(messages)} problems): {messages[0].validation_message}"
        )
    return document


class SpdxJsonFormat(ReportFormat):
    name = "spdx-json"
    description = "SPDX 2.3 JSON SBOM (validated with spdx-tools before writing)"

    def write(self, report: Report, stream: IO[str]) -> None:
        write_document_to_stream(validated_document(report), stream, validate=False)
        stream.write("\n")
