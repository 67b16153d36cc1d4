"""Can the suite's scorer read its answers? Checked before any gate.

A scorer that cannot read the baseline's own answers measures nothing, and a
gate over its scores can still pass: on real recordings of answers that reason
and then give a verdict, ``exact`` scored the baseline 0.1 % and a newer model
51 % (a real regression reported as a gain), and ``choice`` scored everything 0
(every gate passed). So, per suite, before any configuration is judged:

- the baseline's answers (the goldens) are scored against the suite's expected
  answers, and, when the reference is the golden, against themselves. A mean
  below the gate's ``min_baseline_quality``, or one score below 1 for every
  case, is a *problem*: no gate of the suite passes
  (:attr:`harness.stats.gates.GateInput.scorer_problem`);
- a lexical scorer (``exact``, ``fuzzy``, ``rouge_l``) without an extractor on
  free-text answers, and a scorer that gives every case of a suite without
  expected answers the same score, get a *warning*: shown, not blocking.

Judges and recorded labels are not checked: they do not compare texts.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from harness.config.suites import Suite
from harness.scoring import JudgeScorer, RecordedScorer, Scorer
from harness.types import CaseResult, Golden

LEXICAL_SCORERS = frozenset({"exact", "fuzzy", "rouge_l"})
"""Scorers that compare words: they cannot tell a good free-text answer from a bad one."""

FREE_TEXT_WORDS = 40
"""Median words of the baseline's answers above which they are free text rather
than a value: about two sentences of 20 words. The shipped suites' answers have
medians of 5 to 25 words; answers that reason before a verdict run to hundreds."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BaselineScores:
    """The suite's scorer on the baseline's own answers, one score per case."""

    against: str
    """``expected`` (the suite's expected answers) or ``itself`` (each golden with itself)."""
    scores: tuple[tuple[str, float], ...]
    """(case id, score), in suite order."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScorerCheck:
    """What a suite's scorer made of the baseline's answers, before any configuration ran."""

    scorer: str
    """The scorer's name, as messages show it."""
    baseline: tuple[BaselineScores, ...] = ()
    """Empty when the scorer does not compare texts (a judge, recorded labels)."""
    has_expected: bool = False
    """True when some case of the suite has an expected answer."""
    advice: str = ""
    """What to try instead, for the messages."""
    warnings: tuple[str, ...] = ()
    """Suite-level doubts (the lexical-scorer warning)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScorerFindings:
    """What the check says about one (suite, configuration)."""

    problem: str | None = None
    """Why no gate of the suite may pass, or None."""
    warnings: tuple[str, ...] = ()
    """Doubts to show that do not block the gate."""


def has_extractor(scorer: Scorer) -> bool:
    """True when the scorer takes a final value out of the texts before comparing them
    (the built-ins' ``extract`` option sets ``extractor``; a scorer of your own may keep
    the option as ``extract``)."""
    return any(getattr(scorer, attr, None) for attr in ("extractor", "extract"))


def check_scorer(suite: Suite, scorer: Scorer, goldens: Mapping[str, Golden]) -> ScorerCheck:
    """Score the baseline's answers with the suite's scorer; the lexical-scorer warning.

    Args:
        suite: The suite, with its cases, expected answers and reference rule.
        scorer: The suite's scorer, built.
        goldens: The baseline's answers by case id (cases without one are skipped).
    """
    name = str(getattr(scorer, "name", type(scorer).__name__))
    has_expected = any(case.expected is not None for case in suite.cases)
    if isinstance(scorer, JudgeScorer | RecordedScorer):
        return ScorerCheck(scorer=name, has_expected=has_expected)
    answered = [case for case in suite.cases if case.id in goldens]
    baseline: list[BaselineScores] = []
    if has_expected:
        baseline.append(
            BaselineScores(
                against="expected",
                scores=tuple(
                    (case.id, scorer.score(goldens[case.id].text, case.expected).value)
                    for case in answered
                    if case.expected is not None
                ),
            )
        )
    if suite.reference in ("golden", "both"):
        texts = [goldens[case.id].text for case in answered]
        baseline.append(
            BaselineScores(
                against="itself",
                scores=tuple(
                    (case.id, scorer.score(text, text).value)
                    for case, text in zip(answered, texts, strict=True)
                ),
            )
        )
    expected = [case.expected for case in answered if case.expected is not None]
    warning = _lexical_warning(name, scorer, suite, [goldens[c.id].text for c in answered])
    return ScorerCheck(
        scorer=name,
        baseline=tuple(baseline),
        has_expected=has_expected,
        advice=_advice(expected),
        warnings=(warning,) if warning else (),
    )


def _lexical_warning(name: str, scorer: Scorer, suite: Suite, answers: Sequence[str]) -> str | None:
    if name not in LEXICAL_SCORERS or has_extractor(scorer) or not answers:
        return None
    median = statistics.median(len(text.split()) for text in answers)
    if median <= FREE_TEXT_WORDS:
        return None
    never_better = (
        "; scored against the baseline's own answers, it can never show a configuration "
        "better than the baseline"
        if suite.reference in ("golden", "both")
        else ""
    )
    return (
        f"scorer {name!r} compares free-text answers (the baseline's "
        f"have a median of {median:g} words) by their words, which does not measure answer "
        "quality: on real open-ended answers, fuzzy and rouge_l agreed with a GPT-4 judge on "
        f"the better of two answers 50.8-54.4 % of the time, where chance is 50 %{never_better}. "
        "Use the judge (`scorer: judge`), or an extractor if the answers end in a short "
        "final value; see docs/scoring.md."
    )


def _is_number(text: str) -> bool:
    try:
        return Decimal(text.strip().replace(",", "").lstrip("$")).is_finite()
    except InvalidOperation:
        return False


def _advice(expected: Sequence[str]) -> str:
    """What to try, with the extractor the expected answers look like they need."""
    values = [text.strip().strip(".").strip() for text in expected]
    if values and all(_is_number(v) for v in values):
        extract = "last_number"
    elif values and all(v.casefold() in ("yes", "no") for v in values):
        extract = "yes_no"
    elif values and all(len(v.strip("()[]")) == 1 and v.strip("()[]").isalpha() for v in values):
        extract = "choice"
    else:
        extract = "answer_line"
    # `exact` on the extracted value: a final number, verdict or letter is a short
    # value, and word-overlap scorers would give partial credit to a wrong one.
    return (
        "an extractor that takes the final answer out of the text "
        f"(`scorer: {{name: exact, extract: {extract}}}`; the extractors are listed in "
        "docs/scoring.md), another scorer (`numeric` for a final number, `choice` for an "
        "option letter), or the judge (`scorer: judge`)"
    )


def _baseline_problem(check: ScorerCheck, floor: float) -> str | None:
    if floor <= 0:
        return None  # `min_baseline_quality = 0`: the check is off
    for measured in check.baseline:
        values = [score for _, score in measured.scores]
        if not values:
            continue
        mean = math.fsum(values) / len(values)
        against = (
            "against the suite's expected answers"
            if measured.against == "expected"
            else "each against itself"
        )
        if mean < floor:
            low = [case for case, score in measured.scores if score < floor]
            found = (
                f"scored {against}, they average {mean:.3f} ({len(low)} of {len(values)} "
                f"cases below {floor:g}, first {low[0]!r}), under the gate's "
                f"min_baseline_quality of {floor:g}"
            )
        elif len(values) > 1 and len(set(values)) == 1 and values[0] < 1.0:
            found = f"scored {against}, every one of them gets {values[0]:.3f}"
        else:
            continue
        return (
            f"scorer {check.scorer!r} cannot read the baseline's answers: {found}. Its "
            "scores would measure the scorer, not the answers, so no gate of this suite "
            f"passes. Try {check.advice}."
        )
    return None


def _same_score_warning(
    check: ScorerCheck, results: Sequence[CaseResult], goldens: Mapping[str, Golden]
) -> str | None:
    scored = [r for r in results if r.score is not None and r.baseline_score is not None]
    values = {r.score for r in scored} | {r.baseline_score for r in scored}
    if len(scored) < 2 or len(values) != 1:
        return None
    differ = sum(
        1
        for r in scored
        if r.case_id in goldens and r.output.strip() != goldens[r.case_id].text.strip()
    )
    if not differ:
        return None  # the same answers as the baseline: the same score is right
    return (
        f"scorer {check.scorer!r} gave every case the same score ({values.pop():.3f}), the "
        f"baseline's answers and this configuration's alike, though {differ} of the "
        f"{len(scored)} answers differ from the baseline's: a scorer that cannot tell "
        "answers apart shows every configuration as good as the baseline. Check it on an "
        "answer you know is wrong, add expected answers, or use the judge (`scorer: judge`)."
    )


def scorer_findings(
    check: ScorerCheck | None,
    results: Sequence[CaseResult],
    goldens: Mapping[str, Golden],
    *,
    floor: float,
) -> ScorerFindings:
    """The check's verdict for one (suite, configuration).

    Args:
        check: From :func:`check_scorer` (None: nothing to say).
        results: The configuration's case results over the suite.
        goldens: The baseline's answers by case id.
        floor: The gate's ``min_baseline_quality``.
    """
    if check is None:
        return ScorerFindings()
    problem = _baseline_problem(check, floor)
    if problem is not None:
        # The problem's advice covers what to do; a warning on top would only be noise.
        return ScorerFindings(problem=problem)
    warnings = list(check.warnings)
    if check.baseline and not check.has_expected:
        same = _same_score_warning(check, results, goldens)
        if same:
            warnings.append(same)
    return ScorerFindings(problem=problem, warnings=tuple(warnings))


__all__ = [
    "FREE_TEXT_WORDS",
    "LEXICAL_SCORERS",
    "BaselineScores",
    "ScorerCheck",
    "ScorerFindings",
    "check_scorer",
    "has_extractor",
    "scorer_findings",
]
