"""Lockfile catalogers: real lockfiles from npm, oracles from go, Bundler, composer and pip; hand-written
fixtures for the rest (tests/lockfile_fixtures.py); malformed input; a directory scan."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import lockfile_fixtures as fx
from lashing.analyzers.image import analyze_directory
from lashing.analyzers.interface import AnalysisInput, AnalysisResult, FileInfo
from lashing.analyzers.inventory.python import normalize_name
from lashing.analyzers.lockfiles import default_lockfile_analyzers
from lashing.model import Package, PackageType

ANALYZERS = {a.name: a for a in default_lockfile_analyzers()}
FILE_OF = {
    "uv-lock": "uv.lock", "poetry-lock": "poetry.lock", "pipfile-lock": "Pipfile.lock",
    "cargo-lock": "Cargo.lock", "pnpm-lock": "pnpm-lock.yaml", "yarn-lock": "yarn.lock",
    "nuget-lock": "packages.lock.json", "maven-pom": "pom.xml", "go-mod": "go.mod",
    "gemfile-lock": "Gemfile.lock", "composer-lock": "composer.lock", "pip-requirements": "requirements.txt",
    "npm-package-lock": "package-lock.json",
}  # fmt: skip


def run(analyzer: str, content: str | bytes, path: str | None = None) -> AnalysisResult:
    data = content.encode() if isinstance(content, str) else content
    path = path or FILE_OF[analyzer]
    item = AnalysisInput(FileInfo(path, len(data)), data)
    assert ANALYZERS[analyzer].required(path, item.info)
    result = ANALYZERS[analyzer].analyze(item)
    return result if result is not None else AnalysisResult()


def index(result: AnalysisResult) -> dict[tuple[str, str], Package]:
    found = {(p.name, p.version): p for p in result.packages}
    assert len(found) == len(result.packages), "one package per name and version"
    return found


def flagged(result: AnalysisResult, key: str) -> set[tuple[str, str]]:
    return {(p.name, p.version) for p in result.packages if p.extra.get(key) == "true"}


def line_of(pkg: Package) -> int:
    (location,) = pkg.locations
    assert location.line is not None
    return location.line


def assert_lines(result: AnalysisResult, content: str, spelled=lambda p: p.name) -> None:
    """Each package's line (or the next one, for TOML headers) names the package."""
    lines = content.splitlines()
    for pkg in result.packages:
        line = line_of(pkg)
        assert spelled(pkg) in " ".join(lines[line - 1 : line + 1]), (pkg.name, line)
        assert pkg.cataloger and pkg.purl.startswith("pkg:")


def tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is needed by this test (scripts/test.sh installs it)"
    return found


# ---------------------------------------------------------------- npm: real lockfiles, `npm ls` as oracle

NPM_MANIFEST = {
    "name": "demo",
    "version": "1.0.0",
    "dependencies": {"debug": "4.3.4", "ms": "2.0.0", "ms-old": "npm:ms@2.1.1", "@sindresorhus/is": "4.6.0"},
    "devDependencies": {"chalk": "2.4.2"},
}


@pytest.fixture(scope="session")
def npm_projects(tmp_path_factory) -> dict[int, Path]:
    """One npm project per lockfile version, locked by npm itself (metadata only, no scripts)."""
    npm = tool("npm")
    out = {}
    for version in (1, 2, 3):
        project = tmp_path_factory.mktemp(f"npm-v{version}")
        (project / "package.json").write_text(json.dumps(NPM_MANIFEST))
        subprocess.run(
            [npm, "install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund",
             f"--lockfile-version={version}"],
            cwd=project, check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        out[version] = project
    return out


def npm_ls(project: Path, *extra: str) -> dict:
    result = subprocess.run(
        [tool("npm"), "ls", "--all", "--json", "--long", "--package-lock-only", *extra],
        cwd=project, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return json.loads(result.stdout)


def npm_tree(node: dict) -> set[tuple[str, str]]:
    found = set()
    for child in (node.get("dependencies") or {}).values():
        found.add((child["name"], child["version"]))
        found |= npm_tree(child)
    return found


@pytest.mark.parametrize("version", [1, 2, 3])
def test_package_lock_matches_npm_ls(npm_projects, version):
    project = npm_projects[version]
    content = (project / "package-lock.json").read_text()
    assert json.loads(content)["lockfileVersion"] == version
    result = run("npm-package-lock", content)
    everything = npm_tree(npm_ls(project))
    production = npm_tree(npm_ls(project, "--omit=dev"))
    assert set(index(result)) == everything
    assert ("ms", "2.1.2") in everything and ("ms", "2.0.0") in everything  # nested node_modules copy
    assert ("ms", "2.1.1") in everything  # the ms-old alias, listed under its real name
    assert flagged(result, "dev") == everything - production
    aliased = {p.extra.get("alias") for p in result.packages}
    assert "ms-old" in aliased
    top = npm_ls(project)["dependencies"]
    if version == 1:
        assert all("direct" not in p.extra for p in result.packages)  # v1 does not name the root's deps
    else:
        assert flagged(result, "direct") == {(v["name"], v["version"]) for v in top.values()}
    lines = content.splitlines()
    for pkg in result.packages:  # the line names the folder: `"node_modules/x": {` or (v1) `"x": {`
        folder = pkg.extra.get("alias") or pkg.name
        assert lines[line_of(pkg) - 1].strip().endswith(f'{folder}": {{'), (pkg.name, line_of(pkg))
    ms = index(result)[("@sindresorhus/is", "4.6.0")]
    assert ms.type is PackageType.NPM and ms.purl == "pkg:npm/%40sindresorhus/is@4.6.0"


def test_package_lock_workspaces_and_links():
    content = json.dumps(
        {
            "name": "mono", "lockfileVersion": 3,
            "packages": {
                "": {"name": "mono", "workspaces": ["packages/*"], "devDependencies": {"left-pad": "1.3.0"}},
                "packages/a": {"name": "a", "version": "1.0.0", "dependencies": {"ms": "^2"}},
                "node_modules/a": {"resolved": "packages/a", "link": True},
                "node_modules/left-pad": {"version": "1.3.0", "dev": True},
                "node_modules/ms": {"version": "2.1.3"},
                "packages/a/node_modules/debug": {"version": "4.3.4", "devOptional": True},
                "node_modules/git-dep": {"version": "1.0.0", "resolved": "git+ssh://git@github.com/x/y.git#abc"},
            },
        },
        indent=2,
    )  # fmt: skip
    result = run("npm-package-lock", content)
    assert set(index(result)) == {("left-pad", "1.3.0"), ("ms", "2.1.3"), ("debug", "4.3.4"), ("git-dep", "1.0.0")}
    assert flagged(result, "dev") == {("left-pad", "1.3.0")}
    assert flagged(result, "direct") == {("left-pad", "1.3.0"), ("ms", "2.1.3")}


# ---------------------------------------------------------------- go.mod: `go mod edit -json` as oracle


def test_go_mod_matches_go_mod_edit(tmp_path):
    (tmp_path / "go.mod").write_text(fx.GO_MOD)
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local", "GOPATH": str(tmp_path / "gopath")}
    oracle = json.loads(
        subprocess.run([tool("go"), "mod", "edit", "-json"], cwd=tmp_path, env=env, check=True,
                       capture_output=True, timeout=60).stdout
    )  # fmt: skip
    excluded = {(e["Path"], e["Version"]) for e in oracle.get("Exclude") or []}
    replaces = {(r["Old"]["Path"], r["Old"].get("Version", "")): r["New"] for r in oracle.get("Replace") or []}
    expected, direct = set(), set()
    for req in oracle["Require"]:
        key = (req["Path"], req["Version"])
        if key in excluded:
            continue
        new = replaces.get(key) or replaces.get((req["Path"], ""))
        if new is not None and new.get("Version"):
            key = (new["Path"], new["Version"])
        expected.add(key)
        if not req.get("Indirect"):
            direct.add(key)
    result = run("go-mod", fx.GO_MOD)
    modules = {p for p in result.packages if p.type is PackageType.GOLANG}
    assert {(p.name, p.version) for p in modules} == expected
    assert {(p.name, p.version) for p in modules if p.extra["direct"] == "true"} == direct
    (stdlib,) = [p for p in result.packages if p.type is PackageType.GO_STDLIB]
    assert (stdlib.name, stdlib.version, stdlib.purl) == ("stdlib", oracle["Go"], f"pkg:golang/stdlib@v{oracle['Go']}")
    local = index(result)[("example.com/local", "v0.0.0-00010101000000-000000000000")]
    assert local.extra["replaced_by"] == "../local"
    assert index(result)[("golang.org/x/text", "v0.3.8")].extra["replaces"] == "golang.org/x/text@v0.3.7"
    assert any("excluded" in w for w in result.warnings)
    lines = fx.GO_MOD.splitlines()
    for pkg in modules:
        original = pkg.extra.get("replaces", pkg.name).split("@")[0]
        assert original in lines[line_of(pkg) - 1]


def test_go_mod_toolchain_is_the_stdlib_version():
    result = run("go-mod", "module m\n\ngo 1.21\n\ntoolchain go1.21.3\n")
    (stdlib,) = result.packages
    assert (stdlib.version, stdlib.purl, line_of(stdlib)) == ("1.21.3", "pkg:golang/stdlib@v1.21.3", 5)


# ---------------------------------------------------------------- Gemfile.lock: Bundler's parser as oracle


def test_gemfile_lock_matches_bundler(tmp_path):
    (tmp_path / "Gemfile.lock").write_text(fx.GEMFILE_LOCK)
    (tmp_path / "Gemfile").write_text("")
    script = (
        "p = Bundler::LockfileParser.new(File.read(ARGV[0])); puts JSON.generate({specs: p.specs.map { |s| "
        "[s.name, s.version.to_s, s.platform.to_s, s.source.class.name] }, deps: p.dependencies.keys})"
    )
    env = {**os.environ, "BUNDLE_GEMFILE": str(tmp_path / "Gemfile")}
    oracle = json.loads(
        subprocess.run([tool("ruby"), "-rbundler", "-rjson", "-e", script, str(tmp_path / "Gemfile.lock")],
                       cwd=tmp_path, env=env, check=True, capture_output=True, timeout=60).stdout
    )  # fmt: skip
    specs = [s for s in oracle["specs"] if not s[3].endswith("::Path")]
    result = run("gemfile-lock", fx.GEMFILE_LOCK)
    found = index(result)
    assert set(found) == {(name, version) for name, version, _, _ in specs}
    for name, version, platform, _ in specs:
        assert platform in found[(name, version)].extra["platforms"].split(",")
    assert flagged(result, "direct") == {k for k in found if k[0] in oracle["deps"]}
    assert_lines(result, fx.GEMFILE_LOCK, lambda p: f"{p.name} ({p.version}")


# ---------------------------------------------------------------- composer.lock: `composer show --locked`


def test_composer_lock_matches_composer(tmp_path):
    (tmp_path / "composer.json").write_text(fx.COMPOSER_JSON)
    (tmp_path / "composer.lock").write_text(fx.COMPOSER_LOCK)
    env = {**os.environ, "COMPOSER_HOME": str(tmp_path / "home"), "COMPOSER_NO_INTERACTION": "1"}

    def show(*extra: str) -> set[tuple[str, str]]:
        out = subprocess.run([tool("composer"), "show", "--locked", "--format=json", *extra], cwd=tmp_path,
                             env=env, check=True, capture_output=True, timeout=120).stdout  # fmt: skip
        return {(p["name"], p["version"]) for p in json.loads(out)["locked"]}

    everything, production = show(), show("--no-dev")
    result = run("composer-lock", fx.COMPOSER_LOCK)
    assert set(index(result)) == everything
    assert flagged(result, "dev") == everything - production
    assert index(result)[("symfony/console", "v6.4.1")].purl == "pkg:composer/symfony/console@v6.4.1"
    assert_lines(result, fx.COMPOSER_LOCK, lambda p: "{")
    lines = fx.COMPOSER_LOCK.splitlines()
    for pkg in result.packages:  # the object's `{` line, whose next line is its name
        assert f'"name": "{pkg.name}"' in lines[line_of(pkg)]


# ---------------------------------------------------------------- requirements: pip's own file parser


def test_requirements_match_pip_parser(tmp_path):
    from pip._internal.network.session import PipSession
    from pip._internal.req.req_file import parse_requirements

    path = tmp_path / "requirements.txt"
    path.write_text(fx.REQUIREMENTS)
    expected = {}
    for parsed in parse_requirements(str(path), session=PipSession()):
        if parsed.is_editable or parsed.requirement.startswith("."):
            continue
        req = Requirement(parsed.requirement)
        pins = list(req.specifier)
        if not req.url and len(pins) == 1 and pins[0].operator in ("==", "===") and "*" not in pins[0].version:
            expected[(req.name, pins[0].version)] = int(parsed.comes_from.rsplit("line ", 1)[1].rstrip(")"))
    result = run("pip-requirements", fx.REQUIREMENTS)
    assert {k: line_of(p) for k, p in index(result).items()} == expected
    urllib3 = index(result)[("urllib3", "2.0.7")]
    assert urllib3.extra["extras"] == "socks" and "python_version" in urllib3.extra["marker"]
    assert index(result)[("zope.interface", "6.1")].purl == "pkg:pypi/zope-interface@6.1"
    assert not result.warnings


def test_requirements_includes_warn_and_dev_file_names():
    text = "-r base.txt\n--constraint=constraints.txt\nfoo==1.0\nnot a requirement !!\n"
    result = run("pip-requirements", text, "requirements/test.txt")
    assert [(p.name, p.extra.get("dev")) for p in result.packages] == [("foo", "true")]
    assert len(result.warnings) == 3 and "base.txt" in result.warnings[0] and "constraints.txt" in result.warnings[1]
    wants = ANALYZERS["pip-requirements"].required
    info = FileInfo("x", 1)
    accepted = ["requirements.txt", "a/requirements-dev.txt", "ci-requirements.txt", "requirements/prod.txt"]
    rejected = ["notes.txt", "requirements.in", "node_modules/x/requirements.txt", "myrequirements.txt"]
    assert all(wants(p, info) for p in accepted) and not any(wants(p, info) for p in rejected)
    assert "dev" not in run("pip-requirements", "foo==1\n", "requirements/prod.txt").packages[0].extra


# ---------------------------------------------------------------- hand-written fixtures of the other formats


def test_uv_lock():
    result = run("uv-lock", fx.UV_LOCK)
    prod = {"certifi", "idna", "requests", "urllib3", "pysocks"}
    dev = {"pytest", "iniconfig", "pluggy", "responses", "pyyaml"}
    assert {normalize_name(n) for n, _ in index(result)} == prod | dev  # the editable project is not listed
    assert {normalize_name(n) for n, _ in flagged(result, "dev")} == dev
    assert {normalize_name(n) for n, _ in flagged(result, "direct")} == {"requests", "pysocks", "pytest", "responses"}
    assert index(result)[("PySocks", "1.7.1")].purl == "pkg:pypi/pysocks@1.7.1"
    assert_lines(result, fx.UV_LOCK)


@pytest.mark.parametrize(
    ("content", "expected", "dev"),
    [
        (fx.POETRY_LOCK_1, {("attrs", "22.1.0"), ("pytest", "7.2.0")}, {("pytest", "7.2.0")}),
        (fx.POETRY_LOCK_2, {("Jinja2", "3.1.4"), ("markupsafe", "2.1.5"), ("ruff", "0.6.9")}, {("ruff", "0.6.9")}),
    ],
)
def test_poetry_lock(content, expected, dev):
    result = run("poetry-lock", content)
    assert set(index(result)) == expected and flagged(result, "dev") == dev
    assert_lines(result, content)


def test_pipfile_lock():
    result = run("pipfile-lock", fx.PIPFILE_LOCK)
    assert set(index(result)) == {("certifi", "2023.7.22"), ("requests", "2.31.0"), ("pytest", "7.4.2")}
    assert flagged(result, "dev") == {("pytest", "7.4.2")}
    assert_lines(result, fx.PIPFILE_LOCK)


def test_cargo_lock():
    result = run("cargo-lock", fx.CARGO_LOCK)
    found = index(result)
    assert set(found) == {("cfg-if", "1.0.0"), ("rand", "0.7.3"), ("rand", "0.8.5"), ("serde", "1.0.190")}
    assert flagged(result, "direct") == {("rand", "0.8.5"), ("serde", "1.0.190")}
    assert found[("rand", "0.7.3")].purl == "pkg:cargo/rand@0.7.3"
    assert found[("serde", "1.0.190")].extra["source"] == "git"
    assert_lines(result, fx.CARGO_LOCK)


@pytest.mark.parametrize(
    ("content", "expected", "direct", "dev"),
    [
        (
            fx.PNPM_V5,
            {("@types/node", "18.11.9"), ("js-tokens", "4.0.0"), ("loose-envify", "1.4.0"), ("react", "17.0.2"),
             ("string-width", "4.2.3")},
            {("@types/node", "18.11.9"), ("react", "17.0.2"), ("string-width", "4.2.3")},
            {("@types/node", "18.11.9")},
        ),
        (
            fx.PNPM_V6,
            {("@scope/util", "1.0.0"), ("loose-envify", "1.4.0"), ("js-tokens", "4.0.0"), ("react-dom", "18.2.0"),
             ("react", "18.2.0"), ("typescript", "5.2.2")},
            {("@scope/util", "1.0.0"), ("react-dom", "18.2.0"), ("typescript", "5.2.2")},
            {("typescript", "5.2.2")},
        ),
        (
            fx.PNPM_V9,
            {("@testing-library/react", "14.0.0"), ("js-tokens", "4.0.0"), ("loose-envify", "1.4.0"),
             ("pretty-format", "27.5.1"), ("react-dom", "18.2.0"), ("react", "18.2.0"), ("string-width", "4.2.3")},
            {("@testing-library/react", "14.0.0"), ("react-dom", "18.2.0"), ("string-width", "4.2.3")},
            {("@testing-library/react", "14.0.0"), ("pretty-format", "27.5.1")},
        ),
    ],
)  # fmt: skip
def test_pnpm_lock(content, expected, direct, dev):
    result = run("pnpm-lock", content)
    assert set(index(result)) == expected
    assert flagged(result, "direct") == direct and flagged(result, "dev") == dev
    assert_lines(result, content)


def test_yarn_classic():
    result = run("yarn-lock", fx.YARN_V1)
    found = index(result)
    assert set(found) == {("@babel/code-frame", "7.22.13"), ("lodash", "4.17.21"), ("ms", "2.0.0")}
    assert {p: line_of(found[p]) for p in found} == {
        ("@babel/code-frame", "7.22.13"): 5, ("lodash", "4.17.21"): 12, ("ms", "2.0.0"): 17,
    }  # fmt: skip
    assert found[("@babel/code-frame", "7.22.13")].purl == "pkg:npm/%40babel/code-frame@7.22.13"


def test_yarn_berry():
    result = run("yarn-lock", fx.YARN_BERRY)
    found = index(result)
    assert set(found) == {("@babel/code-frame", "7.22.13"), ("ms", "2.0.0"), ("resolve", "1.22.8")}
    assert flagged(result, "direct") == set(found)
    assert_lines(result, fx.YARN_BERRY, lambda p: p.extra.get("alias") or ("ms-old" if p.name == "ms" else p.name))


def test_nuget_lock():
    result = run("nuget-lock", fx.NUGET_LOCK)
    found = index(result)
    assert set(found) == {("Newtonsoft.Json", "13.0.3"), ("Serilog", "3.0.1"), ("System.Memory", "4.5.5"),
                          ("System.Text.Json", "8.0.0")}  # fmt: skip
    assert flagged(result, "direct") == {("Newtonsoft.Json", "13.0.3"), ("Serilog", "3.0.1")}
    assert found[("Newtonsoft.Json", "13.0.3")].extra["target_frameworks"] == "net6.0,net8.0"
    assert found[("System.Memory", "4.5.5")].purl == "pkg:nuget/System.Memory@4.5.5"
    assert_lines(result, fx.NUGET_LOCK)


def test_pom_xml():
    result = run("maven-pom", fx.POM_XML)
    found = index(result)
    assert set(found) == {
        ("com.fasterxml.jackson.core:jackson-databind", "2.15.3"),  # property of a property
        ("org.slf4j:slf4j-api", "2.0.9"),  # dependencyManagement
        ("com.example:common", "2.1.0"),  # groupId and version inherited from the parent
        ("org.junit.jupiter:junit-jupiter", "5.10.0"),
    }
    assert flagged(result, "dev") == {("org.junit.jupiter:junit-jupiter", "5.10.0")}
    assert flagged(result, "direct") == set(found)
    assert found[("org.slf4j:slf4j-api", "2.0.9")].purl == "pkg:maven/org.slf4j/slf4j-api@2.0.9"
    assert len(result.warnings) == 3  # no version, unresolved ${commons.version}, a version range
    lines = fx.POM_XML.splitlines()
    for pkg in result.packages:
        assert lines[line_of(pkg) - 1].strip() == "<dependency>"
        assert pkg.extra["artifact_id"] in lines[line_of(pkg) + 1]


# ---------------------------------------------------------------- malformed input: warnings, never exceptions

MALFORMED = [
    ("npm-package-lock", '{"lockfileVersion": 3, "packages": '),
    ("npm-package-lock", "[1, 2]"),
    ("yarn-lock", "lodash@^4:\n  version 4.17.21\nnot an entry\n"),
    ("yarn-lock", '__metadata:\n  version: 8\n"a@npm:1": [unclosed\n'),
    ("pnpm-lock", "lockfileVersion: '9.0'\npackages: [1, 2\n"),
    ("pnpm-lock", "lockfileVersion: '9.0'\npackages: 12\n"),
    ("uv-lock", "version = 1\n[[package]\nname = 'x'\n"),
    ("poetry-lock", "[[package]]\nname = \n"),
    ("pipfile-lock", "{"),
    ("cargo-lock", "[[package]]\nname = 'x'\nname = 'y'\n"),
    ("composer-lock", '{"packages": [}'),
    ("gemfile-lock", "\x00garbage\nmore garbage\n"),
    ("maven-pom", "<project><dependencies><dependency></project>"),
    ("maven-pom", '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaa">]><project>&a;</project>'),
    ("nuget-lock", '{"version": 1}'),
    ("go-mod", "module m\nrequire (\n\tbroken\n)\nreplace a =>\n"),
    ("pip-requirements", "foo==1.0 ===!\n"),
]


@pytest.mark.parametrize(("analyzer", "content"), MALFORMED)
def test_malformed_gives_warnings(analyzer, content):
    result = run(analyzer, content)
    assert result.warnings and not result.packages


def test_not_utf8_gives_a_warning():
    assert run("cargo-lock", b"\xff\xfe[[package]]").warnings


GOOD = [
    ("uv-lock", fx.UV_LOCK), ("poetry-lock", fx.POETRY_LOCK_2), ("pipfile-lock", fx.PIPFILE_LOCK),
    ("cargo-lock", fx.CARGO_LOCK), ("pnpm-lock", fx.PNPM_V5), ("pnpm-lock", fx.PNPM_V9), ("yarn-lock", fx.YARN_V1),
    ("yarn-lock", fx.YARN_BERRY), ("nuget-lock", fx.NUGET_LOCK), ("maven-pom", fx.POM_XML), ("go-mod", fx.GO_MOD),
    ("gemfile-lock", fx.GEMFILE_LOCK), ("composer-lock", fx.COMPOSER_LOCK), ("pip-requirements", fx.REQUIREMENTS),
]  # fmt: skip


@pytest.mark.parametrize(("analyzer", "content"), GOOD)
def test_truncated_and_mangled_never_raise(analyzer, content):
    rng = random.Random(analyzer + str(len(content)))
    data = content.encode()
    for _ in range(40):
        cut = data[: rng.randrange(len(data))]
        mangled = bytearray(data)
        for _ in range(5):
            mangled[rng.randrange(len(mangled))] = rng.choice(b'{}[]":,\n ()<>=@/-\x00\xff')
        for variant in (cut, bytes(mangled)):
            result = run(analyzer, variant)  # raises on failure: the walker would only log it
            assert all(isinstance(w, str) for w in result.warnings)


# ---------------------------------------------------------------- a source tree through analyze_directory


def test_directory_scan(tmp_path):
    files = {
        "web/package-lock.json": json.dumps({"lockfileVersion": 3, "packages": {
            "": {"dependencies": {"ms": "2.1.3"}}, "node_modules/ms": {"version": "2.1.3"}}}, indent=2),
        "web/node_modules/.package-lock.json": json.dumps({"lockfileVersion": 3, "packages": {
            "node_modules/ms": {"version": "2.1.3"}}}),
        "web/node_modules/dep/package-lock.json": json.dumps({"lockfileVersion": 3, "packages": {
            "node_modules/leftpad": {"version": "1.0.0"}}}),
        "svc/go.mod": fx.GO_MOD,
        "api/requirements/dev.txt": "pytest==8.3.3\n",
        "api/uv.lock": fx.UV_LOCK,
        "rust/Cargo.lock": fx.CARGO_LOCK,
        "Gemfile.lock": fx.GEMFILE_LOCK,
    }  # fmt: skip
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content)
    analysis = analyze_directory(tmp_path, default_lockfile_analyzers())
    by_path: dict[str, set[str]] = {}
    for pkg in analysis.inventory.packages:
        by_path.setdefault(pkg.locations[0].path, set()).add(pkg.name)
        assert any(loc.line for loc in pkg.locations), pkg  # the entry's line survives the assembly
    assert set(by_path) == {"web/package-lock.json", "svc/go.mod", "api/requirements/dev.txt", "api/uv.lock",
                            "rust/Cargo.lock", "Gemfile.lock"}  # fmt: skip
    assert by_path["web/package-lock.json"] == {"ms"} and by_path["api/requirements/dev.txt"] == {"pytest"}
    assert len(by_path["api/uv.lock"]) == 10 and "stdlib" in by_path["svc/go.mod"]
    assert any("excluded" in w for w in analysis.warnings)
