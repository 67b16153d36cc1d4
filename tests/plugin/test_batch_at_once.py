"""--cost-eval-batch with two providers: submitted together, waited for once (#21).

The baseline is an OpenAI model and the configuration an Anthropic one, so a
round has work for both batch APIs. The fake server timestamps every request:
both batches are created before either is polled. A batch timeout leaves the
batches pending (error rows now, resumed and paid once by the next run); the run
line counts the batch answers as provider calls; the configuration's cost per
query is at batch rates and says so.
"""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from harness.plugin import session as session_module
from harness.plugin.warm_up import warm_up
from tests.fakes.llm_server import PLANTED_KEY, FakeLLMServer
from tests.helpers import LATEST_RUN, mini_suite_text
from tests.plugin.test_batch_run import pytest_args

PROJECT = """\
[tool.cost-eval]
baseline = "openai:gpt-4o"

[tool.cost-eval.providers.openai]
base_url = "{openai}"

[tool.cost-eval.providers.anthropic]
base_url = "{anthropic}"

[tool.cost-eval.prices."openai:gpt-4o"]
input = 2.5
output = 10.0

[tool.cost-eval.prices."anthropic:claude-3-5-haiku-latest"]
input = 0.8
output = 4.0

[[tool.cost-eval.configs]]
name = "haiku"
model = "anthropic:claude-3-5-haiku-latest"
"""

SUBMIT = {"batches.create", "messages.batches.create"}
POLL = {"batches.retrieve", "messages.batches.retrieve"}


@pytest.fixture
def project(
    pytester: pytest.Pytester, fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> Path:
    path = pytester.path
    (path / "pyproject.toml").write_text(
        PROJECT.format(openai=fake_llm.openai_base_url, anthropic=fake_llm.anthropic_base_url)
    )
    (path / "suites").mkdir()
    (path / "suites" / "mini.yaml").write_text(mini_suite_text())
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", PLANTED_KEY)
    monkeypatch.delenv("CI", raising=False)
    return path


def db(project: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(project / "results" / "cost_eval.duckdb"), read_only=True)


def test_both_providers_are_submitted_before_the_first_poll(
    project: Path, fake_llm: FakeLLMServer, pytester: pytest.Pytester
) -> None:
    fake_llm.batch_polls = 3  # each batch is seen in progress a few times
    result = pytester.runpytest(*pytest_args())
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert "Traceback" not in out
    arrivals = fake_llm.stats.arrivals
    submitted = [t for t, route in arrivals if route in SUBMIT]
    polled = [t for t, route in arrivals if route in POLL]
    assert sorted(route for _, route in arrivals if route in SUBMIT) == [
        "batches.create",
        "messages.batches.create",
    ]
    assert max(submitted) < min(polled)  # both submitted before either is polled
    # ... and polled concurrently: the polls of the two interleave.
    routes = [route for _, route in arrivals if route in POLL]
    first_anthropic = routes.index("messages.batches.retrieve")
    assert "batches.retrieve" in routes[first_anthropic:]
    assert fake_llm.stats.routes["chat.completions"] == 0
    assert fake_llm.stats.routes["messages"] == 0
    # 20 answers came from batches: counted as provider calls, and as paid ones.
    assert "; 20 provider call(s), 20 of them to paid APIs" in out
    with db(project) as con:
        [(cost, extras)] = con.execute(
            "SELECT cost_per_query, extras_json FROM summaries"
        ).fetchall()
        [(inp, outp)] = con.execute(
            "SELECT sum(input_tokens), sum(output_tokens) FROM responses "
            "WHERE model = 'anthropic:claude-3-5-haiku-latest'"
        ).fetchall()
    # The configuration's cost per query is what its batch answers cost: half the rates.
    full = (Decimal("0.8") * inp + Decimal(4) * outp) / Decimal(1_000_000)
    assert Decimal(str(cost)) == pytest.approx(full / 2 / 10)
    assert json.loads(extras)["batch"] == {"cases": 10, "rate": "batch"}
    # Said wherever the cost is shown: the terminal, summary.md and the report.
    assert "batch rate on 10 case(s)" in out
    results = project / "results"
    assert "batch rate on 10 case(s)" in (results / "summary.md").read_text()
    assert "batch rate on 10 case(s)" in (results / "report.html").read_text()


def test_batch_timeout_records_errors_and_the_next_run_resumes(
    project: Path, fake_llm: FakeLLMServer, pytester: pytest.Pytester
) -> None:
    fake_llm.batch_polls = 10_000  # never ends while this run waits
    result = pytester.runpytest(*pytest_args("--cost-eval-batch-timeout", "0.5"))
    out = result.stdout.str()
    assert "Traceback" not in out
    assert "still pending after the 0.5 s batch timeout" in out
    with db(project) as con:
        pending = con.execute("SELECT count(*) FROM batches WHERE finished_at IS NULL")
        assert pending.fetchone() == (2,)
    submitted = (
        fake_llm.stats.routes["batches.create"],
        fake_llm.stats.routes["messages.batches.create"],
    )
    assert submitted == (1, 1)

    fake_llm.batch_polls = 1  # now they end
    again = pytester.runpytest(*pytest_args())
    again.assert_outcomes(passed=1)
    # Resumed, not submitted a second time: nothing paid twice.
    assert (
        fake_llm.stats.routes["batches.create"],
        fake_llm.stats.routes["messages.batches.create"],
    ) == (1, 1)
    assert "resuming" in again.stdout.str()
    with db(project) as con:
        pending = con.execute("SELECT count(*) FROM batches WHERE finished_at IS NULL")
        assert pending.fetchone() == (0,)
        errors = con.execute(
            f"SELECT count(*) FROM results WHERE run_id = {LATEST_RUN} AND error IS NOT NULL"
        ).fetchone()
    assert errors == (0,)


def test_a_bad_batch_timeout_is_an_error_to_act_on(
    project: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow_warm_up() -> None:  # a cold machine: the imports take a while
        time.sleep(0.5)
        warm_up()

    monkeypatch.setattr(session_module, "warm_up", slow_warm_up)
    result = pytester.runpytest(*pytest_args("--cost-eval-batch-timeout", "0"))
    out = result.stdout.str()
    assert "--cost-eval-batch-timeout must be a positive number of seconds" in out
    assert "Traceback" not in out
    # The run failed as it began: the thread warming up the report's imports was
    # joined with the session, not left importing in this process (in-process
    # pytester then removed those modules under it: a KeyError in that thread).
    assert not [t for t in threading.enumerate() if t.name == "cost-eval-warm-up"]
