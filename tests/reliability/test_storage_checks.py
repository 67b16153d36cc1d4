"""Storage checked before spending, and every storage message true.

A ``db`` in a folder that cannot be created was found after 5 paid requests,
whose answers were then lost (a ``FileNotFoundError`` traceback). Now the
database, journal and report paths are tried before the first request: the
fake server must see none. A damaged DuckDB file (a block overwritten
mid-file) gets the same message as a truncated one. When only the report
cannot be written, the run says the results are stored (they are).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from harness.store.responses import store_responses
from harness.types import Message, Request, Response, Usage
from tests.fakes import FakeLLMServer
from tests.reliability.test_faults import CASES, fault_env, fault_project, run

__all__ = ["fault_env"]  # the fixture, imported for usefixtures


def blocked(root: Path) -> Path:
    """A regular file: no folder can be created under it."""
    path = root / "not-a-folder"
    path.write_text("a file\n")
    return path


def unwritable(where: str, root: Path) -> list[str]:
    """The command-line flags making one path unwritable."""
    if where == "db folder cannot be created":
        return [f"--cost-eval-db={blocked(root) / 'sub' / 'x.duckdb'}"]
    if where == "db under /dev/null":
        return ["--cost-eval-db=/dev/null/x.duckdb"]
    if where == "db is a folder":
        return [f"--cost-eval-db={root}"]
    if where == "journal folder is a file":
        (root / "j.duckdb.journal").write_text("")
        return [f"--cost-eval-db={root / 'j.duckdb'}"]
    assert where == "report folder cannot be created"
    return [f"--cost-eval-report={blocked(root) / 'report.html'}"]


@pytest.mark.usefixtures("fault_env")
@pytest.mark.parametrize(
    ("where", "named"),
    [
        ("db folder cannot be created", "not-a-folder"),
        ("db under /dev/null", "/dev/null"),
        ("db is a folder", "is a folder"),
        ("journal folder is a file", "journal"),
        ("report folder cannot be created", "the report"),
    ],
)
def test_an_unwritable_path_fails_before_any_request(
    mini_project: pytest.Pytester, fake_llm: FakeLLMServer, where: str, named: str
) -> None:
    root = fault_project(mini_project, fake_llm, retries=0, concurrency=2, enforce=False)
    result = run(mini_project, *unwritable(where, root))
    out = result.stdout.str() + result.stderr.str()
    assert result.ret != 0
    assert fake_llm.stats.total == 0, "nothing may be paid for when it cannot be kept"
    assert "Nothing was sent" in out, out
    assert named in out
    assert "Traceback" not in out and "FileNotFoundError" not in out


def write_big_database(path: Path) -> None:
    """A real results database written by the harness: a response store of ~4 MB."""
    pairs = [
        (
            Request(
                model="openai:gpt-4o",
                messages=(Message(role="user", content=f"Question {i}?"),),
            ),
            Response(
                text=f"answer {i} " + "lorem ipsum dolor sit amet " * 40,
                model="openai:gpt-4o",
                usage=Usage(input_tokens=10, output_tokens=20),
                latency_ms=1.0,
            ),
        )
        for i in range(4000)
    ]
    store_responses(path, pairs, "2026-01-01T00:00:00+00:00")


def damage(path: Path, how: str) -> None:
    size = path.stat().st_size
    if how == "truncated":
        os.truncate(path, size // 3)
        return
    with path.open("r+b") as handle:  # a block overwritten mid-file
        handle.seek(size // 2)
        handle.write(b"\xde\xad\xbe\xef" * 2048)


@pytest.mark.usefixtures("fault_env")
@pytest.mark.parametrize("how", ["corrupted block", "truncated"])
def test_a_damaged_database_is_a_clear_message_before_any_request(
    mini_project: pytest.Pytester, fake_llm: FakeLLMServer, how: str
) -> None:
    root = fault_project(mini_project, fake_llm, retries=0, concurrency=2, enforce=False)
    db = root / "results" / "cost_eval.duckdb"
    write_big_database(db)
    damage(db, how)
    result = run(mini_project)
    out = result.stdout.str() + result.stderr.str()
    assert result.ret != 0
    assert fake_llm.stats.total == 0
    assert f"{db}: cannot open the results database" in out, out
    assert "Move it aside to start a new one" in out
    assert "Traceback" not in out


@pytest.mark.usefixtures("fault_env")
def test_an_unwritable_report_says_the_results_are_stored(
    mini_project: pytest.Pytester, fake_llm: FakeLLMServer
) -> None:
    root = fault_project(mini_project, fake_llm, retries=0, concurrency=2, enforce=False)
    # The report's folder is fine at the start, and replaced by a file before the end.
    mini_project.makeconftest(
        """
        import shutil
        from pathlib import Path

        import pytest

        @pytest.hookimpl(tryfirst=True)
        def pytest_sessionfinish(session):
            out = Path(session.config.rootpath) / "out"
            shutil.rmtree(out)
            out.write_text("now a file")
        """
    )
    (root / "out").mkdir()
    result = run(mini_project, f"--cost-eval-report={root / 'out' / 'report.html'}")
    out = result.stdout.str()
    assert fake_llm.stats["chat.completions"] == len(CASES)
    assert "results not stored" not in out
    assert "report not written (the results are stored)" in out, out
    assert "results: " in out
    assert "Traceback" not in out
    with duckdb.connect(str(root / "results" / "cost_eval.duckdb"), read_only=True) as con:
        [(runs,)] = con.execute("SELECT count(*) FROM runs").fetchall()
        [(rows,)] = con.execute("SELECT count(*) FROM results WHERE config = 'mini'").fetchall()
    assert (runs, rows) == (1, len(CASES))
