"""--cost-eval-batch: a run answered by the batch APIs, priced at batch rates, resumable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.fakes.llm_server import PLANTED_KEY, FakeLLMServer
from tests.helpers import mini_suite_text

PROJECT = """\
[tool.cost-eval]
baseline = "openai:gpt-4o"

[tool.cost-eval.providers.openai]
base_url = "{base_url}"

[[tool.cost-eval.configs]]
name = "mini"
model = "openai:gpt-4o-mini"
"""


@pytest.fixture
def project(
    pytester: pytest.Pytester, fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> Path:
    tmp_path = pytester.path
    (tmp_path / "pyproject.toml").write_text(PROJECT.format(base_url=fake_llm.openai_base_url))
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "mini.yaml").write_text(mini_suite_text())
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    monkeypatch.delenv("CI", raising=False)
    return tmp_path


def pytest_args(*extra: str) -> list[str]:
    return [
        "--cost-eval",
        "--cost-eval-update-goldens",
        "--cost-eval-batch",
        "--cost-eval-batch-poll",
        "0.05",
        "-p",
        "no:cacheprovider",
        *extra,
    ]


def test_batch_run_completes_at_batch_prices(
    project: Path, fake_llm: FakeLLMServer, pytester: pytest.Pytester
) -> None:
    result = pytester.runpytest(*pytest_args())
    result.assert_outcomes(passed=1)
    # Goldens and the configuration's answers went in one round: one batch per model
    # (OpenAI batches hold a single model); nothing was sent synchronously.
    assert fake_llm.stats.routes["batches.create"] == 2
    assert fake_llm.stats.routes["chat.completions"] == 0
    with duckdb.connect(str(project / "results" / "cost_eval.duckdb"), read_only=True) as con:
        spend = con.execute("SELECT spend_usd FROM runs").fetchone()[0]
        tokens = con.execute(
            "SELECT sum(input_tokens), sum(output_tokens) FROM responses"
        ).fetchone()
        models = dict(
            con.execute("SELECT model, sum(input_tokens) FROM responses GROUP BY model").fetchall()
        )
        finished = con.execute("SELECT count(*) FROM batches WHERE finished_at IS NOT NULL")
        assert finished.fetchone() == (2,)
    assert tokens[0] > 0
    # genai-prices: gpt-4o 2.5/10, gpt-4o-mini 0.15/0.6 per 1M; batch halves both.
    with duckdb.connect(str(project / "results" / "cost_eval.duckdb"), read_only=True) as con:
        per_model = con.execute(
            "SELECT model, sum(input_tokens), sum(output_tokens) FROM responses GROUP BY model"
        ).fetchall()
    rates = {
        "openai:gpt-4o": (Decimal("2.5"), Decimal(10)),
        "openai:gpt-4o-mini": (Decimal("0.15"), Decimal("0.6")),
    }
    full = sum((rates[m][0] * i + rates[m][1] * o) / Decimal(1_000_000) for m, i, o in per_model)
    assert set(models) == set(rates)
    assert spend == pytest.approx(full / 2)
    assert "spent $" in result.stdout.str()


def test_killed_run_resumes_its_batch(project: Path, fake_llm: FakeLLMServer) -> None:
    fake_llm.batch_polls = 10_000  # the batch stays in progress
    env = {**os.environ, "OPENAI_API_KEY": PLANTED_KEY}
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", *pytest_args()],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while fake_llm.stats.routes["batches.retrieve"] < 4:
        assert time.monotonic() < deadline, "the batch was never polled"
        time.sleep(0.05)
    run.send_signal(signal.SIGKILL)
    run.communicate(timeout=30)
    assert fake_llm.stats.routes["batches.create"] == 2
    with duckdb.connect(str(project / "results" / "cost_eval.duckdb"), read_only=True) as con:
        pending = con.execute("SELECT count(*) FROM batches WHERE finished_at IS NULL")
        assert pending.fetchone() == (2,)

    fake_llm.batch_polls = 1  # now it completes
    rerun = subprocess.run(
        [sys.executable, "-m", "pytest", *pytest_args()],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert fake_llm.stats.routes["batches.create"] == 2  # resumed, not resubmitted
    assert fake_llm.stats.routes["chat.completions"] == 0


def test_rerecording_everything_by_batch_takes_one_round(
    project: Path, fake_llm: FakeLLMServer, pytester: pytest.Pytester
) -> None:
    pytester.runpytest(*pytest_args()).assert_outcomes(passed=1)
    fake_llm.reset()
    result = pytester.runpytest(
        "--cost-eval",
        "--cost-eval-update-goldens=all",
        "--cost-eval-record-mode=all",
        "--cost-eval-batch",
        "--cost-eval-batch-poll",
        "0.05",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=1)
    # Every request asked again, once, by batch: answers of round one are not re-asked.
    assert fake_llm.stats.routes["batches.create"] == 2
    assert fake_llm.stats.routes["chat.completions"] == 0
    assert "recorded 10 golden(s) for suite 'mini'" in result.stdout.str()


def test_a_paid_embedder_is_paid_once_across_batch_rounds(
    project: Path, fake_llm: FakeLLMServer, pytester: pytest.Pytester
) -> None:
    """Embeddings are not batched; the rounds after the first replay them."""
    (project / "pyproject.toml").write_text(
        PROJECT.format(base_url=fake_llm.openai_base_url)
        + f"""
[[tool.cost-eval.configs]]
name = "semcache"
model = "openai:gpt-4o-mini"

[tool.cost-eval.configs.cache]
kind = "semantic"
threshold = 0.95
embedder = {{ name = "openai", base_url = "{fake_llm.openai_base_url}" }}
"""
    )
    result = pytester.runpytest(*pytest_args())
    result.assert_outcomes(passed=2)
    # Ten distinct questions, embedded once each, however many rounds the run took.
    embedded = [t for body in fake_llm.stats.bodies["embeddings"] for t in body["input"]]
    assert len(embedded) == len(set(embedded)) == 10
    with duckdb.connect(str(project / "results" / "cost_eval.duckdb"), read_only=True) as con:
        stored = con.execute(
            "SELECT count(*) FROM responses WHERE model = 'openai:text-embedding-3-small'"
        ).fetchone()
    assert stored == (10,)
