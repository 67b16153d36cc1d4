"""The ``judge`` scorer: an LLM compares each output with the golden, in both orders.

A suite names it with the judge model::

    scorer: {name: judge, model: "openai:gpt-4o"}
    scorer: {name: judge, model: "openai:gpt-4o", repeats: 2, sample: 0.2}
    scorer: {name: judge, model: heuristic}        # offline simulation, see below

Protocol
    For each case the judge sees the question (with the case's context
    documents and earlier turns), the expected answer when the case has one,
    and two answers, A and B. It is asked twice: the candidate as A and the
    golden as B, then swapped (``position_swap = false`` asks the first order
    only); the two orders are asked one after the other (cases run
    concurrently), and a failed first order spares the second call. Every
    request is ``temperature = 0`` with ``max_tokens`` bounded (option),
    plus ``seed`` for ``openai:`` judges (the Messages API has none). The
    fixed prompt (:data:`SYSTEM_PROMPT`) asks for one JSON object,
    ``{"winner": "A" | "B" | "tie", "rationale": "..."}``.

Score (per case, in [0, 1])
    ``1.0`` when the candidate is judged at least as good as the golden (it
    wins or ties) in both orders; ``0.0`` when the golden wins both. When the
    two orders disagree (position bias: the verdict followed the position,
    not the answers) the case is a **tie**, ``1.0``: it is no evidence either
    way. How often that happens -- the judge's *position consistency* -- is
    measured per (suite, configuration) (:mod:`harness.scoring.judge_bias`);
    below ``min_consistency`` (default 0.8) the gate is inconclusive, so a
    biased judge neither passes nor fails anything. An output identical to the golden (after
    trimming whitespace) scores ``1.0`` without a call. The golden judged
    against itself is a tie by construction, so the **baseline score is 1.0**
    and a configuration's delta is ``0`` or ``-1`` per case: the judge
    measures non-inferiority to the baseline, which is what the gate asks.
    :attr:`Score.rationale` holds both verdicts and the judge's reasons.

Malformed verdicts
    A reply that is not a JSON object with a valid ``winner`` is asked again
    once, with the bad reply and a stricter instruction appended (a distinct,
    deterministic request, so it is recorded and replayed like any other). A
    second malformed reply -- or any failed judge call (HTTP error, not
    recorded in record mode ``none``) -- makes the case an **error row**
    (:attr:`JudgeScore.error`), never a wrong answer.

Calls and cost
    Every judge request goes through the ``send`` the caller passes -- the
    :class:`~harness.engine.executor.Executor`'s -- with ``purpose="judge"`` and the
    case id, so it is deduplicated, stored in the response store, replayed in
    record mode ``none`` and never paid twice. :class:`JudgeScore` keeps the
    calls it made; :meth:`JudgeScore.cost` prices them: that is *evaluation*
    cost, reported apart from what the configuration itself costs.

Noise (:meth:`JudgeScorer.measure_noise`)
    With ``repeats = R > 0``, a seeded share ``sample`` of the judged cases is
    judged ``R`` more times with a distinct ``nonce``; the flip rate and the
    noise a gate tolerates are in :mod:`harness.scoring.judge_noise`.

Calibration (``calibrate = true``)
    Before judging, the golden against itself and against a non-answer, in both
    orders, on a sample: see :mod:`harness.scoring.judge_calibration`.

The ``heuristic`` judge (a simulation, not a language model)
    ``model = "heuristic"`` answers the same requests locally, for free and
    deterministically, so the example suites and tests run offline; its rules
    are in :mod:`harness.scoring.heuristic_judge`.

Modules
    This module holds :func:`judge_suite` (the pipeline's entry point) and the
    registered factory, and re-exports the rest: :mod:`~harness.scoring.judge_protocol`
    (prompts, verdicts), :mod:`~harness.scoring.judge_results` (items, scores, noise),
    :mod:`~harness.scoring.judge_scorer` (:class:`JudgeScorer`),
    :mod:`~harness.scoring.judge_noise` and :mod:`~harness.scoring.heuristic_judge`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from harness.scoring.base import scorers
from harness.scoring.heuristic_judge import AGREE_F1, CLEAR_MARGIN, HEURISTIC, heuristic_verdict
from harness.scoring.judge_bias import MIN_CONSISTENCY, PositionConsistency
from harness.scoring.judge_calibration import NON_ANSWER, JudgeCalibration, calibrate_judge
from harness.scoring.judge_findings import JudgeFindings, judge_findings
from harness.scoring.judge_noise import SCORE_RANGE
from harness.scoring.judge_protocol import (
    DEFAULT_CRITERIA,
    JUDGE_PURPOSE,
    SYSTEM_PROMPT,
    MalformedVerdict,
    Send,
    Verdict,
    case_question,
    parse_verdict,
)
from harness.scoring.judge_results import JudgedSuite, JudgeItem, JudgeNoise, JudgeScore
from harness.scoring.judge_scorer import MAX_TOKENS, JudgeScorer

__all__ = [
    "AGREE_F1",
    "CLEAR_MARGIN",
    "DEFAULT_CRITERIA",
    "HEURISTIC",
    "JUDGE_PURPOSE",
    "MAX_TOKENS",
    "MIN_CONSISTENCY",
    "NON_ANSWER",
    "SCORE_RANGE",
    "SYSTEM_PROMPT",
    "JudgeCalibration",
    "JudgeFindings",
    "JudgeItem",
    "JudgeNoise",
    "JudgeScore",
    "JudgeScorer",
    "JudgedSuite",
    "MalformedVerdict",
    "PositionConsistency",
    "Send",
    "Verdict",
    "calibrate_judge",
    "case_question",
    "heuristic_verdict",
    "judge_factory",
    "judge_findings",
    "judge_suite",
    "parse_verdict",
]


async def judge_suite(
    scorer: JudgeScorer,
    items: Sequence[JudgeItem],
    send: Send,
    *,
    seed: int,
) -> JudgedSuite:
    """Judge every case of one (suite, configuration), then measure the judge's noise.

    This is the pipeline's entry point. Cases run concurrently (the executor
    bounds the calls in flight); the noise repeats reuse the scored judgements.

    Args:
        scorer: The suite's judge.
        items: One per case whose candidate answered (leave candidate errors out:
            they are error rows already).
        send: The executor's ``send``.
        seed: Chooses the noise sample; derive it from the run seed, the suite
            and the configuration so it is stable.
    """
    judged = await asyncio.gather(*(scorer.judge_item(i, send) for i in items))
    scores = {s.case_id: s for s in judged}
    noise = await scorer.measure_noise(items, send, seed=seed, first=scores)
    return JudgedSuite(scores=scores, noise=noise)


@scorers.register("judge")
def judge_factory() -> type[JudgeScorer]:
    """Factory of the ``judge`` scorer (registered as ``judge``)."""
    return JudgeScorer
