"""`lashing sbom` on real images against the package managers' own answers.

The images come from tests/imagebuild.py (mmdebstrap, pip, npm, umoci, skopeo). The expected
inventory is asked of dpkg-query, importlib.metadata and `npm ls` on the image's final filesystem
as `umoci unpack` lays it out (an independent implementation of whiteouts); every image form must
give exactly that set, with each package attributed to the layer that introduced it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from packageurl import PackageURL

import imagebuild as ib

pytestmark = pytest.mark.slow

IMAGE_FORMS = (
    "oci-layout", "oci-archive", "docker-archive", "docker-save-classic", "docker-save-oci", "zstd", "uncompressed",
)
FORMS = (*IMAGE_FORMS, "rootfs")
Key = tuple[str, str, str]  # (type, name, version)


def lashing(target: str | Path, cache_dir: Path, out: Path, fmt: str = "json") -> subprocess.CompletedProcess:
    """Run the CLI the way a user does: `lashing sbom TARGET --format FMT -o OUT`."""
    env = {**os.environ, "LASHING_CACHE_DIR": str(cache_dir)}
    cmd = [sys.executable, "-m", "lashing", "sbom", str(target), "--format", fmt, "-o", str(out)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


def scan_json(target: str | Path, cache_dir: Path, out: Path) -> dict:
    proc = lashing(target, cache_dir, out)
    assert proc.returncode == 0, f"lashing sbom {target} failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    return json.loads(out.read_text())


def keys(report: dict) -> set[Key]:
    return {(p["type"], p["name"], p["version"]) for p in report["packages"]}


def diff(found: set[Key], expected: set[Key]) -> str:
    return f"missing {sorted(expected - found)}; extra {sorted(found - expected)}"


# -- images, their forms, and what the package managers say ---------------------------------------


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ib.session_dir(tmp_path_factory)


@pytest.fixture(scope="session")
def main_image(build_dir: Path) -> ib.BuiltImage:
    return ib.build_layered_image(build_dir)


@pytest.fixture(scope="session")
def form_path(main_image: ib.BuiltImage, build_dir: Path) -> Callable[[str], str]:
    """The main image in one form, built on first use: the CLI argument naming it."""
    converters = {
        "oci-layout": lambda: main_image.layout,
        "oci-archive": lambda: ib.to_oci_archive(main_image, build_dir / "main-oci.tar"),
        "docker-archive": lambda: ib.to_docker_archive(main_image, build_dir / "main-docker.tar"),
        "docker-save-classic": lambda: ib.to_docker_save_classic(main_image, build_dir / "main-classic.tar"),
        "docker-save-oci": lambda: ib.to_docker_save_oci(main_image, build_dir / "main-docker25.tar"),
        "zstd": lambda: ib.to_zstd_layout(main_image, build_dir / "main-zstd"),
        "uncompressed": lambda: ib.to_uncompressed_layout(main_image),
        "rootfs": lambda: main_image.rootfs,
    }
    return lambda form: str(converters[form]())


@pytest.fixture(scope="session")
def scanned(form_path: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory):
    """The JSON report of one form; every form is scanned once per session, two at a time.

    Each form gets a cold cache of its own: they share diff_ids, so a shared cache would hide a
    form whose layers are misread.
    """
    futures: dict[str, Future[dict]] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:

        def get(form: str) -> dict:
            if not futures:
                for each in FORMS:  # convert in this thread while earlier forms are being scanned
                    work = tmp_path_factory.mktemp(f"scan-{each}")
                    futures[each] = pool.submit(scan_json, form_path(each), work / "cache", work / "report.json")
            return futures[form].result()

        yield get


def npm_prefixes(root: Path) -> list[Path]:
    """Every directory holding a top-level node_modules (not one nested in another)."""
    found = []
    for dirpath, dirnames, _ in os.walk(root):
        if "node_modules" in dirnames:
            found.append(Path(dirpath))
        dirnames[:] = [d for d in dirnames if d != "node_modules"]
    return found


def python_dirs(root: Path) -> set[Path]:
    """Every directory holding a `*.dist-info` or `*.egg-info`."""
    return {p.parent for p in root.rglob("*-info") if p.name.endswith((".dist-info", ".egg-info"))}


@pytest.fixture(scope="session")
def truth(main_image: ib.BuiltImage) -> dict[str, set[Key]]:
    """Per ecosystem, what dpkg-query, importlib.metadata and npm report on the final filesystem."""
    root = main_image.rootfs
    debs = {("deb", name, row[0]) for name, row in ib.installed_debs(root).items()}
    pypi = {("pypi", n, v) for d in python_dirs(root) for n, v in ib.installed_pypi(d)}
    npm = {("npm", n, v) for prefix in npm_prefixes(root) for n, v in ib.installed_npm(prefix)}
    return {"deb": debs, "pypi": pypi, "npm": npm}


def test_fixture_is_what_it_claims(main_image: ib.BuiltImage, truth: dict[str, set[Key]]) -> None:
    """The image really holds ~200 packages, in the places the attribution tests expect."""
    root = main_image.rootfs
    assert 100 <= len(truth["deb"]) <= 250
    assert python_dirs(root) == {root / ib.SITE_PACKAGES}
    assert sorted(npm_prefixes(root)) == sorted(root / p for p in ib.NPM_APPS)
    assert len(truth["npm"]) > 40 and len(truth["pypi"]) >= 6
    assert ("pypi", "Jinja2", "2.10") not in truth["pypi"]
    assert not any(name in {"lodash", "minimist"} for _, name, _ in truth["npm"])
    assert ("npm", "mkdirp", "1.0.4") in truth["npm"]


def test_deleted_content_exists_in_lower_layers(main_image: ib.BuiltImage) -> None:
    """What the whiteouts remove really is in the layers below, so its absence means something."""
    plain = ib.to_uncompressed_layout(main_image)
    manifest = ib.manifest_of(plain, main_image.tag)
    names = []
    for layer in manifest["layers"][1:]:
        with tarfile.open(ib.blob_path(plain, layer["digest"])) as tar:
            names.append(set(tar.getnames()))
    assert f"{ib.SITE_PACKAGES}/Jinja2-2.10.dist-info/METADATA" in names[0]
    assert "app/node_modules/lodash/package.json" in names[1]
    assert "srv/legacy/node_modules/minimist/package.json" in names[1]
    assert f"{ib.SITE_PACKAGES}/.wh.Jinja2-2.10.dist-info" in names[2]
    assert "app/node_modules/.wh.lodash" in names[2]
    assert f"{ib.OPAQUE_DIR}/.wh..wh..opq" in names[3]


# -- the inventory -------------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_inventory_equals_package_managers(form: str, scanned, truth: dict[str, set[Key]]) -> None:
    found = keys(scanned(form))
    for ecosystem, expected in truth.items():
        got = {k for k in found if k[0] == ecosystem}
        assert got == expected, f"{form} {ecosystem}: {diff(got, expected)}"
    others = {k for k in found if k[0] not in truth}
    assert not others, f"{form}: packages no package manager reports: {sorted(others)}"


@pytest.mark.parametrize("form", FORMS)
def test_deb_source_packages_match_dpkg(form: str, scanned, main_image: ib.BuiltImage) -> None:
    dpkg = ib.installed_debs(main_image.rootfs)
    got = {p["name"]: (p["version"], p["source_name"], p["source_version"])
           for p in scanned(form)["packages"] if p["type"] == "deb"}
    assert got == dpkg


@pytest.mark.parametrize("form", FORMS)
def test_purls_name_the_packages(form: str, scanned) -> None:
    for pkg in scanned(form)["packages"]:
        purl = PackageURL.from_string(pkg["purl"])
        assert purl.type == pkg["type"], pkg["purl"]
        assert purl.version == pkg["version"], pkg["purl"]
        if pkg["type"] == "deb":
            assert (purl.namespace, purl.name) == ("debian", pkg["name"]), pkg["purl"]


@pytest.mark.parametrize("form", FORMS)
def test_os_is_read_from_os_release(form: str, scanned, main_image: ib.BuiltImage) -> None:
    lines = (main_image.rootfs / "etc/os-release").read_text().splitlines()
    fields = dict((k, v.strip('"')) for k, _, v in (line.partition("=") for line in lines))
    os_info = scanned(form)["os"]
    assert os_info["family"] == fields["ID"]
    assert os_info["version"] == fields["VERSION_ID"]
    assert os_info["codename"] == fields["VERSION_CODENAME"]
    assert not os_info["distroless"]


# -- layers --------------------------------------------------------------------------------------


def expected_layer(pkg: dict) -> int:
    """deb: the rootfs layer; pypi: the pip layer; npm: 2 under /app, 4 in the opaquely replaced dir."""
    if pkg["type"] == "deb":
        return 0
    if pkg["type"] == "pypi":
        return 1
    paths = [loc["path"].lstrip("/") for loc in pkg["locations"]]
    return 4 if all(p.startswith(f"{ib.OPAQUE_DIR}/") for p in paths) else 2


@pytest.mark.parametrize("form", IMAGE_FORMS)
def test_layers_follow_config_and_history(form: str, scanned, main_image: ib.BuiltImage) -> None:
    layers = scanned(form)["layers"]
    assert [layer["index"] for layer in layers] == list(range(len(main_image.created_by)))
    assert [layer["diff_id"] for layer in layers] == main_image.diff_ids()
    assert tuple(layer["created_by"] for layer in layers) == main_image.created_by  # ENV entry skipped


@pytest.mark.parametrize("form", IMAGE_FORMS)
def test_packages_attributed_to_their_layer(form: str, scanned, main_image: ib.BuiltImage) -> None:
    diff_ids = main_image.diff_ids()
    wrong = []
    for pkg in scanned(form)["packages"]:
        want = expected_layer(pkg)
        layer = pkg["layer"] or {}
        if (layer.get("index"), layer.get("diff_id"), layer.get("created_by")) != (
            want, diff_ids[want], main_image.created_by[want]
        ):
            wrong.append((pkg["type"], pkg["name"], pkg["version"], layer.get("index"), want))
        assert all(loc["layer_diff_id"] in (None, *diff_ids) for loc in pkg["locations"])
    assert not wrong, f"{form}: (type, name, version, layer, expected): {wrong[:20]}"


# -- distroless ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def distroless(build_dir: Path) -> ib.BuiltImage:
    return ib.build_distroless_image(build_dir, ib.debian_rootfs(build_dir))


def test_distroless_status_d(distroless: ib.BuiltImage, tmp_path: Path) -> None:
    status_d = distroless.rootfs / "var/lib/dpkg/status.d"
    assert not (distroless.rootfs / "var/lib/dpkg/status").exists()
    admin = tmp_path / "admin"
    admin.mkdir()
    files = sorted(p for p in status_d.iterdir() if not p.name.endswith(".md5sums"))
    paragraphs = [p.read_text().rstrip("\n") + "\n" for p in files]
    (admin / "status").write_text("\n".join(paragraphs))
    dpkg = ib.installed_debs(distroless.rootfs, admindir=admin)
    assert len(dpkg) == sum(len(names) for names in ib.DISTROLESS_LAYERS)

    report = scan_json(distroless.layout, tmp_path / "cache", tmp_path / "report.json")
    got = {p["name"]: (p["version"], p["source_name"], p["source_version"]) for p in report["packages"]}
    assert got == dpkg
    assert {p["type"] for p in report["packages"]} == {"deb"}
    layer_of = {name: i for i, names in enumerate(ib.DISTROLESS_LAYERS) for name in names}
    assert {p["name"]: p["layer"]["index"] for p in report["packages"]} == layer_of
    lines = (distroless.rootfs / "etc/os-release").read_text().splitlines()
    fields = dict((k, v.strip('"')) for k, _, v in (line.partition("=") for line in lines))
    assert fields["PRETTY_NAME"] == "Distroless"
    assert (report["os"]["family"], report["os"]["version"]) == (fields["ID"], fields["VERSION_ID"])
    assert report["os"]["distroless"] is True


# -- the layer cache -----------------------------------------------------------------------------


def attributed(report: dict) -> set[tuple[str, str, str, int, str]]:
    """Packages with their layer (blob digests differ between image forms; diff_ids do not)."""
    return {(p["type"], p["name"], p["version"], p["layer"]["index"], p["layer"]["diff_id"])
            for p in report["packages"]}


def without_timestamps(report: dict) -> dict:
    return {k: v for k, v in report.items() if k != "generated_at"}


def test_second_run_is_identical_and_served_from_cache(
    main_image: ib.BuiltImage, form_path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    archive = form_path("docker-save-classic")
    first = scan_json(archive, cache, tmp_path / "first.json")
    assert any(cache.iterdir()), "the first run left no cache behind"
    second = scan_json(archive, cache, tmp_path / "second.json")
    assert without_timestamps(second) == without_timestamps(first)

    # A copy whose layer blobs are zeroed: only a cache hit per diff_id can still inventory it.
    layout = tmp_path / "zeroed"
    shutil.copytree(main_image.layout, layout)
    manifest = ib.manifest_of(layout, main_image.tag)
    for layer in manifest["layers"]:
        blob = ib.blob_path(layout, layer["digest"])
        blob.write_bytes(bytes(blob.stat().st_size))
    cold = lashing(f"{layout}:{main_image.tag}", tmp_path / "cold-cache", tmp_path / "cold.json")
    assert cold.returncode != 0, "zeroed layers were accepted: this check would prove nothing"
    warm = scan_json(f"{layout}:{main_image.tag}", cache, tmp_path / "warm.json")
    assert attributed(warm) == attributed(first)
    assert [layer["diff_id"] for layer in warm["layers"]] == [layer["diff_id"] for layer in first["layers"]]


# -- other output formats ------------------------------------------------------------------------


def test_cyclonedx_and_spdx_carry_the_same_purls(form_path, scanned, tmp_path: Path) -> None:
    target, cache = form_path("oci-layout"), tmp_path / "cache"
    purls = {p["purl"] for p in scanned("oci-layout")["packages"]}

    assert lashing(target, cache, tmp_path / "bom.json", "cyclonedx-json").returncode == 0
    bom = json.loads((tmp_path / "bom.json").read_text())
    assert bom["bomFormat"] == "CycloneDX"
    assert {c["purl"] for c in bom["components"] if "purl" in c} == purls

    assert lashing(target, cache, tmp_path / "spdx.json", "spdx-json").returncode == 0
    spdx = json.loads((tmp_path / "spdx.json").read_text())
    refs = {r["referenceLocator"] for p in spdx["packages"] for r in p.get("externalRefs", [])
            if r["referenceType"] == "purl"}
    assert refs == purls

    assert lashing(target, cache, tmp_path / "table.txt", "table").returncode == 0
    table = (tmp_path / "table.txt").read_text()
    assert "express" in table and "libc6" in table and "requests" in table
