"""A judge's biases never become verdicts (#21), end to end.

An ``openai:`` judge through the real SDK to the fake server, whose replies
are decided by content (``fake_llm.respond``): a judge that always answers
"A", one that always answers "B", a coin-flip judge, a judge that calls
everything a tie, and an honest judge that reads the answers. The suite has
40 arithmetic cases in four categories of 10: two of one-step sums (sim:small
is always right) and two of five-step expressions (sim:small is wrong about
80 % of the time), so the candidate configuration is truly worse.
"""

from __future__ import annotations

import hashlib
import json
import math
from decimal import Decimal
from typing import Any

import pytest

from harness.cli import main
from harness.formatting import money
from harness.scoring.extract import final_number
from harness.scoring.judge_protocol import read_user_prompt
from tests.fakes.llm_server import PLANTED_KEY, FakeLLMServer, Reply
from tests.helpers import OPENAI_PROVIDER, PROJECT_HEAD, judge_reply, latest_run_rows, set_pyproject

PROJECT = (
    PROJECT_HEAD
    + OPENAI_PROVIDER
    + """
[tool.cost-eval.prices."openai:gpt-4o"]
input = 2.5
output = 10.0

[[tool.cost-eval.configs]]
name = "small-only"
model = "sim:small"
enforce = true
"""
)

PROMPT_TOKENS, COMPLETION_TOKENS = 100, 20
"""Every judge reply's usage (scripted), so each call costs the same known amount."""
CALL_USD = (PROMPT_TOKENS * Decimal("2.5") + COMPLETION_TOKENS * Decimal(10)) / 1_000_000


def cases() -> list[tuple[str, str, str, str]]:
    """40 cases: categories ``sum-a``/``sum-b`` (one step), ``long-a``/``long-b`` (five)."""
    out = []
    for i in range(10):
        a, b = 3 + i, 11 + 2 * i
        out.append((f"sa-{i:02d}", f"Compute {a} + {b}.", str(a + b), "sum-a"))
        out.append((f"sb-{i:02d}", f"Compute {b} - {a}.", str(b - a), "sum-b"))
        x, y, z = 2 + i, 7 + i, 3 + (i % 4)
        value = ((x + y) * z - 4) * 2 + 5
        out.append(
            (f"la-{i:02d}", f"Compute (({x} + {y}) * {z} - 4) * 2 + 5.", str(value), "long-a")
        )
        value = ((y - x) * (z + 2) + 9) * 3 - 1
        out.append(
            (f"lb-{i:02d}", f"Compute (({y} - {x}) * ({z} + 2) + 9) * 3 - 1.", str(value), "long-b")
        )
    return out


def suite_text(scorer: str) -> str:
    lines = ["suite: mini\n", "version: 1\n", f"scorer: {scorer}\n", "reference: golden\n"]
    lines.append("cases:\n")
    for case_id, prompt, expected, category in cases():
        lines.append(
            f'  - {{id: {case_id}, prompt: "{prompt}", expected: "{expected}", '
            f"category: {category}}}\n"
        )
    return "".join(lines)


def reply(winner: str) -> Reply:
    usage = {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": COMPLETION_TOKENS,
        "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
    }
    return judge_reply(winner, "scripted", usage)


def user_text(body: Any) -> str:
    return str(body["messages"][-1]["content"]) if body["messages"][-1]["role"] == "user" else ""


def always(winner: str) -> Any:
    return lambda body: reply(winner)


def coin_flip(body: Any) -> Reply:
    # Decided by the whole prompt, nonce included: a re-asked case can flip.
    digest = hashlib.sha256(json.dumps(body["messages"], sort_keys=True).encode()).digest()
    return reply("A" if digest[0] % 2 else "B")


def honest(body: Any) -> Reply:
    """Reads the answers: the one whose final number is the expected answer wins."""
    prompt = read_user_prompt(user_text(body))
    expected = final_number(prompt.expected or "")
    a_right = final_number(prompt.a) == expected
    b_right = final_number(prompt.b) == expected
    return reply("tie" if a_right == b_right else ("A" if a_right else "B"))


@pytest.fixture
def project(
    mini_project: pytest.Pytester, fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    set_pyproject(mini_project, PROJECT.format(openai=fake_llm.openai_base_url))
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    monkeypatch.delenv("CI", raising=False)
    return mini_project


def run_judged(
    project: pytest.Pytester, fake_llm: FakeLLMServer, judge: Any, scorer: str = ""
) -> tuple[pytest.RunResult, dict[str, Any]]:
    (project.path / "suites" / "mini.yaml").write_text(
        suite_text(f"{{name: judge, model: 'openai:gpt-4o'{scorer}}}")
    )
    fake_llm.respond("chat.completions", judge)
    result = project.runpytest(
        "--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider"
    )
    assert "Traceback" not in result.stdout.str()
    [(verdict, reasons, extras, warnings, categories)] = latest_run_rows(
        project.path,
        "SELECT verdict, reasons_json, extras_json, scorer_warnings_json, categories_json "
        "FROM summaries WHERE run_id = ?",
    )
    summary = {
        "verdict": verdict,
        "reasons": json.loads(reasons),
        "judge": json.loads(extras)["judge"],
        "warnings": json.loads(warnings),
        "failed": sorted(c["category"] for c in json.loads(categories) if c["failed"]),
    }
    return result, summary


@pytest.mark.parametrize(("winner", "first", "second"), [("A", 1.0, 0.0), ("B", 0.0, 1.0)])
def test_a_judge_that_always_names_one_position_decides_nothing(
    project: pytest.Pytester, fake_llm: FakeLLMServer, winner: str, first: float, second: float
) -> None:
    result, summary = run_judged(project, fake_llm, always(winner))
    # Neither pass nor fail: inconclusive, the position bias named first.
    assert summary["verdict"] == "inconclusive"
    assert summary["failed"] == []
    assert summary["reasons"][0].startswith("judge 'openai:gpt-4o' is position-biased")
    assert "agree on only 0% of 40 case(s)" in summary["reasons"][0]
    assert len(summary["reasons"]) == 1  # no quality or category reason rests on its scores
    figures = summary["judge"]
    assert (figures["consistency"], figures["compared"]) == (0.0, 40)
    assert (figures["first_position"], figures["second_position"]) == (first, second)
    out = result.stdout.str()
    assert "INCONCLUSIVE" in out and "position consistency 0% of 40 case(s)" in out


def test_a_coin_flip_judge_fails_nothing_and_no_category(
    project: pytest.Pytester, fake_llm: FakeLLMServer
) -> None:
    # min_consistency 0: only the flip noise stands between the coin and a verdict.
    _, summary = run_judged(
        project, fake_llm, coin_flip, ", repeats: 2, sample: 1.0, min_consistency: 0"
    )
    assert summary["verdict"] != "fail"
    assert summary["failed"] == []
    assert summary["judge"]["flip_rate"] > 0.2
    # With the default min_consistency, its disagreeing orders name the bias.
    _, default = run_judged(project, fake_llm, coin_flip)
    assert default["verdict"] == "inconclusive" and default["failed"] == []
    assert "position-biased" in default["reasons"][0]
    assert 0.3 < default["judge"]["consistency"] < 0.7


def test_an_honest_judge_still_fails_a_worse_configuration(
    project: pytest.Pytester, fake_llm: FakeLLMServer
) -> None:
    result, summary = run_judged(project, fake_llm, honest, ", repeats: 1, sample: 0.5")
    assert summary["verdict"] == "fail"
    assert summary["failed"] == ["long-a", "long-b"]
    assert summary["judge"]["consistency"] == 1.0 and summary["judge"]["flip_rate"] == 0.0
    assert not any("position-biased" in r for r in summary["reasons"])
    result.assert_outcomes(failed=1)


def test_a_judge_that_ties_everything_is_not_a_silent_pass(
    project: pytest.Pytester, fake_llm: FakeLLMServer
) -> None:
    # Consistent (tie, tie) everywhere: the verdicts it gives are 1.0, and the run says
    # it may not tell answers apart ...
    result, summary = run_judged(project, fake_llm, always("tie"))
    assert summary["verdict"] == "pass"
    [warning] = [w for w in summary["warnings"] if "called all 40 differing answers a tie" in w]
    assert "calibrate = true" in warning
    assert "called all 40 differing answers a tie" in result.stdout.str()
    # ... and calibration shows it cannot: a non-answer ties with the golden.
    fake_llm.reset()
    result, calibrated = run_judged(project, fake_llm, always("tie"), ", calibrate: true")
    assert calibrated["verdict"] == "inconclusive"
    assert calibrated["reasons"][0].startswith("judge 'openai:gpt-4o' failed its calibration")
    assert "non-answer" in calibrated["reasons"][0]
    assert calibrated["judge"]["calibration"]["worse_caught"] == 0


def test_calibration_of_a_judge_that_does_not_tie_identical_answers(
    project: pytest.Pytester, fake_llm: FakeLLMServer
) -> None:
    def picky(body: Any) -> Reply:
        prompt = read_user_prompt(user_text(body))
        if prompt.a == prompt.b:
            return reply("A")  # identical answers: it still picks one
        return honest(body)

    result, summary = run_judged(project, fake_llm, picky, ", calibrate: true")
    assert summary["verdict"] == "inconclusive" and summary["failed"] == []
    reason = summary["reasons"][0]
    assert "called the golden against itself a tie in both orders in only 0 of" in reason
    calibration = summary["judge"]["calibration"]
    assert (
        calibration["identical_ties"] == 0 and calibration["worse_caught"] == calibration["worse"]
    )
    # Its calls are counted once each, as the server saw them (40 cases x 2 orders besides).
    assert calibration["calls"] == fake_llm.stats.routes["chat.completions"] - 80
    # Said before any verdict too (the run's progress), and shown with the figures.
    assert "identical answers tied 0/" in result.stdout.str()


def test_judge_cost_is_every_call_the_server_saw(
    project: pytest.Pytester, fake_llm: FakeLLMServer, capsys: pytest.CaptureFixture[str]
) -> None:
    result, summary = run_judged(project, fake_llm, honest, ", repeats: 2, sample: 0.5")
    seen = fake_llm.stats.routes["chat.completions"]
    # 40 cases x 2 orders, and 2 repeats x 2 orders of half of them.
    assert seen == 80 + 20 * 2 * 2
    [(eval_cost,)] = latest_run_rows(
        project.path, "SELECT sum(eval_cost_usd) FROM results WHERE run_id = ?"
    )
    assert Decimal(str(eval_cost)) == seen * CALL_USD
    figures = summary["judge"]
    assert figures["calls"] == seen
    assert math.isclose(figures["cost_usd"], float(seen * CALL_USD))
    # Judge cost, flip rate and position consistency in every output.
    line = f"{seen} call(s), {money(seen * CALL_USD)} evaluation cost; position consistency 100%"
    assert line in result.stdout.str()
    assert line in (project.path / "results" / "summary.md").read_text()
    assert line in (project.path / "results" / "report.html").read_text()
    assert "flip rate 0% over 40 repeat(s)" in result.stdout.str()
    capsys.readouterr()
    db = project.path / "results" / "cost_eval.duckdb"
    assert main(["summary", "--json", "--db", str(db)]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["judge"]["calls"] == seen and row["judge"]["consistency"] == 1.0
    assert row["judge"]["flip_rate"] == 0.0
    assert math.isclose(row["judge"]["cost_usd"], float(seen * CALL_USD))
