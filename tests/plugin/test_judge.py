"""`pytest --cost-eval` with the ``judge`` scorer, end to end.

The offline ``heuristic`` judge on the mini suite, and an ``openai:`` judge
through the real SDK to the fake server (scripted JSON verdicts): its calls go
through the executor, into the response store, and a rerun in record mode
``none`` makes no request at all.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from tests.fakes.llm_server import PLANTED_KEY, FakeLLMServer
from tests.helpers import (
    MINI_CASES,
    OPENAI_PROVIDER,
    PROJECT_HEAD,
    PYPROJECT,
    judge_reply,
    latest_run_rows,
    set_pyproject,
)

JUDGE_PROJECT = (
    PROJECT_HEAD
    + OPENAI_PROVIDER
    + """
[[tool.cost-eval.configs]]
name = "frontier"
model = "sim:frontier"
enforce = true

[[tool.cost-eval.configs]]
name = "small-only"
model = "sim:small"
"""
)


def judge_suite(scorer: str, reference: str = "expected") -> str:
    lines = [
        "suite: mini\n",
        "version: 1\n",
        f"scorer: {scorer}\n",
        f"reference: {reference}\n",
        "cases:\n",
    ]
    for case_id, prompt, expected, category in MINI_CASES:
        lines.append(
            f'  - {{id: {case_id}, prompt: "{prompt}", expected: "{expected}", '
            f"category: {category}}}\n"
        )
    return "".join(lines)


def query(pytester: pytest.Pytester, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    db = pytester.path / "results" / "cost_eval.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def latest(pytester: pytest.Pytester, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (with one ``?``: the latest run's id)."""
    return latest_run_rows(pytester.path, sql)


def test_heuristic_judge_offline(mini_project: pytest.Pytester) -> None:
    set_pyproject(mini_project, PYPROJECT.format(small_enforce=""))
    (mini_project.path / "suites" / "mini.yaml").write_text(
        judge_suite("{name: judge, model: heuristic, repeats: 2, sample: 1.0}")
    )
    recorded = mini_project.runpytest(
        "--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider"
    )
    recorded.assert_outcomes(passed=2)
    out = recorded.stdout.str()
    assert "Traceback" not in out
    rows = latest(
        mini_project,
        "SELECT config, case_id, score, baseline_score, error FROM results "
        "WHERE run_id = ? ORDER BY config, case_id",
    )
    by_config: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_config.setdefault(row[0], []).append(row)
    # The frontier answers are the goldens: identical, 1.0 without a judge call.
    assert [r[2] for r in by_config["batch-frontier"]] == [1.0] * 10
    # sim:small is right on the easy cases (a tie with the golden) and wrong on
    # some hard ones (the expected answer decides): like the numeric scorer.
    small = {r[1]: r[2] for r in by_config["small-only"]}
    assert all(r[3] == 1.0 and r[4] is None for r in rows)
    assert set(small.values()) <= {0.0, 0.5, 1.0}
    assert [small[f"m-0{i}"] for i in range(1, 5)] == [1.0] * 4
    assert sum(small.values()) == 7.0
    noise = dict(latest(mini_project, "SELECT config, noise FROM summaries WHERE run_id = ?"))
    # Nothing needed the judge for batch-frontier; small-only's judge never flipped.
    assert noise == {"batch-frontier": None, "small-only": 0.0}


@pytest.fixture
def judge_project(
    mini_project: pytest.Pytester, fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    set_pyproject(mini_project, JUDGE_PROJECT.format(openai=fake_llm.openai_base_url))
    (mini_project.path / "suites" / "mini.yaml").write_text(
        judge_suite("{name: judge, model: 'openai:gpt-4o', seed: 11}", reference="golden")
    )
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    monkeypatch.delenv("CI", raising=False)
    return mini_project


def test_openai_judge_is_recorded_then_replayed(
    judge_project: pytest.Pytester, fake_llm: FakeLLMServer
) -> None:
    # sim:small's 10 answers all differ from the verbose goldens: 10 cases x 2 orders.
    fake_llm.script(
        "chat.completions", *[judge_reply("tie", "scripted verdict") for _ in range(20)]
    )
    first = judge_project.runpytest(
        "--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider"
    )
    first.assert_outcomes(passed=2)
    assert "Traceback" not in first.stdout.str()
    assert fake_llm.stats.routes["chat.completions"] == 20
    assert fake_llm.pending("chat.completions") == 0
    for body in fake_llm.stats.bodies["chat.completions"]:
        assert body["model"] == "gpt-4o"
        assert (body["temperature"], body["seed"]) == (0, 11)
        assert '"winner"' in body["messages"][0]["content"]
    results = latest(
        judge_project,
        "SELECT config, case_id, score, error FROM results WHERE run_id = ? "
        "ORDER BY config, case_id",
    )
    assert {(r[0], r[2], r[3]) for r in results} == {
        ("frontier", 1.0, None),
        ("small-only", 1.0, None),
    }
    # The judge's answers are in the response store, like any other.
    stored = query(judge_project, "SELECT count(*) FROM responses WHERE model = 'openai:gpt-4o'")
    assert stored == [(20,)]

    fake_llm.reset()
    second = judge_project.runpytest(
        "--cost-eval", "--cost-eval-record-mode=none", "-p", "no:cacheprovider"
    )
    second.assert_outcomes(passed=2)
    assert fake_llm.stats.total == 0
    second.stdout.fnmatch_lines(["*; 0 provider call(s), 0 of them to paid APIs*"])
    again = latest(
        judge_project,
        "SELECT config, case_id, score, error FROM results WHERE run_id = ? "
        "ORDER BY config, case_id",
    )
    assert again == results


def test_malformed_judge_output_is_an_error_row(
    judge_project: pytest.Pytester, fake_llm: FakeLLMServer
) -> None:
    # Unscripted, the fake answers like a simulated model: never a JSON verdict.
    result = judge_project.runpytest(
        "--cost-eval", "--cost-eval-update-goldens", "-k", "small", "-p", "no:cacheprovider"
    )
    assert "Traceback" not in result.stdout.str()
    # First order: the reply and one stricter retry; the second order is not asked.
    assert fake_llm.stats.routes["chat.completions"] == 20
    results = latest(
        judge_project, "SELECT score, error FROM results WHERE run_id = ? ORDER BY case_id"
    )
    assert len(results) == 10
    assert all(score is None for score, _ in results)
    assert all(
        error.startswith("judge: the judge 'openai:gpt-4o' gave no readable verdict, twice")
        for _, error in results
    )
