"""`pytest --cost-eval` with a semantic cache's verifier stage, end to end.

An LLM-judge verifier through the real OpenAI SDK to the fake server (which
decides by content: serve when both questions hold the same numbers): its calls
go through the configuration's chain into each case's cost, through the
executor into the response store, and a rerun in CI asks nothing. A function
verifier that raises makes error rows naming the cache, never a served answer.
The report's cache sweep shows the figures without and with the verifier.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest

from tests.fakes.llm_server import PLANTED_KEY, FakeLLMServer, Reply
from tests.helpers import latest_run_rows

JUDGE = "openai:gpt-4o-mini"
JUDGE_CALL_USD = Decimal(100 * 1 + 10 * 2) / 1_000_000
"""One judge call: the fake reports 100 input and 10 output tokens; $1 and $2 per million."""

PROJECT = """\
[tool.pytest.ini_options]
pythonpath = ["."]  # verifiers.py, in every xdist worker too

[tool.cost-eval]
baseline = "sim:frontier"
volume = "10k/day"

[tool.cost-eval.providers.openai]
base_url = "{openai}"
max_retries = 0

[tool.cost-eval.prices."sim:frontier"]
input = 5.0
output = 15.0

[tool.cost-eval.prices."{judge}"]
input = 1.0
output = 2.0

[[tool.cost-eval.configs]]
name = "cache"
model = "sim:frontier"
cache = {{ kind = "semantic", threshold = 0.5, embedder = "verifiers:number_blind" }}

[[tool.cost-eval.configs]]
name = "cache-judged"
model = "sim:frontier"
[tool.cost-eval.configs.cache]
kind = "semantic"
threshold = 0.5
embedder = "verifiers:number_blind"
verify = {{ kind = "judge", model = "{judge}" }}

[[tool.cost-eval.configs]]
name = "cache-broken"
model = "sim:frontier"
[tool.cost-eval.configs.cache]
kind = "semantic"
threshold = 0.5
embedder = "verifiers:number_blind"
verify = {{ kind = "verifiers:broken" }}
"""

VERIFIERS = '''
import re

import numpy as np


class NumberBlind:
    """Sees words, not numbers: every "Compute a + b." looks the same to it."""

    name = "number-blind"
    usage_tokens = 0

    async def embed(self, texts):
        rows = []
        for text in texts:
            row = np.zeros(16)
            for word in re.findall(r"[a-z]+", text.lower()):
                row[sum(map(ord, word)) % 16] += 1.0
            rows.append(row)
        return np.array(rows)


def number_blind(options, where):
    return NumberBlind()


def broken(new_question, stored_question, stored_answer):
    raise ValueError("verifier backend down")
'''

SUITE = """\
suite: calc
version: 1
scorer: numeric
reference: expected
cases:
  - {id: c1, prompt: "Compute 3 + 4.", expected: "7"}
  - {id: c2, prompt: "Compute 6 * 7.", expected: "42"}
  - {id: c3, prompt: "compute 3 + 4", expected: "7"}
  - {id: c4, prompt: "Compute 3 + 5.", expected: "8"}
  - {id: c5, prompt: "Compute  6 * 7.", expected: "42"}
  - {id: c6, prompt: "Compute 6 * 8.", expected: "48"}
"""

_NUMBER = re.compile(r"\d+")


def judge_reply(body: Any) -> Reply:
    """Serve when the new and the stored question hold the same numbers."""
    prompt = body["messages"][-1]["content"]
    new = prompt.split("[New question]\n", 1)[1].split("\n\n", 1)[0]
    stored = prompt.split("[Stored question]\n", 1)[1].split("\n\n", 1)[0]
    serve = sorted(_NUMBER.findall(new)) == sorted(_NUMBER.findall(stored))
    text = json.dumps({"serve": serve, "reason": "numbers compared"})
    return Reply(
        patch={
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
        }
    )


@pytest.fixture
def project(
    pytester: pytest.Pytester, fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    pytester.makefile(
        ".toml", pyproject=PROJECT.format(openai=fake_llm.openai_base_url, judge=JUDGE)
    )
    pytester.makepyfile(verifiers=VERIFIERS)
    (pytester.path / "suites").mkdir()
    (pytester.path / "suites" / "calc.yaml").write_text(SUITE)
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    monkeypatch.delenv("CI", raising=False)
    fake_llm.respond("chat.completions", judge_reply)
    return pytester


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_the_judge_verifier_is_priced_stored_and_replayed(
    project: pytest.Pytester,
    fake_llm: FakeLLMServer,
    monkeypatch: pytest.MonkeyPatch,
    workers: list[str],
) -> None:
    first = project.runpytest(
        "--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider", *workers
    )
    assert "Traceback" not in first.stdout.str()
    rows = latest_run_rows(
        project.path,
        "SELECT config, case_id, cache_hit, calls, cost_usd, baseline_cost_usd, error, output "
        "FROM results WHERE run_id = ? ORDER BY config, case_id",
    )
    by = {(r[0], r[1]): r for r in rows}
    # Without a verifier, every question hits c1 (the embedder cannot see numbers).
    assert [by[("cache", f"c{i}")][2] for i in range(1, 7)] == [False] + [True] * 5
    # With the judge, only c3 (c1 re-typed) is served; the others are answered by the model.
    judged = [by[("cache-judged", f"c{i}")] for i in range(1, 7)]
    assert [r[2] for r in judged] == [False, False, True, False, False, False]
    # So every answer is right: c3 is served c1's "7", the rest are the model's own.
    expected = ["7", "42", "7", "8", "42", "48"]
    assert [r[7].rsplit(" ", 1)[-1] for r in judged] == [f"{e}." for e in expected]
    assert by[("cache", "c2")][7].endswith("The answer is 7.")  # unverified: served wrong
    assert all(r[6] is None for r in judged)
    # Each case pays its judge call: a served hit costs the check alone, a rejected
    # one the check and the model call (the baseline's, as sent).
    assert [r[3] for r in judged] == [1, 2, 1, 2, 2, 2]
    for _config, _case, hit, calls, cost, baseline, _error, _output in judged:
        checks = calls if hit else calls - 1
        model = Decimal(0) if hit else Decimal(str(baseline))
        assert Decimal(str(cost)) == model + checks * JUDGE_CALL_USD
    # The configuration's cost per query is the mean of what its cases paid.
    [(per_query, extras)] = latest_run_rows(
        project.path,
        "SELECT cost_per_query, extras_json FROM summaries WHERE run_id = ? "
        "AND config = 'cache-judged'",
    )
    paid = sum(Decimal(str(r[4])) for r in judged) / 6
    assert abs(Decimal(str(per_query)) - paid) < Decimal("1e-9")
    record = json.loads(extras)
    verifier = record["cache"]["verifier"]
    assert (verifier["name"], verifier["checks"], verifier["rejected"]) == (f"judge {JUDGE}", 5, 4)
    assert Decimal(verifier["usd"]) == 5 * JUDGE_CALL_USD
    # The run's cache sweep, without and with the verifier, from the same five pairs.
    sweep = record["cache_sweep"]
    assert sweep["verifier"] == f"judge {JUDGE}" and sweep["verified_pairs"] == 5
    plain = next(p for p in sweep["points"] if p["threshold"] == 0.5)
    checked = next(p for p in sweep["verified_points"] if p["threshold"] == 0.5)
    assert (plain["hits"], plain["false_hits"]) == (5, 4)
    assert (checked["hits"], checked["false_hits"], checked["verifier"]["rejected_wrong"]) == (
        1,
        0,
        4,
    )
    # Five distinct pairs: the run's checks and the sweep's are the same requests.
    assert fake_llm.stats.routes["chat.completions"] == 5
    html = (project.path / "results" / "report.html").read_text()
    assert f"With the verifier <code>judge {JUDGE}</code>" in html
    assert "Wrong, verified (upper bound)" in html
    # A rerun in CI: the verdicts come from the response store, nothing is asked.
    fake_llm.reset()
    monkeypatch.setenv("CI", "true")  # record mode 'none'
    again = project.runpytest("--cost-eval", "-p", "no:cacheprovider", *workers)
    assert "Traceback" not in again.stdout.str()
    assert fake_llm.stats.total == 0
    rerun = latest_run_rows(
        project.path,
        "SELECT config, case_id, cache_hit, calls, cost_usd FROM results "
        "WHERE run_id = ? AND config = 'cache-judged' ORDER BY case_id",
    )
    assert [r[1:] for r in rerun] == [(r[1], r[2], r[3], r[4]) for r in judged]


def test_a_failing_verifier_makes_error_rows_naming_the_cache(project: pytest.Pytester) -> None:
    project.runpytest("--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider")
    rows = latest_run_rows(
        project.path,
        "SELECT case_id, cache_hit, output, error FROM results "
        "WHERE run_id = ? AND config = 'cache-broken' ORDER BY case_id",
    )
    assert rows[0][3] is None  # c1: no candidate, nothing to check
    for case_id, hit, output, error in rows[1:]:
        assert (hit, output) == (False, ""), case_id  # never served unchecked
        assert error == (
            "semantic cache: verifier 'verifiers:broken' raised ValueError: verifier backend down"
        )
