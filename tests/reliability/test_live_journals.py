"""Journals owned by live runs: a second run must not fold a journal still being written.

Run A is paying for answers and journaling them; run B starts on the same
database (here with ``-k nomatch``, so it evaluates nothing). B's start-up
recovery must leave A's journal alone: folding and deleting it would make A
write the rest of its answers into a deleted file, and A's rerun, after A is
killed, would pay for them again.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import duckdb
import pytest

from tests.fakes.llm_server import FakeLLMServer
from tests.helpers import mini_suite_text
from tests.reliability.test_interrupt import PROJECT, journal_lines, start_run, wait_for_requests

CASES = [(f"k-{i:02d}", f"Compute {i} + {i + 1}.", str(2 * i + 1), "easy") for i in range(40)]
TOTAL = 2 * len(CASES)  # goldens from gpt-4o, answers from gpt-4o-mini
IN_FLIGHT = 2  # max_concurrency in PROJECT


@pytest.fixture
def project(tmp_path: Path, fake_llm: FakeLLMServer) -> Path:
    (tmp_path / "pyproject.toml").write_text(PROJECT.format(base_url=fake_llm.openai_base_url))
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "mini.yaml").write_text(mini_suite_text(CASES))
    fake_llm.latency_ms = 250  # 2 in flight: about 8 requests a second, 10 s in all
    return tmp_path


def test_a_second_run_leaves_a_live_runs_journal_alone(
    project: Path, fake_llm: FakeLLMServer
) -> None:
    run_a = start_run(project)
    try:
        wait_for_requests(fake_llm, 6)
        run_b = start_run(project, "-k", "nomatch")
        out_b, _ = run_b.communicate(timeout=60)
        assert "recovered" not in out_b, out_b
        assert "Traceback" not in out_b, out_b
        assert journal_lines(project) > 0, "run B folded and deleted run A's live journal"
        assert run_a.poll() is None, "run A ended before run B was done: make it slower"
        wait_for_requests(fake_llm, fake_llm.stats.total + 4)  # A keeps journaling
    finally:
        run_a.send_signal(signal.SIGKILL)
        run_a.communicate(timeout=30)
    time.sleep(0.5)  # let the server finish the requests it was serving
    saved = journal_lines(project)
    assert 0 < saved <= fake_llm.stats.total < TOTAL

    rerun = start_run(project)
    out, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, out
    assert f"recovered {saved} response(s) from a run that did not finish" in out
    # Paid twice: at most the requests in flight when A was killed.
    assert TOTAL <= fake_llm.stats.total <= TOTAL + IN_FLIGHT
    with duckdb.connect(str(project / "results" / "cost_eval.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM responses").fetchone() == (TOTAL,)
    assert journal_lines(project) == 0


def test_xdist_workers_stop_paying_when_their_controller_is_killed(
    project: Path, fake_llm: FakeLLMServer
) -> None:
    run = start_run(project, "-n", "2", "-p", "xdist")
    wait_for_requests(fake_llm, 8)
    run.send_signal(signal.SIGKILL)  # the controller only: its workers are orphaned
    killed = time.monotonic()
    run.communicate(timeout=30)  # output ends when the last worker holding the pipe exits
    assert time.monotonic() - killed < 1.5, "orphaned workers lived on"
    time.sleep(max(0.0, killed + 1.0 - time.monotonic()))  # their last answers landed
    stopped_at = fake_llm.stats.total
    time.sleep(2.0)
    assert fake_llm.stats.total == stopped_at, "orphaned workers kept paying"
    assert stopped_at < TOTAL

    saved = journal_lines(project)
    rerun = start_run(project)
    out, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, out
    assert f"recovered {saved} response(s) from a run that did not finish" in out
    # Paid twice: at most the requests in flight in the two workers at the kill.
    assert TOTAL <= fake_llm.stats.total <= TOTAL + 2 * IN_FLIGHT
