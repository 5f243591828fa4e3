"""Vulnerability matching against real OSV advisories and real package managers' inventories.

The expected matches come from tests/vuln_oracle.py, which shares no code with lashing: records are read
from the corpus zips, OSV ranges evaluated per the schema, versions compared by dpkg, rpm, packaging and
node-semver, inventories read by dpkg-query, rpm, importlib.metadata and npm. Each test compares the set
of (package name, package version, OSV record id) both ways and prints its figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from cvss import CVSS3

from imagebuild import session_dir
from lashing.analyzers.vulns.matcher import Matcher, match_report
from lashing.db import AdvisoryStore
from lashing.db.update import update
from lashing.model import ArtifactInfo, Finding, OSInfo, Package, PackageType, Report, Severity
from lashing.pipeline import ScanOptions, scan_inventory, scan_vulnerabilities
from vuln_oracle import (
    CORPUS,
    Installed,
    Order,
    dpkg_compare,
    dpkg_installed,
    expected_matches,
    first_fixes,
    index_entries,
    install_node_semver,
    is_affected,
    npm_installed,
    osv_release,
    pairs_needed,
    pep440_compare,
    pep503,
    pypi_installed,
    read_records,
    rpm_compare,
    rpm_installed,
    semver_compare,
)
from vulnimages import (
    NPM_APPS,
    OLD_DEBIAN_11,
    SITE_PACKAGES,
    alma9_root,
    bullseye_rootfs,
    old_bullseye_image,
)

FOLDERS = ("AlmaLinux", "Debian", "PyPI", "npm")
Triple = tuple[str, str, str]


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def vuln_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus folders these tests use, imported through the mirror option."""
    cache = tmp_path_factory.mktemp("vulndb")
    result = update(str(CORPUS), cache=cache, ecosystems=FOLDERS)
    print(f"\nimported {result.imported} records from {', '.join(FOLDERS)} in {result.seconds:.1f} s")
    return result.path


@pytest.fixture(scope="session")
def records() -> dict[str, list[dict]]:
    return {folder: read_records(CORPUS / folder / "all.zip") for folder in FOLDERS}


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return session_dir(tmp_path_factory)


@pytest.fixture(scope="session")
def old_image(build_dir: Path):
    return old_bullseye_image(build_dir)


@pytest.fixture(scope="session")
def old_image_report(old_image, vuln_db: Path) -> Report:
    report, _ = scan_inventory(old_image.ref, ScanOptions(use_cache=False))
    return scan_vulnerabilities(report, vuln_db)


@pytest.fixture(scope="session")
def node_semver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_node_semver(tmp_path_factory.mktemp("node-semver"))


def lashing_triples(report: Report, kind: PackageType) -> set[Triple]:
    return {
        (f.package.name, f.package.version, rid)
        for f in report.findings
        if f.package is not None and f.package.type == kind
        for rid in f.extra["records"].split(",")
    }


def assert_same(label: str, got: set[Triple], want: set[Triple], packages: int) -> None:
    records = {t[2] for t in want}
    print(f"{label}: {packages} packages, {len(want)} expected (package, record) matches over {len(records)} "
          f"records; lashing {len(got)}; missing {len(want - got)}, extra {len(got - want)}")  # fmt: skip
    assert got - want == set(), f"{label}: lashing reports matches the oracle does not: {sorted(got - want)}"
    assert want - got == set(), f"{label}: lashing misses: {sorted(want - got)}"


def assert_fixed_versions(report: Report, kind: PackageType, installed: list[Installed], index, order: Order) -> int:
    """Every finding's fixed versions are the oracle's first fix above the installed version in the covering
    ranges of the records it merges; returns the number of findings checked."""
    by_name = {(p.name, p.version): p for p in installed}
    checked = 0
    for finding in report.findings:
        if finding.package is None or finding.package.type != kind:
            continue
        pkg = by_name[(finding.package.name, finding.package.version)]
        ids = set(finding.extra["records"].split(","))
        entries = [e for e in index.get(pkg.key, ()) if e.record_id in ids]
        if {e.record_id for e in entries} != ids:
            continue  # a match the oracle does not make: reported by the set comparison
        want = {v for e in entries for v in first_fixes(pkg.key_version, e.entry, order)}
        assert set(finding.fixed_versions) == want, (finding.id, finding.package.name)
        assert finding.fix_state == ("fixed" if want else "not_fixed")
        checked += 1
    return checked


def debian_order(tmp: Path) -> Order:
    return Order(dpkg_compare, tmp)


# -- Debian: backport fixes are not vulnerabilities -----------------------------------------------


def test_bullseye_backported_fixes_are_not_findings(
    build_dir: Path, vuln_db: Path, records: dict[str, list[dict]], tmp_path: Path
) -> None:
    """A current Debian 11: every DSA's fixed version is installed, though the upstream versions are the
    vulnerable ones (curl 7.74.0 carries its fixes in the `+deb11uN` revision)."""
    root = bullseye_rootfs(build_dir)
    release = osv_release(root)
    assert release == "Debian:11"
    installed = dpkg_installed(root)
    index = index_entries(records["Debian"], lambda eco: eco == release)
    order = debian_order(tmp_path)
    want = expected_matches(installed, index, order)

    report, _ = scan_inventory(str(root), ScanOptions(use_cache=False))
    assert report.os is not None and report.os.family == "debian"
    report = scan_vulnerabilities(report, vuln_db)
    got = lashing_triples(report, PackageType.DEB)
    assert_same("Debian 11 (current)", got, want, len(installed))

    # What a comparison of the upstream version alone would say: the installed upstream version (epoch kept,
    # Debian revision dropped) is below the DSA's fixed version, so the upstream code looks unfixed.
    def upstream(version: str) -> str:
        return version.rsplit("-", 1)[0] if "-" in version else version

    candidates = [(pkg, e) for pkg in installed for e in index.get(pkg.key, ())]
    fixed = {(pkg, e): next(ev["fixed"] for r in e.entry["ranges"] for ev in r["events"] if "fixed" in ev)
             for pkg, e in candidates}  # fmt: skip
    order.prepare([(upstream(pkg.key_version), fix) for (pkg, _), fix in fixed.items()])
    order.prepare([(pkg.key_version, fix) for (pkg, _), fix in fixed.items()])
    naive = {(pkg.name, pkg.version, e.record_id) for (pkg, e), fix in fixed.items()
             if order(upstream(pkg.key_version), fix) < 0}  # fmt: skip
    backported = {(pkg.name, pkg.version, e.record_id) for (pkg, e), fix in fixed.items()
                  if order(upstream(pkg.key_version), fix) < 0 <= order(pkg.key_version, fix)}  # fmt: skip
    naive_records = {t[2] for t in naive}
    print(f"backport case: {len(naive)} (package, record) pairs / {len(naive_records)} DSAs would match on the "
          f"upstream version; lashing reports {len(naive & got)} of them")  # fmt: skip
    assert naive == backported  # every one of them is fixed by Debian's revision
    assert len(naive_records) >= 8
    assert {"DSA-5197-1", "DSA-5330-1", "DSA-5365-1"} <= naive_records  # curl 7.74.0 -> 7.74.0-1.3+deb11uN
    assert not naive & got
    # and no finding at all for the CVEs those DSAs fix, on any package of the image
    cves = {c for r in records["Debian"] if r["id"] in naive_records for c in r.get("upstream", [])}
    assert not [f.id for f in report.findings if f.id in cves or set(f.aliases) & naive_records]


# -- Debian (older point release), PyPI and npm in one layered image -------------------------------


def test_old_bullseye_dpkg_matches_oracle(
    old_image, old_image_report: Report, records: dict[str, list[dict]], tmp_path: Path
) -> None:
    root = old_image.rootfs
    release = osv_release(root)
    installed = dpkg_installed(root)
    assert {p.key: p.key_version for p in installed if p.key in OLD_DEBIAN_11} == OLD_DEBIAN_11
    index = index_entries(records["Debian"], lambda eco: eco == release)
    order = debian_order(tmp_path)
    want = expected_matches(installed, index, order)
    got = lashing_triples(old_image_report, PackageType.DEB)
    assert_same(f"{release} (older point release)", got, want, len(installed))
    assert assert_fixed_versions(old_image_report, PackageType.DEB, installed, index, order) >= len(want)
    assert len({t[2] for t in want}) >= 10
    # boundaries: installed == a DSA's fixed version is not affected by that DSA, later DSAs still apply
    assert not {t for t in got if t[2] in ("DSA-5197-1", "DSA-5142-1")}
    assert {t[2] for t in got if t[0] == "curl"} == {"DSA-5330-1", "DSA-5365-1"}
    # the finding ids are CVEs (a DSA listing several CVEs gives one finding per CVE), the DSA an alias
    dsa_cves = {r["id"]: set(r.get("upstream", [])) for r in records["Debian"] if r["id"] in {t[2] for t in want}}
    curl = [f for f in old_image_report.findings if f.package and f.package.name == "curl"]
    assert {f.id for f in curl} == dsa_cves["DSA-5330-1"] | dsa_cves["DSA-5365-1"]
    assert all(f.fix_state == "fixed" and f.fixed_versions for f in curl)
    layer_of = {f.package.name: f.package.layer for f in old_image_report.findings if f.package}
    assert layer_of["curl"] is not None


def test_old_image_pypi_matches_oracle(old_image, old_image_report: Report, records: dict[str, list[dict]]) -> None:
    site = old_image.rootfs / SITE_PACKAGES
    installed = pypi_installed(site)
    index = index_entries(records["PyPI"], lambda eco: eco == "PyPI", pep503)
    order = Order(pep440_compare, site)
    want = expected_matches(installed, index, order)
    got = lashing_triples(old_image_report, PackageType.PYTHON)
    assert_same("PyPI", got, want, len(installed))
    assert assert_fixed_versions(old_image_report, PackageType.PYTHON, installed, index, order) >= len(want) // 2
    assert len(want) >= 40
    # aiohttp 3.8.4 is inside the withdrawn PYSEC-2022-43059's range (introduced 0, no fix)
    withdrawn = next(r for r in records["PyPI"] if r["id"] == "PYSEC-2022-43059")
    assert withdrawn.get("withdrawn")
    assert any(is_affected("3.8.4", e, lambda a, b: pep440_compare([(a, b)])[0]) for e in withdrawn["affected"])
    assert not [t for t in got if t[2] == "PYSEC-2022-43059"]
    # the layer that introduced the packages: the pip layer
    diff_ids = old_image.diff_ids()
    pip_layers = {f.package.layer.diff_id for f in old_image_report.findings
                  if f.package and f.package.type == PackageType.PYTHON}  # fmt: skip
    assert pip_layers == {diff_ids[2]}


def test_old_image_npm_matches_oracle(
    old_image, old_image_report: Report, records: dict[str, list[dict]], node_semver: Path, tmp_path: Path
) -> None:
    installed = [p for prefix in NPM_APPS for p in npm_installed(old_image.rootfs / prefix)]
    index = index_entries(records["npm"], lambda eco: eco == "npm")
    order = Order(semver_compare(node_semver), tmp_path)
    want = expected_matches(installed, index, order)
    got = lashing_triples(old_image_report, PackageType.NPM)
    assert assert_fixed_versions(old_image_report, PackageType.NPM, installed, index, order) >= 15
    assert_same("npm", got, want, len(installed))
    assert len({t[2] for t in want}) >= 15
    assert ("ms", "0.7.0", "NSWG-ECO-46") in got  # last_affected is inclusive
    assert ("bl", "1.0.0", "NSWG-ECO-391") in got  # listed in `versions`, outside the record's range
    assert not [t for t in got if t[:2] == ("hoek", "5.0.3")]  # exactly the fixed version


# -- AlmaLinux 9: rpm EVRs, binary package names ---------------------------------------------------


def test_alma9_rpm_matches_oracle(
    build_dir: Path, vuln_db: Path, records: dict[str, list[dict]], tmp_path: Path
) -> None:
    root = alma9_root(build_dir)
    release = osv_release(root)
    assert release == "AlmaLinux:9"
    installed = rpm_installed(root)
    index = index_entries(records["AlmaLinux"], lambda eco: eco == release)
    order = Order(rpm_compare, tmp_path)
    want = expected_matches(installed, index, order)
    report, _ = scan_inventory(str(root), ScanOptions(use_cache=False))
    report = scan_vulnerabilities(report, vuln_db)
    got = lashing_triples(report, PackageType.RPM)
    assert_same(release, got, want, len(installed))
    checked = assert_fixed_versions(report, PackageType.RPM, installed, index, order)
    print(f"{release}: {checked} findings, fixed versions and fix state as the oracle says")
    assert len({t[2] for t in want}) >= 40
    assert {t[0] for t in want} >= {"tar", "vim-minimal", "openssl-libs"}  # epochs 2 and 1
    assert not [t for t in got if t[:2] == ("expat", "2.2.10-12.el9_0.2") and t[2] == "ALSA-2022:5244"]


# -- edge cases with hand-written records ----------------------------------------------------------


def _range(*events: dict, kind: str = "ECOSYSTEM") -> dict:
    return {"type": kind, "events": list(events)}


def _record(rid: str, eco: str, name: str, ranges=(), versions=None, **fields) -> dict:
    entry: dict = {"package": {"ecosystem": eco, "name": name}}
    if ranges:
        entry["ranges"] = list(ranges)
    if versions is not None:
        entry["versions"] = versions
    return {"schema_version": "1.6.0", "id": rid, "modified": "2024-01-01T00:00:00Z", "affected": [entry], **fields}


VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:N"
EDGE_RECORDS = {
    "PyPI": [
        _record("EDGE-WITHDRAWN", "PyPI", "edgepkg", [_range({"introduced": "0"})], withdrawn="2024-02-01T00:00:00Z"),
        _record("EDGE-LAST", "PyPI", "edgepkg", [_range({"introduced": "0"}, {"last_affected": "1.0"})]),
        _record("EDGE-LAST-BELOW", "PyPI", "edgepkg", [_range({"introduced": "0"}, {"last_affected": "0.9"})]),
        _record("EDGE-LIMIT", "PyPI", "edgepkg", [_range({"introduced": "0"}, {"limit": "1.0"})]),
        _record("EDGE-LIMIT-ABOVE", "PyPI", "edgepkg", [_range({"introduced": "0"}, {"limit": "2.0"})]),
        _record("EDGE-VERSIONS", "PyPI", "edgepkg", versions=["0.5", "1.0"]),
        _record("EDGE-VERSIONS-OTHER", "PyPI", "edgepkg", versions=["1.0.1"]),
        _record("EDGE-INTRO-ABOVE", "PyPI", "edgepkg", [_range({"introduced": "1.1"}, {"fixed": "2.0"})]),
        _record("EDGE-FIXED-AT", "PyPI", "edgepkg", [_range({"introduced": "0"}, {"fixed": "1.0"})]),
        _record("EDGE-TWO-WINDOWS", "PyPI", "edgepkg",
                [_range({"introduced": "0.1"}, {"fixed": "0.2"}, {"introduced": "0.9"}, {"fixed": "1.0.post1"})]),
        _record("PYSEC-9999-1", "PyPI", "merged", [_range({"introduced": "0"}, {"fixed": "2.0"})],
                aliases=["CVE-2099-0001", "GHSA-aaaa-bbbb-cccc"]),
        _record("GHSA-aaaa-bbbb-cccc", "PyPI", "merged", [_range({"introduced": "1.0"}, {"fixed": "2.1"})],
                aliases=["CVE-2099-0001", "PYSEC-9999-1"], severity=[{"type": "CVSS_V3", "score": VECTOR}]),
        _record("EDGE-PEP503", "PyPI", "foo-bar", [_range({"introduced": "0"}, {"fixed": "3.0"})]),
    ],
    "Debian": [
        _record("DSA-9999-1", "Debian:11", "edgesrc", [_range({"introduced": "0"}, {"fixed": "1.0-1+deb11u1"})],
                upstream=["CVE-2099-0002", "CVE-2099-0003"], related=["CVE-2099-0002", "CVE-2099-0003"]),
        _record("DSA-9998-1", "Debian:10", "edgesrc", [_range({"introduced": "0"}, {"fixed": "9:9.9-9"})],
                upstream=["CVE-2099-0004"]),
    ],
    "Ubuntu": [
        _record("UBUNTU-CVE-2099-0005", "Ubuntu:18.04:LTS", "edgesrc", [_range({"introduced": "0"})],
                upstream=["CVE-2099-0005"], severity=[{"type": "Ubuntu", "score": "medium"}]),
    ],
    "npm": [
        _record("EDGE-NPM-CASE", "npm", "jQuery", [_range({"introduced": "0"}, kind="SEMVER")]),
        _record("EDGE-NPM-EXACT", "npm", "JSONStream", [_range({"introduced": "0"}, kind="SEMVER")]),
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def edge_store(tmp_path_factory: pytest.TempPathFactory):
    mirror = tmp_path_factory.mktemp("edge-mirror")
    for folder, recs in EDGE_RECORDS.items():
        (mirror / folder).mkdir()
        with zipfile.ZipFile(mirror / folder / "all.zip", "w") as archive:
            for rec in recs:
                archive.writestr(f"{rec['id']}.json", json.dumps(rec))
    result = update(str(mirror), cache=tmp_path_factory.mktemp("edge-cache"))
    with AdvisoryStore.open(result.path) as store:
        yield store


def _pkg(name: str, version: str, kind: PackageType, source: str = "", source_version: str = "") -> Package:
    return Package(name=name, version=version, type=kind, source_name=source, source_version=source_version)


def _triples(findings: list[Finding]) -> set[Triple]:
    return {(f.package.name, f.package.version, r) for f in findings if f.package
            for r in f.extra["records"].split(",")}  # fmt: skip


def _oracle_edge(pkg: Package, eco: str, tmp: Path, node_semver: Path | None = None) -> set[Triple]:
    """The oracle over the hand-written records (same code path as for the corpus)."""
    records = EDGE_RECORDS[eco.split(":")[0]]
    key = pep503 if eco == "PyPI" else (lambda n: n)
    index = index_entries(records, lambda e: e == eco, key)
    installed = Installed(pkg.name, pkg.version, key(pkg.source_name or pkg.name), pkg.source_version or pkg.version)
    compare = {"PyPI": pep440_compare, "npm": semver_compare(node_semver) if node_semver else None}
    order = Order(compare.get(eco) or dpkg_compare, tmp)
    return expected_matches([installed], index, order)


def test_edge_ranges_versions_withdrawn(edge_store: AdvisoryStore, tmp_path: Path) -> None:
    pkg = _pkg("edgepkg", "1.0", PackageType.PYTHON)
    got = _triples(Matcher(edge_store, None).findings([pkg]))
    want = _oracle_edge(pkg, "PyPI", tmp_path)
    assert got == want
    ids = {t[2] for t in got}
    assert ids == {"EDGE-LAST", "EDGE-LIMIT-ABOVE", "EDGE-VERSIONS", "EDGE-TWO-WINDOWS"}
    # withdrawn, last_affected below, at/above the limit, listed version of another release, introduced
    # above the installed version, installed == fixed: none matches
    for other in ("0.95", "1.0.post1", "1.5"):
        p = replace(pkg, version=other)
        assert _triples(Matcher(edge_store, None).findings([p])) == _oracle_edge(p, "PyPI", tmp_path), other


def test_edge_alias_merge_and_cvss_severity(edge_store: AdvisoryStore) -> None:
    findings = Matcher(edge_store, None).findings([_pkg("merged", "1.5", PackageType.PYTHON)])
    assert len(findings) == 1
    (finding,) = findings
    assert finding.id == "CVE-2099-0001"
    assert {"PYSEC-9999-1", "GHSA-aaaa-bbbb-cccc"} <= set(finding.aliases)
    assert finding.extra["records"] == "GHSA-aaaa-bbbb-cccc,PYSEC-9999-1"
    assert finding.fix_state == "fixed" and set(finding.fixed_versions) == {"2.0", "2.1"}
    assert finding.severity == Severity.parse(CVSS3(VECTOR).severities()[0])
    # outside the PYSEC range (introduced 0, fixed 2.0) but inside the GHSA one: only that record
    (later,) = Matcher(edge_store, None).findings([_pkg("merged", "2.0", PackageType.PYTHON)])
    assert later.extra["records"] == "GHSA-aaaa-bbbb-cccc" and later.fixed_versions == ("2.1",)


def test_edge_pep503_name(edge_store: AdvisoryStore, tmp_path: Path) -> None:
    for name in ("Foo_Bar", "foo.bar", "FOO-bar"):
        pkg = _pkg(name, "2.0", PackageType.PYTHON)
        got = _triples(Matcher(edge_store, None).findings([pkg]))
        assert got == _oracle_edge(pkg, "PyPI", tmp_path) == {(name, "2.0", "EDGE-PEP503")}


def test_edge_npm_names_are_case_sensitive(edge_store: AdvisoryStore, node_semver: Path, tmp_path: Path) -> None:
    """npm names are matched as they are: the registry keeps legacy mixed-case packages (`JSONStream`,
    `jQuery`) as packages of their own, so a record for `jQuery` says nothing about `jquery`. The real
    corpus has one such record, NSWG-ECO-496 (`jQuery` < 3.4.0), which lashing matches to jquery 1.8.3."""
    exact = _pkg("JSONStream", "1.3.5", PackageType.NPM)
    assert _triples(Matcher(edge_store, None).findings([exact])) == _oracle_edge(exact, "npm", tmp_path, node_semver)
    assert _oracle_edge(exact, "npm", tmp_path, node_semver) == {("JSONStream", "1.3.5", "EDGE-NPM-EXACT")}
    other = _pkg("jquery", "1.8.3", PackageType.NPM)
    assert _oracle_edge(other, "npm", tmp_path, node_semver) == set()
    assert _triples(Matcher(edge_store, None).findings([other])) == set()  # fails: lashing folds npm names


def test_edge_debian_split_release_isolation_and_ubuntu_unfixed(edge_store: AdvisoryStore, tmp_path: Path) -> None:
    bullseye = OSInfo(family="debian", version="11", codename="bullseye")
    pkg = _pkg("libedge1", "1.0-1", PackageType.DEB, source="edgesrc", source_version="1.0-1")
    findings = Matcher(edge_store, bullseye).findings([pkg])
    assert _triples(findings) == _oracle_edge(pkg, "Debian:11", tmp_path) == {("libedge1", "1.0-1", "DSA-9999-1")}
    assert sorted(f.id for f in findings) == ["CVE-2099-0002", "CVE-2099-0003"]  # the Debian:10 DSA stays out
    assert all("DSA-9999-1" in f.aliases and f.fixed_versions == ("1.0-1+deb11u1",) for f in findings)
    # binary version differs from the source version: the source version decides
    fixed_src = replace(pkg, version="1.0-1+b2", source_version="1.0-1+deb11u1")
    assert Matcher(edge_store, bullseye).findings([fixed_src]) == []
    buster = OSInfo(family="debian", version="10", codename="buster")
    assert {f.id for f in Matcher(edge_store, buster).findings([pkg])} == {"CVE-2099-0004"}

    bionic = OSInfo(family="ubuntu", version="18.04")
    (unfixed,) = Matcher(edge_store, bionic).findings([pkg])
    assert unfixed.id == "CVE-2099-0005" and unfixed.fix_state == "not_fixed" and unfixed.fixed_versions == ()
    assert unfixed.severity == Severity.MEDIUM


@pytest.mark.parametrize(
    ("os_info", "eol"),
    [
        (OSInfo(family="debian", version="9", codename="stretch"), True),
        (OSInfo(family="alpine", version="3.11.6"), True),
        (OSInfo(family="debian", version="12", codename="bookworm"), False),
    ],
)
def test_end_of_life_warning(edge_store: AdvisoryStore, os_info: OSInfo, eol: bool) -> None:
    report = match_report(Report(artifact=ArtifactInfo(name="x", kind="directory"), os=os_info), edge_store)
    assert any("end of security support" in w for w in report.warnings) is eol


# -- the command line ------------------------------------------------------------------------------


def test_cli_image_json_matches_python_api(old_image, old_image_report: Report, vuln_db: Path, tmp_path: Path):
    out = tmp_path / "report.json"
    env = {**os.environ, "LASHING_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, "-m", "lashing", "image", old_image.ref, "--db", str(vuln_db), "--format", "json", "-o",
         str(out), "--no-cache", "--no-progress"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    findings = [f for f in data["findings"] if f["kind"] == "vulnerability"]  # secrets are scanned too
    got = {(f["package"]["name"], f["package"]["version"], r) for f in findings
           for r in f["extra"]["records"].split(",")}  # fmt: skip
    want = {(f.package.name, f.package.version, r) for f in old_image_report.findings if f.package
            for r in f.extra["records"].split(",")}  # fmt: skip
    print(f"CLI: {len(findings)} findings, {len(got)} (package, record) pairs")
    assert got == want


def test_oracle_pairs_cover_every_comparison(tmp_path: Path) -> None:
    """The oracle itself: a comparison it was not prepared for is an error, never a silent guess."""
    order = Order(dpkg_compare, tmp_path)
    entry = {"ranges": [_range({"introduced": "0"}, {"fixed": "1:1.2.11.dfsg-2+deb11u1"})]}
    order.prepare(pairs_needed("1:1.2.11.dfsg-2", entry))
    assert is_affected("1:1.2.11.dfsg-2", entry, order)
    with pytest.raises(ValueError):
        order("1.0", "2.0")
