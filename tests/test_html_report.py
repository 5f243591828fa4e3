"""The HTML report: self-contained, every value escaped, findings grouped, compliance and warnings shown."""

from __future__ import annotations

import io
from html.parser import HTMLParser

from lashing.analyzers.cluster.compliance import ControlResult
from lashing.model import (
    ArtifactInfo,
    Finding,
    FindingKind,
    Layer,
    Location,
    Package,
    PackageType,
    Report,
    Severity,
)
from lashing.report import get_format
from lashing.report.html import HtmlFormat

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>&amp;"\''


class Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.stack: list[str] = []
        self.rows_by_table: dict[str, int] = {}
        self._table: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "table":
            self._table.append(attributes.get("class") or "")
        if tag == "tr" and self._table:
            self.rows_by_table[self._table[-1]] = self.rows_by_table.get(self._table[-1], 0) + 1

    def handle_endtag(self, tag):
        if tag == "table" and self._table:
            self._table.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(text: str) -> Collector:
    parser = Collector()
    parser.feed(text)
    parser.close()
    return parser


def render(report: Report, **kwargs) -> str:
    stream = io.StringIO()
    HtmlFormat(**kwargs).write(report, stream)
    return stream.getvalue()


def image_report() -> Report:
    pkg = Package(EVIL, "1.0", PackageType.NPM, purl="pkg:npm/x@1.0")
    return Report(
        artifact=ArtifactInfo(name=f"registry.example.com/{EVIL}:1", kind="image", digest="sha256:abc"),
        layers=(Layer(0, "sha256:aaa"),), packages=(pkg,),
        findings=(
            Finding("CVE-2024-0001", FindingKind.VULNERABILITY, Severity.CRITICAL, EVIL, package=pkg,
                    fixed_versions=("1.1",), aliases=("GHSA-xxxx",)),
            Finding("LSH-SECRET-AWS", FindingKind.SECRET, Severity.HIGH, "AWS key",
                    location=Location(f"/app/{EVIL}", line=3, layer_diff_id="sha256:aaa")),
            Finding("LSH-K8S-PRIVILEGED", FindingKind.CONFIG, Severity.HIGH, "Privileged",
                    location=Location("deploy.yaml", line=9), extra={"resource": f"Deployment/ns/{EVIL}"}),
            Finding("LSH-K8S-CPU-LIMIT", FindingKind.CONFIG, Severity.LOW, "No CPU limit",
                    location=Location("deploy.yaml", line=12), extra={"resource": f"Deployment/ns/{EVIL}"}),
        ),
        warnings=(f"warning {EVIL}",), tool_version="0.0.0", generated_at="2025-01-01T00:00:00Z",
    )


def test_every_value_escaped_and_no_active_content():
    text = render(image_report(), compliance=[ControlResult(EVIL, EVIL, "fail")], framework=EVIL,
                  images={EVIL: [EVIL]})
    parsed = parse(text)
    tags = [t for t, _ in parsed.tags]
    assert "script" not in tags and "img" not in tags and "link" not in tags
    assert not any(k.startswith("on") for _, attrs in parsed.tags for k in attrs)
    assert not any(v and ("http://" in v or "https://" in v) for _, attrs in parsed.tags for v in attrs.values())
    body = "".join(parsed.text)
    assert body.count('<script>alert("x")</script>') >= 6  # the hostile text survives as text, everywhere
    assert "&lt;script&gt;" in text and "<script>" not in text


def test_structure_summary_groups_compliance_and_warnings():
    parsed = parse(render(image_report(), compliance=[ControlResult("5.2.1", "Privileged", "fail"),
                                                      ControlResult("5.2.2", "hostPID", "pass")], framework="cis"))
    ids = {attrs.get("id") for _, attrs in parsed.tags}
    assert {"summary", "findings", "compliance", "warnings"} <= ids
    body = "".join(parsed.text)
    assert "CRITICAL" in body and "Total" in body
    # one table per finding kind; the two config findings of one resource share one group cell
    assert parsed.rows_by_table["findings"] == 3 + 4  # 3 header rows (one per kind) + 4 findings
    rowspans = [attrs.get("rowspan") for tag, attrs in parsed.tags if tag == "td" and attrs.get("rowspan")]
    assert sorted(rowspans) == ["1", "1", "2"]
    assert parsed.rows_by_table["compliance"] == 3
    assert parsed.rows_by_table["summary"] == 2


def test_any_report_empty_and_registered():
    empty = Report(artifact=ArtifactInfo(name="x", kind="fs"))
    text = render(empty)
    parsed = parse(text)
    assert text.startswith("<!DOCTYPE html>") and "No findings." in "".join(parsed.text)
    assert "compliance" not in {attrs.get("id") for _, attrs in parsed.tags}
    assert get_format("html").name == "html"
