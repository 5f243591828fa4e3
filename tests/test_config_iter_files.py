"""Which files a config scan reads under a folder, and in what order."""

from __future__ import annotations

import os
from pathlib import Path

from lashing.analyzers.config.scan import SKIP_DIRS, iter_files, scan_paths, wants

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def _walk_reference(root: Path) -> list[Path]:
    """os.walk top-down with sorted names: the order reports have always used."""
    out = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        out += [Path(folder) / n for n in sorted(files) if wants(n) and (Path(folder) / n).is_file()
                and not (Path(folder) / n).is_symlink()]
    return out


def test_order_is_os_walk_order_on_a_real_tree() -> None:
    found = list(iter_files(CORPUS))
    assert len(found) > 20
    assert found == _walk_reference(CORPUS)


def test_links_fifos_and_skipped_folders_are_not_read(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("kind: Pod\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "c.yaml").write_text("kind: Pod\n")
    (tmp_path / "a-b.yaml").write_text("kind: Pod\n")  # sorts between 'a.yaml' and folder 'b' by name
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "d.yaml").write_text("kind: Pod\n")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "a.yaml")
    (tmp_path / "dirlink").symlink_to(tmp_path / "b")
    os.mkfifo(tmp_path / "pipe.yaml")  # reading it would block forever
    (tmp_path / "notes.txt").write_text("x")
    found = list(iter_files(tmp_path))
    assert found == [tmp_path / "a-b.yaml", tmp_path / "a.yaml", tmp_path / "b" / "c.yaml"]
    assert found == _walk_reference(tmp_path)
    assert scan_paths([tmp_path]).files_scanned == 3


def _units_reference(roots: list[Path]) -> list[tuple[str, Path]]:
    """Charts and kustomizations as the scanner used to find them: a walk of its own (os.walk, sorted
    folders, a chart's folder not entered)."""
    from lashing.analyzers.config.render import unit_of

    units = []
    for root in roots:
        if not root.is_dir():
            continue
        for folder, dirs, files in os.walk(root, followlinks=False):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            unit = unit_of(Path(folder), files)
            if unit is not None:
                units.append((unit.kind, unit.path))
                if unit.kind == "helm":
                    dirs[:] = []
    return units


def test_units_come_from_the_same_walk(tmp_path: Path) -> None:
    """iter_files with `units`: the charts and kustomizations the old separate walk found, in its order,
    and exactly the files that walk's `covered` filter kept."""
    from lashing.analyzers.config.render import covered, unit_of

    tree = tmp_path / "t"
    for folder, names in {
        "apps/chart": ["Chart.yaml", "values.yaml"], "apps/chart/templates": ["d.yaml"],
        "apps/chart/charts/sub": ["Chart.yaml"], "apps/plain": ["pod.yaml", "Dockerfile"],
        "kz/base": ["kustomization.yaml", "deploy.yaml"], "kz/overlays/prod": ["kustomization.yml", "patch.yaml"],
        "kz/base/inner-chart": ["Chart.yaml"], "kz/base/extra": ["cm.yaml"], "z": ["Kustomization", "svc.yaml"],
        "vendor/chart": ["Chart.yaml"], "linked": ["pod.yaml"],
    }.items():
        (tree / folder).mkdir(parents=True, exist_ok=True)
        for name in names:
            (tree / folder / name).write_text("kind: Pod\n")
    (tree / "linked" / "Chart.yaml").symlink_to(tree / "apps" / "plain")  # a link to a folder: not a chart
    (tree / "dangling").mkdir()
    (tree / "dangling" / "kustomization.yaml").symlink_to(tree / "missing")  # a dangling link counts as a file
    for roots in ([tree], [tree / "apps", tree / "kz", tree / "apps" / "chart" / "templates" / "d.yaml"],
                  [tree / "kz" / "base" / "extra", tree / "kz"], [CORPUS]):
        units: list = []
        found = [path for root in roots for path in iter_files(root, units)]
        found = [path for path in found if not covered(path, units)]
        assert [(u.kind, u.path) for u in units] == _units_reference(roots)
        reference_units = [unit_of(path, ["Chart.yaml"] if kind == "helm" else ["kustomization.yaml"])
                           for kind, path in _units_reference(roots)]
        expected = [path for root in roots for path in iter_files(root) if not covered(path, reference_units)]
        assert found == expected
        if roots == [tree]:
            assert [(u.kind, u.path.relative_to(tree).as_posix()) for u in units] == [
                ("helm", "apps/chart"), ("kustomize", "dangling"), ("kustomize", "kz/base"),
                ("helm", "kz/base/inner-chart"), ("kustomize", "kz/overlays/prod"), ("kustomize", "z")]
            assert [p.relative_to(tree).as_posix() for p in found] == ["apps/plain/Dockerfile", "apps/plain/pod.yaml",
                                                                       "linked/pod.yaml"]


def test_the_current_folder_lists_as_paths_do(tmp_path: Path, monkeypatch) -> None:
    """`lashing config .`: files are "a.yaml", "b/c.yaml" (as Path(".") / name prints), never "./a.yaml"."""
    (tmp_path / "b").mkdir()
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {hostPID: true}\n")
    (tmp_path / "b" / "c.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: c}\nspec: {hostPID: true}\n")
    monkeypatch.chdir(tmp_path)
    found = list(iter_files(Path(".")))
    assert found == _walk_reference(Path(".")) == [Path("a.yaml"), Path("b/c.yaml")]
    assert [str(p) for p in found] == ["a.yaml", "b/c.yaml"]
    assert {f.location.path for f in scan_paths([Path(".")]).findings} == {"a.yaml", "b/c.yaml"}
    assert {f.location.path for f in scan_paths([Path("./b")]).findings} == {"b/c.yaml"}


def test_file_reads_are_bounded_and_never_block(tmp_path: Path, monkeypatch) -> None:
    """Files over the size bound are a warning; a FIFO (swapped in after the listing) is read without
    waiting for a writer; a file right at the bound comes back whole."""
    from lashing.analyzers.config import scan

    monkeypatch.setattr(scan, "MAX_FILE_BYTES", 100_000)
    small, exact, big = tmp_path / "small.yaml", tmp_path / "exact.yaml", tmp_path / "big.yaml"
    small.write_text("kind: Pod\n")
    exact.write_bytes(b"#" * 100_000)
    big.write_bytes(b"#" * 100_001)
    assert scan._read(str(small)) == b"kind: Pod\n" and scan._read(str(exact)) == b"#" * 100_000
    assert scan._read(str(big)) is None
    assert scan._scan_file((str(big), scan.Settings())) == f"{big}: larger than 100000 bytes; skipped"
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    assert scan._read(str(fifo)) == b""
    assert "cannot read" in scan._scan_file((str(tmp_path / "gone.yaml"), scan.Settings()))
