"""Router threshold sweeps: the whole quality/cost curve of a router, judged point by point.

A threshold router sends a case to the strong model when its router score (the
predicted need for the strong model, in [0, 1]) is at least the threshold.
Instead of evaluating one threshold per configuration, a sweep evaluates every
useful threshold at once from two recorded answers per case (the strong and the
weak model's), which is pure arithmetic: no model is called.

For each swept point it reports the share of strong calls, the cost per query,
the quality, the paired delta against the baseline with a bootstrap CI and the
gate's verdict; for the curve it reports RouteLLM's metrics (APGR, CPT(p)), the
oracle router's APGR, the Pareto frontier of (cost, quality) and a
recommendation: the cheapest point that passes the gate.
:func:`sweep_router_thresholds` sweeps a router, :func:`cascade` a cascade.

The pieces live beside this module: the input (:mod:`~harness.analysis.router_input`),
the points and their estimates (:mod:`~harness.analysis.router_points`), the
curve metrics (:mod:`~harness.analysis.router_curves`) and the bootstrap CIs
(:mod:`~harness.analysis.router_bootstrap`, the expensive part). Which points
get CIs and verdicts:

- With at most ``max_ci_points`` points (200) every point gets a CI and a
  verdict. With more, every point gets its point estimates, and:

  - CIs and verdicts go to the recommendation search (the points, cheapest
    first, whose mean delta is within the margin and whose cost ratio is
    allowed, until the first that passes) and to the two points on each side
    of the recommendation. The recommendation is the one judging every point
    gives: a skipped point cannot pass (its lower CI bound is at most its
    mean, already below ``-margin``, or its cost check fails).
  - CIs (no verdicts) go to the Pareto points, the curve a chart draws, when
    the bootstrap runs on value counts; per-case resampling would cost
    ~0.35 s a point at 14,000 cases.
  - Other fields are None. Verdicts are the costly part at scale: the gate's
    per-category tests take ~2.5 ms a point over MMLU's 57 domains.

Pure computation over numpy arrays, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.analysis.router_bootstrap import PointBootstrap
from harness.analysis.router_curves import (
    CPT_LEVELS,
    ORACLE_GRID,
    RANDOM_APGR,
    apgr,
    cpt,
    oracle_curve,
    pareto_front,
)
from harness.analysis.router_input import IntArray, SweepInput
from harness.analysis.router_points import Kind, Routing, routing_curve
from harness.errors import CostEvalError
from harness.stats.gates import GateInput, GateResult, GateSpec, decide
from harness.stats.significance import is_binary
from harness.types import Verdict

__all__ = [
    "MAX_CI_POINTS",
    "SweepPoint",
    "SweepResult",
    "cascade",
    "sweep_router_thresholds",
]

MAX_CI_POINTS = 200
"""Above this many points, only the points that matter get bootstrap CIs."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepPoint:
    """One threshold of a sweep."""

    threshold: float
    """Router: strong when score >= threshold. Cascade: escalate when confidence < threshold.
    The 0 %-strong router point's threshold is just above the highest score (may exceed 1)."""
    strong_calls: int
    strong_share: float
    cost_per_query: float
    """Mean USD per case."""
    quality: float
    delta: float
    """Mean paired delta: routed score minus baseline score."""
    ci_low: float | None
    """None when no CI was computed (see the module docs)."""
    ci_high: float | None
    verdict: Verdict | None
    """None when the point was not judged (see the module docs)."""
    reasons: tuple[str, ...] = ()
    pareto: bool = False
    ci_method: str | None = None
    """``grouped`` (bootstrap on value counts), ``cases`` (paired_bootstrap_ci) or None."""

    def summary(self) -> dict[str, Any]:
        """The point as JSON: threshold, share, cost, quality, delta, CI."""
        return {
            "threshold": _num(self.threshold),
            "strong_share": _num(self.strong_share),
            "cost_per_query": _num(self.cost_per_query),
            "quality": _num(self.quality),
            "delta": _num(self.delta),
            "ci_low": _num(self.ci_low),
            "ci_high": _num(self.ci_high),
        }


def _num(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepResult:
    """A judged sweep: its points, curve metrics and recommendation."""

    kind: Kind
    n: int
    strong_quality: float
    weak_quality: float
    baseline_quality: float
    points: tuple[SweepPoint, ...]
    """By increasing strong share."""
    apgr: float | None
    cpt: Mapping[str, float | None]
    """``{"20": share, "50": share, "80": share}``: strong shares (fractions), None if unreached."""
    oracle_shares: tuple[float, ...]
    oracle_quality: tuple[float, ...]
    oracle_apgr: float | None
    oracle_cpt: Mapping[str, float | None]
    recommended: SweepPoint | None
    recommendation_reason: str
    """Why that point (or why none)."""
    pareto: tuple[int, ...]
    """Indices into ``points`` of the Pareto frontier, by increasing cost."""
    ci_policy: str
    """Which points got CIs, in words."""
    random_apgr: float = RANDOM_APGR

    def to_json(self) -> dict[str, Any]:
        """The sweep as plain JSON values (floats; None for undefined)."""
        return {
            "strong_quality": _num(self.strong_quality),
            "weak_quality": _num(self.weak_quality),
            "points": [{**p.summary(), "verdict": p.verdict} for p in self.points],
            "apgr": _num(self.apgr),
            "cpt": {key: _num(value) for key, value in self.cpt.items()},
            "oracle_apgr": _num(self.oracle_apgr),
            "recommended": None if self.recommended is None else self.recommended.summary(),
        }


def _cpts(x: Any, y: Any, weak: float, strong: float) -> dict[str, float | None]:
    return {f"{round(p * 100)}": cpt(x, y, p, weak=weak, strong=strong) for p in CPT_LEVELS}


def _category_members(inp: SweepInput) -> dict[str, IntArray]:
    """The cases of each category, by category name (sorted)."""
    names, codes = np.unique(np.array(inp.categories, dtype=str), return_inverse=True)
    codes = codes.ravel()
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(names.size + 1))
    return {
        str(name): order[bounds[c] : bounds[c + 1]].astype(np.int64) for c, name in enumerate(names)
    }


def _run(
    inp: SweepInput,
    routing: Routing,
    *,
    thresholds: Sequence[float] | None,
    n_quantiles: int,
    gate: GateSpec,
    seed: int,
    max_ci_points: int,
    noise: float | None,
    errors: int,
) -> SweepResult:
    c = routing_curve(inp, routing, thresholds, n_quantiles)
    m = c.threshold.size
    n = inp.n
    boot = PointBootstrap(inp, routing, c.strong_calls, gate, seed)
    exact = boot.exact_deltas()
    delta = c.delta if exact is None else exact
    members = _category_members(inp)
    baseline_cost = float(inp.baseline_cost.mean())
    binary = is_binary(inp.strong_score) and is_binary(inp.weak_score)
    binary = binary and is_binary(inp.baseline_score)
    front = pareto_front(c.cost_per_query, c.quality)
    by_cost = [int(i) for i in np.lexsort((c.strong_calls, -c.quality, c.cost_per_query))]

    cis: dict[int, tuple[float, float]] = {}
    verdicts: dict[int, GateResult] = {}

    def judge_point(j: int, low: float, high: float) -> GateResult:
        low, high = float(low), float(high)
        deltas = boot.deltas(j)
        return decide(
            gate,
            GateInput(
                n=n,
                errors=errors,
                delta=float(delta[j]),
                ci_low=low,
                ci_high=high,
                deltas=deltas,
                category_deltas={name: deltas[idx] for name, idx in members.items()},
                cost_ratio=ratio[j],
                binary=binary,
                noise=noise,
            ),
        )

    def interval(j: int) -> tuple[float, float]:
        if j not in cis:
            cis[j] = boot.ci(j, float(c.threshold[j]))
        return cis[j]

    def evaluate(j: int) -> GateResult:
        if j not in verdicts:
            verdicts[j] = judge_point(j, *interval(j))
        return verdicts[j]

    ratio = [
        float(cost) / baseline_cost if baseline_cost > 0 else None for cost in c.cost_per_query
    ]
    recommended: int | None = None
    if m <= max_ci_points:
        policy = f"bootstrap CIs and verdicts for all {m} points"
        for j in range(m):
            evaluate(j)
        recommended = next((j for j in by_cost if verdicts[j].verdict == "pass"), None)
    else:
        policy = (
            f"{m} points > {max_ci_points}: CIs and verdicts for the recommendation search and "
            "the two points on each side of the recommendation"
        )
        if boot.grouped:  # cheap: CIs along the whole frontier too
            policy += "; CIs for the Pareto points"
            for j in front:
                interval(j)
        for j in by_cost:
            # Necessary conditions first (pass needs ci_low >= -margin, and the CI's
            # lower bound is at most the mean; the cost check does not use the CI).
            if delta[j] < -gate.max_quality_drop:
                continue
            r = ratio[j]
            if gate.max_cost_ratio is not None and r is not None and r > gate.max_cost_ratio:
                continue
            # The per-case bootstrap is the expensive part: screen with the CI shrunk
            # to the mean first (the category and error checks do not use the CI).
            screened = boot.grouped or j in cis
            if not screened and judge_point(j, delta[j], delta[j]).verdict != "pass":
                continue
            if evaluate(j).verdict == "pass":
                recommended = j
                break
        if recommended is not None:
            for j in range(max(0, recommended - 2), min(m, recommended + 3)):
                evaluate(j)

    front_set = set(front)
    points = []
    for j in range(m):
        ci = cis.get(j)
        verdict = verdicts.get(j)
        points.append(
            SweepPoint(
                threshold=float(c.threshold[j]),
                strong_calls=int(c.strong_calls[j]),
                strong_share=float(c.strong_share[j]),
                cost_per_query=float(c.cost_per_query[j]),
                quality=float(c.quality[j]),
                delta=float(delta[j]),
                ci_low=None if ci is None else ci[0],
                ci_high=None if ci is None else ci[1],
                verdict=None if verdict is None else verdict.verdict,
                reasons=() if verdict is None else verdict.reasons,
                pareto=j in front_set,
                ci_method=None if ci is None else boot.method,
            )
        )

    strong_q = float(inp.strong_score.mean())
    weak_q = float(inp.weak_score.mean())
    if recommended is not None:
        p = points[recommended]
        reason = (
            f"cheapest point that passes the gate: threshold {p.threshold:.4g} sends "
            f"{p.strong_share:.1%} of cases to the strong model at "
            f"${p.cost_per_query:.6f}/query, delta {p.delta * 100:+.2f} points"
        )
    else:
        reason = _no_recommendation(points)
    oracle_q = oracle_curve(inp, ORACLE_GRID)
    return SweepResult(
        kind=routing.kind,
        n=n,
        strong_quality=strong_q,
        weak_quality=weak_q,
        baseline_quality=float(inp.baseline_score.mean()),
        points=tuple(points),
        apgr=apgr(c.strong_share, c.quality, weak=weak_q, strong=strong_q),
        cpt=_cpts(c.strong_share, c.quality, weak_q, strong_q),
        oracle_shares=ORACLE_GRID,
        oracle_quality=tuple(float(v) for v in oracle_q),
        oracle_apgr=apgr(ORACLE_GRID, oracle_q, weak=weak_q, strong=strong_q),
        oracle_cpt=_cpts(ORACLE_GRID, oracle_q, weak_q, strong_q),
        recommended=None if recommended is None else points[recommended],
        recommendation_reason=reason,
        pareto=front,
        ci_policy=policy,
    )


def _no_recommendation(points: Sequence[SweepPoint]) -> str:
    judged = [p for p in points if p.verdict is not None]
    if not judged:
        return (
            "no point passes the gate: no point's mean delta is within the margin "
            "(and its category and cost checks pass)"
        )
    counts: dict[str, int] = {}
    for p in judged:
        counts[str(p.verdict)] = counts.get(str(p.verdict), 0) + 1
    tally = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    best = max(judged, key=lambda p: p.ci_low if p.ci_low is not None else -math.inf)
    why = best.reasons[0] if best.reasons else "see its verdict"
    return (
        f"no point passes the gate ({tally} of {len(judged)} judged); the closest is "
        f"threshold {best.threshold:.4g} ({best.strong_share:.1%} strong): {why}"
    )


def sweep_router_thresholds(
    inp: SweepInput,
    *,
    thresholds: Sequence[float] | None = None,
    n_quantiles: int = 20,
    gate: GateSpec,
    seed: int,
    max_ci_points: int = MAX_CI_POINTS,
    noise: float | None = None,
    errors: int = 0,
) -> SweepResult:
    """Sweep the router's threshold: every point judged, the curve summarized.

    Args:
        inp: Per-case scores, costs and router scores.
        thresholds: Extra thresholds to evaluate besides the quantiles.
        n_quantiles: Quantile thresholds give 0, 1/n_quantiles, ..., 100 % strong calls.
        gate: The gate each point is judged by (non-inferiority against the baseline,
            category drops, cost ratio).
        seed: Base seed; each point's bootstrap seed is derived from it and its threshold.
        max_ci_points: Above this many points, only the points that matter get CIs.
        noise: Judge noise in score units (see ``GateInput.noise``), passed to the gate.
        errors: Cases left out of ``inp`` because a call errored (for the gate's
            error-share check).

    Returns:
        The judged points, by increasing strong share, with APGR, CPT, the oracle
        APGR, the Pareto frontier and the recommendation (cheapest passing point).

    Raises:
        CostEvalError: no router scores, bad thresholds or ``n_quantiles``.
    """
    if inp.router_score is None:
        raise CostEvalError("sweep input has no router scores; give router_score per case.")
    return _run(
        inp,
        Routing.build(inp, "router", inp.router_score),
        thresholds=thresholds,
        n_quantiles=n_quantiles,
        gate=gate,
        seed=seed,
        max_ci_points=max_ci_points,
        noise=noise,
        errors=errors,
    )


def cascade(
    inp: SweepInput,
    confidence: Any,
    thresholds: Sequence[float] | None = None,
    *,
    n_quantiles: int = 20,
    gate: GateSpec,
    seed: int,
    max_ci_points: int = MAX_CI_POINTS,
    noise: float | None = None,
    errors: int = 0,
) -> SweepResult:
    """Sweep a cascade: the weak model answers first, escalating when unsure.

    A case escalates to the strong model when the weak answer's ``confidence``
    (in [0, 1]) is below the threshold; an escalated case pays for both calls
    (``weak_cost + strong_cost``) and gets the strong answer's quality. Points
    are the quantiles of the confidences (0 to 100 % escalated) plus
    ``thresholds``; ``strong_share`` is the escalated share. Same outputs as
    :func:`sweep_router_thresholds`; ``inp.router_score`` is not used.

    Raises:
        CostEvalError: a confidence that is NaN or outside [0, 1] (naming the
            case), or a confidence count different from the number of cases.
    """
    conf = inp.checked_confidence(confidence)
    return _run(
        inp,
        Routing.build(inp, "cascade", conf),
        thresholds=thresholds,
        n_quantiles=n_quantiles,
        gate=gate,
        seed=seed,
        max_ci_points=max_ci_points,
        noise=noise,
        errors=errors,
    )
