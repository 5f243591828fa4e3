"""SPDX document validation that stays fast for images with thousands of packages.

spdx-tools' `validate_full_spdx_document` is quadratic in the number of elements (every package and
relationship rebuilds the list of all SPDX ids and rescans all relationships): about 20 s for 2,000
packages. Small documents get exactly that validator. Larger ones get the same spdx-tools element
validators (creation info, package fields, external refs, license expressions against the document's
extracted licenses, extracted licensing infos) with the cross-reference checks done through a set.
The documents lashing writes contain no files or snippets, so those checks do not apply.
"""

from __future__ import annotations

from spdx_tools.spdx.model import Document, RelationshipType, SpdxNoAssertion, SpdxNone
from spdx_tools.spdx.validation.creation_info_validator import validate_creation_info
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
from spdx_tools.spdx.validation.extracted_licensing_info_validator import validate_extracted_licensing_infos
from spdx_tools.spdx.validation.license_expression_validator import validate_license_expression
from spdx_tools.spdx.validation.package_validator import validate_package
from spdx_tools.spdx.validation.spdx_id_validators import is_valid_internal_spdx_id
from spdx_tools.spdx.validation.validation_message import (
    SpdxElementType,
    ValidationContext,
    ValidationMessage,
)

FULL_VALIDATION_MAX_ELEMENTS = 300


def validate_document(document: Document) -> list[ValidationMessage]:
    """Validation messages for `document` (empty when valid)."""
    if len(document.packages) + len(document.relationships) <= FULL_VALIDATION_MAX_ELEMENTS:
        return validate_full_spdx_document(document)
    return validate_linear(document)


def validate_linear(document: Document) -> list[ValidationMessage]:
    """spdx-tools' element validators plus set-based id checks; for documents without files or snippets."""
    if document.files or document.snippets or document.annotations:
        return validate_full_spdx_document(document)
    version = document.creation_info.spdx_version
    doc_id = document.creation_info.spdx_id
    messages = list(validate_creation_info(document.creation_info, version))
    ids = {doc_id}
    for package in document.packages:
        context = ValidationContext(spdx_id=package.spdx_id, element_type=SpdxElementType.PACKAGE)
        if not is_valid_internal_spdx_id(package.spdx_id):
            messages.append(ValidationMessage(f"invalid package spdx_id: {package.spdx_id}", context))
        if package.spdx_id in ids:
            messages.append(ValidationMessage(f"duplicate spdx_id: {package.spdx_id}", context))
        ids.add(package.spdx_id)
        if package.license_info_from_files and not package.files_analyzed:
            messages.append(ValidationMessage("license_info_from_files needs files_analyzed", context))
        for expression in (package.license_concluded, package.license_declared):
            messages.extend(validate_license_expression(expression, document, package.spdx_id))
        messages.extend(validate_package(package, version, context))
    for relationship in document.relationships:
        context = ValidationContext(element_type=SpdxElementType.RELATIONSHIP, full_element=relationship)
        for ref in (relationship.spdx_element_id, relationship.related_spdx_element_id):
            if ref in (SpdxNone(), SpdxNoAssertion()):
                continue
            if ref not in ids:
                messages.append(ValidationMessage(f'did not find the referenced spdx_id "{ref}"', context))
    messages.extend(validate_extracted_licensing_infos(document.extracted_licensing_info))
    describes = any(
        r.relationship_type == RelationshipType.DESCRIBES and r.spdx_element_id == doc_id
        for r in document.relationships
    )
    if not describes and len(document.packages) != 1:
        context = ValidationContext(spdx_id=doc_id, element_type=SpdxElementType.DOCUMENT)
        messages.append(ValidationMessage(f'no "{doc_id} DESCRIBES ..." relationship', context))
    return messages
