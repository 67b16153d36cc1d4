"""`pytest --cost-eval` end to end: a scorer that cannot read the answers never passes a gate,
and a lexical scorer on free text is warned about, in the terminal, the JSON and the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main

BASELINE = "openai:gpt-4o"
CANDIDATE = "openai:gpt-4o-mini"
NUMBERS = (91, 97, 51, 53, 57, 59, 87, 89, 93, 101, 111, 113)


def is_prime(n: int) -> bool:
    return n > 1 and all(n % d for d in range(2, int(n**0.5) + 1))


def verdict_rows() -> list[dict[str, Any]]:
    """The baseline reasons, then gives its verdict in brackets, and is always right; the
    candidate answers in one word and is right only on every third case."""
    rows = []
    for i, n in enumerate(NUMBERS):
        truth = "Yes" if is_prime(n) else "No"
        why = (
            "none of 2, 3, 5 and 7 divides it, so it has no divisor but 1 and itself"
            if truth == "Yes"
            else "it has a divisor other than 1 and itself, so it is composite"
        )
        baseline = (
            f"To decide whether {n} is prime, check divisibility by every prime up to its "
            f"square root: {why}. Verdict: [[{truth}]]"
        )
        wrong = "No" if truth == "Yes" else "Yes"
        candidate = f"{truth}." if i % 3 == 0 else f"{wrong}."
        for model, answer in ((BASELINE, baseline), (CANDIDATE, candidate)):
            rows.append(
                {
                    "case_id": f"p-{i:02d}",
                    "model": model,
                    "prompt": f"Is {n} a prime number?",
                    "response": answer,
                    "expected": truth,
                    "usage": {"input_tokens": 20, "output_tokens": 60},
                }
            )
    return rows


FREE_TEXT = (
    "Start by listing what the trip to {city} must include, then book the flights first "
    "because they set the dates for everything else. After that, pick two or three "
    "neighbourhoods close to the places you want to see, compare a few hotels in each on "
    "price and reviews, and keep one free afternoon for whatever you discover on the way."
)


def free_text_rows() -> list[dict[str, Any]]:
    """Open-ended advice, no expected answers: the candidate words it differently."""
    rows = []
    for i, city in enumerate(("Lisbon", "Oslo", "Kyoto", "Lima", "Quebec", "Tunis")):
        baseline = FREE_TEXT.format(city=city)
        candidate = f"For {city}, book flights, then a hotel near the sights; leave time free."
        for model, answer in ((BASELINE, baseline), (CANDIDATE, candidate)):
            rows.append(
                {
                    "case_id": f"t-{i}",
                    "model": model,
                    "prompt": f"How should I plan a week in {city}?",
                    "response": answer,
                    "usage": {"input_tokens": 20, "output_tokens": 80},
                }
            )
    return rows


def import_and_run(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    rows: list[dict[str, Any]],
    *,
    suite: str,
    scorer: str,
    enforce: bool = False,
) -> pytest.RunResult:
    (pytester.path / "traffic.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    monkeypatch.chdir(pytester.path)
    args = ["import", "recordings", "traffic.jsonl", "--suite", suite, "--baseline", BASELINE]
    assert main([*args, "--scorer", scorer, "--out", "."]) == 0
    if enforce:
        config = pytester.path / "cost-eval.toml"
        config.write_text(config.read_text() + "enforce = true\n")
    return pytester.runpytest(
        "--cost-eval",
        "--cost-eval-config",
        "cost-eval.toml",
        "--cost-eval-record-mode=none",
        "-p",
        "no:cacheprovider",
    )


def summary_json(capsys: pytest.CaptureFixture[str], db: Path) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["summary", "--db", str(db), "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("scorer", ["exact", "choice"])
def test_verdicts_after_reasoning_never_pass_a_gate(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    scorer: str,
) -> None:
    result = import_and_run(
        pytester, monkeypatch, verdict_rows(), suite="verdicts", scorer=scorer, enforce=True
    )
    # Enforced: the item fails, with the reason instead of a traceback.
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "Traceback" not in out
    cannot = f"scorer {scorer!r} cannot read the baseline's answers"
    assert f"why: {cannot}" in out
    # Once in the cost-eval summary, naming the suite, the scorer and what to try.
    assert out.count(f"SCORER       verdicts: {cannot}") == 1
    assert "extract: yes_no" in out and "`scorer: judge`" in out

    (obj,) = summary_json(capsys, pytester.path / "results" / "cost_eval.duckdb")
    assert obj["verdict"] == "fail"
    assert obj["baseline_quality"] == 0.0
    assert obj["scorer_problem"].startswith(cannot)
    assert obj["reasons"][0] == obj["scorer_problem"]
    # The numbers alone would have passed this regression (exact: a gain; choice: 0 = 0).
    assert obj["ci_low"] >= -0.02

    report = (pytester.path / "results" / "report.html").read_text()
    assert 'id="scorer-problems"' in report
    assert f"scorer &#39;{scorer}&#39; cannot read the baseline&#39;s answers" in report
    markdown = (pytester.path / "results" / "summary.md").read_text()
    assert f"> **verdicts: scorer cannot be trusted:** {cannot}" in markdown


def test_verdicts_read_with_an_extractor_pass(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same answers, read as meant: no scorer problem, and the regression is measured."""
    import_and_run(pytester, monkeypatch, verdict_rows(), suite="verdicts", scorer="exact")
    suite = pytester.path / "suites" / "verdicts.yaml"
    suite.write_text(
        suite.read_text().replace("scorer: exact", "scorer: {name: exact, extract: yes_no}")
    )
    result = pytester.runpytest(
        "--cost-eval",
        "--cost-eval-config",
        "cost-eval.toml",
        "--cost-eval-record-mode=none",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=1)
    assert "SCORER" not in result.stdout.str()
    (obj,) = summary_json(capsys, pytester.path / "results" / "cost_eval.duckdb")
    assert obj["scorer_problem"] is None
    assert obj["baseline_quality"] == 1.0
    assert obj["quality"] == pytest.approx(4 / 12)
    assert obj["verdict"] == "fail"


def test_lexical_scorer_on_free_text_is_warned_about(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    result = import_and_run(pytester, monkeypatch, free_text_rows(), suite="trips", scorer="fuzzy")
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    warning = "scorer 'fuzzy' compares free-text answers"
    assert out.count(f"warning      trips: {warning}") == 1
    assert "SCORER" not in out

    (obj,) = summary_json(capsys, pytester.path / "results" / "cost_eval.duckdb")
    assert obj["scorer_problem"] is None
    (text,) = obj["scorer_warnings"]
    assert text.startswith(warning)
    assert "can never show a configuration better than the baseline" in text
    report = (pytester.path / "results" / "report.html").read_text()
    assert 'id="scorer-warnings"' in report and "docs/scoring.md" in report


def test_no_scorer_notes_for_a_numeric_suite(
    mini_project: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    mini_project.runpytest("--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider")
    result = mini_project.runpytest("--cost-eval", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    assert "SCORER" not in out and "warning " not in out
    objects = summary_json(capsys, mini_project.path / "results" / "cost_eval.duckdb")
    assert [(o["scorer_problem"], o["scorer_warnings"]) for o in objects] == [(None, [])] * 2
    report = (mini_project.path / "results" / "report.html").read_text()
    assert 'id="scorer-problems"' not in report and 'id="scorer-warnings"' not in report
