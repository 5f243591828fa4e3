"""OS detection, dpkg and apk catalogers: against dpkg-query on a real Debian rootfs, and real-format texts."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from debian.deb822 import Deb822
from debian.debian_support import Version
from packageurl import PackageURL

from fixtures_rootfs import debian_rootfs, dpkg_query
from lashing.analyzers.image import analyze_directory
from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.analyzers.inventory.apk import ApkAnalyzer, parse_installed, split_license
from lashing.analyzers.inventory.dpkg import DpkgAnalyzer, parse_status
from lashing.analyzers.inventory.osrelease import (
    OSReleaseAnalyzer,
    finalize_os_purls,
    merge_os,
    os_purl,
)
from lashing.model import OSInfo, Package, PackageType

rootfs = pytest.fixture(scope="session")(debian_rootfs)

INSTALLED_ABBREV = "iWt"  # dpkg-query's second status letter for installed, triggers-awaited/pending


def run(analyzer: Analyzer, path: str, content: bytes) -> AnalysisResult | None:
    info = FileInfo(path=path, size=len(content))
    assert analyzer.required(path, info), path
    return analyzer.analyze(AnalysisInput(info=info, content=content))


def as_rows(packages) -> set[tuple[str, str, str, str, str]]:
    return {(p.name, p.version, p.arch, p.source_name, p.source_version) for p in packages}


def expected_rows(admindir: Path) -> set[tuple[str, str, str, str, str]]:
    return {row[:5] for row in dpkg_query(admindir) if row[5][1] in INSTALLED_ABBREV}


# -- dpkg on a real Debian root filesystem --------------------------------------------------------


def test_dpkg_status_matches_dpkg_query(rootfs: Path) -> None:
    status = rootfs / "var/lib/dpkg/status"
    result = run(DpkgAnalyzer(), "var/lib/dpkg/status", status.read_bytes())
    assert result is not None and result.warnings == ()
    expected = expected_rows(rootfs / "var/lib/dpkg")
    assert len(expected) > 100
    assert as_rows(result.packages) == expected
    assert len(result.packages) == len(expected)  # no duplicates
    order = [p["Package"] for p in Deb822.iter_paragraphs(status.read_bytes())]
    assert [p.name for p in result.packages] == [n for n in order if n in {p.name for p in result.packages}]
    for pkg in result.packages:
        assert pkg.type is PackageType.DEB and pkg.cataloger == "dpkg" and pkg.locations == ()
        epoch = Version(pkg.version).epoch
        assert pkg.epoch == (int(epoch) if epoch else None)
        purl = PackageURL.from_string(pkg.purl)
        assert (purl.type, purl.name, purl.version, purl.qualifiers["arch"]) == ("deb", pkg.name, pkg.version, pkg.arch)
    # The rootfs has binNMUs and source-named differently packages: both paths are exercised.
    assert any(p.source_version != p.version for p in result.packages)
    assert any(p.source_name != p.name for p in result.packages)


def test_dpkg_skips_what_dpkg_query_does_not_call_installed(rootfs: Path, tmp_path: Path) -> None:
    """Edit real paragraphs into other states; dpkg-query on the edited database is the oracle."""
    paragraphs = list(Deb822.iter_paragraphs((rootfs / "var/lib/dpkg/status").read_bytes()))
    states = ["deinstall ok config-files", "install ok half-installed", "install ok unpacked",
              "hold ok installed", "install ok triggers-pending", "purge ok not-installed"]
    for para, state in zip(paragraphs[5:], states, strict=False):
        para["Status"] = state
        if state.endswith("triggers-pending"):
            para["Triggers-Pending"] = "ldconfig"  # dpkg insists on one
    admindir = tmp_path / "dpkg"
    (admindir / "updates").mkdir(parents=True)
    (admindir / "info").mkdir()
    text = "\n".join(p.dump() for p in paragraphs)
    (admindir / "status").write_text(text)
    result = run(DpkgAnalyzer(), "var/lib/dpkg/status", text.encode())
    assert result is not None
    expected = expected_rows(admindir)
    assert as_rows(result.packages) == expected
    assert len(expected) == len(paragraphs) - 4  # config-files, half-installed, unpacked, not-installed


def test_distroless_status_d_gives_the_same_answer(rootfs: Path, tmp_path: Path) -> None:
    """Distroless: one paragraph per file in status.d (no Status field there), with md5sums beside."""
    status_d = tmp_path / "var/lib/dpkg/status.d"
    status_d.mkdir(parents=True)
    for para in Deb822.iter_paragraphs((rootfs / "var/lib/dpkg/status").read_bytes()):
        name = para["Package"]
        del para["Status"]
        (status_d / name).write_text(para.dump())
        for md5 in (rootfs / "var/lib/dpkg/info").glob(f"{name}*.md5sums"):
            shutil.copy(md5, status_d / f"{name}.md5sums")
    analyzer = DpkgAnalyzer()
    found: list[Package] = []
    md5_files = 0
    for path in sorted(status_d.iterdir()):
        rel = str(path.relative_to(tmp_path))
        if not analyzer.required(rel, FileInfo(rel, path.stat().st_size)):
            assert rel.endswith(".md5sums")
            md5_files += 1
            continue
        result = run(analyzer, rel, path.read_bytes())
        assert result is not None and result.warnings == ()
        found.extend(result.packages)
    assert md5_files > 50
    assert as_rows(found) == expected_rows(rootfs / "var/lib/dpkg")
    assert not analyzer.required("var/lib/dpkg/status.d/sub/x", FileInfo("var/lib/dpkg/status.d/sub/x", 1))
    assert not analyzer.required("var/lib/dpkg/status-old", FileInfo("var/lib/dpkg/status-old", 1))


def test_dpkg_survives_bad_bytes() -> None:
    data = (b"Package: caf\xe9\nStatus: install ok installed\nVersion: 1:2.0-1\nArchitecture: amd64\n"
            b"Source: real-src (2.0-0.1)\nDescription: \xff\xfe junk\n\x00\x01\x02\n\n"
            b"\xde\xad\xbe\xef\n\nPackage: noversion\nStatus: install ok installed\n\n"
            b"Package: ok\r\nStatus: install ok installed\r\nVersion: 3\r\nArchitecture: all\r\n")
    packages, warnings = parse_status(data)
    by_name = {p.name: p for p in packages}
    assert set(by_name) == {"caf\ufffd", "ok"}
    weird = by_name["caf\ufffd"]
    assert (weird.epoch, weird.source_name, weird.source_version) == (1, "real-src", "2.0-0.1")
    assert by_name["ok"].version == "3" and by_name["ok"].arch == "all"
    assert any("noversion" in w for w in warnings)
    assert parse_status(bytes(range(256)) * 100) == ([], [])
    assert parse_status(b"") == ([], [])


# -- OS detection ---------------------------------------------------------------------------------


def test_os_release_on_the_real_rootfs(rootfs: Path) -> None:
    analyzer = OSReleaseAnalyzer()
    answers = []
    for rel in ("etc/os-release", "usr/lib/os-release", "etc/debian_version"):
        path = rootfs / rel
        if path.is_symlink():  # the walker hands analyzers regular files only
            continue
        result = run(analyzer, rel, path.read_bytes())
        assert result is not None and result.os is not None
        answers.append(result.os)
    merged = merge_os(answers)
    assert merged is not None
    assert (merged.family, merged.version, merged.codename, merged.distroless) == ("debian", "12", "bookworm", False)
    point = (rootfs / "etc/debian_version").read_text().strip()
    assert re.fullmatch(r"12\.\d+", point)
    assert merged.name == f"Debian GNU/Linux {point} (bookworm)"


def test_whole_directory_analysis_gives_distro_purls(rootfs: Path) -> None:
    analysis = analyze_directory(rootfs, [DpkgAnalyzer(), OSReleaseAnalyzer()])
    inv = analysis.inventory
    assert inv.os is not None and (inv.os.family, inv.os.version) == ("debian", "12")
    assert as_rows(inv.packages) == expected_rows(rootfs / "var/lib/dpkg")
    for pkg in inv.packages:
        purl = PackageURL.from_string(pkg.purl)
        assert purl.namespace == "debian" and purl.qualifiers["distro"] == "debian-12"
        assert pkg.locations[0].path == "var/lib/dpkg/status"


OS_RELEASE_CASES = {
    "ubuntu": ('NAME="Ubuntu"\nVERSION="22.04.3 LTS (Jammy Jellyfish)"\nID=ubuntu\nID_LIKE=debian\n'
               'PRETTY_NAME="Ubuntu 22.04.3 LTS"\nVERSION_ID="22.04"\nVERSION_CODENAME=jammy\nUBUNTU_CODENAME=jammy\n',
               ("ubuntu", "22.04", "jammy", "Ubuntu 22.04.3 LTS", False)),
    "alpine": ('NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.18.4\nPRETTY_NAME="Alpine Linux v3.18"\n'
               'HOME_URL="https://alpinelinux.org/"\n', ("alpine", "3.18.4", "", "Alpine Linux v3.18", False)),
    "rhel": ('NAME="Red Hat Enterprise Linux"\nVERSION="9.2 (Plow)"\nID="rhel"\nID_LIKE="fedora"\n'
             'VERSION_ID="9.2"\nPRETTY_NAME="Red Hat Enterprise Linux 9.2 (Plow)"\n',
             ("rhel", "9.2", "", "Red Hat Enterprise Linux 9.2 (Plow)", False)),
    "amzn": ('NAME="Amazon Linux"\nVERSION="2023"\nID="amzn"\nID_LIKE="fedora"\nVERSION_ID="2023"\n'
             'PRETTY_NAME="Amazon Linux 2023"\n', ("amzn", "2023", "", "Amazon Linux 2023", False)),
    "sles": ('NAME="SLES"\nVERSION="15-SP5"\nVERSION_ID="15.5"\nPRETTY_NAME="SUSE Linux Enterprise Server 15 SP5"\n'
             'ID="sles"\nID_LIKE="suse"\n', ("sles", "15.5", "", "SUSE Linux Enterprise Server 15 SP5", False)),
    "wolfi": ('ID=wolfi\nNAME="Wolfi"\nPRETTY_NAME="Wolfi"\nVERSION_ID="20230201"\n',
              ("wolfi", "20230201", "", "Wolfi", False)),
    "debian-testing": ('PRETTY_NAME="Debian GNU/Linux trixie/sid"\nNAME="Debian GNU/Linux"\n'
                       'VERSION_CODENAME=trixie\nID=debian\n',
                       ("debian", "trixie", "trixie", "Debian GNU/Linux trixie/sid", False)),
    "distroless": ('PRETTY_NAME="Distroless"\nNAME="Debian GNU/Linux"\nID="debian"\nVERSION_ID="12"\n'
                   'VERSION="Debian GNU/Linux 12 (bookworm)"\nHOME_URL="https://github.com/GoogleContainerTools/distroless"\n',
                   ("debian", "12", "bookworm", "Distroless", True)),
    "comments-and-junk": ("# comment\n\nID='opensuse-leap'  \nVERSION_ID=\"15.5\"\nnot a line\n=x\nNAME=\"open'SUSE\n",
                          ("opensuse-leap", "15.5", "", "open'SUSE", False)),
}


@pytest.mark.parametrize("case", sorted(OS_RELEASE_CASES))
def test_os_release_parsing(case: str) -> None:
    text, (family, version, codename, name, distroless) = OS_RELEASE_CASES[case]
    result = run(OSReleaseAnalyzer(), "usr/lib/os-release", text.encode())
    assert result is not None and result.os == OSInfo(family, version, codename, name, distroless)


RELEASE_FILE_CASES = [
    ("etc/redhat-release", "Red Hat Enterprise Linux release 8.9 (Ootpa)\n", ("rhel", "8.9", "Ootpa")),
    ("etc/centos-release", "CentOS Linux release 7.9.2009 (Core)\n", ("centos", "7.9.2009", "Core")),
    ("etc/centos-release", "CentOS Stream release 9\n", ("centos", "9", "")),
    ("etc/rocky-release", "Rocky Linux release 9.3 (Blue Onyx)\n", ("rocky", "9.3", "Blue Onyx")),
    ("etc/almalinux-release", "AlmaLinux release 9.3 (Shamrock Pampas Cat)\n",
     ("almalinux", "9.3", "Shamrock Pampas Cat")),
    ("etc/fedora-release", "Fedora release 39 (Thirty Nine)\n", ("fedora", "39", "Thirty Nine")),
    ("etc/system-release", "Amazon Linux release 2 (Karoo)\n", ("amzn", "2", "Karoo")),
    ("etc/system-release", "Oracle Linux Server release 8.9\n", ("ol", "8.9", "")),
    ("etc/alpine-release", "3.19.1\n", ("alpine", "3.19.1", "")),
    ("etc/debian_version", "11.9\n", ("debian", "11.9", "bullseye")),
    ("etc/debian_version", "bookworm/sid\n", ("debian", "bookworm", "bookworm")),
    ("etc/lsb-release", "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=20.04\nDISTRIB_CODENAME=focal\n"
                        'DISTRIB_DESCRIPTION="Ubuntu 20.04.6 LTS"\n', ("ubuntu", "20.04", "focal")),
]


@pytest.mark.parametrize(("path", "text", "expected"), RELEASE_FILE_CASES)
def test_release_files(path: str, text: str, expected: tuple[str, str, str]) -> None:
    result = run(OSReleaseAnalyzer(), path, text.encode())
    assert result is not None and result.os is not None
    assert (result.os.family, result.os.version, result.os.codename) == expected


@pytest.mark.parametrize("path", ["etc/os-release", "etc/redhat-release", "etc/debian_version", "etc/alpine-release"])
def test_release_files_with_garbage_warn(path: str) -> None:
    result = run(OSReleaseAnalyzer(), path, b"\x00\xff garbage \x80\n" * 50)
    assert result is not None and result.os is None and result.warnings


def _answers(files: dict[str, str]) -> list[OSInfo | None]:
    return [run(OSReleaseAnalyzer(), path, text.encode()).os for path, text in files.items()]  # type: ignore[union-attr]


def test_merge_prefers_the_derivative_over_its_base_files() -> None:
    ubuntu = _answers({"etc/debian_version": "bookworm/sid\n", "usr/lib/os-release": OS_RELEASE_CASES["ubuntu"][0]})
    assert merge_os(ubuntu) == OSInfo("ubuntu", "22.04", "jammy", "Ubuntu 22.04.3 LTS")
    oracle = _answers({
        "etc/redhat-release": "Red Hat Enterprise Linux release 8.9 (Ootpa)\n",
        "etc/system-release": "Oracle Linux Server release 8.9\n",
        "usr/lib/os-release": 'NAME="Oracle Linux Server"\nVERSION="8.9"\nID="ol"\nVERSION_ID="8.9"\n'
                              'PRETTY_NAME="Oracle Linux Server 8.9"\n',
    })
    assert merge_os(oracle) == OSInfo("ol", "8.9", "", "Oracle Linux Server 8.9")


def test_merge_debian_point_release_and_fallbacks() -> None:
    alone = merge_os(_answers({"etc/debian_version": "11.9\n"}))
    assert alone == OSInfo("debian", "11", "bullseye", "Debian GNU/Linux 11.9 (bullseye)")
    distroless = merge_os(_answers({"etc/debian_version": "12.5\n",
                                    "etc/os-release": OS_RELEASE_CASES["distroless"][0]}))
    assert distroless == OSInfo("debian", "12", "bookworm", "Distroless", distroless=True)
    centos_release = 'ID="centos"\nVERSION_ID="7"\nPRETTY_NAME="CentOS Linux 7 (Core)"\n'
    centos = merge_os(_answers({"etc/centos-release": "CentOS Linux release 7.9.2009 (Core)\n",
                                "etc/os-release": centos_release}))
    assert centos == OSInfo("centos", "7", "Core", "CentOS Linux 7 (Core)")
    assert merge_os([]) is None and merge_os([None]) is None


def test_finalize_os_purls() -> None:
    deb = Package("openssl", "3.0.11-1~deb12u2", PackageType.DEB, arch="amd64",
                  purl="pkg:deb/openssl@3.0.11-1~deb12u2?arch=amd64&upstream=openssl")
    apk = Package("musl", "1.2.4-r2", PackageType.APK, purl="pkg:apk/musl@1.2.4-r2?arch=x86_64")
    npm = Package("lodash", "4.17.15", PackageType.NPM, purl="pkg:npm/lodash@4.17.15")
    bare = Package("zlib1g", "1:1.2.13.dfsg-1", PackageType.DEB, arch="amd64")
    os_info = OSInfo("debian", "12", "bookworm")
    out = finalize_os_purls([deb, apk, npm, bare], os_info)
    assert out[0].purl == "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"
    assert out[1:3] == [apk, npm]  # not Debian's package manager: left alone
    assert out[3].purl == "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12"
    rpm = Package("openssl", "1:3.0.7-27.el9", PackageType.RPM,
                  purl="pkg:rpm/redhat/openssl@3.0.7-27.el9?arch=x86_64&epoch=1")
    rocky = finalize_os_purls([rpm], OSInfo("rocky", "9.3"))[0]
    assert rocky.purl == "pkg:rpm/rocky/openssl@3.0.7-27.el9?arch=x86_64&distro=rocky-9.3&epoch=1"
    assert finalize_os_purls([deb], None) == [deb]
    assert os_purl("deb", "", "1", {"arch": "amd64"}) == ""  # no name, no purl (never an exception)
    assert os_purl("deb", "a", "1", {"arch": " ", "upstream": ""}) == "pkg:deb/a@1"


# -- apk ------------------------------------------------------------------------------------------

APK_DB = """\
C:Q1Vz/ipW7+ifKXX0YTMJLM1DOFaxo=
P:musl
V:1.2.4-r2
A:x86_64
S:383152
I:622592
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Timo Teräs <timo.teras@iki.fi>
t:1698258866
c:6d3abb2c3a3e4c8f5e2c8e5b1f1f3bfb5f1e5fa2
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1rRQ/7SNDDUmMqJbzU8p/g/wT+Zo=
R:libc.musl-x86_64.so.1
a:0:0:777
Z:Q17yJ3JFNypA4mxhJJr0ou6CzsJVI=

C:Q1I0Tw5SCqU3X5yRY1y3AmxyTBpJU=
P:libcrypto3
V:3.1.4-r0
A:x86_64
S:1783744
I:4366336
T:Crypto library from openssl
U:https://www.openssl.org/
L:Apache-2.0
o:openssl
m:Ariadne Conill <ariadne@dereferenced.org>
t:1698171370
c:3f27bcd26d7a5d1e6e7a7d6c9d7e2c9d3c3f1a7b
D:so:libc.musl-x86_64.so.1
p:so:libcrypto.so.3=3
r:libressl
F:etc
F:etc/ssl
R:openssl.cnf.dist
Z:Q1jRbQ8JqqE3uJZ5b7F6I8nqH9g6U=
F:usr
F:usr/lib
R:libcrypto.so.3
a:0:0:755
Z:Q1xQJ9hGxq0Tc7qmH6V0D0V0Y5yK0=
R:engines-3/afalg.so
Z:Q1b+O6X6eU5K4yJ4y5OaN4c8r7G2E=

C:Q1n2f0WXmHqGcZQY9ZxY2a8c1m0bA=
P:busybox
V:1.36.1-r5
A:x86_64
S:509380
I:946176
T:Size optimized toolbox of many common UNIX utilities
U:https://busybox.net/
L:GPL-2.0-only
o:busybox
m:Sören Tempel <soeren+alpine@soeren-tempel.net>
t:1697554040
c:2b5c9f8ac1a6d6f8e4f0a6c0e3c1b3a0f7e8d9c1
D:so:libc.musl-x86_64.so.1
p:/bin/sh cmd:busybox=1.36.1-r5 cmd:sh=1.36.1-r5
r:busybox-initscripts
F:bin
R:busybox
a:0:0:755
Z:Q1WUwBY0eZGBDeQIeVLzmoBMNn1Sg=
R:sh
a:0:0:777
Z:Q1pcfTfDNEbNKQc2s1tia7da05M8Q=

C:Q1kK3l1Qm0l0h2kY5d7y1Y1t8wTQ0=
P:ssl_client
V:1.36.1-r5
A:x86_64
S:4952
I:14336
T:EXternal ssl_client for busybox wget
U:https://busybox.net/
L:GPL-2.0-only AND BSD-2-Clause
o:busybox
m:Sören Tempel <soeren+alpine@soeren-tempel.net>
t:1697554040
c:2b5c9f8ac1a6d6f8e4f0a6c0e3c1b3a0f7e8d9c1
D:so:libc.musl-x86_64.so.1 so:libcrypto.so.3 so:libssl.so.3
i:busybox=1.36.1-r5 libssl3
F:usr
F:usr/bin
R:ssl_client
a:0:0:755
Z:Q1KThm2NybIL9A4R7ycYD7DMoQUCE=

P:old-style
V:0.1-r0
A:noarch
L:MIT BSD GPL2+

"""

APK_EXPECTED = [
    ("musl", "1.2.4-r2", "x86_64", "musl", ("MIT",), 2, "https://musl.libc.org/"),
    ("libcrypto3", "3.1.4-r0", "x86_64", "openssl", ("Apache-2.0",), 3, "https://www.openssl.org/"),
    ("busybox", "1.36.1-r5", "x86_64", "busybox", ("GPL-2.0-only",), 2, "https://busybox.net/"),
    ("ssl_client", "1.36.1-r5", "x86_64", "busybox", ("GPL-2.0-only AND BSD-2-Clause",), 1, "https://busybox.net/"),
    ("old-style", "0.1-r0", "noarch", "old-style", ("MIT", "BSD", "GPL2+"), 0, None),
]


def _apk_rows(packages: list[Package]) -> list[tuple]:
    return [(p.name, p.version, p.arch, p.source_name, p.licenses, int(p.extra["files"]), p.extra.get("url"))
            for p in packages]


def test_apk_installed_db_every_field() -> None:
    result = run(ApkAnalyzer(), "lib/apk/db/installed", APK_DB.encode())
    assert result is not None and result.warnings == ()
    packages = list(result.packages)
    assert _apk_rows(packages) == APK_EXPECTED
    musl, libcrypto = packages[0], packages[1]
    assert musl.source_version == musl.version and musl.type is PackageType.APK and musl.cataloger == "apk"
    assert musl.extra["maintainer"] == "Timo Teräs <timo.teras@iki.fi>"
    assert musl.extra["commit"] == "6d3abb2c3a3e4c8f5e2c8e5b1f1f3bfb5f1e5fa2"
    assert musl.extra["build_time"] == "1698258866"
    assert musl.extra["description"] == "the musl c library (libc) implementation"
    assert musl.purl == "pkg:apk/musl@1.2.4-r2?arch=x86_64"
    assert libcrypto.purl == "pkg:apk/libcrypto3@3.1.4-r0?arch=x86_64&upstream=openssl"
    alpine = finalize_os_purls(packages, OSInfo("alpine", "3.18.4"))
    assert alpine[1].purl == "pkg:apk/alpine/libcrypto3@3.1.4-r0?arch=x86_64&distro=alpine-3.18.4&upstream=openssl"


@pytest.mark.parametrize("variant", ["crlf", "no-trailing-newline", "extra-blank-lines", "leading-blank-lines"])
def test_apk_layout_variants(variant: str) -> None:
    text = {
        "crlf": APK_DB.replace("\n", "\r\n"),
        "no-trailing-newline": APK_DB.rstrip("\n"),
        "extra-blank-lines": APK_DB.replace("\n\n", "\n\n\n\n"),
        "leading-blank-lines": "\n\n" + APK_DB,
    }[variant]
    packages, warnings = parse_installed(text.encode())
    assert warnings == [] and _apk_rows(packages) == APK_EXPECTED


def test_apk_garbage() -> None:
    data = (b"P:good\nV:1-r0\nthis is not a field\n\xff\xfe\x00\n\nP:noversion\nA:x86_64\n\n"
            + bytes(range(256)) * 10 + b"\n\nV:2\n")
    packages, warnings = parse_installed(data)
    assert [(p.name, p.version) for p in packages] == [("good", "1-r0")]
    assert any("noversion" in w for w in warnings) and any("malformed" in w for w in warnings)
    assert parse_installed(b"") == ([], [])
    assert run(ApkAnalyzer(), "lib/apk/db/installed", b"") is None
    assert split_license("  ") == ()
    assert not ApkAnalyzer().required("lib/apk/db/installed.old", FileInfo("lib/apk/db/installed.old", 1))


def test_dpkg_parses_latin1_text_without_loading_charset_guessers() -> None:
    """The dpkg cataloger decodes status files itself, so it imports deb822 without its charset
    guessers; a guesser stays importable for anything else, and non-UTF-8 bytes still parse."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from lashing.analyzers.inventory.dpkg import parse_status\n"
        "assert 'charset_normalizer' not in sys.modules and 'chardet' not in sys.modules\n"
        "pkgs, warnings = parse_status(b'Package: caf\\xe9\\nStatus: install ok installed\\nVersion: 1.0\\n'\n"
        "                              b'Maintainer: Ren\\xe9 <r@example.org>\\n')\n"
        "assert [(p.name, p.version) for p in pkgs] == [('caf\\ufffd', '1.0')], pkgs\n"
        "assert pkgs[0].extra['maintainer'].startswith('Ren\\ufffd'), pkgs[0].extra\n"
        "import importlib.util\n"
        "if importlib.util.find_spec('charset_normalizer'):\n"
        "    import charset_normalizer  # not poisoned for later importers\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
