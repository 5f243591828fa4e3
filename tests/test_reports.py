"""Report writers: lashing JSON, CycloneDX 1.6, SPDX 2.3 and the table.

The reports are built from what this machine's package managers say (dpkg-query for Debian packages
and their source packages, importlib.metadata for Python distributions and their license fields, the
`License:` lines of real debian/copyright files), plus an npm package installed at two paths with a
same-named PyPI package. The outputs are checked with the formats' own validators: cyclonedx-python-lib's
strict JSON-schema validator and spdx-tools' full document validator (after parsing the written file back).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packageurl import PackageURL
from spdx_tools.spdx.model import Relationship, RelationshipType
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from lashing.errors import LashingError, UsageError
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
from lashing.report import ALIASES, FORMATS, get_format, write_report
from lashing.report import spdx as spdx_mod
from lashing.report._spdx_check import validate_linear
from lashing.report.json_report import SCHEMA_VERSION, dump_report, load_report

CDX_VALIDATOR = JsonStrictValidator(SchemaVersion.V1_6)
SITE = "usr/local/lib/python3.11/site-packages"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


LAYERS = (
    Layer(
        0,
        sha("base"),
        sha("base.gz"),
        29_000_000,
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "/bin/sh -c #(nop) ADD file:4b1be1de1a1e5aa608c688cad2824587262081866180d7368feb79d33ca0 in / ",
    ),
    Layer(
        1,
        sha("pip"),
        sha("pip.gz"),
        8_000_000,
        None,
        "RUN /bin/sh -c pip install --no-cache-dir rich packaging semver # buildkit",
    ),
    Layer(
        2,
        sha("npm"),
        sha("npm.gz"),
        3_000_000,
        None,
        "RUN |1 NODE_ENV=production /bin/sh -c cd /app && npm ci # buildkit",
    ),
)


# -- realistic packages, from this machine's package managers ----------------------------------------


def copyright_licenses(name: str) -> tuple[str, ...]:
    """The distinct `License:` values of a Debian copyright file (real non-SPDX names like GPL-2+)."""
    path = Path("/usr/share/doc") / name / "copyright"
    if not path.is_file():
        return ()
    found = re.findall(r"^License:[ \t]*(\S.*)$", path.read_text(errors="replace"), re.M)
    return tuple(dict.fromkeys(v.strip() for v in found))[:3]


def host_debs() -> list[Package]:
    """Three installed packages built from another source package, and one built from its own."""
    fields = ("Package", "Version", "source:Package", "source:Version", "Architecture", "db:Status-Abbrev")
    fmt = "\t".join(f"${{{f}}}" for f in fields) + "\n"
    out = subprocess.run(["dpkg-query", "-W", "-f", fmt], capture_output=True, text=True, check=True).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    rows = [r for r in rows if len(r) == 6 and r[5].startswith("ii")]
    other = [r for r in rows if r[2] != r[0]][:3]
    same = [r for r in rows if r[2] == r[0] and copyright_licenses(r[0])][:1]
    assert len(other) == 3 and len(same) == 1, "dpkg-query lists too few packages on this machine"
    packages = []
    for name, version, src, src_version, arch, _ in other + same:
        qualifiers = {"arch": arch, "distro": "debian-12"}
        if src != name:
            qualifiers["upstream"] = src
        purl = PackageURL("deb", "debian", name, version, qualifiers).to_string()
        packages.append(
            Package(
                name=name,
                version=version,
                type=PackageType.DEB,
                purl=purl,
                source_name=src,
                source_version=src_version,
                arch=arch,
                licenses=copyright_licenses(name),
                locations=(Location("var/lib/dpkg/status"),),
                layer=LAYERS[0],
                cataloger="dpkg",
                extra={"maintainer": "Debian Maintainers <debian@example.org>"},
            )
        )
    return packages


def python_licenses(dist: str) -> tuple[str, ...]:
    meta = importlib.metadata.distribution(dist).metadata
    value = meta.get("License-Expression") or meta.get("License") or ""
    classifiers = [
        c.rsplit(" :: ", 1)[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License ")
    ]
    return tuple(dict.fromkeys(v for v in (value, *classifiers) if v))


def host_pypi() -> list[Package]:
    packages = []
    for dist in ("rich", "packaging", "cyclonedx-python-lib"):
        version = importlib.metadata.version(dist)
        path = f"{SITE}/{dist.replace('-', '_')}-{version}.dist-info/METADATA"
        packages.append(
            Package(
                name=dist,
                version=version,
                type=PackageType.PYTHON,
                purl=PackageURL("pypi", None, dist, version).to_string(),
                licenses=python_licenses(dist),
                locations=(Location(path),),
                layer=LAYERS[1],
                cataloger="python-installed",
                extra={"metadata_version": "2.1"},
            )
        )
    return packages


def semvers() -> list[Package]:
    """npm semver installed at two paths, the PyPI semver, and a scoped npm package."""
    npm = [
        Package(
            name="semver",
            version="7.5.1",
            type=PackageType.NPM,
            purl="pkg:npm/semver@7.5.1",
            licenses=("ISC",),
            locations=(Location(f"{prefix}/node_modules/semver/package.json"),),
            layer=LAYERS[2],
            cataloger="npm",
        )
        for prefix in ("app", "usr/local/lib/node_modules/npm")
    ]
    pypi = Package(
        name="semver",
        version="3.0.2",
        type=PackageType.PYTHON,
        purl="pkg:pypi/semver@3.0.2",
        licenses=("BSD",),
        locations=(Location(f"{SITE}/semver-3.0.2.dist-info/METADATA"),),
        layer=LAYERS[1],
        cataloger="python-installed",
    )
    scoped = Package(
        name="@babel/core",
        version="7.24.0",
        type=PackageType.NPM,
        purl="pkg:npm/%40babel/core@7.24.0",
        licenses=("MIT",),
        locations=(Location("app/node_modules/@babel/core/package.json"),),
        layer=LAYERS[2],
        cataloger="npm",
    )
    return [*npm, pypi, scoped]


def findings(packages: list[Package]) -> tuple[Finding, ...]:
    deb = packages[0]
    npm_a, npm_b = (p for p in packages if p.name == "semver" and p.type is PackageType.NPM)
    semver_vuln = dict(
        id="CVE-2022-25883",
        kind=FindingKind.VULNERABILITY,
        severity=Severity.HIGH,
        title="semver vulnerable to Regular Expression Denial of Service",
        aliases=("GHSA-c2qf-rxjj-qqgw",),
        references=("https://github.com/advisories/GHSA-c2qf-rxjj-qqgw",),
        fixed_versions=("7.5.2",),
        fix_state="fixed",
    )
    unlisted = Package(
        name="zlib1g",
        version="1:1.2.13.dfsg-1",
        type=PackageType.DEB,
        purl="pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64",
        source_name="zlib",
    )
    return (
        Finding(**semver_vuln, package=npm_a),
        Finding(**semver_vuln, package=npm_b),
        Finding(
            id="CVE-2023-4039",
            kind=FindingKind.VULNERABILITY,
            severity=Severity.LOW,
            title="stack protector bypass on arm64",
            package=deb,
            fix_state="not-fixed",
            description="A failure in the -fstack-protector feature ...",
            extra={"distro_status": "no-dsa"},
        ),
        Finding(
            id="CVE-2023-45853",
            kind=FindingKind.VULNERABILITY,
            severity=Severity.CRITICAL,
            title="integer overflow in zipOpenNewFileInZip4_64",
            package=unlisted,
        ),
        Finding(
            id="GO-2024-2687",
            kind=FindingKind.VULNERABILITY,
            severity=Severity.MEDIUM,
            title="HTTP/2 CONTINUATION flood in net/http",
            fixed_versions=("1.21.9", "1.22.2"),
        ),
        Finding(
            id="LSH-SECRET-AWS",
            kind=FindingKind.SECRET,
            severity=Severity.CRITICAL,
            title="AWS access key",
            location=Location("app/.env", LAYERS[2].diff_id, 3, 3),
        ),
    )


@pytest.fixture(scope="module")
def report() -> Report:
    packages = host_debs() + host_pypi() + semvers()
    return Report(
        artifact=ArtifactInfo(
            name="registry.example.com/shop/web:1.4",
            kind="oci-layout",
            digest=sha("manifest"),
            config_digest=sha("config"),
            repo_tags=("registry.example.com/shop/web:1.4",),
            architecture="amd64",
            os="linux",
            created="2024-05-01T09:00:00Z",
        ),
        os=OSInfo("debian", "12", "bookworm", "Debian GNU/Linux 12 (bookworm)"),
        layers=LAYERS,
        packages=tuple(packages),
        findings=findings(packages),
        warnings=("usr/lib/python3/dist-packages/broken.dist-info/METADATA: no Name header",),
        tool_version="0.1.0",
        generated_at="2024-05-01T10:00:00+00:00",
    )


def render(report: Report, fmt: str) -> str:
    stream = io.StringIO()
    write_report(report, fmt, stream)
    return stream.getvalue()


def props(component: dict, name: str) -> list[str]:
    return [p["value"] for p in component.get("properties", []) if p["name"] == name]


# -- registry ------------------------------------------------------------------------------------------


def test_formats_are_registered_by_name() -> None:
    assert list(FORMATS) == ["table", "json", "cyclonedx-json", "spdx-json", "sarif", "html", "junit",
                             "cyclonedx", "spdx"]
    assert all(get_format(key).name == ALIASES.get(key, key) for key in FORMATS)
    with pytest.raises(UsageError, match="unknown report format"):
        write_report(Report(ArtifactInfo("x", "directory")), "xml", io.StringIO())


# -- lashing JSON ----------------------------------------------------------------------------------------


def test_json_round_trip_is_lossless(report: Report) -> None:
    text = render(report, "json")
    back = load_report(text.encode())
    assert back == report
    # `extra` is excluded from dataclass equality: compare it separately, and the whole re-dump
    assert [p.extra for p in back.packages] == [p.extra for p in report.packages]
    assert [f.extra for f in back.findings] == [f.extra for f in report.findings]
    assert dump_report(back) + "\n" == text
    assert isinstance(back.packages[0].layer, Layer) and isinstance(back.findings[0].severity, Severity)


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)  # quotes, controls, non-ASCII


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")  # extra values that are not text, on purpose
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rules=st.lists(st.tuples(_TEXT, _TEXT, st.sampled_from(list(Severity)), st.lists(_TEXT, max_size=2)),
                   min_size=1, max_size=3),
    places=st.lists(st.tuples(st.integers(0, 2), st.one_of(st.none(), _TEXT), st.one_of(st.none(), _TEXT),
                              st.one_of(st.none(), st.integers(0, 10**6)),
                              st.dictionaries(_TEXT, st.one_of(_TEXT, st.integers()), max_size=3)),
                    max_size=8),
)
def test_json_findings_from_rule_templates_match_the_reference_encoder(rules, places) -> None:
    """Package-less findings are written from per-rule templates; the bytes equal dump_report's."""
    findings = []
    for which, path, layer, line, extra in places:
        rule_id, title, severity, aliases = rules[which % len(rules)]
        location = None if path is None else Location(path, layer_diff_id=layer, line=line, end_line=line)
        findings.append(Finding(id=rule_id, kind=FindingKind.CONFIG, severity=severity, title=title,
                                description=title * 2, location=location, aliases=tuple(aliases),
                                remediation="fix: " + title, extra=extra))
    report = Report(ArtifactInfo("cfg", "config"), findings=tuple(findings), tool_version="0")
    assert render(report, "json") == dump_report(report) + "\n"


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")
@settings(max_examples=150, deadline=None)
@given(
    rule=st.tuples(_TEXT, _TEXT, st.sampled_from(list(Severity)), st.lists(_TEXT, max_size=2)),
    odd=st.sampled_from(["plain", "package", "unhashable"]),
    places=st.lists(st.tuples(_TEXT, st.one_of(st.none(), st.integers(0, 10**6)),
                              st.one_of(st.none(), st.integers(0, 10**6)),
                              st.dictionaries(_TEXT, st.one_of(_TEXT, st.integers()), max_size=3)),
                    max_size=6),
)
def test_located_writer_writes_what_finding_json_writes(rule, odd, places) -> None:
    """A rule's prototype finding written at a location (config hits never become findings on that path)
    gives finding_json's text of the finding itself; a prototype the templates cannot take (a package, an
    unhashable field) goes the generic way."""
    from lashing.report.json_report import extra_json, finding_json, located_writer

    rule_id, title, severity, aliases = rule
    prototype = Finding(id=rule_id, kind=FindingKind.CONFIG, severity=severity, title=title, description=title,
                        aliases=tuple(aliases) if odd != "unhashable" else list(aliases),  # type: ignore[arg-type]
                        package=semvers()[0] if odd == "package" else None, remediation="fix: " + title)
    write = located_writer(prototype)
    assert located_writer(prototype) is write
    for path, line, end_line, extra in places:
        expected = finding_json(prototype.at(Location(path, line=line, end_line=end_line), extra))
        assert write(path, line, end_line, extra, extra_json(extra)) == expected


def test_json_shape(report: Report) -> None:
    doc = json.loads(render(report, "json"))
    assert doc["schema_version"] == SCHEMA_VERSION == 1
    assert {p["type"] for p in doc["packages"]} == {"deb", "pypi", "npm"}
    for pkg, raw in zip(report.packages, doc["packages"], strict=True):
        assert (
            raw["layer"]["diff_id"] == pkg.layer.diff_id
            and raw["layer"]["created_by"] == pkg.layer.created_by
        )
        assert raw["locations"][0]["path"] == pkg.locations[0].path
    first = doc["findings"][0]
    assert (first["severity"], first["severity_name"], first["kind"]) == (3, "HIGH", "vulnerability")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "not a lashing JSON report"),
        (b'{"schema_version": 1}', "artifact"),
        (b'{"schema_version": 99, "artifact": {"name": "x", "kind": "oci"}}', "schema_version 99"),
        (
            b'{"schema_version": 1, "artifact": {"name": "x", "kind": "oci"}, '
            b'"findings": [{"id": "a", "kind": "vulnerability", "severity": 9, "title": "t"}]}',
            "findings.0.severity",
        ),
    ],
)
def test_json_load_rejects_other_documents(data: bytes, message: str) -> None:
    with pytest.raises(LashingError, match=re.escape(message)):
        load_report(data)


# -- CycloneDX -------------------------------------------------------------------------------------------


def test_cyclonedx_validates_strictly_and_carries_layers(report: Report) -> None:
    text = render(report, "cyclonedx-json")
    assert CDX_VALIDATOR.validate_str(text, all_errors=True) is None
    bom = json.loads(text)
    assert (bom["bomFormat"], bom["specVersion"]) == ("CycloneDX", "1.6")
    image = bom["metadata"]["component"]
    assert (image["type"], image["name"], image["version"]) == (
        "container",
        report.artifact.name,
        sha("manifest"),
    )
    assert [t["name"] for t in bom["metadata"]["tools"]["components"]] == ["lashing"]
    libraries = [c for c in bom["components"] if c["type"] == "library"]
    listed = [c for c in libraries if props(c, "lashing:location:path")]
    assert len(listed) == len(report.packages)
    by_path_and_purl = {(props(c, "lashing:location:path")[0], c["purl"]): c for c in listed}
    for pkg in report.packages:
        comp = by_path_and_purl[(pkg.locations[0].path, PackageURL.from_string(pkg.purl).to_string())]
        assert (comp["name"], comp["version"]) == (pkg.name, pkg.version)
        assert props(comp, "lashing:layer:diff_id") == [pkg.layer.diff_id]
        assert props(comp, "lashing:layer:digest") == [pkg.layer.digest]
        assert props(comp, "lashing:layer:created_by") == [pkg.layer.created_by]
        assert props(comp, "lashing:cataloger") == [pkg.cataloger]
        assert comp["evidence"]["occurrences"] == [{"location": "/" + pkg.locations[0].path}]
        if pkg.source_name:
            assert props(comp, "lashing:package:source_name") == [pkg.source_name]
            assert props(comp, "lashing:package:source_version") == [pkg.source_version]
        assert bool(comp.get("licenses")) == bool(pkg.licenses)
    osc = [c for c in bom["components"] if c["type"] == "operating-system"]
    assert [(c["name"], c["version"]) for c in osc] == [("debian", "12")]


def test_cyclonedx_bom_refs_are_unique_and_stable(report: Report) -> None:
    first, second = json.loads(render(report, "cyclonedx-json")), json.loads(render(report, "cyclonedx-json"))
    refs = [c["bom-ref"] for c in first["components"]] + [first["metadata"]["component"]["bom-ref"]]
    refs += [v["bom-ref"] for v in first["vulnerabilities"]]
    assert len(refs) == len(set(refs))
    semver_refs = [c["bom-ref"] for c in first["components"] if c["name"] == "semver" and "npm" in c["purl"]]
    assert len(semver_refs) == 2  # one package at two paths stays two components
    assert sorted(c["bom-ref"] for c in second["components"]) == sorted(
        c["bom-ref"] for c in first["components"]
    )
    assert first["serialNumber"] != second["serialNumber"]
    image_deps = next(
        d for d in first["dependencies"] if d["ref"] == first["metadata"]["component"]["bom-ref"]
    )
    assert set(image_deps["dependsOn"]) == {c["bom-ref"] for c in first["components"]}


def test_cyclonedx_vulnerabilities_point_at_components(report: Report) -> None:
    bom = json.loads(render(report, "cyclonedx-json"))
    components = {c["bom-ref"]: c for c in bom["components"]}
    targets = set(components) | {bom["metadata"]["component"]["bom-ref"]}
    vulns = bom["vulnerabilities"]
    wanted = [f for f in report.findings if f.kind is FindingKind.VULNERABILITY]
    assert len(vulns) == len(wanted)  # the secret is not a vulnerability
    for vuln in vulns:
        assert all(a["ref"] in targets for a in vuln["affects"])
    semver = [v for v in vulns if v["id"] == "CVE-2022-25883"]
    assert len(semver) == 2 and len({v["affects"][0]["ref"] for v in semver}) == 2
    for vuln in semver:
        comp = components[vuln["affects"][0]["ref"]]
        assert (comp["name"], comp["version"]) == ("semver", "7.5.1")
        assert vuln["ratings"] == [{"severity": "high"}]
        assert vuln["references"][0]["id"] == "GHSA-c2qf-rxjj-qqgw"
        assert vuln["source"]["url"] == "https://nvd.nist.gov/vuln/detail/CVE-2022-25883"
        assert "7.5.2" in vuln["recommendation"]
        assert {"version": "7.5.2", "status": "unaffected"} in vuln["affects"][0]["versions"]
    # a finding on a package missing from report.packages still resolves: the writer adds its component
    zlib = next(v for v in vulns if v["id"] == "CVE-2023-45853")
    assert components[zlib["affects"][0]["ref"]]["name"] == "zlib1g"
    go = next(v for v in vulns if v["id"] == "GO-2024-2687")
    assert go["affects"][0]["ref"] == bom["metadata"]["component"]["bom-ref"]


def test_cyclonedx_without_findings_has_no_vulnerabilities(report: Report) -> None:
    text = render(replace(report, findings=(), os=None), "cyclonedx-json")
    assert CDX_VALIDATOR.validate_str(text) is None
    bom = json.loads(text)
    assert "vulnerabilities" not in bom
    assert not [c for c in bom["components"] if c["type"] == "operating-system"]


def plain_cyclonedx(report: Report) -> dict:
    """The document as cyclonedx-python-lib makes it without the writer's shortcuts: components added one at a
    time in report order, the dependency graph from the library's own `register_dependency` (the reference
    for `build_bom`, which adds components and dependencies in the library's order and indexes the graph)."""
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.tool import ToolRepository
    from cyclonedx.output.json import JsonV1Dot6

    from lashing.report import cyclonedx as cdx
    from lashing.report._cdx_vulns import vulnerabilities
    from lashing.report._common import package_fingerprint, package_ids, report_time

    tool = Component(type=ComponentType.APPLICATION, name="lashing", version=report.tool_version)
    image = cdx.image_component(report)
    bom = Bom(metadata=BomMetaData(component=image, tools=ToolRepository(components=[tool]),
                                   timestamp=report_time(report)))
    refs: dict = {}
    for pkg, package_id in zip(report.packages, package_ids(report.packages), strict=True):
        component = cdx.package_component(pkg, package_id)
        bom.components.add(component)
        refs.setdefault(pkg, component.bom_ref.value)
        refs.setdefault(pkg.key, component.bom_ref.value)

    def ref_for(pkg: Package) -> str:
        ref = refs.get(pkg) or refs.get(pkg.key)
        if ref is None:
            component = cdx.package_component(pkg, package_fingerprint(pkg) + "-finding")
            bom.components.add(component)
            ref = refs[pkg] = component.bom_ref.value
        return ref

    for vuln in vulnerabilities(report, ref_for, cdx.IMAGE_REF):
        bom.vulnerabilities.add(vuln)
    if report.os is not None:
        bom.components.add(cdx.os_component(report.os))
    bom.register_dependency(image, list(bom.components))
    document = json.loads(JsonV1Dot6(bom).output_as_string(indent=2))
    document.pop("serialNumber")
    return document


def cyclonedx_document(report: Report) -> dict:
    document = json.loads(render(report, "cyclonedx-json"))
    document.pop("serialNumber")
    return document


def test_cyclonedx_equals_the_library_built_plainly(report: Report) -> None:
    """Same document, same order of components, dependencies and properties, whatever the packages' order."""
    for packages in (report.packages, report.packages[::-1]):
        variant = replace(report, packages=packages)
        assert cyclonedx_document(variant) == plain_cyclonedx(variant)
    bare = replace(report, findings=(), os=None)
    assert cyclonedx_document(bare) == plain_cyclonedx(bare)


def test_add_in_order_keeps_the_sets_own_order() -> None:
    """The key only makes adding cheap: a key that disagrees with the items' order changes nothing."""
    from sortedcontainers import SortedSet

    from lashing.report.cyclonedx import add_in_order

    for key in (lambda x: x, lambda x: -x, lambda x: x % 3):
        target = SortedSet([5, 50])
        add_in_order(target, [3, 9, 1, 50, 7, 3], key)
        assert list(target) == [1, 3, 5, 7, 9, 50]


def test_sbom_writes_ahead_only_what_does_not_depend_on_the_stream(report: Report) -> None:
    """`lashing sbom` writes its document into memory while the layers are still being hashed: the very
    text the writer gives, for that very report; the table (colors on a terminal) is written at the end."""
    from lashing.cli.sbom import WrittenAhead

    ahead = WrittenAhead("json")
    ahead.write(report)
    copied = io.StringIO()
    assert ahead.copy(report, copied) and copied.getvalue() == render(report, "json")
    assert not ahead.copy(replace(report), io.StringIO())  # an equal report, but not the one written
    table = WrittenAhead("table")
    table.write(report)
    assert not table.copy(report, io.StringIO())


# -- SPDX ------------------------------------------------------------------------------------------------


def write_spdx(report: Report, path: Path):
    path.write_text(render(report, "spdx-json"))
    return parse_file(str(path))


def test_spdx_validates_and_lists_every_package(report: Report, tmp_path: Path) -> None:
    document = write_spdx(report, tmp_path / "sbom.spdx.json")
    assert validate_full_spdx_document(document) == []
    raw = json.loads((tmp_path / "sbom.spdx.json").read_text())
    assert raw["spdxVersion"] == "SPDX-2.3"
    assert raw["creationInfo"]["creators"] == ["Tool: lashing-0.1.0"]
    assert raw["documentNamespace"].startswith("https://")
    assert sha("manifest").removeprefix("sha256:") in raw["documentNamespace"]
    ids = [p.spdx_id for p in document.packages]
    assert len(ids) == len(set(ids))
    purls = {
        ref.locator: p
        for p in document.packages
        for ref in p.external_references
        if ref.reference_type == "purl"
    }
    assert set(purls) == {p.purl for p in report.packages}  # the two npm semvers share one purl
    by_path_and_purl = {}
    for pkg in document.packages:
        paths = [
            line.partition("=")[2]
            for line in (pkg.comment or "").splitlines()
            if line.startswith("lashing:location:path=")
        ]
        for ref in pkg.external_references:
            by_path_and_purl.update({(path, ref.locator): pkg for path in paths})
    for pkg in report.packages:
        spdx_pkg = by_path_and_purl[(pkg.locations[0].path, pkg.purl)]
        assert (spdx_pkg.name, spdx_pkg.version) == (pkg.name, pkg.version)
        assert f"lashing:layer:diff_id={pkg.layer.diff_id}" in spdx_pkg.comment
    rels = {
        (r.spdx_element_id, r.relationship_type, r.related_spdx_element_id) for r in document.relationships
    }
    assert ("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, "SPDXRef-Image") in rels
    for spdx_id in ids[1:]:
        assert ("SPDXRef-Image", RelationshipType.CONTAINS, spdx_id) in rels
    # non-SPDX license names (GPL-2+, "BSD", "MIT License") become LicenseRefs with their text
    extracted = {e.extracted_text for e in document.extracted_licensing_info}
    assert "BSD" in extracted
    deb_names = {v for p in report.packages if p.type is PackageType.DEB for v in p.licenses}
    assert deb_names and any(v in extracted for v in deb_names)


def test_spdx_namespace_is_unique_per_run(report: Report) -> None:
    first, second = json.loads(render(report, "spdx-json")), json.loads(render(report, "spdx-json"))
    assert first["documentNamespace"] != second["documentNamespace"]
    first.pop("documentNamespace"), second.pop("documentNamespace")
    assert first == second


def test_spdx_linear_validation_agrees_with_spdx_tools(report: Report) -> None:
    good = spdx_mod.build_document(report)
    assert validate_linear(good) == [] == validate_full_spdx_document(good)
    dangling = spdx_mod.build_document(report)
    dangling.relationships.append(Relationship("SPDXRef-Image", RelationshipType.CONTAINS, "SPDXRef-Missing"))
    assert validate_linear(dangling) and validate_full_spdx_document(dangling)
    unknown_ref = spdx_mod.build_document(report)
    unknown_ref.extracted_licensing_info.pop()
    assert validate_linear(unknown_ref) and validate_full_spdx_document(unknown_ref)


def test_spdx_writer_refuses_an_invalid_document(report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = spdx_mod.build_document(report)
    broken.relationships.append(Relationship("SPDXRef-Image", RelationshipType.CONTAINS, "SPDXRef-Missing"))
    monkeypatch.setattr(spdx_mod, "build_document", lambda _report: broken)
    stream = io.StringIO()
    with pytest.raises(LashingError, match="SPDX document is invalid"):
        write_report(report, "spdx-json", stream)
    assert stream.getvalue() == ""


def test_large_report_takes_the_linear_paths(report: Report, tmp_path: Path) -> None:
    """600 packages: over the full-validation bound, so the set-based SPDX check runs; both outputs valid."""
    base = report.packages[-1]
    many = tuple(
        replace(
            base,
            name=f"pkg-{i}",
            purl=f"pkg:npm/pkg-{i}@1.0.{i}",
            version=f"1.0.{i}",
            locations=(Location(f"app/node_modules/pkg-{i}/package.json"),),
        )
        for i in range(600)
    )
    big = replace(report, packages=report.packages + many)
    document = write_spdx(big, tmp_path / "big.spdx.json")
    assert len(document.packages) == len(big.packages) + 2
    assert validate_full_spdx_document(document) == []
    text = render(big, "cyclonedx-json")
    assert CDX_VALIDATOR.validate_str(text) is None
    assert len(json.loads(text)["components"]) == len(big.packages) + 2  # + OS + the unlisted zlib1g


# -- table -----------------------------------------------------------------------------------------------


def test_table_lists_packages_and_findings_by_severity(report: Report) -> None:
    text = render(report, "table")
    assert not ANSI.search(text)
    lines = text.splitlines()
    assert all(line == line.rstrip() for line in lines)
    for pkg in report.packages:
        row = next(line for line in lines if f" {pkg.name} " in line and pkg.locations[0].path in line)
        assert pkg.version in row and f" {pkg.layer.index} " in row
        if pkg.source_name != pkg.name:
            assert pkg.source_name in row
    assert "RUN cd /app && npm ci # buildkit" in text or "RUN |1" in text
    severities = [w for line in lines for w in line.split()[:1] if w in Severity.__members__]
    assert severities == sorted(severities, key=lambda s: -Severity[s]) and len(severities) == len(
        report.findings
    )
    assert "AWS access key" in text and "app/.env:3" in text
    assert "1 warning" in text


@pytest.mark.parametrize("width", [30, 60, 100, 200])
def test_table_fits_a_terminal_width(report: Report, width: int) -> None:
    from lashing.report.table import render as render_table

    stream = io.StringIO()
    render_table(report, stream, width=width)
    lines = stream.getvalue().splitlines()
    assert max(len(line) for line in lines) <= width
    assert "libc" in stream.getvalue() or report.packages[0].name[:4] in stream.getvalue()


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_table_on_a_terminal_uses_color_but_not_untrusted_escapes(
    report: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    evil = replace(report.packages[0], name="evil\x1b]0;pwned\x07\u202etxt.exe")
    stream = FakeTty()
    write_report(replace(report, packages=(*report.packages, evil)), "table", stream)
    out = stream.getvalue()
    assert ANSI.search(out)  # severity colors
    assert "\x1b]0" not in out and "\x07" not in out and "\u202e" not in out
    assert "evil\\x1b]0;pwned\\x07\\u202etxt.exe" in ANSI.sub("", out).replace("\n", "")


# -- odd names, property-style ---------------------------------------------------------------------------

ODD = st.text(
    st.one_of(
        st.sampled_from(list(" @/:%#?&+=[]{}\"'\\<>é中🙂\u200d\t")), st.characters(exclude_categories=("Cs",))
    ),
    min_size=1,
    max_size=24,
)


@settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(names=st.lists(ODD, min_size=1, max_size=3), versions=st.lists(ODD, min_size=3, max_size=3), lic=ODD)
def test_odd_names_still_validate(
    report: Report, tmp_path: Path, names: list[str], versions: list[str], lic: str
):
    packages = []
    for i, name in enumerate(names):
        kind = (PackageType.NPM, PackageType.PYTHON, PackageType.DEB)[i % 3]
        try:
            purl = PackageURL(kind.value, None, name, versions[i]).to_string()
        except (ValueError, TypeError):  # e.g. a blank name or version: analyzers leave the purl empty
            purl = ""
        packages.append(
            Package(
                name=name,
                version=versions[i],
                type=kind,
                purl=purl,
                source_name=name + "-src",
                licenses=(lic, "MIT"),
                locations=(Location(f"app/{name}/package.json"),),
                layer=replace(LAYERS[2], created_by=name),
                extra={name: versions[i]},
            )
        )
    vuln = Finding(
        id="GHSA-" + names[0],
        kind=FindingKind.VULNERABILITY,
        severity=Severity.HIGH,
        title=names[0],
        package=packages[0],
        aliases=(names[-1],),
        fixed_versions=(versions[-1],),
    )
    odd = replace(
        report, artifact=replace(report.artifact, name=names[0]), packages=tuple(packages), findings=(vuln,)
    )

    text = render(odd, "cyclonedx-json")
    assert CDX_VALIDATOR.validate_str(text) is None
    bom = json.loads(text)
    assert {c["name"] for c in bom["components"] if c["type"] == "library"} == set(names)

    document = write_spdx(odd, tmp_path / "odd.spdx.json")
    assert validate_full_spdx_document(document) == []
    written = json.loads((tmp_path / "odd.spdx.json").read_text())["packages"][2:]
    assert sorted(p["name"] for p in written) == sorted(n if n.strip() else "unknown" for n in names)

    back = load_report(render(odd, "json").encode())
    assert back == odd and [p.extra for p in back.packages] == [p.extra for p in odd.packages]

    table = render(odd, "table")
    from lashing.report.table import cell

    for name in names:
        assert cell(name).plain.replace("\t", " ") in table.replace("\t", " ")


# -- a real image, end to end ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def image_report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """The shared test image (Debian + pip + npm layers, tests/imagebuild.py) scanned by the pipeline."""
    import imagebuild as ib
    from lashing.pipeline import ScanOptions, scan_inventory

    image = ib.build_layered_image(ib.session_dir(tmp_path_factory))
    report, _ = scan_inventory(str(image.layout), ScanOptions(use_cache=False))
    return report


@pytest.mark.slow
def test_real_image_in_every_format(image_report: Report, tmp_path: Path) -> None:
    report = image_report
    assert len(report.packages) > 100 and {p.type for p in report.packages} >= {
        PackageType.DEB,
        PackageType.NPM,
    }
    layer_ids = {layer.diff_id for layer in report.layers}

    text = render(report, "cyclonedx-json")
    assert CDX_VALIDATOR.validate_str(text) is None
    components = [c for c in json.loads(text)["components"] if c["type"] == "library"]
    assert len(components) == len(report.packages)
    assert cyclonedx_document(report) == plain_cyclonedx(report)
    assert all(
        set(props(c, "lashing:layer:diff_id")) <= layer_ids and props(c, "lashing:layer:diff_id")
        for c in components
    )
    assert sorted(c.get("purl", "") for c in components) == sorted(
        PackageURL.from_string(p.purl).to_string() if p.purl else "" for p in report.packages
    )
    rebuilt = [p for p in report.packages if p.source_name and p.source_name != p.name]
    assert rebuilt and any(
        props(c, "lashing:package:source_name") == [rebuilt[0].source_name] for c in components
    )

    document = write_spdx(report, tmp_path / "image.spdx.json")
    assert validate_full_spdx_document(document) == []
    assert len(document.packages) == len(report.packages) + 1 + (report.os is not None)

    assert load_report(render(report, "json").encode()) == report
    table = render(report, "table")
    assert all(f" {p.name} " in table for p in report.packages)
