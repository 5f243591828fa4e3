"""Policy stage: severity gate, --ignore-unfixed, ignore files (.lashingignore, .trivyignore[.yaml]), OpenVEX and
CycloneDX VEX, expiry, exit code, and one-line errors for malformed input."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lashing.errors import LashingError
from lashing.model import (
    ArtifactInfo,
    Finding,
    FindingKind,
    Location,
    Package,
    PackageType,
    Report,
    Severity,
)
from lashing.policy import (
    IgnoreRule,
    Policy,
    PolicyError,
    VexStatus,
    apply_policy,
    load_ignore_file,
    load_vex,
)

TODAY = date(2026, 3, 1)
IMAGE_DIGEST = "sha256:" + "ab" * 32
CONFIG_DIGEST = "sha256:" + "cd" * 32
LIBC_PURL = "pkg:deb/debian/libc6@2.36-9%2Bdeb12u3?arch=amd64&distro=debian-12"
LAYER = "sha256:" + "11" * 32


def pkg(
    name: str = "libc6",
    version: str = "2.36-9+deb12u3",
    purl: str = LIBC_PURL,
    *,
    source: str = "glibc",
    ptype: PackageType = PackageType.DEB,
    path: str = "var/lib/dpkg/status",
) -> Package:
    return Package(
        name=name, version=version, type=ptype, purl=purl, source_name=source, locations=(Location(path, LAYER),)
    )


LIBC = pkg()
URLLIB3 = pkg(
    "urllib3",
    "1.26.5",
    "pkg:pypi/urllib3@1.26.5",
    source="",
    ptype=PackageType.PYTHON,
    path="usr/lib/python3/dist-packages/urllib3-1.26.5.dist-info/METADATA",
)
REQUESTS = pkg(
    "requests",
    "2.25.1",
    "pkg:pypi/requests@2.25.1",
    source="",
    ptype=PackageType.PYTHON,
    path="usr/lib/python3/dist-packages/requests-2.25.1.dist-info/METADATA",
)


def vuln(
    vid: str = "CVE-2023-4911",
    package: Package = LIBC,
    *,
    aliases: tuple[str, ...] = (),
    severity: Severity = Severity.HIGH,
    fixed: tuple[str, ...] = ("2.36-9+deb12u4",),
) -> Finding:
    return Finding(
        id=vid,
        kind=FindingKind.VULNERABILITY,
        severity=severity,
        title=f"{vid} in {package.name}",
        package=package,
        location=Location(package.locations[0].path, LAYER),
        aliases=aliases,
        fixed_versions=fixed,
        fix_state="fixed" if fixed else "not_fixed",
    )


def config(
    rule: str = "LSH-K8S-PRIVILEGED",
    resource: str = "DaemonSet/kube-system/calico-node",
    path: str = "deploy/calico.yaml",
    severity: Severity = Severity.HIGH,
) -> Finding:
    extra = {"resource": resource} if resource else {}
    return Finding(
        id=rule,
        kind=FindingKind.CONFIG,
        severity=severity,
        title="Container runs privileged",
        location=Location(path, line=12),
        aliases=("KSV-0017", "CKV_K8S_16"),
        extra=extra,
    )


def report(*findings: Finding, warnings: tuple[str, ...] = ()) -> Report:
    packages = tuple({f.package for f in findings if f.package is not None})
    artifact = ArtifactInfo(
        name="ghcr.io/acme/app:1.4", kind="registry", digest=IMAGE_DIGEST, config_digest=CONFIG_DIGEST
    )
    return Report(artifact=artifact, packages=packages, findings=findings, warnings=warnings)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(findings: list[Finding], **policy: object):
    return apply_policy(report(*findings), Policy(today=TODAY, **policy))


def kept_ids(outcome) -> list[str]:
    return [f"{f.id}/{f.package.name if f.package else f.extra.get('resource')}" for f in outcome.report.findings]


def ignore(tmp_path: Path, text: str, name: str = ".lashingignore") -> tuple[IgnoreRule, ...]:
    return load_ignore_file(write(tmp_path, name, text))


# --- severity gate, --ignore-unfixed, exit code ------------------------------------------------------------


def test_severity_filter_keeps_only_selected_severities():
    findings = [vuln("CVE-1", severity=Severity.LOW), vuln("CVE-2", severity=Severity.CRITICAL), config()]
    outcome = run(findings, severities=frozenset({Severity.HIGH, Severity.CRITICAL}))
    assert [f.id for f in outcome.report.findings] == ["CVE-2", "LSH-K8S-PRIVILEGED"]
    assert [(s.finding.id, s.source) for s in outcome.filtered] == [("CVE-1", "--severity")]
    assert outcome.suppressed == ()
    assert [f.id for f in run(findings).report.findings] == ["CVE-1", "CVE-2", "LSH-K8S-PRIVILEGED"]


def test_ignore_unfixed_drops_only_vulnerabilities_without_a_fix():
    unfixed = replace(vuln("CVE-2", fixed=()), fix_state="wont_fix")
    findings = [vuln("CVE-1"), unfixed, replace(vuln("CVE-3", fixed=()), fix_state=""), config()]
    outcome = run(findings, ignore_unfixed=True)
    assert [f.id for f in outcome.report.findings] == ["CVE-1", "LSH-K8S-PRIVILEGED"]
    assert {s.finding.id for s in outcome.filtered} == {"CVE-2", "CVE-3"}
    assert all(s.source == "--ignore-unfixed" for s in outcome.filtered)
    assert len(run(findings).report.findings) == 4


def test_exit_code_only_when_findings_remain(tmp_path):
    assert run([vuln()], exit_code=7).exit_code == 7
    assert run([vuln()]).exit_code == 0
    assert run([], exit_code=7).exit_code == 0
    rules = ignore(tmp_path, "- id: CVE-2023-4911\n  reason: not reachable\n")
    outcome = run([vuln()], exit_code=7, ignores=rules)
    assert outcome.report.findings == () and outcome.exit_code == 0
    outcome = run([vuln(severity=Severity.LOW)], exit_code=7, severities=frozenset({Severity.CRITICAL}))
    assert outcome.exit_code == 0


def test_original_report_is_untouched_and_other_fields_survive(tmp_path):
    original = replace(report(vuln(), config()), tool_version="0.1.0", warnings=("w0",))
    text = "- id: CVE-2023-4911\n  reason: r\n  expires: 2020-01-01\n- id: CVE-1999-0001\n  reason: r\n"
    rules = ignore(tmp_path, text)
    outcome = apply_policy(original, Policy(ignores=rules, today=TODAY))
    assert len(original.findings) == 2 and original.warnings == ("w0",)
    assert outcome.report.tool_version == "0.1.0" and outcome.report.packages == original.packages
    assert outcome.report.warnings[0] == "w0" and len(outcome.report.warnings) == 2
    assert [r.ids for r in outcome.unused_ignores] == [("CVE-1999-0001",)]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(list(Severity)), st.booleans(), st.sampled_from(["CVE-1", "CVE-2"]))),
    st.sets(st.sampled_from(list(Severity)), min_size=1),
    st.booleans(),
)
def test_every_finding_is_kept_filtered_or_suppressed_exactly_once(specs, severities, unfixed):
    findings = [vuln(vid, severity=sev, fixed=("1",) if has_fix else ()) for sev, has_fix, vid in specs]
    rule = IgnoreRule(ids=("CVE-2",), reason="r", source="t:1")
    outcome = run(findings, severities=frozenset(severities), ignore_unfixed=unfixed, ignores=(rule,))
    assert len(outcome.report.findings) + len(outcome.filtered) + len(outcome.suppressed) == len(findings)
    assert all(f.severity in severities and f.id == "CVE-1" for f in outcome.report.findings)
    assert all(s.source == "t:1" for s in outcome.suppressed)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(list(Severity)), st.booleans(), st.sampled_from(["CVE-1", "CVE-2"]))),
    st.one_of(st.none(), st.sets(st.sampled_from(list(Severity)), min_size=1)),
    st.booleans(),
    st.sampled_from(["none", "active", "expired"]),
)
def test_a_gate_that_keeps_everything_says_so(specs, severities, unfixed, ignores):
    """keeps_everything (the config workers then encode rule hits without asking) holds exactly when
    nothing could be removed or changed: no filter, no VEX, no unexpired ignore rule."""
    from lashing.policy import PolicyGate
    from lashing.policy.vex_match import VexMatcher

    expires = TODAY - timedelta(days=1) if ignores == "expired" else None
    rules = () if ignores == "none" else (IgnoreRule(ids=("CVE-2",), reason="r", source="t:1", expires=expires),)
    policy = Policy(today=TODAY, severities=frozenset(severities) if severities else None, ignore_unfixed=unfixed,
                    ignores=rules)
    findings = [vuln(vid, severity=sev, fixed=("1",) if has_fix else ()) for sev, has_fix, vid in specs]
    gate = PolicyGate(policy, VexMatcher(policy.vex, report(*findings)))
    assert gate.keeps_everything is (severities is None and not unfixed and ignores != "active")
    if gate.keeps_everything:
        assert all(gate.decide(f) == ("keep", f) for f in findings)


# --- .lashingignore: matching rules, each both ways ---------------------------------------------------------


def test_id_matches_finding_id_or_alias_case_insensitively(tmp_path):
    rules = ignore(
        tmp_path,
        "- id: cve-2023-4911\n  reason: no setuid binaries\n- id: ghsa-v845-jxx5-vc9f\n  reason: not reachable\n",
    )
    findings = [
        vuln(),
        vuln("CVE-2023-43804", URLLIB3, aliases=("GHSA-v845-jxx5-vc9f", "PYSEC-2023-192")),
        vuln("CVE-2023-32681", REQUESTS, aliases=("GHSA-j8r2-6x86-q33q",)),
    ]
    outcome = run(findings, ignores=rules)
    assert kept_ids(outcome) == ["CVE-2023-32681/requests"]
    assert [(s.finding.id, s.reason, s.source) for s in outcome.suppressed] == [
        ("CVE-2023-4911", "no setuid binaries", f"{tmp_path / '.lashingignore'}:1"),
        ("CVE-2023-43804", "not reachable", f"{tmp_path / '.lashingignore'}:3"),
    ]


def test_id_glob(tmp_path):
    rules = ignore(tmp_path, "- id: CVE-2023-*\n  reason: accepted for 2023\n")
    outcome = run([vuln("CVE-2023-4911"), vuln("CVE-2024-2961"), vuln("CVE-2023")], ignores=rules)
    assert [f.id for f in outcome.report.findings] == ["CVE-2024-2961", "CVE-2023"]


@pytest.mark.parametrize(
    ("package", "suppressed"),
    [
        ("libc6", True),
        ("glibc", True),  # the source package
        ("libc*", True),
        ("openssl", False),
        ("pkg:deb/debian/libc6", True),  # no version: any version
        ("pkg:deb/debian/libc6@2.36-9+deb12u3", True),
        ("pkg:deb/debian/libc6@2.36-9%2Bdeb12u3", True),
        ("pkg:deb/debian/libc6@2.36-9+deb12u4", False),
        ("pkg:deb/debian/libc6?arch=amd64", True),
        ("pkg:deb/debian/libc6?arch=arm64", False),
        ("pkg:deb/Debian/LIBC6", True),  # deb names are case-insensitive
        ("pkg:deb/ubuntu/libc6", False),
        ("pkg:rpm/redhat/glibc", False),
    ],
)
def test_package_by_name_or_purl(tmp_path, package, suppressed):
    rules = ignore(tmp_path, f"- id: CVE-2023-4911\n  package: '{package}'\n  reason: r\n")
    outcome = run([vuln()], ignores=rules)
    assert (outcome.report.findings == ()) is suppressed


def test_pypi_purl_names_normalize_but_maven_names_are_case_sensitive(tmp_path):
    dist = pkg("Flask_Cors", "3.0.9", "pkg:pypi/flask-cors@3.0.9", source="", ptype=PackageType.PYTHON)
    jar = pkg(
        "log4j-core",
        "2.14.1",
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
        source="",
        ptype=PackageType.JAVA,
    )
    rules = ignore(
        tmp_path,
        "- id: CVE-1\n  package: pkg:pypi/Flask_CORS\n  reason: r\n"
        "- id: CVE-2\n  package: pkg:maven/org.apache.logging.log4j/Log4j-Core\n  reason: r\n",
    )
    outcome = run([vuln("CVE-1", dist), vuln("CVE-2", jar)], ignores=rules)
    assert [f.id for f in outcome.report.findings] == ["CVE-2"]


@pytest.mark.parametrize(
    ("pattern", "suppressed"),
    [
        ("usr/lib/python3/**", True),
        ("/usr/lib/python3/**", True),
        ("**/urllib3-*.dist-info/METADATA", True),
        ("usr/lib/python3/*", False),  # `*` stays within one directory
        ("usr/lib/*/dist-packages/urllib3-1.26.5.dist-info/METADATA", True),
        ("usr/local/**", False),
    ],
)
def test_path_globs(tmp_path, pattern, suppressed):
    rules = ignore(tmp_path, f"- id: CVE-2023-43804\n  path: '{pattern}'\n  reason: vendored copy, unused\n")
    outcome = run([vuln("CVE-2023-43804", URLLIB3)], ignores=rules)
    assert (outcome.report.findings == ()) is suppressed


def test_resource_glob_and_kind_for_config_findings(tmp_path):
    rules = ignore(
        tmp_path,
        "ignore:\n"
        "  - id: KSV-0017\n    resource: DaemonSet/kube-system/*\n    kind: config\n"
        "    reason: the CNI needs privileged\n",
    )
    findings = [config(), config(resource="Deployment/prod/api"), config(resource="")]
    outcome = run(findings, ignores=rules)
    assert kept_ids(outcome) == ["LSH-K8S-PRIVILEGED/Deployment/prod/api", "LSH-K8S-PRIVILEGED/None"]
    assert outcome.suppressed[0].finding.extra["resource"] == "DaemonSet/kube-system/calico-node"
    assert outcome.suppressed[0].source.endswith(":2")


def test_kind_restricts_the_entry(tmp_path):
    rules = ignore(tmp_path, "- id: LSH-K8S-PRIVILEGED\n  kind: [secret, vulnerability]\n  reason: r\n")
    assert len(run([config()], ignores=rules).report.findings) == 1


def test_all_constraints_must_hold(tmp_path):
    rules = ignore(
        tmp_path, "- id: [CVE-2023-4911, CVE-2024-2961]\n  package: libc6\n  path: [opt/**, var/lib/**]\n  reason: r\n"
    )
    outcome = run([vuln(), vuln("CVE-2024-2961"), vuln("CVE-2023-4911", URLLIB3), vuln("CVE-2023-0001")], ignores=rules)
    assert kept_ids(outcome) == ["CVE-2023-4911/urllib3", "CVE-2023-0001/libc6"]


def test_source_line_numbers_are_exact(tmp_path):
    text = (
        "# accepted risks, reviewed 2026-02\n\nignore:\n  # glibc\n  - reason: r1\n    id: CVE-1\n\n"
        "  - {id: CVE-2, reason: r2}\n"
    )
    rules = ignore(tmp_path, text)
    assert [r.source.rsplit(":", 1)[1] for r in rules] == ["5", "8"]


@pytest.mark.parametrize(("offset", "suppresses"), [(-1, False), (0, False), (1, True)])
def test_expiry_boundary_the_expiry_day_no_longer_suppresses(tmp_path, offset, suppresses):
    expires = TODAY + timedelta(days=offset)
    rules = ignore(tmp_path, f"- id: CVE-2023-4911\n  reason: r\n  expires: {expires.isoformat()}\n")
    outcome = run([vuln()], ignores=rules)
    assert (outcome.report.findings == ()) is suppresses
    if suppresses:
        assert outcome.expired == () and outcome.warnings == ()
    else:
        assert outcome.expired == rules
        assert outcome.warnings == (
            f"{tmp_path / '.lashingignore'}:1: ignore entry for CVE-2023-4911 expired on {expires}; "
            "it no longer suppresses findings",
        )
        assert outcome.report.warnings == outcome.warnings


def test_empty_and_null_files_ignore_nothing(tmp_path):
    assert ignore(tmp_path, "") == ()
    assert ignore(tmp_path, "# nothing yet\n") == ()
    assert ignore(tmp_path, "ignore:\n") == ()


# --- Trivy formats ---------------------------------------------------------------------------------------


def test_plain_trivyignore(tmp_path):
    text = (
        "# Accepted until the base image moves to trixie\nCVE-2023-4911 exp:2026-06-01\n\n"
        "CVE-2024-2961 exp:2026-01-01\nGHSA-v845-jxx5-vc9f  # vendored, unused\nDL3007\n"
    )
    rules = ignore(tmp_path, text, ".trivyignore")
    assert [(r.ids, r.expires, r.source.rsplit(":", 1)[1]) for r in rules] == [
        (("CVE-2023-4911",), date(2026, 6, 1), "2"),
        (("CVE-2024-2961",), date(2026, 1, 1), "4"),
        (("GHSA-v845-jxx5-vc9f",), None, "5"),
        (("DL3007",), None, "6"),
    ]
    assert rules[0].reason == "Accepted until the base image moves to trixie"
    assert rules[2].reason == "vendored, unused"
    assert rules[3].reason.startswith("listed in ")
    findings = [vuln(), vuln("CVE-2024-2961"), vuln("CVE-2023-43804", URLLIB3, aliases=("GHSA-v845-jxx5-vc9f",))]
    outcome = run(findings, ignores=rules)
    assert [f.id for f in outcome.report.findings] == ["CVE-2024-2961"]
    assert len(outcome.expired) == 1


def test_plain_trivyignore_is_detected_whatever_the_file_name(tmp_path):
    rules = ignore(tmp_path, "CVE-2023-4911\n", ".lashingignore")
    assert rules[0].ids == ("CVE-2023-4911",) and rules[0].kinds is None


def test_trivyignore_yaml(tmp_path):
    text = """\
vulnerabilities:
  - id: CVE-2023-4911
    purls: ["pkg:deb/debian/libc6"]
    statement: glibc tunables not reachable
  - id: CVE-2024-2961
    expired_at: 2026-01-01
misconfigurations:
  - id: KSV-0017
    paths: ["deploy/*.yaml"]
secrets:
licenses:
  - id: GPL-3.0
"""
    rules = ignore(tmp_path, text, ".trivyignore.yaml")
    assert [(r.ids[0], r.kinds, r.source.rsplit(":", 1)[1]) for r in rules] == [
        ("CVE-2023-4911", frozenset({FindingKind.VULNERABILITY}), "2"),
        ("CVE-2024-2961", frozenset({FindingKind.VULNERABILITY}), "5"),
        ("KSV-0017", frozenset({FindingKind.CONFIG}), "8"),
    ]
    outcome = run([vuln(), vuln("CVE-2024-2961"), config(), config(path="charts/x.yaml")], ignores=rules)
    assert kept_ids(outcome) == ["CVE-2024-2961/libc6", "LSH-K8S-PRIVILEGED/DaemonSet/kube-system/calico-node"]
    assert outcome.suppressed[0].reason == "glibc tunables not reachable"


# --- malformed ignore files: one-line errors naming the file and the entry -----------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "- id: CVE-1\n  reason: r\n- id: CVE-2\n  reason: r\n- id: CVE-3\n  reason: r\n  expires: 2027-13-01\n",
            "entry 3 (line 5): 'expires' is not a date (2027-13-01); use YYYY-MM-DD",
        ),
        ("- id: CVE-1\n  reason: r\n  expires: next week\n", "entry 1 (line 1): 'expires' is not a date (next week)"),
        ("- id: CVE-1\n", "entry 1 (line 1): 'reason' is required"),
        ("- id: CVE-1\n  reason: '  '\n", "entry 1 (line 1): 'reason' is required"),
        ("- reason: r\n", "entry 1 (line 1): 'id' is required"),
        ("- id: {cve: 1}\n  reason: r\n", "entry 1 (line 1): 'id' must be a string"),
        ("- id: CVE-1\n  reason: r\n  path: {a: b}\n", "'path' must be a string"),
        ("- id: CVE-1\n  reason: r\n  path: [a, [b]]\n", "'path' must be a list of non-empty strings"),
        ("- id: CVE-1\n  reason: r\n  expire: 2027-01-01\n", "entry 1 (line 1): unknown key 'expire'"),
        ("- id: CVE-1\n  reason: r\n  reason: s\n", "duplicate key 'reason'"),
        ("- id: '*'\n  reason: r\n", "would match every finding"),
        ("- id: CVE 1\n  reason: r\n", "'id' is not an id"),
        ("- id: CVE-1\n  reason: r\n  package: 'pkg:'\n", "'package' is not a valid purl"),
        ("- id: CVE-1\n  reason: r\n  kind: vuln\n", "'kind' must be one of"),
        ("- CVE-1\n", "entry 1 (line 1): expected a mapping"),
        ("ignores:\n  - id: CVE-1\n", "expected a list of entries or an 'ignore:' list"),
        ("- id: CVE-1\n  reason: [unclosed\n", "invalid YAML at line 3"),
        ("- id: CVE-1\n  reason: r\n---\n- id: CVE-2\n", "invalid YAML"),
        ("vulnerabilities:\n  - id: CVE-1\nmisconfig:\n", "unknown section 'misconfig'"),
    ],
)
def test_malformed_ignore_file_is_a_one_line_error(tmp_path, text, message):
    path = write(tmp_path, ".lashingignore", text)
    with pytest.raises(LashingError) as caught:
        load_ignore_file(path)
    assert isinstance(caught.value, PolicyError) and caught.value.exit_code == 2
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("CVE-1 exp:2027-02-30\n", "line 1: 'exp' is not a date (2027-02-30)"),
        ("CVE-1\nCVE-2 expires=2027-01-01\n", "line 2: unknown field 'expires=2027-01-01'"),
    ],
)
def test_malformed_plain_trivyignore(tmp_path, text, message):
    with pytest.raises(PolicyError) as caught:
        ignore(tmp_path, text, ".trivyignore")
    assert message in str(caught.value) and str(caught.value).startswith(str(tmp_path / ".trivyignore"))


def test_huge_non_utf8_and_missing_ignore_files(tmp_path):
    huge = write(tmp_path, "huge", "- id: CVE-1\n  reason: r\n" * 50_000)
    with pytest.raises(PolicyError, match="larger than 1 MiB"):
        load_ignore_file(huge)
    many = write(tmp_path, "many.yaml", "- {id: C-1, reason: r}\n" * 10_001)
    with pytest.raises(PolicyError, match="more than 10000 entries"):
        load_ignore_file(many)
    binary = tmp_path / "bin"
    binary.write_bytes(b"- id: CVE-1\n  reason: \xff\xfe\n")
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_ignore_file(binary)
    with pytest.raises(PolicyError, match="cannot read"):
        load_ignore_file(tmp_path / "absent")
    ids = ", ".join(f"CVE-2020-{n}" for n in range(100))
    aliased = f"- id: &ids [{ids}]\n  reason: r\n" + "- {id: *ids, reason: r}\n" * 2_000
    with pytest.raises(PolicyError, match="more than 100000 ids, packages, paths and resources"):
        load_ignore_file(write(tmp_path, "aliases.yaml", aliased))
    for deep in ("[" * 200_000 + "]" * 200_000, "- " * 300_000 + "x", "- id: CVE-1\n  reason: " + "{a: " * 100_000):
        with pytest.raises(PolicyError, match="nested too deeply"):  # libyaml would crash the process here
            load_ignore_file(write(tmp_path, "deep.yaml", deep))
    too_long = "- id: [" + ", ".join(f"CVE-2020-{n}" for n in range(101)) + "]\n  reason: r\n"
    with pytest.raises(PolicyError, match="'id' lists more than 100 values"):
        load_ignore_file(write(tmp_path, "long.yaml", too_long))


# --- OpenVEX ---------------------------------------------------------------------------------------------


def openvex(
    *statements: dict,
    doc_id: str = "https://openvex.dev/docs/public/vex-5e4c2a1b",
    timestamp: str = "2026-02-10T09:14:55.382921-05:00",
) -> dict:
    """A document shaped like `vexctl create` output."""
    return {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": doc_id,
        "author": "Acme Product Security <psirt@acme.example>",
        "timestamp": timestamp,
        "version": 1,
        "tooling": "vexctl/0.3.0",
        "statements": list(statements),
    }


def statement(
    status: str = "not_affected", products: list | None = None, vuln_name: str = "CVE-2023-4911", **fields: object
) -> dict:
    out: dict = {"vulnerability": {"name": vuln_name}, "products": products or [{"@id": LIBC_PURL}], "status": status}
    if status == "not_affected" and "justification" not in fields and "impact_statement" not in fields:
        out["justification"] = "vulnerable_code_not_in_execute_path"
    out.update(fields)
    return out


def vex(tmp_path: Path, *docs: dict):
    statements = []
    for number, doc in enumerate(docs):
        statements += load_vex(write(tmp_path, f"doc{number}.openvex.json", json.dumps(doc, indent=2)))
    return tuple(statements)


def test_openvex_not_affected_suppresses_the_matching_package(tmp_path):
    doc = openvex(statement(products=[{"@id": "pkg:deb/debian/libc6@2.36-9%2Bdeb12u3?arch=amd64"}]))
    outcome = run([vuln(), vuln("CVE-2023-4911", URLLIB3), vuln("CVE-2024-2961")], vex=vex(tmp_path, doc))
    assert kept_ids(outcome) == ["CVE-2023-4911/urllib3", "CVE-2024-2961/libc6"]
    (suppression,) = outcome.suppressed
    assert suppression.source == "vex:https://openvex.dev/docs/public/vex-5e4c2a1b"
    assert suppression.reason == "not_affected: vulnerable_code_not_in_execute_path"


@pytest.mark.parametrize(
    ("product", "suppressed"),
    [
        ("pkg:deb/debian/libc6", True),
        ("pkg:deb/debian/libc6@2.36-9%2Bdeb12u3", True),
        ("pkg:deb/debian/libc6@2.36-9%2Bdeb12u4", False),
        ("pkg:deb/debian/libc6?arch=arm64", False),
        ("pkg:deb/debian/libc-bin", False),
        ("pkg:oci/app@sha256%3A" + "ef" * 32, False),  # another image
    ],
)
def test_openvex_product_purl_matching(tmp_path, product, suppressed):
    doc = openvex(statement(products=[{"@id": "pkg:generic/unrelated"}, {"identifiers": {"purl": product}}]))
    assert (run([vuln()], vex=vex(tmp_path, doc)).report.findings == ()) is suppressed


def test_openvex_alias_matching_both_directions(tmp_path):
    by_alias = statement(vuln_name="GHSA-v845-jxx5-vc9f", products=[{"@id": "pkg:pypi/urllib3"}])
    with_aliases = {
        **statement(products=[{"@id": "pkg:pypi/requests@2.25.1"}]),
        "vulnerability": {"name": "GHSA-j8r2-6x86-q33q", "aliases": ["CVE-2023-32681"]},
    }
    findings = [
        vuln("CVE-2023-43804", URLLIB3, aliases=("GHSA-v845-jxx5-vc9f",)),
        vuln("CVE-2023-32681", REQUESTS),
        vuln("CVE-2023-45803", URLLIB3),
    ]
    outcome = run(findings, vex=vex(tmp_path, openvex(by_alias, with_aliases)))
    assert kept_ids(outcome) == ["CVE-2023-45803/urllib3"]


def test_openvex_latest_timestamp_wins_across_documents(tmp_path):
    early = openvex(statement(), doc_id="https://acme.example/vex/1", timestamp="2026-01-05T10:00:00Z")
    late = openvex(
        statement("affected", action_statement="Upgrade to 2.36-9+deb12u4"),
        doc_id="https://acme.example/vex/2",
        timestamp="2026-02-01T10:00:00Z",
    )
    for order in ((early, late), (late, early)):
        outcome = run([vuln()], vex=vex(tmp_path, *order))
        (kept,) = outcome.report.findings
        assert kept.extra["vex_status"] == "affected" and kept.extra["vex_source"] == "vex:https://acme.example/vex/2"
    newer_not_affected = openvex(statement(), doc_id="https://acme.example/vex/3", timestamp="2026-02-02T00:00:00Z")
    outcome = run([vuln()], vex=vex(tmp_path, late, newer_not_affected))
    assert outcome.report.findings == () and outcome.suppressed[0].source == "vex:https://acme.example/vex/3"


def test_openvex_statement_timestamps_override_the_document_one(tmp_path):
    doc = openvex(
        statement("under_investigation", timestamp="2026-01-01T00:00:00Z"),
        statement(timestamp="2026-01-20T00:00:00+01:00"),
        statement("affected", timestamp="2026-01-10T00:00:00Z", last_updated="2026-01-25T00:00:00Z"),
        timestamp="2026-02-10T00:00:00Z",
    )
    (kept,) = run([vuln()], vex=vex(tmp_path, doc)).report.findings
    assert kept.extra["vex_status"] == "affected"
    statements = vex(tmp_path, openvex(statement(), timestamp="2026-02-10T09:14:55.382921123-05:00"))
    assert statements[0].timestamp.isoformat() == "2026-02-10T09:14:55.382921-05:00"


def test_openvex_fixed_suppresses_and_under_investigation_keeps(tmp_path):
    doc = openvex(statement("fixed"), statement("under_investigation", vuln_name="CVE-2024-2961"))
    outcome = run([vuln(), vuln("CVE-2024-2961")], vex=vex(tmp_path, doc))
    assert [f.id for f in outcome.report.findings] == ["CVE-2024-2961"]
    assert outcome.report.findings[0].extra["vex_status"] == "under_investigation"
    assert outcome.suppressed[0].reason == "fixed: fixed"


def test_openvex_for_the_scanned_image_covers_every_package(tmp_path):
    image = {"@id": "pkg:oci/app@sha256%3A" + "ab" * 32 + "?repository_url=ghcr.io%2Facme%2Fapp&tag=1.4"}
    doc = openvex(statement(products=[image], impact_statement="No setuid binaries ship in this image"))
    findings = [vuln(), vuln("CVE-2023-4911", URLLIB3), vuln("CVE-2024-2961")]
    outcome = run(findings, vex=vex(tmp_path, doc))
    assert kept_ids(outcome) == ["CVE-2024-2961/libc6"]
    assert outcome.suppressed[0].reason == "not_affected: No setuid binaries ship in this image"
    by_ref = openvex(statement(products=[{"@id": f"ghcr.io/acme/app@{IMAGE_DIGEST}"}]))
    assert run([vuln()], vex=vex(tmp_path, by_ref)).report.findings == ()
    by_config_hash = openvex(statement(products=[{"hashes": {"sha-256": CONFIG_DIGEST[7:]}}]))
    assert run([vuln()], vex=vex(tmp_path, by_config_hash)).report.findings == ()
    fs_report = replace(report(vuln()), artifact=ArtifactInfo(name=".", kind="directory"))
    assert len(apply_policy(fs_report, Policy(vex=vex(tmp_path, doc))).report.findings) == 1


def test_openvex_image_with_subcomponents_covers_only_those(tmp_path):
    image = {"@id": "pkg:oci/app@sha256%3A" + "ab" * 32, "subcomponents": [{"@id": "pkg:pypi/urllib3@1.26.5"}]}
    findings = [vuln("CVE-2023-43804", URLLIB3), vuln("CVE-2023-43804", LIBC)]
    doc = openvex(statement(products=[image], vuln_name="CVE-2023-43804"))
    assert kept_ids(run(findings, vex=vex(tmp_path, doc))) == ["CVE-2023-43804/libc6"]
    other = {**image, "@id": "pkg:oci/app@sha256%3A" + "ef" * 32}
    doc = openvex(statement(products=[other], vuln_name="CVE-2023-43804"))
    assert len(run(findings, vex=vex(tmp_path, doc)).report.findings) == 2


def test_openvex_package_product_with_subcomponents(tmp_path):
    product = {"@id": "pkg:pypi/requests@2.25.1", "subcomponents": [{"@id": "pkg:pypi/urllib3"}]}
    doc = openvex(statement(products=[product], vuln_name="CVE-2023-43804"))
    with_requests = run([vuln("CVE-2023-43804", URLLIB3), vuln("CVE-1", REQUESTS)], vex=vex(tmp_path, doc))
    assert [f.id for f in with_requests.report.findings] == ["CVE-1"]
    alone = run([vuln("CVE-2023-43804", URLLIB3)], vex=vex(tmp_path, doc))
    assert len(alone.report.findings) == 1  # the product (requests) is not in this scan


def test_openvex_v0_0_x_string_forms(tmp_path):
    doc = {
        "@context": "https://openvex.dev/ns",
        "@id": "https://openvex.dev/docs/public/vex-6e8cc8c4d0c38e9e",
        "author": "mailto:john@doe.com",
        "timestamp": "2023-01-16T20:41:55.708329108-06:00",
        "statements": [
            {
                "vulnerability": "CVE-2023-4911",
                "timestamp": "2023-01-16T20:41:55Z",
                "products": ["pkg:oci/app@sha256%3A" + "ab" * 32],
                "subcomponents": ["pkg:deb/debian/libc6"],
                "status": "not_affected",
                "justification": "vulnerable_code_not_present",
            }
        ],
    }
    outcome = run([vuln(), vuln("CVE-2023-4911", URLLIB3)], vex=vex(tmp_path, doc))
    assert kept_ids(outcome) == ["CVE-2023-4911/urllib3"]


def test_vex_applies_to_vulnerabilities_only(tmp_path):
    doc = openvex(statement(vuln_name="KSV-0017", products=[{"@id": "pkg:oci/app@sha256%3A" + "ab" * 32}]))
    assert len(run([config()], vex=vex(tmp_path, doc)).report.findings) == 1


def test_vex_and_ignore_rules_together(tmp_path):
    statements = vex(tmp_path, openvex(statement()))
    rules = ignore(tmp_path, "- id: CVE-2024-2961\n  reason: iconv not used\n")
    outcome = run([vuln(), vuln("CVE-2024-2961"), vuln("CVE-2025-0001")], vex=statements, ignores=rules, exit_code=1)
    assert [s.source.split(":")[0] for s in outcome.suppressed] == ["vex", str(tmp_path / ".lashingignore")]
    assert [f.id for f in outcome.report.findings] == ["CVE-2025-0001"] and outcome.exit_code == 1


# --- malformed VEX ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update({"@context": "https://example.com/ns"}), "not an OpenVEX document"),
        (lambda d: d.pop("@context"), "not an OpenVEX document"),
        (lambda d: d.pop("@id"), "has no '@id'"),
        (lambda d: d.update({"statements": {"a": 1}}), "no 'statements' list"),
        (lambda d: d["statements"].append("CVE-1"), "statement 2: expected an object"),
        (lambda d: d["statements"][0].update({"status": "ok"}), "statement 1: 'status' must be one of"),
        (lambda d: d["statements"][0].pop("justification"), "not_affected needs a 'justification'"),
        (lambda d: d["statements"][0].update({"justification": "trust_me"}), "unknown justification 'trust_me'"),
        (lambda d: d["statements"][0].pop("products"), "statement 1: no 'products'"),
        (lambda d: d["statements"][0].update({"products": "pkg:deb/debian/libc6"}), "'products' must be a list"),
        (lambda d: d["statements"][0].update({"products": [{}]}), "has no '@id', 'identifiers' or 'hashes'"),
        (lambda d: d["statements"][0].update({"products": [{"@id": 7}]}), "'@id' must be a non-empty string"),
        (lambda d: d["statements"][0].update({"vulnerability": {"id": "CVE-1"}}), "'vulnerability' has no 'name'"),
        (lambda d: d["statements"][0].update({"vulnerability": 12}), "'vulnerability' must be an object"),
        (lambda d: d["statements"][0].update({"timestamp": "yesterday"}), "'timestamp' is not an RFC 3339 timestamp"),
        (lambda d: d.update({"timestamp": "2026-02-30T00:00:00Z"}), "document 'timestamp' is not an RFC 3339"),
        (lambda d: d.pop("timestamp"), "no 'timestamp', and the document has none"),
    ],
)
def test_malformed_openvex_is_a_one_line_error(tmp_path, mutate, message):
    doc = openvex(statement())
    mutate(doc)
    path = write(tmp_path, "bad.openvex.json", json.dumps(doc))
    with pytest.raises(PolicyError) as caught:
        load_vex(path)
    assert str(caught.value).startswith(str(path)) and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_malformed_vex_files(tmp_path):
    with pytest.raises(PolicyError, match="invalid JSON at line 2 column 1"):
        load_vex(write(tmp_path, "a.json", "{\n"))
    with pytest.raises(PolicyError, match="expected a JSON object"):
        load_vex(write(tmp_path, "b.json", "[]"))
    with pytest.raises(PolicyError, match="nested too deeply"):
        load_vex(write(tmp_path, "c.json", "[" * 200_000))
    huge = tmp_path / "huge.json"
    with open(huge, "w") as stream:
        stream.write('{"pad": "' + "x" * (33 * 1024 * 1024) + '"}')
    with pytest.raises(PolicyError, match="larger than 32 MiB"):
        load_vex(huge)
    empty = load_vex(write(tmp_path, "empty.json", json.dumps(openvex())))
    assert empty == ()


# --- CycloneDX VEX ----------------------------------------------------------------------------------------


def test_cyclonedx_vex(tmp_path):
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": {
            "timestamp": "2026-02-01T00:00:00Z",
            "component": {
                "type": "container",
                "name": "app",
                "bom-ref": "app",
                "purl": "pkg:oci/app@sha256%3A" + "ab" * 32,
            },
        },
        "components": [
            {
                "type": "library",
                "name": "libc6",
                "bom-ref": "deb-libc6",
                "purl": "pkg:deb/debian/libc6@2.36-9%2Bdeb12u3?arch=amd64",
            }
        ],
        "vulnerabilities": [
            {
                "id": "CVE-2023-4911",
                "analysis": {"state": "not_affected", "justification": "code_not_reachable"},
                "affects": [{"ref": "deb-libc6"}],
            },
            {
                "id": "CVE-2024-2961",
                "analysis": {"state": "exploitable", "response": ["update"]},
                "affects": [{"ref": "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#deb-libc6"}],
            },
            {
                "id": "GHSA-v845-jxx5-vc9f",
                "references": [{"id": "CVE-2023-43804"}],
                "analysis": {"state": "false_positive"},
                "affects": [{"ref": "app"}],
            },
            {"id": "CVE-2025-0001", "affects": [{"ref": "deb-libc6"}]},
        ],
    }
    statements = load_vex(write(tmp_path, "app.cdx.json", json.dumps(bom)))
    assert [s.status for s in statements] == [VexStatus.NOT_AFFECTED, VexStatus.AFFECTED, VexStatus.NOT_AFFECTED]
    findings = [vuln(), vuln("CVE-2024-2961"), vuln("CVE-2023-43804", URLLIB3), vuln("CVE-2025-0001")]
    outcome = run(findings, vex=statements)
    assert [f.id for f in outcome.report.findings] == ["CVE-2024-2961", "CVE-2025-0001"]
    assert outcome.suppressed[0].source == "vex:urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"
    assert outcome.suppressed[0].reason == "not_affected: code_not_reachable"
    bom["vulnerabilities"][0]["analysis"]["state"] = "fine"
    with pytest.raises(PolicyError, match=r"vulnerability 1: unknown analysis\.state 'fine'"):
        load_vex(write(tmp_path, "bad.cdx.json", json.dumps(bom)))
