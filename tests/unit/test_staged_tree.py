"""``StagedTree``: several files that appear together, or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.files import StagedTree


def tree_of(root: Path) -> dict[str, str | None]:
    return {
        str(p.relative_to(root)): (p.read_text() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


def test_nothing_appears_before_publish_and_all_after(tmp_path: Path) -> None:
    root = tmp_path / "new" / "project"
    with StagedTree(root) as tree:
        tree.file("suites/s.yaml").write_text("suite")
        tree.file("goldens/s/m.jsonl").write_text("golden")
        tree.scratch("index").write_text("never published")
        assert [p.name for p in root.iterdir()] == [tree.folder.name]  # only the hidden folder
        tree.publish()
    assert tree_of(root) == {
        "goldens": None,
        "goldens/s": None,
        "goldens/s/m.jsonl": "golden",
        "suites": None,
        "suites/s.yaml": "suite",
    }
    assert (root / "suites" / "s.yaml").stat().st_mode & 0o777 == 0o644


def test_a_failure_leaves_no_folder_it_made(tmp_path: Path) -> None:
    root = tmp_path / "new" / "project"
    with pytest.raises(RuntimeError), StagedTree(root) as tree:
        tree.file("suites/s.yaml").write_text("suite")
        raise RuntimeError("a bad line")
    assert list(tmp_path.iterdir()) == []


def test_restore_after_publish_puts_every_file_back(tmp_path: Path) -> None:
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "s.yaml").write_text("old suite")
    (tmp_path / "keep.txt").write_text("untouched")
    before = tree_of(tmp_path)
    with pytest.raises(RuntimeError), StagedTree(tmp_path) as tree:
        tree.file("suites/s.yaml").write_text("new suite")
        tree.file("goldens/s/m.jsonl").write_text("golden")
        tree.publish()
        assert (tmp_path / "suites" / "s.yaml").read_text() == "new suite"
        raise RuntimeError("the database would not commit")
    assert tree_of(tmp_path) == before


def test_a_folder_in_the_way_moves_nothing(tmp_path: Path) -> None:
    (tmp_path / "goldens").mkdir()
    (tmp_path / "goldens" / "old.jsonl").write_text("old")
    (tmp_path / "suites" / "s.yaml" / "mine").mkdir(parents=True)  # someone's folder
    before = tree_of(tmp_path)
    tree = StagedTree(tmp_path)
    tree.file("goldens/old.jsonl").write_text("new")
    tree.file("suites/s.yaml").write_text("suite")
    with pytest.raises(IsADirectoryError, match="a folder is in the way"):
        tree.publish()
    tree.discard()
    assert tree_of(tmp_path) == before


def test_paths_outside_the_root_are_refused(tmp_path: Path) -> None:
    with StagedTree(tmp_path) as tree:
        for bad in ("../x", "/etc/x", "a/../../x"):
            with pytest.raises(ValueError, match="not a path inside"):
                tree.file(bad)
