"""Metrics of a router's quality/cost curve, and threshold calibration.

A router's curve is its quality at each share of cases sent to the strong model.
Definitions follow RouteLLM (lm-sys/RouteLLM, ``routellm/evals``):

- *PGR(x)* = (q(x) − weak) / (strong − weak), the share of the quality gap
  recovered at x strong calls.
- *APGR* (:func:`apgr`): the trapezoid area under the (strong share, quality)
  curve minus the weak area, over the strong area minus the weak area (over the
  x range the curve covers, which for a sweep is always [0, 1]).
- *CPT(p)* (:func:`cpt`): the strong share needed to reach weak + p·(strong − weak),
  by linear interpolation along the curve. RouteLLM's ``np.interp`` assumes a
  curve that increases; real curves do not always, so this module takes the
  *first* crossing of the target, at the lowest strong share (what a user
  would pick).
- *Oracle* (:func:`oracle_curve`): weak-correct plus as many "only the strong
  model is better" cases as the strong-call budget allows; with continuous
  scores, the cases with the largest strong − weak gain go first. Its APGR is
  computed on RouteLLM's grid of 0, 10, ..., 100 % strong calls
  (:data:`ORACLE_GRID`; the numbers RouteLLM publishes, e.g. 1.131 on GSM8K; on
  a continuous grid the same oracle gives 1.133).
- A random router has expected APGR 0.5 (:data:`RANDOM_APGR`).

Also here: the Pareto frontier of (cost, quality) points (:func:`pareto_front`)
and the threshold giving a target strong share (:func:`calibrate_threshold`,
:func:`held_out_share`). Pure computation over numpy arrays, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.analysis.router_input import FloatArray, SweepInput
from harness.errors import CostEvalError

__all__ = [
    "CPT_LEVELS",
    "ORACLE_GRID",
    "RANDOM_APGR",
    "apgr",
    "calibrate_threshold",
    "cpt",
    "held_out_share",
    "oracle_curve",
    "pareto_front",
    "random_ranking_warning",
]

CPT_LEVELS = (0.2, 0.5, 0.8)
"""The quality-gap shares CPT is reported at (RouteLLM's 20/50/80 %)."""
ORACLE_GRID = tuple(i / 10 for i in range(11))
"""Strong shares the oracle curve is evaluated at: RouteLLM's 0, 10, ..., 100 %."""
RANDOM_APGR = 0.5
"""Expected APGR of a random router: its curve is the straight weak-strong line."""


def calibrate_threshold(scores: Any, target_strong_share: float) -> float:
    """The threshold sending ``target_strong_share`` of ``scores`` to the strong model.

    ``quantile(scores, 1 - share)`` (numpy's linear interpolation, as RouteLLM's
    ``pd.qcut``). A share of 0 returns the float just above the highest score,
    so that no case goes strong (``quantile(scores, 1)`` would send the cases
    tied at the maximum); it may exceed 1, meaning "never".

    Raises:
        CostEvalError: no scores, a NaN score, or a share outside [0, 1].
    """
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0 or not np.isfinite(arr).all():
        raise CostEvalError("calibrate_threshold needs a non-empty list of finite scores.")
    share = float(target_strong_share)
    if not 0.0 <= share <= 1.0:
        raise CostEvalError(f"target strong share must be in [0, 1], got {target_strong_share!r}.")
    if share == 0.0:
        return float(np.nextafter(arr.max(), np.inf))
    return float(np.quantile(arr, 1.0 - share))


def held_out_share(train_scores: Any, test_scores: Any, share: float) -> float:
    """The strong share a threshold calibrated on ``train_scores`` gives on ``test_scores``.

    A router calibrated on one set of questions is deployed on others: this is
    the share it actually sends to the strong model there (score >= threshold).
    """
    threshold = calibrate_threshold(train_scores, share)
    test = np.asarray(test_scores, dtype=np.float64)
    if test.size == 0:
        raise CostEvalError("held_out_share needs at least one held-out score.")
    return float(np.mean(test >= threshold))


def _sorted_curve(shares: Any, quality: Any) -> tuple[FloatArray, FloatArray]:
    x = np.asarray(shares, dtype=np.float64)
    y = np.asarray(quality, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise CostEvalError("a curve needs at least two (strong share, quality) points.")
    order = np.argsort(x, kind="stable")
    return x[order], y[order]


def apgr(shares: Any, quality: Any, *, weak: float, strong: float) -> float | None:
    """Average performance gap recovered, as RouteLLM computes it.

    ``(trapz(q, x) - weak * width) / ((strong - weak) * width)`` over the x range
    the points cover (``width``; [0, 1] for a sweep), i.e. the mean PGR.

    Returns:
        None when ``strong == weak`` (no gap to recover) or the points span no width.
    """
    x, y = _sorted_curve(shares, quality)
    width = float(x[-1] - x[0])
    if strong == weak or width <= 0.0:
        return None
    area = float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2.0)
    return (area - weak * width) / ((strong - weak) * width)


def random_ranking_warning(apgr_value: float | None, random_apgr: float = 0.5) -> str:
    """What to say of a router whose curve recovers no more of the quality gap than
    routing at random (its APGR at or under random's); empty otherwise.

    Its threshold can still pass the gate, by sending enough cases to the strong
    model; but its score does not tell the cases that need the strong model from
    the others, which the recommendation would otherwise suggest.
    """
    if apgr_value is None or apgr_value > random_apgr:
        return ""
    return (
        f"the router's score ranks the cases no better than chance (APGR {apgr_value:.3f}, "
        f"random {random_apgr:.1f}): what it saves comes from sending fewer cases to the "
        "strong model, not from choosing which"
    )


def cpt(shares: Any, quality: Any, p: float, *, weak: float, strong: float) -> float | None:
    """Call-performance threshold: the strong share needed to reach ``weak + p·(strong - weak)``.

    Linear interpolation along the curve sorted by strong share, taking the
    *first* point where the curve reaches the target (the lowest strong share),
    so a non-monotone curve gives the cheapest share that reaches the target.

    Returns:
        The strong share in [0, 1], or None when the curve never reaches the
        target or ``strong <= weak`` (there is no gap to close).
    """
    if strong <= weak:
        return None
    x, y = _sorted_curve(shares, quality)
    target = weak + p * (strong - weak)
    # A tolerance of a few ulps: the strong-only point must reach p = 1.
    reached = np.flatnonzero(y >= target - 1e-12 * max(1.0, abs(target)))
    if reached.size == 0:
        return None
    i = int(reached[0])
    if i == 0:
        return float(x[0])
    x0, x1, y0, y1 = float(x[i - 1]), float(x[i]), float(y[i - 1]), float(y[i])
    return x0 + (target - y0) * (x1 - x0) / (y1 - y0) if y1 != y0 else x1


def oracle_curve(inp: SweepInput, shares: Sequence[float] = ORACLE_GRID) -> FloatArray:
    """Quality of the oracle router at each strong share of ``shares``.

    The oracle answers with the weak model except on the cases where the strong
    model is better, taken by largest gain first while the budget of
    ``share * n`` strong calls lasts (a fractional last call counts its share of
    the gain). With correctness labels this is RouteLLM's
    ``weak_correct + min(strong_calls, only_strong_correct)``.
    """
    gains = np.sort((inp.strong_score - inp.weak_score)[inp.strong_score > inp.weak_score])[::-1]
    cum = np.concatenate(([0.0], np.cumsum(gains)))
    n = inp.n
    base = float(inp.weak_score.sum())
    out = np.empty(len(shares), dtype=np.float64)
    for j, share in enumerate(shares):
        budget = float(share) * n
        whole = min(math.floor(budget), gains.size)
        extra = (budget - whole) * float(gains[whole]) if whole < gains.size else 0.0
        out[j] = (base + float(cum[whole]) + extra) / n
    return out


def pareto_front(cost: Any, quality: Any) -> tuple[int, ...]:
    """Indices of the points no other point beats on both cost and quality.

    A point is on the frontier when every cheaper-or-equal point has strictly
    lower quality; of points with equal cost and quality, the first is kept.
    Returned in order of increasing cost.
    """
    c = np.asarray(cost, dtype=np.float64)
    q = np.asarray(quality, dtype=np.float64)
    order = np.lexsort((np.arange(c.size), -q, c))
    front: list[int] = []
    best = -math.inf
    for i in order:
        if q[i] > best:
            front.append(int(i))
            best = float(q[i])
    return tuple(front)
