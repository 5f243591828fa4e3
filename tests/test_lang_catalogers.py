"""Language-package catalogers: path rules, metadata forms and hostile input.

The real-artifact comparisons (pip, npm, go, cargo, jar, gem, composer against their own tools)
live in the other tests/test_lang_*.py files; the helpers they share are here.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest
from packageurl import PackageURL

from lashing.analyzers.image import analyze_directory
from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.analyzers.inventory import golang, java, rust
from lashing.analyzers.inventory.dotnet import DotnetDepsAnalyzer
from lashing.analyzers.inventory.golang import GoBinaryAnalyzer
from lashing.analyzers.inventory.java import JavaArchiveAnalyzer, split_file_name
from lashing.analyzers.inventory.npm import NpmPackageAnalyzer
from lashing.analyzers.inventory.php import ComposerInstalledAnalyzer
from lashing.analyzers.inventory.python import PythonPackageAnalyzer
from lashing.analyzers.inventory.ruby import GemSpecAnalyzer
from lashing.analyzers.inventory.rust import RustAuditableAnalyzer
from lashing.model import Package, PackageType

# ---------------------------------------------------------------- helpers shared by test_lang_*.py


def run(cmd: Sequence[str | Path], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run a tool; a failure shows its stderr."""
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout


def debian_extract(work: Path, packages: Iterable[str], root: Path) -> None:
    """`apt-get download` Debian packages into `work` and unpack them into `root` with dpkg-deb."""
    work.mkdir(parents=True, exist_ok=True)
    run(["apt-get", "download", *packages], cwd=work)
    for deb in sorted(work.glob("*.deb")):
        run(["dpkg-deb", "-x", deb, root])


def catalog(root: Path, analyzer: Analyzer) -> tuple[list[Package], tuple[str, ...]]:
    """Run one analyzer over a directory through the real walker and inventory assembly."""
    result = analyze_directory(root, [analyzer])
    return list(result.inventory.packages), result.warnings


def analyze(analyzer: Analyzer, path: str, content: bytes, mode: int = 0o644) -> AnalysisResult | None:
    """Call one analyzer on bytes after checking that it asks for the path."""
    info = FileInfo(path, len(content), mode)
    assert analyzer.required(path, info), path
    return analyzer.analyze(AnalysisInput(info, content))


def only(result: AnalysisResult | None) -> Package:
    assert result is not None and len(result.packages) == 1, result
    return result.packages[0]


# ---------------------------------------------------------------- path rules


@pytest.mark.parametrize(
    ("analyzer", "path", "wanted"),
    [
        (PythonPackageAnalyzer(), "usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO", True),
        (PythonPackageAnalyzer(), "usr/lib/python3/dist-packages/rpm-4.18.0.egg-info", True),
        (PythonPackageAnalyzer(), "venv/lib/python3.11/site-packages/idna-2.7.dist-info/METADATA", True),
        (PythonPackageAnalyzer(), "venv/lib/python3.11/site-packages/idna-2.7.dist-info/RECORD", False),
        (PythonPackageAnalyzer(), "src/project/PKG-INFO", False),
        (NpmPackageAnalyzer(), "app/node_modules/express/package.json", True),
        (NpmPackageAnalyzer(), "app/node_modules/@babel/code-frame/package.json", True),
        (NpmPackageAnalyzer(), "app/node_modules/send/node_modules/ms/package.json", True),
        (NpmPackageAnalyzer(), "usr/local/lib/node_modules/npm/package.json", True),
        (NpmPackageAnalyzer(), "node_modules/x/package.json", True),
        (NpmPackageAnalyzer(), "app/package.json", False),
        (NpmPackageAnalyzer(), "app/node_modules/@babel/package.json", False),
        (NpmPackageAnalyzer(), "app/node_modules/resolve/test/resolver/baz/package.json", False),
        (NpmPackageAnalyzer(), "app/node_modules/x/esm/package.json", False),
        (GemSpecAnalyzer(), "usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec", True),
        (GemSpecAnalyzer(), "usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec", True),
        (GemSpecAnalyzer(), "src/mygem/mygem.gemspec", False),
        (ComposerInstalledAnalyzer(), "var/www/vendor/composer/installed.json", True),
        (ComposerInstalledAnalyzer(), "vendor/composer/installed.json", True),
        (ComposerInstalledAnalyzer(), "var/www/myvendor/composer/installed.json", False),
        (ComposerInstalledAnalyzer(), "var/www/vendor/composer/installed.php", False),
        (DotnetDepsAnalyzer(), "app/MyApp.deps.json", True),
        (DotnetDepsAnalyzer(), "app/MyApp.runtimeconfig.json", False),
        (JavaArchiveAnalyzer(), "opt/app/lib/guava-31.1-jre.jar", True),
        (JavaArchiveAnalyzer(), "usr/local/tomcat/webapps/ROOT.WAR", True),
        (JavaArchiveAnalyzer(), "var/jenkins_home/plugins/git.jpi", True),
        (JavaArchiveAnalyzer(), "opt/app/lib/guava.jar.sha1", False),
    ],
)
def test_required_is_a_path_rule(analyzer: Analyzer, path: str, wanted: bool) -> None:
    assert analyzer.required(path, FileInfo(path, 1000)) is wanted


@pytest.mark.parametrize("analyzer", [GoBinaryAnalyzer(), RustAuditableAnalyzer()])
@pytest.mark.parametrize(
    ("path", "size", "mode", "wanted"),
    [
        ("usr/bin/skopeo", 16_000_000, 0o755, True),
        ("app/node_modules/esbuild/bin/esbuild", 9_000_000, 0o755, True),
        ("usr/bin/skopeo", 16_000_000, 0o644, False),  # not executable
        ("usr/bin/tiny", 100, 0o755, False),  # too small to be a program
        ("usr/bin/huge", 300 * 1024 * 1024, 0o755, False),  # over max_size
        ("usr/share/doc/x/run", 5000, 0o755, False),
        ("usr/lib/python3/dist-packages/x/tool.py", 5000, 0o755, False),
        ("etc/init.d/ssh", 5000, 0o755, False),
    ],
)
def test_binary_catalogers_want_plausible_executables(
    analyzer: Analyzer, path: str, size: int, mode: int, wanted: bool
) -> None:
    assert analyzer.required(path, FileInfo(path, size, mode)) is wanted


# ---------------------------------------------------------------- metadata forms


def test_python_license_sources_in_order_of_precedence() -> None:
    analyzer = PythonPackageAnalyzer()
    path = "site/x-1.dist-info/METADATA"
    body = b"Metadata-Version: 2.4\nName: X_Pkg.Name\nVersion: 1.0\nLicense-Expression: MIT OR Apache-2.0\n"
    pkg = only(analyze(analyzer, path, body + b"License: BSD\n\nLong description\nLicense: GPL\n"))
    assert (pkg.name, pkg.version, pkg.licenses) == ("X_Pkg.Name", "1.0", ("MIT OR Apache-2.0",))
    assert pkg.purl == "pkg:pypi/x-pkg-name@1.0"
    full_text = b"Name: y\nVersion: 2\nLicense: Copyright (c) 2020\n        Permission is hereby granted\n"
    classifiers = b"Classifier: License :: OSI Approved :: MIT License\nClassifier: License :: OSI Approved\n"
    pkg = only(analyze(analyzer, path, full_text + classifiers))
    assert pkg.licenses == ("MIT License",)
    pkg = only(analyze(analyzer, path, b"Name: z\nVersion: 3\nLicense: UNKNOWN\n"))
    assert pkg.licenses == ()


def test_npm_license_forms_and_scoped_purl() -> None:
    analyzer = NpmPackageAnalyzer()
    path = "node_modules/@scope/x/package.json"
    forms = {
        '"license": "MIT"': ("MIT",),
        '"license": {"type": "BSD-3-Clause", "url": "https://x"}': ("BSD-3-Clause",),
        '"licenses": [{"type": "MIT"}, {"type": "Apache-2.0"}]': ("MIT", "Apache-2.0"),
        '"license": "UNLICENSED"': ("UNLICENSED",),
        '"license": 7': (),
    }
    for field, expected in forms.items():
        content = f'{{"name": "@scope/x", "version": "1.0.0", {field}}}'.encode()
        pkg = only(analyze(analyzer, path, content))
        assert pkg.licenses == expected, field
    assert PackageURL.from_string(pkg.purl).to_dict()["namespace"] == "@scope"
    assert pkg.purl == "pkg:npm/%40scope/x@1.0.0"
    assert analyze(analyzer, path, b'{"name": "x"}') is None  # placeholder manifests are not packages
    assert analyze(analyzer, path, b'{"private": true}') is None


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        ("commons-lang3-3.12.0.jar", ("commons-lang3", "3.12.0")),
        ("guava-31.1-jre.jar", ("guava", "31.1-jre")),
        ("log4j-1.2-api-2.17.1.jar", ("log4j-1.2-api", "2.17.1")),
        ("spring-boot-2.7.0-SNAPSHOT.jar", ("spring-boot", "2.7.0-SNAPSHOT")),
        ("lib-20220101.jar", ("lib", "20220101")),
        ("ROOT.war", ("ROOT", "")),
    ],
)
def test_java_file_name_split(file_name: str, expected: tuple[str, str]) -> None:
    assert split_file_name(file_name) == expected


def test_gemspec_literal_forms_and_fallbacks() -> None:
    analyzer = GemSpecAnalyzer()
    spec = b"""# stub: nokogiri 1.13.10 x86_64-linux lib
Gem::Specification.new do |spec|
  spec.name = %q{nokogiri}
  spec.version = Gem::Version.new('1.13.10')
  spec.required_ruby_version = Gem::Requirement.new(">= 2.6")
  spec.rubygems_version = "3.3.7"
  spec.license = 'MIT'
end
"""
    path = "var/lib/gems/3.1.0/specifications/nokogiri-1.13.10-x86_64-linux.gemspec"
    pkg = only(analyze(analyzer, path, spec))
    assert (pkg.name, pkg.version, pkg.licenses, pkg.purl) == (
        "nokogiri",
        "1.13.10",
        ("MIT",),
        "pkg:gem/nokogiri@1.13.10",
    )
    computed = b"Gem::Specification.new do |s|\n  s.name = NAME\n  s.version = Foo::VERSION\nend\n"
    pkg = only(analyze(analyzer, "x/specifications/foo-bar-2.0.1.gemspec", computed))
    assert (pkg.name, pkg.version) == ("foo-bar", "2.0.1")


COMPOSER_1 = [
    {
        "name": "monolog/monolog",
        "version": "1.25.1",
        "version_normalized": "1.25.1.0",
        "type": "library",
        "license": ["MIT"],
        "require": {"php": ">=5.3.0", "psr/log": "~1.0"},
    },
    {"name": "psr/log", "version": "1.1.0", "version_normalized": "1.1.0.0", "license": ["MIT"]},
    {"name": "symfony/polyfill-ctype", "version": "v1.12.0", "license": "MIT"},
]


def test_composer_1_installed_json_is_a_list() -> None:
    result = analyze(
        ComposerInstalledAnalyzer(), "app/vendor/composer/installed.json", json.dumps(COMPOSER_1).encode()
    )
    assert result is not None
    got = {(p.name, p.version, p.purl, p.licenses) for p in result.packages}
    assert got == {
        ("monolog/monolog", "1.25.1", "pkg:composer/monolog/monolog@1.25.1", ("MIT",)),
        ("psr/log", "1.1.0", "pkg:composer/psr/log@1.1.0", ("MIT",)),
        ("symfony/polyfill-ctype", "v1.12.0", "pkg:composer/symfony/polyfill-ctype@v1.12.0", ("MIT",)),
    }


DEPS_JSON = {
    "runtimeTarget": {"name": ".NETCoreApp,Version=v6.0/linux-x64", "signature": ""},
    "compilationOptions": {},
    "targets": {
        ".NETCoreApp,Version=v6.0": {},
        ".NETCoreApp,Version=v6.0/linux-x64": {
            "MyApp/1.0.0": {
                "dependencies": {"Newtonsoft.Json": "13.0.1", "MyLib": "1.0.0"},
                "runtime": {"MyApp.dll": {}},
            },
            "Newtonsoft.Json/13.0.1": {
                "runtime": {
                    "lib/netstandard2.0/Newtonsoft.Json.dll": {
                        "assemblyVersion": "13.0.0.0",
                        "fileVersion": "13.0.1.25517",
                    }
                }
            },
            "System.Text.Encodings.Web/4.7.2": {
                "runtime": {"lib/netstandard2.1/System.Text.Encodings.Web.dll": {}}
            },
            "MyLib/1.0.0": {"runtime": {"MyLib.dll": {}}},
        },
    },
    "libraries": {
        "MyApp/1.0.0": {"type": "project", "serviceable": False, "sha512": ""},
        "Newtonsoft.Json/13.0.1": {
            "type": "package",
            "serviceable": True,
            "sha512": "sha512-ppPFpBcvxdsfUonNcvITKqLl3bqxWbDCZIzDWHzjpdAHRFfZe0Dw9H"
            "mA0+za13IdyrgJwpkDTDA9fHaxOrt20A==",
            "path": "newtonsoft.json/13.0.1",
            "hashPath": "newtonsoft.json.13.0.1.nupkg.sha512",
        },
        "System.Text.Encodings.Web/4.7.2": {"type": "package", "serviceable": True, "sha512": "sha512-x"},
        "Microsoft.NETCore.Targets/1.1.0": {"type": "package", "serviceable": True, "sha512": "sha512-y"},
        "MyLib/1.0.0": {"type": "project", "serviceable": False, "sha512": ""},
    },
}


def test_dotnet_deps_json_packages_not_projects() -> None:
    result = analyze(DotnetDepsAnalyzer(), "app/MyApp.deps.json", json.dumps(DEPS_JSON).encode())
    assert result is not None
    got = {(p.name, p.version, p.purl, p.type) for p in result.packages}
    # Microsoft.NETCore.Targets is in no target (compile-time only); MyApp and MyLib are projects.
    assert got == {
        ("Newtonsoft.Json", "13.0.1", "pkg:nuget/Newtonsoft.Json@13.0.1", PackageType.NUGET),
        (
            "System.Text.Encodings.Web",
            "4.7.2",
            "pkg:nuget/System.Text.Encodings.Web@4.7.2",
            PackageType.NUGET,
        ),
    }
    assert all(p.cataloger == "dotnet-deps" and not p.locations for p in result.packages)


# ---------------------------------------------------------------- hostile input


GARBAGE = [
    b"",
    b"\x00" * 64,
    b"\xff\xfe\xfd not text",
    b"{",
    b"[1, 2, 3]",
    b'{"packages": 5, "libraries": [], "name": 3}',
    b"[" * 100_000,
    "Name: \u00e9\nVersion: \ud800".encode("utf-8", "surrogatepass"),
]
TEXT_ANALYZERS = [
    (PythonPackageAnalyzer(), "a/x.dist-info/METADATA"),
    (NpmPackageAnalyzer(), "node_modules/x/package.json"),
    (GemSpecAnalyzer(), "a/specifications/x-1.gemspec"),
    (ComposerInstalledAnalyzer(), "vendor/composer/installed.json"),
    (DotnetDepsAnalyzer(), "a/x.deps.json"),
    (JavaArchiveAnalyzer(), "a/x.jar"),
]


@pytest.mark.parametrize(("analyzer", "path"), TEXT_ANALYZERS, ids=lambda v: getattr(v, "name", ""))
@pytest.mark.parametrize("content", GARBAGE, ids=range(len(GARBAGE)))
def test_malformed_content_never_raises(analyzer: Analyzer, path: str, content: bytes) -> None:
    result = analyze(analyzer, path, content)
    assert result is None or isinstance(result, AnalysisResult)


@pytest.mark.parametrize("analyzer", [GoBinaryAnalyzer(), RustAuditableAnalyzer()])
def test_binary_catalogers_survive_corrupt_headers(analyzer: Analyzer) -> None:
    elf_head = b"\x7fELF\x02\x01\x01" + b"\x00" * 57
    cases = [
        elf_head + b"\xff" * 4000,
        b"MZ" + b"\x00" * 2000 + golang.MAGIC + b"\x08\x02" + b"\x00" * 16 + b"\xff" * 12,
        golang.MAGIC + b"\x08\x00" + b"\xff" * 16 + b"\x00" * 2000,
        golang.MAGIC + b"\x03\x02" + b"\x00" * 2000,
        b"\x00" * 100 + golang.MAGIC + b"\x08\x02" + b"\x00" * 16 + b"\x80" * 3000,
    ]
    for content in cases:
        result = analyze(analyzer, "usr/bin/x", content.ljust(2048, b"\0"), mode=0o755)
        assert result is None or not result.packages


def test_go_inline_build_info_decoding() -> None:
    """A hand-laid inline header decodes like the linker's (strings lengths are uvarints)."""
    modinfo = (
        "path\texample.com/cmd\nmod\texample.com\tv1.0.0\th1:x=\ndep\tgolang.org/x/text\tv0.3.7\th1:y=\n"
    )
    sentinel = b"0123456789abcdef"
    blob = sentinel + modinfo.encode() + b"fedcba9876543210"
    body = bytes([len(b"go1.21.5")]) + b"go1.21.5" + _uvarint(len(blob)) + blob
    content = b"\x00" * 48 + golang.MAGIC + b"\x08\x02" + b"\x00" * 16 + body
    info = golang.read_build_info(content)
    assert info is not None and info.go_version == "go1.21.5"
    got = {(p.name, p.version, p.purl) for p in golang.packages_from(info, "go-binary")}
    assert got == {
        ("stdlib", "1.21.5", "pkg:golang/stdlib@v1.21.5"),
        ("example.com", "v1.0.0", "pkg:golang/example.com@v1.0.0"),
        ("golang.org/x/text", "v0.3.7", "pkg:golang/golang.org/x/text@v0.3.7"),
    }


def _uvarint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes([*out, value])


def test_rust_section_bombs_are_bounded() -> None:
    bomb = zlib.compress(b" " * (rust.MAX_JSON + 1), 9)
    assert len(bomb) < 20_000
    assert rust.decompress(bomb) is None
    assert rust.decompress(b"\x78\x9c not zlib") is None
    assert rust.decompress(zlib.compress(b'{"packages": []}')) == b'{"packages": []}'


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _pom(group: str, artifact: str, version: str) -> dict[str, bytes]:
    props = f"#Generated by Maven\ngroupId={group}\nartifactId={artifact}\nversion={version}\n"
    return {f"META-INF/maven/{group}/{artifact}/pom.properties": props.encode()}


def test_java_nesting_is_bounded_in_depth() -> None:
    inner = _zip(_pom("g", "level5", "5"))
    for level in range(4, -1, -1):
        inner = _zip({**_pom("g", f"level{level}", str(level)), f"lib/level{level + 1}.jar": inner})
    result = analyze(JavaArchiveAnalyzer(), "app/outer.jar", inner)
    assert result is not None
    names = {p.name for p in result.packages}
    assert names == {f"g:level{n}" for n in range(java.MAX_DEPTH + 1)}
    assert any("nested deeper" in w for w in result.warnings)
    deepest = next(p for p in result.packages if p.name == f"g:level{java.MAX_DEPTH}")
    assert deepest.extra["archive_path"].count("!/") == java.MAX_DEPTH - 1


def test_java_zip_bombs_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    huge = {"META-INF/maven/g/a/pom.properties": b"version=1\n" + b"#" * (2 * java.MAX_TEXT)}
    result = analyze(JavaArchiveAnalyzer(), "x.jar", _zip(huge))
    assert result is not None and not result.packages
    assert any("over" in w for w in result.warnings)
    monkeypatch.setattr(java, "MAX_NESTED_BYTES", 50_000)
    monkeypatch.setattr(java, "MAX_ARCHIVES", 3)
    wide = _zip({f"lib/l{n}.jar": _zip(_pom("g", f"l{n}", "1")) for n in range(6)})
    result = analyze(JavaArchiveAnalyzer(), "wide.war", wide)
    assert result is not None and len(result.packages) == 3
    assert any("over 3 nested archives" in w for w in result.warnings)
    big = _zip({"lib/big.jar": _zip({"pad": os.urandom(60_000)})})
    result = analyze(JavaArchiveAnalyzer(), "big.war", big)
    assert result is not None and any("not read" in w for w in result.warnings)


def test_walker_fills_locations_for_catalogers(tmp_path: Path) -> None:
    site = tmp_path / "usr/lib/python3/dist-packages/demo-1.0.dist-info"
    site.mkdir(parents=True)
    (site / "METADATA").write_text("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
    packages, warnings = catalog(tmp_path, PythonPackageAnalyzer())
    assert warnings == ()
    [pkg] = packages
    assert pkg.locations[0].path == "usr/lib/python3/dist-packages/demo-1.0.dist-info/METADATA"
    assert pkg.cataloger == "python-installed" and pkg.layer is not None
