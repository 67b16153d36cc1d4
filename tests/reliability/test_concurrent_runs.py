"""One payment per distinct request when runs overlap.

Two ``pytest --cost-eval`` runs started together on one project, and the
workers of one ``-n 2`` run recording goldens, used to pay for every request
each of them needed (1,152 requests for 600 distinct ones; 200 for 150). Each
paid request now goes under a lease (:mod:`harness.store.leases`): the fake
server counts exactly the distinct requests.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.fakes.llm_server import FakeLLMServer
from tests.helpers import mini_suite_text
from tests.reliability.test_interrupt import PROJECT, start_run

CASES = [(f"c-{i:02d}", f"Compute {i} * 3 + 1.", str(3 * i + 1), "easy") for i in range(50)]

SECOND_CONFIG = """
[[tool.cost-eval.configs]]
name = "nano"
model = "openai:gpt-4.1-nano"
"""


@pytest.fixture
def project(tmp_path: Path, fake_llm: FakeLLMServer) -> Path:
    text = PROJECT.format(base_url=fake_llm.openai_base_url).replace(
        "max_concurrency = 2", "max_concurrency = 8"
    )
    (tmp_path / "pyproject.toml").write_text(text + SECOND_CONFIG)
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "mini.yaml").write_text(mini_suite_text(CASES))
    fake_llm.latency_ms = 40
    return tmp_path


DISTINCT = 3 * len(CASES)  # goldens from gpt-4o, answers from gpt-4o-mini and gpt-4.1-nano


def stored_responses(project: Path) -> int:
    with duckdb.connect(str(project / "results" / "cost_eval.duckdb"), read_only=True) as con:
        row = con.execute("SELECT count(*) FROM responses").fetchone()
    assert row is not None
    return int(row[0])


def test_two_runs_started_together_pay_for_each_request_once(
    project: Path, fake_llm: FakeLLMServer
) -> None:
    first = start_run(project)
    second = start_run(project)
    out_first, _ = first.communicate(timeout=180)
    out_second, _ = second.communicate(timeout=180)
    assert first.returncode == 0, out_first
    assert second.returncode == 0, out_second
    assert fake_llm.stats.total == DISTINCT
    # Both finished whole runs; between them they said who paid for what.
    assert "answered by another process that paid for them" in out_first + out_second
    assert stored_responses(project) == DISTINCT
    leases = project / "results" / "cost_eval.duckdb.journal"
    assert not leases.exists(), sorted(p.name for p in leases.rglob("*"))


def test_xdist_workers_recording_goldens_send_each_request_once(
    project: Path, fake_llm: FakeLLMServer
) -> None:
    run = start_run(project, "-n", "2", "-p", "xdist")
    out, _ = run.communicate(timeout=180)
    assert run.returncode == 0, out
    assert fake_llm.stats.total == DISTINCT
    assert stored_responses(project) == DISTINCT
    goldens = next((project / "goldens").rglob("*.jsonl"))
    assert len(goldens.read_text().splitlines()) == len(CASES)

    fake_llm.reset()
    rerun = start_run(project, "-n", "2", "-p", "xdist")
    out, _ = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, out
    assert fake_llm.stats.total == 0
