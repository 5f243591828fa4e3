"""Java, Ruby and PHP catalogers against the ecosystems' own readers.

Java: Debian's library jars (with and without pom.properties) and a war, a Spring-Boot-style fat
jar and an ear built here with the JDK's `jar` from them (jars in wars in ears, jars in jars in
jars); the oracle is a small Java program reading every archive, nested ones too, with
java.util.zip, java.util.Properties and java.util.jar.Manifest.
Ruby: gemspecs from Debian's libruby3.1 (bundled and default gems) and ruby-* packages; the oracle
is RubyGems itself (`Gem::Specification`) pointed at the unpacked tree.
PHP: `composer install` from local path repositories (no network), both runtime and dev packages;
the oracle is `composer show`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from lashing.analyzers.inventory.java import JavaArchiveAnalyzer
from lashing.analyzers.inventory.php import ComposerInstalledAnalyzer
from lashing.analyzers.inventory.ruby import GemSpecAnalyzer
from lashing.model import PackageType
from test_lang_catalogers import catalog, debian_extract, run

DEBIAN_JAVA = (
    "libcommons-lang3-java", "libcommons-io-java", "libcommons-logging-java", "libslf4j-java",
    "libguava-java", "libjackson2-core-java",
)  # fmt: skip
DEBIAN_RUBY = ("libruby3.1", "ruby-rack", "ruby-json", "ruby-nokogiri", "ruby-net-telnet", "rake")
GEM_DIRS = (
    "usr/lib/ruby/gems/3.1.0",
    "usr/lib/x86_64-linux-gnu/rubygems-integration/3.1.0",
    "usr/share/rubygems-integration/all",
)
JAVA_ORACLE = r"""
import java.io.*;
import java.util.*;
import java.util.jar.*;
import java.util.zip.*;

public class Oracle {
    public static void main(String[] args) throws IOException {
        for (String path : args) {
            try (InputStream in = new FileInputStream(path)) { walk(in, path, ""); }
        }
    }

    static void walk(InputStream raw, String file, String inner) throws IOException {
        ZipInputStream zip = new ZipInputStream(raw);
        for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
            String name = e.getName();
            if (name.startsWith("META-INF/maven/") && name.endsWith("/pom.properties")) {
                Properties p = new Properties();
                p.load(new ByteArrayInputStream(zip.readAllBytes()));
                print("pom", file, inner, p.getProperty("groupId", ""), p.getProperty("artifactId", ""),
                      p.getProperty("version", ""));
            } else if (name.equals("META-INF/MANIFEST.MF")) {
                Attributes a = new Manifest(new ByteArrayInputStream(zip.readAllBytes())).getMainAttributes();
                print("manifest", file, inner, Objects.toString(a.getValue("Implementation-Version"), ""),
                      Objects.toString(a.getValue("Bundle-Version"), ""), "");
            } else if (name.toLowerCase().matches(".*\\.(jar|war|ear|jpi|hpi)")) {
                byte[] data = zip.readAllBytes();
                print("archive", file, inner.isEmpty() ? name : inner + "!/" + name, "", "", "");
                walk(new ByteArrayInputStream(data), file, inner.isEmpty() ? name : inner + "!/" + name);
            }
        }
    }

    static void print(String... fields) { System.out.println(String.join("\t", fields)); }
}
"""


@pytest.fixture(scope="session")
def java_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("java")
    root = base / "root"
    debian_extract(base / "debs", DEBIAN_JAVA, root)
    share = root / "usr/share/java"
    classes = base / "classes"
    (base / "src").mkdir()
    (base / "src/Hello.java").write_text("public class Hello { public static void main(String[] a) { } }\n")
    run(["javac", "-d", classes, base / "src/Hello.java"])

    def stage(name: str, files: dict[str, Path]) -> Path:
        where = base / name
        for member, source in files.items():
            (where / member).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, where / member)
        return where

    war = stage(
        "war",
        {
            "WEB-INF/classes/Hello.class": classes / "Hello.class",
            "WEB-INF/lib/commons-lang3-3.12.0.jar": share / "commons-lang3-3.12.0.jar",
            "WEB-INF/lib/guava-31.1-jre.jar": share / "guava-31.1-jre.jar",
            "WEB-INF/lib/commons-logging-1.2.jar": share / "commons-logging-1.2.jar",  # manifest only
        },
    )
    webapps = root / "usr/local/tomcat/webapps"
    webapps.mkdir(parents=True)
    run(["jar", "--create", "--file", webapps / "shop-2.3.1.war", "-C", war, "."])
    plugin = stage("plugin", {"lib/commons-io-2.11.0.jar": share / "commons-io-2.11.0.jar"})
    run(["jar", "--create", "--file", base / "plugin.jar", "-C", plugin, "."])
    fat = stage(
        "fat",
        {
            "BOOT-INF/classes/Hello.class": classes / "Hello.class",
            "BOOT-INF/lib/slf4j-api-1.7.32.jar": share / "slf4j-api-1.7.32.jar",
            "BOOT-INF/lib/jackson-core-2.14.1.jar": share / "jackson-core-2.14.1.jar",
            "BOOT-INF/lib/plugin.jar": base / "plugin.jar",  # jar in jar in jar
        },
    )
    (root / "opt/app").mkdir(parents=True)
    run(["jar", "--create", "--file", root / "opt/app/app.jar", "--main-class", "Hello", "-C", fat, "."])
    ear = stage("ear", {"shop.war": webapps / "shop-2.3.1.war"})
    run(["jar", "--create", "--file", root / "opt/app/bundle.ear", "-C", ear, "."])
    return root


def _java_expected(root: Path) -> Counter:
    """(file, inner archive path, name, version) for every artifact, as the JDK reads the archives."""
    found = root.rglob("*")
    archives = sorted(
        p for p in found if p.is_file() and not p.is_symlink() and p.suffix in (".jar", ".war", ".ear")
    )
    oracle = root.parent / "Oracle.java"
    oracle.write_text(JAVA_ORACLE)
    rows = [line.split("\t") for line in run(["java", oracle, *archives]).splitlines()]
    per_archive: dict[tuple[str, str], dict] = {}
    for kind, file, inner, a, b, c in rows:
        entry = per_archive.setdefault((file, inner), {"poms": [], "manifest": ("", "")})
        if kind == "pom":
            entry["poms"].append((f"{a}:{b}" if a else b, c))
        elif kind == "manifest":
            entry["manifest"] = (a, b)
    expected: Counter = Counter()
    for (file, inner), entry in per_archive.items():
        rel = str(Path(file).relative_to(root))
        for name, version in entry["poms"]:
            expected[(rel, inner, name, version)] += 1
        if not entry["poms"]:
            stem = (inner or file).rsplit("/", 1)[-1].rsplit(".", 1)[0]
            named = re.match(r"^(.*?)-(\d.*)$", stem)
            version = entry["manifest"][0] or entry["manifest"][1] or (named.group(2) if named else "")
            if named and version:
                expected[(rel, inner, named.group(1), version)] += 1
    return expected


def test_java_archives_match_the_jdk(java_root: Path) -> None:
    packages, warnings = catalog(java_root, JavaArchiveAnalyzer())
    assert warnings == ()
    got = Counter((p.locations[0].path, p.extra.get("archive_path", ""), p.name, p.version) for p in packages)
    expected = _java_expected(java_root)
    assert got == expected
    inner = {(path, nested) for path, nested, _, _ in got}
    assert ("opt/app/app.jar", "BOOT-INF/lib/plugin.jar!/lib/commons-io-2.11.0.jar") in inner
    assert ("opt/app/bundle.ear", "shop.war!/WEB-INF/lib/guava-31.1-jre.jar") in inner
    assert ("usr/local/tomcat/webapps/shop-2.3.1.war", "", "shop", "2.3.1") in got  # file-name evidence
    logging = [p for p in packages if p.name == "commons-logging"]
    assert logging and all(p.extra["evidence"] == "manifest" for p in logging)


def test_java_purls(java_root: Path) -> None:
    packages, _ = catalog(java_root, JavaArchiveAnalyzer())
    for pkg in packages:
        assert pkg.type is PackageType.JAVA and pkg.cataloger == "java-archive"
        group = pkg.extra.get("group_id")
        artifact = pkg.extra["artifact_id"]
        prefix = f"pkg:maven/{group}/{artifact}@" if group else f"pkg:maven/{artifact}@"
        assert pkg.purl == prefix + pkg.version
    assert "pkg:maven/org.apache.commons/commons-lang3@3.12.0" in {p.purl for p in packages}


@pytest.fixture(scope="session")
def ruby_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("ruby")
    debian_extract(base / "debs", DEBIAN_RUBY, base / "root")
    return base / "root"


RUBY_ORACLE = """
require "rubygems"
paths = ARGV
Gem.paths = { "GEM_HOME" => paths[0], "GEM_PATH" => paths.join(File::PATH_SEPARATOR) }
default_dir = File.join(paths[0], "specifications", "default")
Gem.singleton_class.send(:define_method, :default_specifications_dir) { default_dir }
Gem::Specification.reset
Gem::Specification.each { |s| puts [s.name, s.version.to_s, s.licenses.join(","), s.loaded_from].join("\\t") }
"""


def test_gems_match_rubygems(ruby_root: Path) -> None:
    script = ruby_root.parent / "oracle.rb"
    script.write_text(RUBY_ORACLE)
    out = run(["ruby", "--disable-gems", script, *(ruby_root / d for d in GEM_DIRS)])
    rows = [line.split("\t") for line in out.splitlines()]
    assert all(row[3].startswith(str(ruby_root)) for row in rows)  # nothing from the host's own gems
    expected = {
        (name, version): tuple(filter(None, licenses.split(","))) for name, version, licenses, _ in rows
    }
    packages, warnings = catalog(ruby_root, GemSpecAnalyzer())
    assert warnings == ()
    assert {(p.name, p.version) for p in packages} == set(expected)
    assert len(packages) == len(list(ruby_root.rglob("specifications/**/*.gemspec")))  # one per gemspec
    for pkg in packages:
        assert pkg.licenses == expected[(pkg.name, pkg.version)], pkg.name
        assert pkg.purl == f"pkg:gem/{pkg.name}@{pkg.version}" and pkg.type is PackageType.GEM
    assert any(p.extra.get("default_gem") for p in packages)


COMPOSER_PACKAGES = {
    "log": {"name": "acme/log", "version": "1.4.2", "license": "MIT"},
    "util": {
        "name": "acme/util",
        "version": "v2.0.0",
        "license": ["Apache-2.0", "GPL-2.0-or-later"],
        "require": {"acme/log": "^1.4"},
    },
    "testkit": {"name": "acme-dev/testkit", "version": "0.9.0", "license": "BSD-3-Clause"},
}


@pytest.fixture(scope="session")
def composer_app(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    base = tmp_path_factory.mktemp("composer")
    for directory, manifest in COMPOSER_PACKAGES.items():
        (base / "pkgs" / directory).mkdir(parents=True)
        (base / "pkgs" / directory / "composer.json").write_text(json.dumps(manifest))
    app = base / "root/var/www/app"
    app.mkdir(parents=True)
    project = {
        "name": "acme/app",
        "repositories": [
            {"packagist.org": False},
            {"type": "path", "url": "../../../../pkgs/*", "options": {"symlink": False}},
        ],
        "require": {"acme/util": "^2.0"},
        "require-dev": {"acme-dev/testkit": "*"},
    }
    (app / "composer.json").write_text(json.dumps(project))
    env = {
        **os.environ,
        "COMPOSER_HOME": str(base / "home"),
        "COMPOSER_DISABLE_NETWORK": "1",
        "COMPOSER_ALLOW_SUPERUSER": "1",
    }
    run(
        ["composer", "install", "--no-interaction", "--no-plugins", "--no-scripts", "--quiet"],
        cwd=app,
        env=env,
    )
    return app, env


def test_composer_matches_composer_show(composer_app: tuple[Path, dict[str, str]]) -> None:
    app, env = composer_app
    shown = json.loads(run(["composer", "show", "--format=json"], cwd=app, env=env))["installed"]
    no_dev = json.loads(run(["composer", "show", "--no-dev", "--format=json"], cwd=app, env=env))["installed"]
    runtime = {p["name"] for p in no_dev}
    packages, warnings = catalog(app.parents[2], ComposerInstalledAnalyzer())
    assert warnings == ()
    assert {(p.name, p.version) for p in packages} == {(p["name"], p["version"]) for p in shown}
    assert len(packages) == len(shown) == len(COMPOSER_PACKAGES)
    manifests = {m["name"]: m for m in COMPOSER_PACKAGES.values()}
    for pkg in packages:
        declared = manifests[pkg.name]["license"]
        assert pkg.licenses == (tuple(declared) if isinstance(declared, list) else (declared,))
        assert (pkg.extra.get("dev") == "true") is (pkg.name not in runtime)
        vendor, project = pkg.name.split("/")
        assert pkg.purl == f"pkg:composer/{vendor}/{project}@{pkg.version}"
    assert packages[0].locations[0].path == "var/www/app/vendor/composer/installed.json"
