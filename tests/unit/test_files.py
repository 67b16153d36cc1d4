"""Atomic files: a crash mid-write leaves the previous file, never half of one."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from harness.files import AtomicFile


def test_commit_replaces_the_file_readable_by_all(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "goldens.jsonl"
    with AtomicFile(path) as out:
        out.write_json_line({"id": "a", "text": "café"})
        assert not path.exists()  # nothing appears before the commit
    assert path.read_text(encoding="utf-8") == '{"id": "a", "text": "café"}\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert list(path.parent.iterdir()) == [path]


def test_an_exception_keeps_the_previous_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), AtomicFile(path) as out:
        out.write("half of a new")
        raise RuntimeError("disk full")
    assert path.read_text(encoding="utf-8") == "old"
    assert list(tmp_path.iterdir()) == [path]


def test_abort_after_commit_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    out = AtomicFile(path)
    out.write("one\n")
    out.commit()
    out.abort()  # as a `finally:` does after a successful import
    assert out.done
    assert path.read_text(encoding="utf-8") == "one\n"
