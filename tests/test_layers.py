"""Layered filesystem semantics: whiteouts, opaque directories, provenance and package attribution."""

from __future__ import annotations

from pathlib import Path

import pytest

from craft import LayerSpec, Member, build_docker_archive, build_oci_layout, tar_directory
from lashing.analyzers.image import analyze_image
from lashing.analyzers.interface import AnalysisInput, AnalysisResult, Analyzer, FileInfo
from lashing.cache.layer_cache import LayerCache
from lashing.model import Package, PackageType
from lashing.sources.image.detect import open_target


class ListAnalyzer(Analyzer):
    """Test analyzer: `pkgs.txt` files list `name version` per line (like a package database)."""

    name = "list"
    version = 1

    def required(self, path: str, info: FileInfo) -> bool:
        return path.endswith("pkgs.txt")

    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        pkgs = []
        for line in item.content.decode().splitlines():
            name, version = line.split()
            pkgs.append(Package(name=name, version=version, type=PackageType.NPM, cataloger=self.name))
        return AnalysisResult(packages=tuple(pkgs))


def _layers() -> list[LayerSpec]:
    return [
        LayerSpec(
            [
                Member("etc", kind="dir"),
                Member("etc/os-release", b'ID=debian\nVERSION_ID="12"\n'),
                Member("var/db/pkgs.txt", b"a 1\nb 1\n"),
                Member("app/old/pkgs.txt", b"gone 1\n"),
                Member("app/keep/pkgs.txt", b"keep 1\n"),
                Member("opt/x/pkgs.txt", b"opaque-victim 1\n"),
            ],
            created_by="base",
        ),
        LayerSpec(
            [
                Member("var/db/pkgs.txt", b"a 1\nb 2\nc 1\n"),
                Member("app/.wh.old", b""),
                Member("secret.key", b"-----BEGIN PRIVATE KEY-----"),
            ],
            created_by="upgrade b, add c, delete app/old",
        ),
        LayerSpec(
            [
                Member("opt/x/.wh..wh..opq", b""),
                Member("opt/x/pkgs.txt", b"fresh 1\n"),
                Member(".wh.secret.key", b""),
            ],
            compression="zstd",
            created_by="opaque opt/x, delete secret.key",
        ),
    ]


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("img") / "layout"
    build_oci_layout(root, _layers())
    with open_target(str(root)) as source:
        return analyze_image(source, [ListAnalyzer()])


def _pkgs(analysis) -> dict[str, Package]:
    return {p.name: p for p in analysis.inventory.packages}


def test_deleted_paths_do_not_contribute_packages(analysis) -> None:
    assert sorted(_pkgs(analysis)) == ["a", "b", "c", "fresh", "keep"]


def test_package_layer_is_the_first_layer_declaring_it(analysis) -> None:
    pkgs = _pkgs(analysis)
    assert pkgs["a"].layer.index == 0 and pkgs["a"].layer.created_by == "base"
    assert pkgs["b"].version == "2" and pkgs["b"].layer.index == 1
    assert pkgs["c"].layer.index == 1
    assert pkgs["fresh"].layer.index == 2
    assert pkgs["a"].locations[0].path == "var/db/pkgs.txt"
    assert pkgs["a"].locations[0].layer_diff_id == analysis.layers[1].diff_id


def test_provenance_of_deleted_files(analysis) -> None:
    fs = analysis.filesystem
    deleted = {v.record.path: (v.added_by.index, v.deleted_by.index) for v in fs.deleted_files()}
    assert deleted == {"app/old/pkgs.txt": (0, 1), "secret.key": (1, 2), "opt/x/pkgs.txt": (0, 2)}
    assert fs.visible("secret.key") is None
    history = fs.history("var/db/pkgs.txt")
    assert [(v.added_by.index, v.replaced_by.index if v.replaced_by else None) for v in history] == [
        (0, 1),
        (1, None),
    ]


def test_docker_archive_and_oci_archive_give_the_same_inventory(tmp_path: Path, analysis) -> None:
    expected = sorted((p.name, p.version, p.layer.index) for p in analysis.inventory.packages)
    archive = build_docker_archive(
        tmp_path / "img.tar", [LayerSpec(s.members, "none", s.created_by) for s in _layers()]
    )
    layout = build_oci_layout(tmp_path / "layout", _layers())
    oci_archive = tar_directory(layout.path, tmp_path / "oci.tar")
    for target in (archive.path, oci_archive):
        with open_target(str(target)) as source:
            got = analyze_image(source, [ListAnalyzer()])
        assert sorted((p.name, p.version, p.layer.index) for p in got.inventory.packages) == expected


def test_cache_reuses_layers_and_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "layout"
    build_oci_layout(root, _layers())
    cache = LayerCache(tmp_path / "cache.sqlite")
    with open_target(str(root)) as source:
        first = analyze_image(source, [ListAnalyzer()], cache)
    with open_target(str(root)) as source:
        second = analyze_image(source, [ListAnalyzer()], cache)
    assert first.cached_layers == 0 and second.cached_layers == 3
    assert second.inventory.packages == first.inventory.packages
    assert [a for a in second.analyses] == [a for a in first.analyses]


def test_analyzer_version_change_invalidates_the_cache(tmp_path: Path) -> None:
    root = tmp_path / "layout"
    build_oci_layout(root, _layers())
    cache = LayerCache(tmp_path / "cache.sqlite")

    class ListAnalyzerV2(ListAnalyzer):
        version = 2

    with open_target(str(root)) as source:
        analyze_image(source, [ListAnalyzer()], cache)
    with open_target(str(root)) as source:
        assert analyze_image(source, [ListAnalyzerV2()], cache).cached_layers == 0
