"""Tuning: the cheapest stack of levers that keeps quality, confirmed on cases it was not chosen on.

A *stack* is a router candidate (a strong/weak pair and a router score) with or
without the batch API; its threshold is searched. Every stack is evaluated from
two answers per case (:mod:`harness.analysis.router_sweep`), batch from the
price table's batch factor: arithmetic, no model call.

Searching many stacks and keeping the best is a trap: the best of many looks
better than it is on the cases it was chosen on (the winner's curse). So the
cases are split once, seeded: on the *choosing* part every stack's threshold is
swept and judged; every (stack, threshold) that passes there is then judged, threshold
fixed, on the *confirming* part in an order fixed by the choosing part (safest
first), stopping at the first that does not pass (fixed-sequence testing: the
chance of confirming a stack that is truly worse than the margin stays at the
gate's level however many stacks were searched). The winner is the cheapest
confirmed, and its confirming-part figures are the ones reported (delta with its
paired CI, cost per query, savings, monthly projection with an interval). A stack
that passed only on the choosing part is *not confirmed*. ``docs/statistics.md``
has the simulation that shows why.

Pure computation over numpy arrays, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from harness.analysis.router_curves import pareto_front
from harness.analysis.router_input import FloatArray, IntArray, SweepInput
from harness.analysis.router_points import simplest_threshold
from harness.analysis.router_sweep import SweepPoint, sweep_router_thresholds
from harness.analysis.tune_model import (
    Confirmed,
    FrontierPoint,
    Interval,
    LeverEffect,
    StackChoice,
    StackInput,
    Step,
    TuneResult,
)
from harness.errors import CostEvalError
from harness.stats.bootstrap import derive_seed, paired_bootstrap_ci
from harness.stats.gates import GateInput, GateSpec, decide
from harness.stats.significance import is_binary

__all__ = [
    "Confirmed",
    "FrontierPoint",
    "LeverEffect",
    "StackChoice",
    "StackInput",
    "Step",
    "TuneResult",
    "split_cases",
    "tune_stacks",
]


def split_cases(n: int, confirm_share: float, seed: int) -> tuple[IntArray, IntArray]:
    """Seeded split of ``n`` cases into (choosing, confirming) index arrays, each sorted.

    Raises:
        CostEvalError: fewer than 4 cases (each part needs at least 2).
    """
    if n < 4:
        raise CostEvalError(
            f"tuning needs at least 4 cases (2 to choose on, 2 to confirm on), got {n}."
        )
    n_confirm = min(n - 2, max(2, round(n * confirm_share)))
    order = np.random.default_rng(seed).permutation(n).astype(np.int64)
    return np.sort(order[n_confirm:]), np.sort(order[:n_confirm])


def _subset(inp: SweepInput, idx: IntArray, strong_factor: float, weak_factor: float) -> SweepInput:
    scores = inp.router_score
    return SweepInput(
        case_ids=tuple(inp.case_ids[i] for i in idx),
        strong_score=inp.strong_score[idx],
        weak_score=inp.weak_score[idx],
        strong_cost=inp.strong_cost[idx] * strong_factor,
        weak_cost=inp.weak_cost[idx] * weak_factor,
        baseline_score=inp.baseline_score[idx],
        baseline_cost=inp.baseline_cost[idx],
        router_score=None if scores is None else scores[idx],
        categories=tuple(inp.categories[i] for i in idx),
    )


def _routed(inp: SweepInput, threshold: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per case at ``threshold``: routed to strong (0/1), routed score, routed cost."""
    assert inp.router_score is not None
    strong = inp.router_score >= threshold
    score = np.where(strong, inp.strong_score, inp.weak_score)
    cost = np.where(strong, inp.strong_cost, inp.weak_cost)
    return strong.astype(np.float64), score, cost


def _choose(stack: StackInput, router: int, batch: bool, sub: SweepInput, **kw: Any) -> StackChoice:
    result = sweep_router_thresholds(sub, **kw)
    rec = result.recommended
    return StackChoice(
        router=router,
        label=stack.label,
        batch=batch,
        threshold=None if rec is None else rec.threshold,
        strong_share=None if rec is None else rec.strong_share,
        cost_per_query=None if rec is None else rec.cost_per_query,
        delta=None if rec is None else rec.delta,
        ci_low=None if rec is None else rec.ci_low,
        ci_high=None if rec is None else rec.ci_high,
        thresholds=tuple(p.threshold for p in result.points),
        passing=tuple(p for p in result.points if p.verdict == "pass"),
    )


def _at(choice: StackChoice, point: SweepPoint) -> StackChoice:
    """``choice`` with ``point`` of its choosing sweep as its threshold."""
    return replace(
        choice,
        threshold=point.threshold,
        strong_share=point.strong_share,
        cost_per_query=point.cost_per_query,
        delta=point.delta,
        ci_low=point.ci_low,
        ci_high=point.ci_high,
    )


def _confirm(
    sub: SweepInput, threshold: float, gate: GateSpec, seed: int, per_month: float
) -> Confirmed:
    strong, score, cost = _routed(sub, threshold)
    deltas = score - sub.baseline_score
    mean, low, high = paired_bootstrap_ci(
        deltas, confidence=gate.confidence, resamples=gate.resamples, seed=seed
    )
    cats = np.array(sub.categories)
    base_cost = float(sub.baseline_cost.mean())
    verdict = decide(
        gate,
        GateInput(
            n=sub.n,
            errors=0,
            delta=mean,
            ci_low=low,
            ci_high=high,
            deltas=deltas,
            category_deltas={str(c): deltas[cats == c] for c in np.unique(cats)},
            cost_ratio=float(cost.mean()) / base_cost if base_cost > 0 else None,
            binary=is_binary(score) and is_binary(sub.baseline_score),
        ),
    )
    cost_mean, cost_low, cost_high = paired_bootstrap_ci(
        cost, confidence=gate.confidence, resamples=gate.resamples, seed=seed + 1
    )
    saved, saved_low, saved_high = paired_bootstrap_ci(
        sub.baseline_cost - cost,
        confidence=gate.confidence,
        resamples=gate.resamples,
        seed=seed + 2,
    )
    return Confirmed(
        verdict=verdict.verdict,
        reasons=verdict.reasons,
        n=sub.n,
        strong_share=float(strong.mean()),
        quality=float(score.mean()),
        baseline_quality=float(sub.baseline_score.mean()),
        delta=mean,
        ci_low=low,
        ci_high=high,
        cost_per_query=cost_mean,
        baseline_cost_per_query=base_cost,
        savings=1 - cost_mean / base_cost if base_cost > 0 else 0.0,
        monthly_cost=Interval(
            estimate=cost_mean * per_month, low=cost_low * per_month, high=cost_high * per_month
        ),
        monthly_savings=Interval(
            estimate=saved * per_month, low=saved_low * per_month, high=saved_high * per_month
        ),
    )


def _figures(sub: SweepInput, threshold: float) -> tuple[float, float, float]:
    """Strong share, quality and cost per query at ``threshold``."""
    strong, score, cost = _routed(sub, threshold)
    return float(strong.mean()), float(score.mean()), float(cost.mean())


def tune_stacks(
    stacks: Sequence[StackInput],
    *,
    batch_options: Sequence[bool] = (False,),
    gate: GateSpec,
    seed: int,
    confirm_share: float = 0.5,
    quantiles: int = 20,
    queries_per_month: float = 0.0,
) -> TuneResult:
    """Search every (router candidate, batch) stack; confirm the cheapest that holds up.

    Args:
        stacks: The router candidates' per-case numbers, all over the same cases.
        batch_options: ``(False,)``, or ``(False, True)`` when batch may be used.
        gate: The gate each threshold (choosing part) and the winner (confirming part)
            is judged by.
        seed: Seeds the split, the sweeps' bootstraps and the confirmation's.
        confirm_share: Share of the cases held out to confirm the winner.
        quantiles: Thresholds per sweep: 0, 1/quantiles, ..., 100 % strong calls.
        queries_per_month: The configured volume, for the monthly projection.

    Raises:
        CostEvalError: no stack, stacks over different cases, fewer than 4 cases.
    """
    if not stacks:
        raise CostEvalError("nothing to tune: the search space has no router candidate.")
    ids = stacks[0].inp.case_ids
    for stack in stacks[1:]:
        if stack.inp.case_ids != ids:
            raise CostEvalError(
                f"tune: stack {stack.label!r} covers other cases than {stacks[0].label!r}."
            )
    choose, confirm = split_cases(len(ids), confirm_share, derive_seed(seed, "split"))
    choices: list[StackChoice] = []
    for r, stack in enumerate(stacks):
        for batch in batch_options:
            fs, fw = (stack.strong_batch_factor, stack.weak_batch_factor) if batch else (1.0, 1.0)
            sub = _subset(stack.inp, choose, fs, fw)
            choices.append(
                _choose(
                    stack,
                    r,
                    batch,
                    sub,
                    n_quantiles=quantiles,
                    gate=gate,
                    seed=derive_seed(seed, stack.label, int(batch)),
                )
            )

    def held_out(choice: StackChoice) -> SweepInput:
        stack = stacks[choice.router]
        if choice.batch:
            return _subset(stack.inp, confirm, stack.strong_batch_factor, stack.weak_batch_factor)
        return _subset(stack.inp, confirm, 1.0, 1.0)

    judged = sum(len(c.thresholds) for c in choices)
    # Fixed-sequence testing: the thresholds that passed on the choosing part, the
    # safest first (highest lower CI bound there), are judged on the confirming part
    # one after another; the walk stops at the first that does not pass there. The
    # order comes from the choosing part alone, so the chance of confirming anything
    # truly worse than the margin stays at the gate's level however many stacks were
    # searched; the winner is the cheapest of the confirmed.
    sequence = sorted(
        ((choice, point) for choice in choices for point in choice.passing),
        key=lambda item: (
            -(item[1].ci_low or 0.0),
            -item[1].delta,
            -item[1].strong_share,
            item[1].cost_per_query,
        ),
    )
    steps: list[Step] = []
    winner: StackChoice | None = None
    confirmed: Confirmed | None = None
    for k, (choice, point) in enumerate(sequence):
        check = _confirm(
            held_out(choice),
            point.threshold,
            gate,
            derive_seed(seed, "confirm", k),
            queries_per_month,
        )
        steps.append(
            Step(
                label=choice.label,
                batch=choice.batch,
                threshold=point.threshold,
                cost_per_query=point.cost_per_query,
                verdict=check.verdict,
            )
        )
        if not check.confirmed:
            break
        if confirmed is None or check.cost_per_query < confirmed.cost_per_query:
            # The threshold to paste: the simplest one routing every case of the suite alike.
            simple = _simplest(stacks[choice.router], point.threshold)
            winner, confirmed = replace(_at(choice, point), threshold=simple), check
    passing = [c for c in choices if c.passed]
    best = min(passing, key=lambda c: (c.cost_per_query, -(c.delta or 0.0)), default=None)
    if best is None:
        reason = f"no stack passes the gate on the {choose.size} choosing cases; keep the baseline"
    elif winner is None:
        reason = (
            f"{len(passing)} stack(s) pass on the {choose.size} choosing cases but none is "
            f"confirmed on the {confirm.size} other cases; keep the baseline"
        )
    else:
        reason = (
            f"cheapest of {len(sequence)} passing (stack, threshold) pairs of {len(choices)} "
            f"stacks confirmed on {confirm.size} held-out cases"
        )
    return TuneResult(
        n=len(ids),
        choose_n=int(choose.size),
        confirm_n=int(confirm.size),
        stacks_searched=len(choices),
        thresholds_judged=judged,
        choices=tuple(choices),
        winner=winner,
        confirmed=confirmed,
        best_looking=best,
        best_confirmed=best is not None
        and winner is not None
        and best.cost_per_query is not None
        and winner.cost_per_query is not None
        and winner.cost_per_query <= best.cost_per_query,
        steps=tuple(steps),
        reason=reason,
        frontier=_frontier(choices, held_out, stacks),
        levers=() if winner is None else _levers(winner, held_out, stacks, confirm),
    )


def _frontier(
    choices: Sequence[StackChoice], held_out: Any, stacks: Sequence[StackInput]
) -> tuple[FrontierPoint, ...]:
    """Every judged (stack, threshold), on the confirming part: the Pareto frontier.

    Thresholds as the winner's is written (:func:`_simplest`), so the winner's row
    reads the same threshold as the TOML.
    """
    points: list[FrontierPoint] = []
    routers: list[int] = []
    for choice in choices:
        sub = held_out(choice)
        base_q = float(sub.baseline_score.mean())
        for t in choice.thresholds:
            share, quality, cost = _figures(sub, t)
            points.append(
                FrontierPoint(
                    label=choice.label,
                    batch=choice.batch,
                    threshold=t,
                    strong_share=share,
                    cost_per_query=cost,
                    quality=quality,
                    delta=quality - base_q,
                )
            )
            routers.append(choice.router)
    front = pareto_front([p.cost_per_query for p in points], [p.quality for p in points])
    # Written simply only for the points shown: each costs a pass over the suite's scores.
    return tuple(
        replace(points[i], threshold=_simplest(stacks[routers[i]], points[i].threshold))
        for i in front
    )


def _simplest(stack: StackInput, threshold: float) -> float:
    """The threshold to show and write: :func:`simplest_threshold` on all the suite's cases."""
    scores = stack.inp.router_score
    return threshold if scores is None else simplest_threshold(scores, threshold)


def _levers(
    winner: StackChoice, held_out: Any, stacks: Sequence[StackInput], confirm: IntArray
) -> tuple[LeverEffect, ...]:
    """Savings of the winner with and without each of its levers (confirming part)."""
    assert winner.threshold is not None
    sub = held_out(winner)
    base = float(sub.baseline_cost.mean())

    def saving(cost: float) -> float:
        return 1 - cost / base if base > 0 else 0.0

    _, quality, cost = _figures(sub, winner.threshold)
    effects = []
    # Without the router: every case to the strong model (same batch choice).
    _, q_all, c_all = _figures(sub, -math.inf)
    effects.append(
        LeverEffect(
            lever="router",
            savings_with=saving(cost),
            savings_without=saving(c_all),
            quality_with=quality,
            quality_without=q_all,
        )
    )
    if winner.batch:
        plain = _subset(stacks[winner.router].inp, confirm, 1.0, 1.0)
        _, q_plain, c_plain = _figures(plain, winner.threshold)
        effects.append(
            LeverEffect(
                lever="batch",
                savings_with=saving(cost),
                savings_without=saving(c_plain),
                quality_with=quality,
                quality_without=q_plain,
            )
        )
    return tuple(effects)
