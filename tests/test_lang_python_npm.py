"""Python and npm catalogers against what pip/importlib.metadata and npm themselves report.

pip installs pinned old wheels, Debian's python3-* packages add `.egg-info` directories and files;
npm installs pinned packages (nested and scoped `node_modules`, a global prefix, a package that ships
test fixtures with their own package.json). Every package the tools list must be found, nothing else.
"""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from packageurl import PackageURL
from packaging.utils import canonicalize_name

from lashing.analyzers.inventory.npm import NpmPackageAnalyzer
from lashing.analyzers.inventory.python import PythonPackageAnalyzer
from lashing.model import PackageType
from test_lang_catalogers import catalog, debian_extract, run

PIP_PINS = (
    "requests==2.19.1", "urllib3==1.24.1", "idna==2.7", "certifi==2018.8.24", "chardet==3.0.4",
    "Jinja2==2.10", "MarkupSafe==2.1.3", "PyYAML==6.0.1", "zope.interface==6.0", "attrs==25.3.0",
)  # fmt: skip
# Debian packages shipping egg-info directories (six, python-apt, dbus-python), egg-info files
# (rpm, selinux, pycups) and a dist-info (PyYAML 6.0, a second PyYAML beside pip's).
DEBIAN_PYTHON = (
    "python3-six", "python3-apt", "python3-dbus", "python3-rpm", "python3-selinux", "python3-cups",
    "python3-yaml",
)  # fmt: skip
DIST_PACKAGES = "usr/lib/python3/dist-packages"
SITE_PACKAGES = "usr/local/lib/python3.11/site-packages"
NPM_APP = ("express@4.17.1", "lodash@4.17.15", "@babel/code-frame@7.10.4", "resolve@1.22.8")
NPM_GLOBAL = ("mkdirp@0.5.1",)


@pytest.fixture(scope="session")
def python_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("python")
    root = base / "root"
    site = root / SITE_PACKAGES
    run(["pip", "install", "--quiet", "--no-deps", "--only-binary=:all:", "--target", site, *PIP_PINS])
    debian_extract(base / "debs", DEBIAN_PYTHON, root)
    return root


@pytest.fixture(scope="session")
def npm_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("npm")
    flags = ["--no-audit", "--no-fund", "--loglevel=error"]
    run(["npm", "install", "--prefix", root / "srv/app", *flags, *NPM_APP])
    run(["npm", "install", "--global", "--prefix", root / "usr/local", *flags, *NPM_GLOBAL])
    return root


def _distributions(root: Path) -> list[importlib.metadata.Distribution]:
    return list(importlib.metadata.distributions(path=[str(root / SITE_PACKAGES), str(root / DIST_PACKAGES)]))


def test_python_matches_importlib_metadata(python_root: Path) -> None:
    dists = _distributions(python_root)
    expected = sorted((d.metadata["Name"], d.version) for d in dists)
    packages, warnings = catalog(python_root, PythonPackageAnalyzer())
    got = sorted((p.name, p.version) for p in packages)
    assert warnings == ()
    assert got == expected  # 100% recall, no extras, one package per installed distribution
    assert len(expected) == len(PIP_PINS) + len(DEBIAN_PYTHON)
    for pkg in packages:
        assert pkg.type is PackageType.PYTHON and pkg.cataloger == "python-installed"
        parsed = PackageURL.from_string(pkg.purl)
        assert (parsed.type, parsed.name, parsed.version) == (
            "pypi",
            canonicalize_name(pkg.name),
            pkg.version,
        )
    kinds = {
        p.locations[0].path.rsplit(".egg-info", 1)[-1] for p in packages if ".egg-info" in p.locations[0].path
    }
    assert kinds == {"", "/PKG-INFO"}  # both egg-info forms were exercised


def test_python_licenses_follow_the_metadata(python_root: Path) -> None:
    by_name = {(p.name, p.version): p for p in catalog(python_root, PythonPackageAnalyzer())[0]}
    for dist in _distributions(python_root):
        meta = dist.metadata
        licenses = by_name[(meta["Name"], dist.version)].licenses
        license_field = (meta["License"] or "").strip()
        classifiers = [c for c in meta.get_all("Classifier") or [] if c.startswith("License :: ")]
        if meta["License-Expression"]:
            assert licenses == (meta["License-Expression"],)
        elif license_field and "\n" not in license_field and license_field != "UNKNOWN":
            assert licenses[0] == license_field
        elif classifiers:
            assert licenses, meta["Name"]
        else:
            assert licenses == (), meta["Name"]


def _npm_tree(prefix: Path, global_: bool = False) -> Iterator[tuple[str, str]]:
    out = run(["npm", "ls", "--all", "--json", *(["--global"] if global_ else []), "--prefix", prefix])
    stack = [json.loads(out)]
    while stack:
        node = stack.pop()
        for name, child in (node.get("dependencies") or {}).items():
            if child.get("version"):
                yield name, child["version"]
            stack.append(child)


def test_npm_matches_npm_ls(npm_root: Path) -> None:
    expected = set(_npm_tree(npm_root / "srv/app")) | set(_npm_tree(npm_root / "usr/local", global_=True))
    packages, warnings = catalog(npm_root, NpmPackageAnalyzer())
    got = {(p.name, p.version) for p in packages}
    assert warnings == ()
    assert got == expected
    assert len(packages) == len(got)  # each installed copy once; nested duplicates are distinct copies
    paths = {p.locations[0].path for p in packages}
    assert "srv/app/node_modules/send/node_modules/ms/package.json" in paths  # nested node_modules
    assert "usr/local/lib/node_modules/mkdirp/package.json" in paths  # global prefix
    fixtures = [
        f for f in (npm_root / "srv/app/node_modules/resolve/test").rglob("package.json") if f.is_file()
    ]
    assert fixtures and not any(str(f.relative_to(npm_root)) in paths for f in fixtures)


def test_npm_purls_and_licenses(npm_root: Path) -> None:
    packages, _ = catalog(npm_root, NpmPackageAnalyzer())
    for pkg in packages:
        manifest = json.loads((npm_root / pkg.locations[0].path).read_text())
        parsed = PackageURL.from_string(pkg.purl)
        full = f"{parsed.namespace}/{parsed.name}" if parsed.namespace else parsed.name
        assert (parsed.type, full, parsed.version) == ("npm", manifest["name"], manifest["version"])
        declared = manifest.get("license")
        if isinstance(declared, str):
            assert pkg.licenses == (declared,)
        elif isinstance(declared, dict):
            assert pkg.licenses == (declared["type"],)
    scoped = [p for p in packages if p.name.startswith("@babel/")]
    assert scoped and all(p.purl.startswith("pkg:npm/%40babel/") for p in scoped)


def test_the_email_parser_loads_with_the_first_python_metadata() -> None:
    """Building the catalogers does not import the email parser (a layer without Python metadata, read in
    its own process, need not wait for it); the first METADATA read loads it and parses as before."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from lashing.analyzers.interface import AnalysisInput, FileInfo\n"
        "from lashing.analyzers.inventory import default_catalogers\n"
        "analyzer = next(a for a in default_catalogers() if a.name == 'python-installed')\n"
        "assert 'email.parser' not in sys.modules and 'email.policy' not in sys.modules\n"
        "path = 'usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA'\n"
        "meta = b'Metadata-Version: 2.1\\nName: six\\nVersion: 1.16.0\\nLicense: MIT\\n\\nbody\\n'\n"
        "result = analyzer.analyze(AnalysisInput(FileInfo(path, len(meta)), meta))\n"
        "print([(p.name, p.version, p.purl, p.licenses) for p in result.packages])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[('six', '1.16.0', 'pkg:pypi/six@1.16.0', ('MIT',))]"
