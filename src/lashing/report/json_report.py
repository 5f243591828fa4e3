"""lashing's own JSON: the whole `Report` as pydantic serializes it, plus a schema version.

The document is the report's fields at top level with `schema_version` first. Enums serialize by
value: package types and finding kinds as strings ("deb", "vulnerability"), severities as their
ordered integer (0 unknown .. 4 critical) with a redundant `severity_name` beside each for people and
jq. Every package carries its `layer` (index, diff_id, digest, created_by). `load_report` reads it
back losslessly; unknown keys are ignored, so additions within a schema version stay readable.
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import IO, Any

from lashing.errors import LashingError
from lashing.model import Finding, Location, Package, Report, Severity
from lashing.report.interface import ReportFormat
from lashing.report.spool import FileRange, RangeWriter, coalesce

SCHEMA_VERSION = 1
MAX_REPORT_BYTES = 1024**3


@dataclass(frozen=True)
class _Document(Report):
    """A report as read back: every Report field plus the document's schema version."""

    schema_version: int = 0


@functools.cache
def _adapter(kind: type) -> Any:
    """pydantic's TypeAdapter for a model class, built on first use (each costs ~10-40 ms to build)."""
    from pydantic import TypeAdapter

    return TypeAdapter(kind)


def plain(value: Any) -> Any:
    """A model value as pydantic's JSON mode dumps it: dataclasses to dicts in field order, enums to their
    values, tuples to lists. Used where a report is written item by item (see write_report_stream)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    return value


def report_to_dict(report: Report) -> dict[str, Any]:
    """The JSON-ready document (plain dicts, lists, strings, numbers)."""
    body = _adapter(Report).dump_python(report, mode="json")
    for finding in body["findings"]:
        finding["severity_name"] = Severity(finding["severity"]).name
    return {"schema_version": SCHEMA_VERSION, **body}


def dump_report(report: Report, indent: int | None = 2) -> str:
    """The document as a JSON string (UTF-8 characters kept, not escaped)."""
    return json.dumps(report_to_dict(report), indent=indent, ensure_ascii=False)


def load_report(data: bytes | str) -> Report:
    """Read a document written by `dump_report`; raises LashingError when it is not one."""
    if len(data) > MAX_REPORT_BYTES:
        raise LashingError(f"report is larger than {MAX_REPORT_BYTES} bytes")
    from pydantic import ValidationError

    try:
        doc = _adapter(_Document).validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0] if exc.error_count() else {}
        where = ".".join(str(part) for part in first.get("loc", ())) or "document"
        raise LashingError(f"not a lashing JSON report: {where}: {first.get('msg', 'invalid')}") from None
    if doc.schema_version != SCHEMA_VERSION:
        found = doc.schema_version
        raise LashingError(f"unsupported lashing report schema_version {found}, want {SCHEMA_VERSION}")
    return Report(**{f.name: getattr(doc, f.name) for f in fields(Report)})


_ITEMS = ("packages", "findings")


SEPARATOR = ",\n    "  # before every finding but the first in the document's findings list


def write_report_stream(report: Report, stream: IO[str],
                        findings_json: Iterable[str | FileRange] | None = None) -> None:
    """Write the same document as `dump_report` (byte for byte) one package and finding at a time, so
    memory stays flat however many findings a scan produced. `findings_json`, when given, are the
    report's findings already encoded by `finding_json`, in report order, as pieces of one or more findings
    each *preceded by SEPARATOR*: text, or a range of a spool file holding that text (copied by the
    kernel); they are written in place of `report.findings`."""
    if findings_json is not None and report.findings:
        raise ValueError("give the findings either in the report or already encoded, not both")
    head = plain(replace(report, packages=(), findings=()))
    stream.write('{\n  "schema_version": ' + json.dumps(SCHEMA_VERSION))
    for key, value in head.items():
        stream.write(",\n  " + json.dumps(key) + ": ")
        items = getattr(report, key) if key in _ITEMS else None
        encoded: Iterable[str] = ()
        if items:
            encoded = map(finding_json if key == "findings" else _package_json, items)
        first = True
        if key == "findings" and findings_json is not None and not items:
            first = not _write_pieces(stream, findings_json)
        for text in encoded:
            stream.write(("[\n    " if first else SEPARATOR) + text)
            first = False
        if first:  # nothing written: the value as dump_report writes it
            stream.write(json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  "))
        else:
            stream.write("\n  ]")
    stream.write("\n}\n")


def _write_pieces(stream: IO[str], pieces: Iterable[str | FileRange]) -> bool:
    """Pieces of encoded findings (each starting with SEPARATOR); the first one's comma becomes the list's
    opening bracket. Whether anything was written."""
    writer: RangeWriter | None = None
    first = True
    for piece in coalesce(pieces):
        if writer is None:
            writer = RangeWriter(stream)
        if isinstance(piece, str):
            writer.write("[" + piece[1:] if first else piece)
        elif first:
            writer.write("[")
            writer.copy(FileRange(piece.path, piece.offset + 1, piece.length - 1))
        else:
            writer.copy(piece)
        first = False
    if writer is not None:
        writer.close()
    return not first


def _package_json(package: Package) -> str:
    return _nested(_adapter(Package).dump_python(package, mode="json"), 4)


def _finding_json_slow(finding: Finding, reference: bool = False) -> str:
    """One finding by the generic path: pydantic-core's encoder, or (`reference`) json's own, which
    dump_report uses (the same bytes; json's is slower when indenting but needs no import)."""
    body = plain(finding)
    body["severity_name"] = finding.severity.name
    if reference:
        return json.dumps(body, indent=2, ensure_ascii=False).replace("\n", "\n    ")
    return _nested(body, 4)


# A finding without a package is its rule's constant fields around two variable ones (location, extra):
# a config scan writes tens of thousands of them from a few hundred rules. The constant text is cut out
# of the generic encoding once per rule (so both paths give the same bytes) and reused.
_TEMPLATES: dict[tuple[Any, ...], tuple[str, str, str]] = {}
_TEMPLATE_LIMIT = 4096
_LOCATION_MARK = '"location": null'
_EXTRA_MARK = '"extra": {}'
_encode_str = json.encoder.encode_basestring  # the C encoder; non-ASCII kept, as ensure_ascii=False


def _template(finding: Finding) -> tuple[str, str, str]:
    key = (finding.id, finding.kind, finding.severity, finding.title, finding.description, finding.aliases,
           finding.references, finding.fixed_versions, finding.fix_state, finding.remediation)
    found = _TEMPLATES.get(key)
    if found is None:
        text = _finding_json_slow(replace(finding, location=None, extra={}), reference=True)
        head, rest = text.split(_LOCATION_MARK)
        middle, tail = rest.split(_EXTRA_MARK)
        found = (head + '"location": ', middle + '"extra": ', tail)
        if len(_TEMPLATES) >= _TEMPLATE_LIMIT:
            _TEMPLATES.clear()
        _TEMPLATES[key] = found
    return found


_LOCATION_HEADS: dict[Any, str] = {}  # (path, layer) -> the location's text up to its line


def _location_json(location: Location | None) -> str:
    if location is None:
        return "null"
    return _location_text(location.path, location.layer_diff_id, location.line, location.end_line)


def _location_text(path: str, layer: str | None, line: int | None, end: int | None) -> str:
    head = _LOCATION_HEADS.get(path if layer is None else (path, layer)) or _location_head(path, layer)
    return (f'{head}{"null" if line is None else int(line)},\n        "end_line": '
            f'{"null" if end is None else int(end)}\n      }}')


def _location_head(path: str, layer: str | None) -> str:
    """A location's text up to its line, cached per (path, layer)."""
    head = ('{\n        "path": ' + _encode_str(path) + ',\n        "layer_diff_id": '
            + ("null" if layer is None else _encode_str(layer)) + ',\n        "line": ')
    if len(_LOCATION_HEADS) >= _TEMPLATE_LIMIT:
        _LOCATION_HEADS.clear()
    _LOCATION_HEADS[path if layer is None else (path, layer)] = head
    return head


def finding_json(finding: Finding) -> str:
    """One finding as `write_report_stream` writes it (its rule's cached template when it can)."""
    return "".join(finding_json_parts(finding))


def finding_json_parts(finding: Finding) -> tuple[str, ...]:
    """`finding_json` in pieces to be joined: the rule's constant pieces are the same string objects for
    every finding of the rule, so findings held in this form share them (and one pickle, e.g. a chunk of a
    scan worker's results, carries each of them once)."""
    if finding.package is not None or not isinstance(finding.location, Location | None):
        return (_finding_json_slow(finding),)
    try:
        head, middle, tail = _template(finding)
    except (TypeError, ValueError):  # an unhashable or odd field: the generic path
        return (_finding_json_slow(finding),)
    return head, _location_json(finding.location), middle, _extra_json(finding.extra), tail


# (path, line, end_line, extra, extra_json(extra)) -> a finding's text; see located_writer
LocatedWriter = Callable[[str, "int | None", "int | None", Mapping[str, Any], str], str]
_WRITERS: dict[int, tuple[Finding, LocatedWriter]] = {}  # id(prototype) -> (prototype, its writer)


def located_writer(prototype: Finding) -> LocatedWriter:
    """A function giving `finding_json(prototype.at(Location(path, line=line, end_line=end_line), extra))`
    from (path, line, end_line, extra, extra_json(extra)) without building that finding: a rule's findings
    are copies of one prototype, and a config scan encodes tens of thousands of them."""
    found = _WRITERS.get(id(prototype))
    if found is None or found[0] is not prototype:
        found = (prototype, _writer(prototype))
        if len(_WRITERS) >= _TEMPLATE_LIMIT:
            _WRITERS.clear()
        _WRITERS[id(prototype)] = found
    return found[1]


def _writer(prototype: Finding) -> LocatedWriter:
    parts = None
    if prototype.package is None:
        try:
            parts = _template(prototype)
        except (TypeError, ValueError):  # an unhashable or odd field: the generic path
            parts = None
    if parts is None:
        def generic(path: str, line: int | None, end: int | None, extra: Mapping[str, Any], _text: str) -> str:
            return _finding_json_slow(prototype.at(Location(path, line=line, end_line=end), extra))

        return generic
    head, middle, tail = parts
    heads = _LOCATION_HEADS

    def write(path: str, line: int | None, end: int | None, _extra: Mapping[str, Any], extra_text: str) -> str:
        location = heads.get(path) or _location_head(path, None)
        return (f'{head}{location}{"null" if line is None else int(line)},\n        "end_line": '
                f'{"null" if end is None else int(end)}\n      }}{middle}{extra_text}{tail}')

    return write


def extra_json(extra: Any) -> str:
    """A finding's extra map as the JSON report writes it (nested in the finding)."""
    return _extra_json(extra)


_EXTRAS: dict[tuple[Any, ...], str] = {}  # a config scan's extras repeat per container: resource, source, name


def _extra_json(extra: Any) -> str:
    if not extra:
        return "{}"
    try:
        key = tuple(extra.items())
        found = _EXTRAS.get(key)
    except TypeError:  # an unhashable value
        key, found = (), None
    if found is not None:
        return found
    try:
        text = "{\n        " + ",\n        ".join(_encode_str(k) + ": " + _encode_str(v) for k, v in extra.items()) \
            + "\n      }"
    except TypeError:  # a value that is not text
        return _nested(dict(extra), 6)
    if key:
        if len(_EXTRAS) >= _TEMPLATE_LIMIT:
            _EXTRAS.clear()
        _EXTRAS[key] = text
    return text


def _nested(value: Any, depth: int = 2) -> str:
    """`value` as json.dumps(indent=2) renders it when nested `depth` spaces deep. pydantic-core's Rust
    encoder gives the same bytes ten times faster (json's C encoder is not used when indenting)."""
    import pydantic_core

    try:
        text = pydantic_core.to_json(value, indent=2).decode()
    except (ValueError, UnicodeError, pydantic_core.PydanticSerializationError):  # e.g. lone surrogates
        text = json.dumps(value, indent=2, ensure_ascii=False)
    return text.replace("\n", "\n" + " " * depth)


class JsonFormat(ReportFormat):
    name = "json"
    description = "lashing's own JSON (every field, layer attribution, round-trips with load_report)"

    def write(self, report: Report, stream: IO[str]) -> None:
        write_report_stream(report, stream)
