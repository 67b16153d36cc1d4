"""Interruptions: SIGKILL and SIGINT mid-run, and two runs on one DuckDB file.

A run against a paid API is killed while requests are in flight. The rerun
must pay only for the requests that never completed (the fake server counts
them), DuckDB must open intact, and no goldens file may be half-written.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.fakes.llm_server import PLANTED_KEY, FakeLLMServer
from tests.helpers import mini_suite_text

CASES = [(f"k-{i:02d}", f"Compute {i} + {i + 1}.", str(2 * i + 1), "easy") for i in range(24)]

PROJECT = """\
[tool.cost-eval]
baseline = "openai:gpt-4o"

[tool.cost-eval.providers.openai]
base_url = "{base_url}"
max_concurrency = 2

[[tool.cost-eval.configs]]
name = "mini"
model = "openai:gpt-4o-mini"
"""

TOTAL = 2 * len(CASES)  # goldens from gpt-4o, answers from gpt-4o-mini


@pytest.fixture
def project(tmp_path: Path, fake_llm: FakeLLMServer) -> Path:
    (tmp_path / "pyproject.toml").write_text(PROJECT.format(base_url=fake_llm.openai_base_url))
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "mini.yaml").write_text(mini_suite_text(CASES))
    fake_llm.latency_ms = 150  # 2 in flight: about 13 requests a second
    return tmp_path


def start_run(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        "OPENAI_API_KEY": PLANTED_KEY,
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    environment.pop("CI", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "--cost-eval",
            "--cost-eval-update-goldens",
            "-p",
            "no:cacheprovider",
            "-q",
            *args,
        ],
        cwd=project,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_requests(server: FakeLLMServer, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while server.stats.total < count:
        assert time.monotonic() < deadline, f"the run made only {server.stats.total} requests"
        time.sleep(0.02)


def journal_lines(project: Path) -> int:
    folder = project / "results" / "cost_eval.duckdb.journal"
    return sum(len(p.read_text().splitlines()) for p in folder.glob("*.jsonl"))


def check_goldens_whole(project: Path) -> None:
    for path in (project / "goldens").rglob("*"):
        assert not path.name.endswith(".tmp"), f"temporary file left: {path}"
        if path.is_file():
            for line in path.read_text().splitlines():
                json.loads(line)  # every line whole


def test_sigkill_rerun_pays_only_for_unfinished_requests(
    project: Path, fake_llm: FakeLLMServer
) -> None:
    run = start_run(project)
    wait_for_requests(fake_llm, 10)
    run.send_signal(signal.SIGKILL)
    run.communicate(timeout=30)
    time.sleep(0.3)  # let the server finish the requests it was serving
    first = fake_llm.stats.total
    saved = journal_lines(project)
    assert 0 < saved <= first < TOTAL
    check_goldens_whole(project)

    fake_llm.reset()
    rerun = start_run(project)
    out, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, out
    assert f"recovered {saved} response(s) from a run that did not finish" in out
    # Only what the journal did not hold is asked again.
    assert fake_llm.stats.total == TOTAL - saved
    with duckdb.connect(str(project / "results" / "cost_eval.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM responses").fetchone() == (TOTAL,)
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (1,)
    check_goldens_whole(project)


def test_sigint_saves_what_was_paid_for(project: Path, fake_llm: FakeLLMServer) -> None:
    run = start_run(project)
    wait_for_requests(fake_llm, 10)
    run.send_signal(signal.SIGINT)
    out, _ = run.communicate(timeout=60)
    assert run.returncode == pytest.ExitCode.INTERRUPTED, out
    assert "run interrupted; its" in out and "paid response(s) are saved" in out
    saved = int(out.split("run interrupted; its ", 1)[1].split()[0])
    assert journal_lines(project) == 0  # folded into DuckDB
    with duckdb.connect(str(project / "results" / "cost_eval.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM responses").fetchone() == (saved,)

    fake_llm.reset()
    rerun = start_run(project)
    out, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, out
    assert fake_llm.stats.total == TOTAL - saved


HOLD_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE IF NOT EXISTS held (x INTEGER)")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def hold_lock(db: Path, seconds: float) -> subprocess.Popen[str]:
    db.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_second_run_waits_for_the_lock(project: Path, fake_llm: FakeLLMServer) -> None:
    db = project / "results" / "cost_eval.duckdb"
    holder = hold_lock(db, 2.0)
    fake_llm.latency_ms = 0
    run = start_run(project)
    out, _ = run.communicate(timeout=120)
    holder.communicate(timeout=30)
    assert run.returncode == 0, out
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM results").fetchone() == (len(CASES),)
        assert con.execute("SELECT count(*) FROM held").fetchone() == (0,)  # intact


def test_second_run_gives_up_with_a_clear_message(project: Path, fake_llm: FakeLLMServer) -> None:
    db = project / "results" / "cost_eval.duckdb"
    holder = hold_lock(db, 6.0)
    fake_llm.latency_ms = 0
    run = start_run(project, env={"COST_EVAL_DB_LOCK_WAIT": "0.5"})
    out, _ = run.communicate(timeout=120)
    holder.communicate(timeout=30)
    assert run.returncode != 0
    assert "another process is using the results database" in out
    assert "COST_EVAL_DB_LOCK_WAIT" in out
    assert "Traceback" not in out
    # It could not read the response store, so it paid for nothing.
    assert fake_llm.stats.total == 0
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM held").fetchone() == (0,)
