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
