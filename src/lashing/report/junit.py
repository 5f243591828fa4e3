"""JUnit XML for CI test-report widgets (GitLab `artifacts:reports:junit`, Jenkins `junit`, Azure, CircleCI).

The shape is the common denominator those tools read: `testsuites/testsuite/testcase/failure`.

* One `testsuite` per file: the finding's location path (for a package, the first file that declared
  it), else the scanned artifact's name.
* One `testcase` per (rule, resource) for configuration and secret findings (`classname` is the file,
  `name` is `RULE-ID resource`), and one per package for vulnerabilities (`name` is `name@version`), so
  a CI dashboard tracks the same test across runs.
* Each testcase holds exactly one `failure` (several findings on one testcase are listed in its text):
  `type` is the highest severity, `message` a one-line summary.
* Only failing testcases are written: passing rules are not part of a Report.
Output is deterministic: suites sorted by name, testcases by name.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import IO

from lashing.model import Finding, FindingKind, Report
from lashing.report.interface import ReportFormat

# XML 1.0 cannot carry these even escaped; findings quote arbitrary file content.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MAX_TEXT = 4000


def _clean(text: str, limit: int = MAX_TEXT) -> str:
    text = _INVALID_XML.sub("\ufffd", text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _suite_name(finding: Finding, report: Report) -> str:
    if finding.location is not None and finding.location.path:
        return finding.location.path
    if finding.package is not None and finding.package.locations:
        return finding.package.locations[0].path
    return report.artifact.name or "artifact"


def _case_name(finding: Finding) -> str:
    if finding.kind is FindingKind.VULNERABILITY and finding.package is not None:
        return f"{finding.package.name}@{finding.package.version}"
    resource = finding.extra.get("resource", "")
    return f"{finding.id} {resource}".strip()


def _line(finding: Finding) -> str:
    where = ""
    if finding.location is not None:
        where = finding.location.path + (f":{finding.location.line}" if finding.location.line else "")
    parts = [f"[{finding.severity.name}] {finding.id}: {finding.title}"]
    if finding.extra.get("container"):
        parts.append(f"container {finding.extra['container']}")
    if finding.fixed_versions:
        parts.append(f"fixed in {', '.join(finding.fixed_versions)}")
    if where:
        parts.append(f"at {where}")
    return " - ".join(parts)


def _failure(case: ET.Element, findings: list[Finding]) -> None:
    worst = max(findings, key=lambda f: f.severity)
    if worst.kind is FindingKind.VULNERABILITY:
        ids = sorted({f.id for f in findings})
        message = f"{len(ids)} vulnerabilit{'y' if len(ids) == 1 else 'ies'}: {', '.join(ids)}"
    else:
        message = f"{worst.title}" + (f" ({len(findings)} occurrences)" if len(findings) > 1 else "")
    body = []
    for finding in findings:
        body.append(_line(finding))
        if finding.remediation:
            body.append(f"  remediation: {finding.remediation}")
    failure = ET.SubElement(case, "failure", message=_clean(message, 500), type=worst.severity.name)
    failure.text = _clean("\n".join(body))


def build(report: Report) -> ET.Element:
    """The `testsuites` element for a report."""
    suites: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for finding in report.findings:
        suites[_suite_name(finding, report)][_case_name(finding)].append(finding)
    total_cases = sum(len(cases) for cases in suites.values())
    root = ET.Element("testsuites", name=f"lashing {report.artifact.kind} scan".strip(), tests=str(total_cases),
                      failures=str(total_cases), errors="0", skipped="0", time="0")
    for index, suite_name in enumerate(sorted(suites)):
        cases = suites[suite_name]
        attrs = {"name": _clean(suite_name, 1000), "id": str(index), "tests": str(len(cases)),
                 "failures": str(len(cases)), "errors": "0", "skipped": "0", "time": "0"}
        if report.generated_at:
            attrs["timestamp"] = report.generated_at.rstrip("Z")
        suite = ET.SubElement(root, "testsuite", attrs)
        for case_name in sorted(cases):
            case = ET.SubElement(suite, "testcase", name=_clean(case_name, 1000), classname=_clean(suite_name, 1000),
                                 time="0")
            _failure(case, cases[case_name])
    if report.warnings:
        if not len(root):  # a suite to carry the warnings (system-err belongs to a testsuite)
            ET.SubElement(root, "testsuite", name=_clean(report.artifact.name or "artifact", 1000), id="0",
                          tests="0", failures="0", errors="0", skipped="0", time="0")
        out = ET.SubElement(root[0], "system-err")
        out.text = _clean("\n".join(report.warnings))
    return root


class JunitFormat(ReportFormat):
    name = "junit"
    description = "JUnit XML: one testsuite per file, one failing testcase per rule and resource (or package)"

    def write(self, report: Report, stream: IO[str]) -> None:
        root = build(report)
        ET.indent(root)
        stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        stream.write(ET.tostring(root, encoding="unicode"))
        stream.write("\n")
