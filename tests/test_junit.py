"""JUnit XML: the testsuites/testsuite/testcase/failure shape GitLab, Jenkins and Azure read."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import typer
from typer.testing import CliRunner

from lashing.cli.config import config, rules
from lashing.model import ArtifactInfo, Finding, FindingKind, Location, Package, PackageType, Report, Severity
from lashing.report import get_format

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: app}
spec:
  containers:
  - {name: a, image: "nginx:1.25", securityContext: {privileged: true}}
  - {name: b, image: "nginx:1.25", securityContext: {privileged: true}}
"""


def _parse(report: Report) -> ET.Element:
    stream = io.StringIO()
    get_format("junit").write(report, stream)
    text = stream.getvalue()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(text.encode("utf-8"))


def _check_shape(root: ET.Element) -> None:
    """Counts add up and only the elements and attributes of the common JUnit schema appear."""
    assert root.tag == "testsuites"
    total = 0
    for suite in root:
        assert suite.tag == "testsuite" and suite.get("name")
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(len(c.findall("failure")) for c in cases)
        assert suite.get("errors") == "0" and suite.get("skipped") == "0" and float(suite.get("time")) == 0
        assert {child.tag for child in suite} <= {"testcase", "system-err"}
        for case in cases:
            assert case.get("name") and case.get("classname") == suite.get("name")
            failures = case.findall("failure")
            assert len(failures) == 1 and failures[0].get("message") and failures[0].text
            assert failures[0].get("type") in Severity.__members__
        total += len(cases)
    assert int(root.get("tests")) == total == int(root.get("failures"))


def test_config_scan_as_junit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("pod.yaml").write_text(POD)
    Path("other.yaml").write_text(POD.replace("privileged: true", "privileged: false").replace("name: p,", "name: q,"))
    app = typer.Typer()
    app.command("config")(config)
    app.add_typer(rules, name="rules")
    out = CliRunner().invoke(app, ["config", ".", "--format", "junit", "-o", "report.xml"])
    assert out.exit_code == 0, out.output
    root = ET.parse("report.xml").getroot()
    _check_shape(root)
    suites = {suite.get("name"): suite for suite in root}
    assert set(suites) == {"other.yaml", "pod.yaml"}  # one suite per file
    cases = {case.get("name"): case for case in suites["pod.yaml"]}
    assert "LSH-K8S-PRIVILEGED Pod/app/p" in cases and not any("PRIVILEGED Pod/app/q" in n for n in cases)
    failure = cases["LSH-K8S-PRIVILEGED Pod/app/p"].find("failure")
    assert failure.get("type") == "HIGH" and "2 occurrences" in failure.get("message")
    assert "container a" in failure.text and "container b" in failure.text and "pod.yaml:6" in failure.text


def test_vulnerabilities_are_one_testcase_per_package():
    pkg = Package("openssl", "3.0.11-1", PackageType.DEB, locations=(Location("var/lib/dpkg/status"),))
    other = Package("requests", "2.19.0", PackageType.PYTHON, locations=(Location("app/requirements.txt"),))
    findings = (
        Finding("CVE-2024-0001", FindingKind.VULNERABILITY, Severity.MEDIUM, "one", package=pkg,
                fixed_versions=("3.0.13-1",)),
        Finding("CVE-2024-0002", FindingKind.VULNERABILITY, Severity.CRITICAL, "two", package=pkg),
        Finding("GHSA-xxxx-yyyy-zzzz", FindingKind.VULNERABILITY, Severity.LOW, "bad \x00 byte", package=other),
        Finding("SECRET-AWS", FindingKind.SECRET, Severity.HIGH, "AWS key"),
    )
    root = _parse(Report(ArtifactInfo("app:1", "image"), findings=findings, warnings=("eol distro",),
                         generated_at="2026-01-01T00:00:00Z"))
    _check_shape(root)
    suites = {suite.get("name"): suite for suite in root}
    assert set(suites) == {"var/lib/dpkg/status", "app/requirements.txt", "app:1"}
    (openssl,) = suites["var/lib/dpkg/status"].findall("testcase")
    assert openssl.get("name") == "openssl@3.0.11-1"
    failure = openssl.find("failure")
    assert failure.get("type") == "CRITICAL" and failure.get("message") == \
        "2 vulnerabilities: CVE-2024-0001, CVE-2024-0002"
    assert "fixed in 3.0.13-1" in failure.text
    assert "\ufffd" in suites["app/requirements.txt"].find("testcase/failure").text  # XML-safe
    assert sum(len(s.findall("system-err")) for s in root) == 1


def test_empty_report_is_valid():
    root = _parse(Report(ArtifactInfo("x", "config")))
    assert root.tag == "testsuites" and root.get("tests") == "0" and len(root) == 0
    root = _parse(Report(ArtifactInfo("x", "config"), warnings=("w",)))
    _check_shape(root)
    assert root[0].find("system-err").text == "w"
