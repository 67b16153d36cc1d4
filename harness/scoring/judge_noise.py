"""The judge's noise: how often it changes its mind when asked the same thing again.

With ``repeats = R > 0`` (a ``judge`` scorer option), a seeded share ``sample``
of the judged cases is judged ``R`` more times, each with a distinct ``nonce``
line in the prompt (so the requests differ and are not deduplicated; any judge
that is not perfectly stable under an irrelevant prompt change shows it). The
**flip rate** is the share of (first judgement, repeat) pairs whose scores
differ (:func:`harness.stats.significance.flip_rate`); the **noise** the gate
tolerates is ``flip_rate * judged_share * SCORE_RANGE`` -- the expected share of
cases whose score a re-ask changes, with outputs identical to the golden (never
sent to the judge, so never flipping) counted as stable. Pass it as
``GateInput(noise=...)``: no drop within it fails a gate.

:meth:`JudgeScorer.measure_noise <harness.scoring.judge.JudgeScorer.measure_noise>`
calls :func:`measure_judge_noise` with its own options.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence

from harness.scoring.judge_results import JudgeItem, JudgeNoise, JudgeScore
from harness.stats.significance import flip_rate
from harness.types import Request, Response

__all__ = ["SCORE_RANGE", "JudgeOne", "choose_noise_sample", "measure_judge_noise"]

SCORE_RANGE = 1.0
"""Highest minus lowest score the judge gives (1.0 - 0.0)."""
_NOISE_SALT = "judge-noise"


JudgeOne = Callable[[JudgeItem, int], Awaitable[JudgeScore]]
"""Judges one case with a nonce (0: the scored judgement; 1, 2 ...: the repeats)."""


def choose_noise_sample(case_ids: Sequence[str], *, share: float, seed: int) -> tuple[str, ...]:
    """The cases re-judged: a share ``share`` of ``case_ids`` (at least one), chosen by ``seed``.

    The choice depends only on the seed and each case id (SHA-256), not on
    the order of ``case_ids``; the sample keeps that order.
    """
    if not case_ids:
        return ()
    k = max(1, math.ceil(share * len(case_ids) - 1e-9))

    def rank(case_id: str) -> bytes:
        return hashlib.sha256(f"{_NOISE_SALT}\x1f{seed}\x1f{case_id}".encode()).digest()

    chosen = set(sorted(case_ids, key=rank)[:k])
    return tuple(c for c in case_ids if c in chosen)


async def measure_judge_noise(
    judge_one: JudgeOne,
    items: Sequence[JudgeItem],
    *,
    repeats: int,
    share: float,
    seed: int,
    first: Mapping[str, JudgeScore] | None = None,
) -> JudgeNoise | None:
    """Re-judge a seeded sample ``repeats`` times; the flip rate and the noise.

    Args:
        judge_one: Judges one case with a nonce (a scorer's ``judge_item``, bound to
            the executor's ``send``).
        items: Every case of the (suite, configuration), candidate errors left out.
        repeats: Extra judgements of each sampled case (0: nothing is measured).
        share: Share of the judged cases re-judged, in (0, 1].
        seed: Chooses the sample (e.g. ``derive_seed(settings.seed, suite, config)``).
        first: The scored judgements (nonce 0) by case id, when already made;
            missing ones are judged here (the executor dedupes them anyway).

    Returns:
        None when ``repeats`` is 0 or no case needed the judge.
    """
    if repeats == 0 or not items:
        return None
    judged = [i for i in items if i.output.strip() != i.golden.strip()]
    if not judged:
        return None
    given = first or {}
    # A case the judge could not judge once is not re-asked: nothing to compare.
    candidates = [i.case_id for i in judged if getattr(given.get(i.case_id), "error", None) is None]
    sampled = choose_noise_sample(candidates, share=share, seed=seed)
    by_id = {i.case_id: i for i in judged}

    async def judge(item: JudgeItem, nonce: int) -> JudgeScore:
        if nonce == 0 and item.case_id in given:
            return given[item.case_id]
        return await judge_one(item, nonce)

    rounds = await asyncio.gather(
        *(asyncio.gather(*(judge(by_id[c], n) for n in range(repeats + 1))) for c in sampled)
    )
    before: list[float] = []
    after: list[float] = []
    flipped: list[str] = []
    errors = 0
    calls: list[tuple[Request, Response]] = []
    for case_id, (base, *again) in zip(sampled, rounds, strict=True):
        for repeat in again:
            calls.extend(repeat.calls)
        if base.value is None:
            errors += len(again)
            continue
        changed = False
        for repeat in again:
            if repeat.value is None:
                errors += 1
                continue
            before.append(base.value)
            after.append(repeat.value)
            changed = changed or repeat.value != base.value
        if changed:
            flipped.append(case_id)
    judged_share = len(judged) / len(items)
    rate: float | None = None
    noise: float | None = None
    if before:
        rate = flip_rate(before, after)
        noise = rate * judged_share * SCORE_RANGE
    return JudgeNoise(
        flip_rate=rate,
        noise=noise,
        repeats=repeats,
        sampled=sampled,
        pairs=len(before),
        flipped=tuple(flipped),
        judged_share=judged_share,
        errors=errors,
        calls=tuple(calls),
    )
