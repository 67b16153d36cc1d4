"""The scorer check: a scorer that cannot read the baseline's answers never lets a gate pass."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from harness.config.suites import Suite
from harness.engine.scorer_check import (
    FREE_TEXT_WORDS,
    check_scorer,
    has_extractor,
    scorer_findings,
)
from harness.errors import ConfigError
from harness.scoring import RecordedScorer, build_scorer
from harness.stats.gates import GateInput, GateSpec, decide
from harness.types import Case, CaseResult, Golden, Score, Usage

# Answers as real models write them: reasoning first, the verdict last.
PRIMES = {91: False, 97: True, 51: False, 53: True, 57: False, 59: True, 87: False, 89: True}


def verdict_answer(n: int, prime: bool) -> str:
    why = (
        "none of 2, 3, 5 and 7 divides it, so it has no divisor but 1 and itself"
        if prime
        else "it has a divisor other than 1 and itself, so it is composite"
    )
    return (
        f"To decide whether {n} is prime, check divisibility by every prime up to its "
        f"square root: {why}. Verdict: [[{'Yes' if prime else 'No'}]]"
    )


OPEN_ENDED = (
    "Start by listing what the trip must include, then book the flights first because "
    "they set the dates for everything else. After that, pick two or three neighbourhoods "
    "close to the places you want to see, compare a few hotels in each on price and "
    "reviews, and keep one free afternoon for whatever you discover on the way. Case {i}."
)


def make_suite(
    answers: Mapping[str, str | None], *, scorer: Any = "exact", reference: str = "expected"
) -> Suite:
    """A suite of one case per answer id (value: the expected answer, or None)."""
    cases = tuple(
        Case(id=cid, suite="s", prompt=f"question {cid}", expected=expected)
        for cid, expected in answers.items()
    )
    return Suite(
        name="s",
        path=Path("suites/s.yaml"),
        version=1,
        description="",
        scorer=scorer,
        reference=reference,  # type: ignore[arg-type]
        params=(),
        cases=cases,
    )


def make_goldens(texts: Mapping[str, str]) -> dict[str, Golden]:
    return {
        cid: Golden(case_id=cid, model="sim:frontier", request_hash="h", text=text)
        for cid, text in texts.items()
    }


def result(case_id: str, output: str, score: float, baseline: float) -> CaseResult:
    return CaseResult(
        suite="s",
        config="c",
        case_id=case_id,
        category="default",
        model="sim:small",
        output=output,
        reference="",
        expected=None,
        score=score,
        baseline_score=baseline,
        delta=score - baseline,
        cost_usd=Decimal(0),
        baseline_cost_usd=Decimal(0),
        usage=Usage(),
        latency_ms=0.0,
        cache_hit=False,
        calls=1,
    )


def verdict_suite(scorer: str) -> tuple[Suite, dict[str, Golden], Any]:
    expected = {f"p-{n}": ("Yes" if prime else "No") for n, prime in PRIMES.items()}
    goldens = make_goldens({f"p-{n}": verdict_answer(n, prime) for n, prime in PRIMES.items()})
    suite = make_suite(expected, scorer=scorer)
    return suite, goldens, build_scorer(scorer, where="test")


# --------------------------------------------------------------------------- problems


@pytest.mark.parametrize("name", ["exact", "choice"])
def test_scorer_that_cannot_read_verdicts_after_reasoning_is_a_problem(name: str) -> None:
    suite, goldens, scorer = verdict_suite(name)
    findings = scorer_findings(check_scorer(suite, scorer, goldens), [], goldens, floor=0.5)
    problem = findings.problem
    assert problem is not None
    assert problem.startswith(f"scorer {name!r} cannot read the baseline's answers")
    assert "against the suite's expected answers, they average 0.000 (8 of 8 cases" in problem
    assert "first 'p-91'" in problem
    assert "no gate of this suite passes" in problem
    # What to try: the extractor the expected answers call for, another scorer, the judge.
    assert "`scorer: {name: exact, extract: yes_no}`" in problem
    assert "`numeric` for a final number" in problem
    assert "`scorer: judge`" in problem
    # No case text in the message: it goes into redacted reports and PR comments.
    assert "Verdict" not in problem and "prime" not in problem


def test_the_same_verdicts_read_with_an_extractor_are_no_problem() -> None:
    suite, goldens, _ = verdict_suite("exact")
    scorer = build_scorer({"name": "exact", "extract": "yes_no"}, where="test")
    findings = scorer_findings(check_scorer(suite, scorer, goldens), [], goldens, floor=0.5)
    assert findings.problem is None
    assert findings.warnings == ()


def test_scorer_that_does_not_match_an_answer_with_itself_is_a_problem() -> None:
    """No expected answers: `choice` finds no letter in the goldens, even against themselves."""
    texts = {f"p-{n}": verdict_answer(n, prime) for n, prime in PRIMES.items()}
    goldens = make_goldens(texts)
    suite = make_suite(dict.fromkeys(texts), scorer="choice", reference="golden")
    check = check_scorer(suite, build_scorer("choice", where="test"), goldens)
    problem = scorer_findings(check, [], goldens, floor=0.5).problem
    assert problem is not None
    assert "scored each against itself, they average 0.000 (8 of 8 cases below 0.5" in problem
    # The expected answers look like nothing in particular: the generic extractor.
    assert "extract: answer_line" in problem


def test_numeric_answers_read_by_numeric_are_fine() -> None:
    expected = {"a": "42", "b": "1,234", "c": "-7"}
    goldens = make_goldens(
        {
            "a": "Six times seven: 6 * 7 = 42. So the answer is 42.",
            "b": "Adding them up gives 1,234.",
            "c": "Subtract 10 from 3 to get -7.",
        }
    )
    suite = make_suite(expected, scorer="numeric")
    check = check_scorer(suite, build_scorer("numeric", where="test"), goldens)
    assert [b.against for b in check.baseline] == ["expected"]
    assert check.baseline[0].scores == (("a", 1.0), ("b", 1.0), ("c", 1.0))
    assert scorer_findings(check, [], goldens, floor=0.5) == scorer_findings(None, [], {}, floor=0)


def test_the_floor_is_the_gate_setting() -> None:
    """A baseline right on 3 of 8 cases: below 0.5, above 0.3; 0 turns the check off."""
    expected = {f"c{i}": str(i) for i in range(8)}
    goldens = make_goldens({f"c{i}": f"The result is {i if i < 3 else i + 100}." for i in range(8)})
    suite = make_suite(expected, scorer="numeric")
    check = check_scorer(suite, build_scorer("numeric", where="test"), goldens)
    problem = scorer_findings(check, [], goldens, floor=0.5).problem
    assert problem is not None
    assert "average 0.375 (5 of 8 cases below 0.5, first 'c3')" in problem
    assert "min_baseline_quality of 0.5" in problem
    # The advice reads the expected answers: numbers call for the last-number extractor.
    assert "extract: last_number" in problem
    assert scorer_findings(check, [], goldens, floor=0.3).problem is None
    assert scorer_findings(check, [], goldens, floor=0.0).problem is None


class ConstantScorer:
    """A broken scorer: the same score whatever it is given."""

    name = "constant"

    def score(self, output: str, reference: str) -> Score:
        return Score(value=0.7)


def test_every_baseline_answer_scored_alike_is_a_problem() -> None:
    texts = {f"c{i}": f"Answer number {i}." for i in range(4)}
    goldens = make_goldens(texts)
    suite = make_suite(dict.fromkeys(texts), reference="golden")
    check = check_scorer(suite, ConstantScorer(), goldens)
    problem = scorer_findings(check, [], goldens, floor=0.5).problem
    assert problem is not None
    assert "scorer 'constant' cannot read the baseline's answers: scored each against itself, " in (
        problem
    )
    assert "every one of them gets 0.700" in problem


def test_labels_recorded_elsewhere_are_not_checked() -> None:
    texts = {"a": "x", "b": "y"}
    goldens = make_goldens(texts)
    check = check_scorer(make_suite({"a": "1", "b": "2"}), RecordedScorer(), goldens)
    assert check.baseline == ()
    assert scorer_findings(check, [], goldens, floor=0.5).problem is None


# --------------------------------------------------------------------------- the gate


def gate_input(**changes: Any) -> GateInput:
    values: dict[str, Any] = {
        "n": 8,
        "errors": 0,
        "delta": 0.25,
        "ci_low": 0.125,
        "ci_high": 0.5,
        "deltas": [0.0] * 6 + [1.0] * 2,
        "category_deltas": {},
        "cost_ratio": 0.1,
    }
    values.update(changes)
    return GateInput(**values)


def test_a_scorer_problem_fails_a_gate_the_numbers_would_pass() -> None:
    spec = GateSpec()
    assert decide(spec, gate_input()).verdict == "pass"
    result = decide(spec, gate_input(scorer_problem="scorer 'exact' cannot read ..."))
    assert result.verdict == "fail"
    assert result.reasons[0] == "scorer 'exact' cannot read ..."
    # `on_inconclusive = "pass"` does not let it through either: it is not inconclusive.
    lenient = spec.merged({"on_inconclusive": "pass"}, where="test")
    assert decide(lenient, gate_input(scorer_problem="x")).verdict == "fail"


def test_min_baseline_quality_is_a_gate_setting() -> None:
    assert GateSpec().min_baseline_quality == 0.5
    spec = GateSpec().merged({"min_baseline_quality": 0.2}, where="suites/s.yaml: gate")
    assert spec.min_baseline_quality == 0.2
    with pytest.raises(ConfigError, match="'min_baseline_quality'"):
        GateSpec().merged({"min_baseline_quality": 2}, where="suites/s.yaml: gate")


# --------------------------------------------------------------------------- warnings


@pytest.mark.parametrize("name", ["exact", "fuzzy", "rouge_l"])
def test_lexical_scorer_on_free_text_warns_once(name: str) -> None:
    texts = {f"c{i}": OPEN_ENDED.format(i=i) for i in range(5)}
    goldens = make_goldens(texts)
    suite = make_suite(dict.fromkeys(texts), scorer=name, reference="golden")
    check = check_scorer(suite, build_scorer(name, where="test"), goldens)
    assert len(check.warnings) == 1
    warning = check.warnings[0]
    assert warning.startswith(f"scorer {name!r} compares free-text answers (the baseline's have")
    assert "does not measure answer quality" in warning
    assert "it can never show a configuration better than the baseline" in warning
    assert "`scorer: judge`" in warning and "docs/scoring.md" in warning
    # The answers are fine as they are: a warning, never a problem.
    findings = scorer_findings(check, [], goldens, floor=0.5)
    assert findings.problem is None
    assert findings.warnings == (warning,)


def test_lexical_warning_against_expected_answers_says_no_more_than_it_knows() -> None:
    texts = {f"c{i}": OPEN_ENDED.format(i=i) for i in range(5)}
    goldens = make_goldens(texts)
    suite = make_suite(texts, scorer="fuzzy", reference="expected")
    (warning,) = check_scorer(suite, build_scorer("fuzzy", where="test"), goldens).warnings
    assert "never show a configuration better" not in warning


def test_no_lexical_warning_for_short_answers_numbers_or_an_extractor() -> None:
    long_texts = {f"c{i}": OPEN_ENDED.format(i=i) for i in range(5)}
    short = {f"c{i}": f"Stores open at {i + 8} am, Monday through Saturday." for i in range(5)}
    assert all(len(t.split()) <= FREE_TEXT_WORDS for t in short.values())
    assert all(len(t.split()) > FREE_TEXT_WORDS for t in long_texts.values())
    for texts, spec in (
        (short, "fuzzy"),
        (long_texts, "numeric"),
        (long_texts, {"name": "fuzzy", "extract": "last_number"}),
    ):
        goldens = make_goldens(texts)
        suite = make_suite(dict.fromkeys(texts), scorer=spec, reference="golden")
        scorer = build_scorer(spec, where="test")
        assert check_scorer(suite, scorer, goldens).warnings == (), spec


def test_has_extractor() -> None:
    assert not has_extractor(build_scorer("exact", where="test"))
    assert has_extractor(build_scorer({"name": "exact", "extract": "boxed"}, where="test"))


class LenientScorer:
    """A broken scorer: every answer is perfect."""

    name = "lenient"

    def score(self, output: str, reference: str) -> Score:
        return Score(value=1.0)


def same_score_findings(outputs: Sequence[str]) -> tuple[str | None, tuple[str, ...]]:
    texts = {f"c{i}": f"The capital is city number {i}." for i in range(len(outputs))}
    goldens = make_goldens(texts)
    suite = make_suite(dict.fromkeys(texts), reference="golden")
    check = check_scorer(suite, LenientScorer(), goldens)
    results = [result(cid, out, 1.0, 1.0) for cid, out in zip(texts, outputs, strict=True)]
    findings = scorer_findings(check, results, goldens, floor=0.5)
    return findings.problem, findings.warnings


def test_same_score_for_different_answers_without_expected_is_suspicious() -> None:
    problem, warnings = same_score_findings(
        ["The capital is city number 0.", "I do not know.", "Paris, obviously."]
    )
    assert problem is None
    (warning,) = warnings
    assert warning.startswith("scorer 'lenient' gave every case the same score (1.000)")
    assert "2 of the 3 answers differ from the baseline's" in warning


def test_same_score_for_the_same_answers_is_not_suspicious() -> None:
    same = [f"The capital is city number {i}." for i in range(3)]
    assert same_score_findings(same) == (None, ())
