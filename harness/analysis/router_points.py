"""Where a router sweep's points lie, and their point estimates (no bootstrap).

A threshold router sends a case to the strong model when its router score (the
predicted need for the strong model, in [0, 1]) is at least the threshold; a
cascade lets the weak model answer first and escalates when the weak answer's
confidence is below the threshold. Either way, as the threshold moves the cases
switch to the strong model one by one in a fixed order (:class:`Routing`), so
every threshold's strong-call count, cost, quality and mean delta against the
baseline follow from cumulative sums: pure arithmetic over the two recorded
answers per case, no model is called.

Points are the thresholds at the quantiles of the routing key (0,
1/n_quantiles, ..., 100 % strong calls) plus the user's, one point per distinct
routing (:func:`routing_curve`, :func:`curve`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import numpy as np

from harness.analysis.router_curves import calibrate_threshold
from harness.analysis.router_input import FloatArray, IntArray, SweepInput
from harness.errors import CostEvalError

__all__ = ["Curve", "Kind", "Routing", "curve", "routing_curve"]

Kind = Literal["router", "cascade"]
"""What is swept: a router's threshold or a cascade's."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Curve:
    """Point estimates of a sweep (no bootstrap): one entry per distinct routing."""

    kind: Kind
    threshold: FloatArray
    strong_calls: IntArray
    """Cases sent to the strong model (escalated, for a cascade)."""
    strong_share: FloatArray
    cost_per_query: FloatArray
    quality: FloatArray
    delta: FloatArray
    """Mean of routed score minus baseline score."""


@dataclass(frozen=True, slots=True)
class Routing:
    """The order in which cases switch to the strong model as the threshold moves.

    Build it with :meth:`build`.
    """

    kind: Kind
    order: IntArray
    """Cases in the order they switch to the strong model as the threshold moves."""
    keys: FloatArray
    """The routing key (router score or confidence), sorted ascending."""
    values: FloatArray
    """The routing key per case."""
    routed_cost: FloatArray
    """What a case costs when it goes (or escalates) to the strong model."""

    @classmethod
    def build(cls, inp: SweepInput, kind: Kind, key: FloatArray) -> Routing:
        """The routing of ``inp`` by ``key``: router scores (router) or confidences (cascade)."""
        if kind == "router":
            order = np.argsort(-key, kind="stable").astype(np.int64)
            routed = inp.strong_cost
        else:
            order = np.argsort(key, kind="stable").astype(np.int64)
            routed = inp.weak_cost + inp.strong_cost
        return cls(kind=kind, order=order, keys=np.sort(key), values=key, routed_cost=routed)

    def calls(self, thresholds: FloatArray) -> IntArray:
        """Strong calls (escalations, for a cascade) at each threshold."""
        n = self.keys.size
        left = np.searchsorted(self.keys, thresholds, side="left").astype(np.int64)
        # router: strong when score >= t; cascade: escalate when confidence < t.
        return (n - left) if self.kind == "router" else left

    def threshold_for_share(self, share: float) -> float:
        """The threshold sending ``share`` of the cases to the strong model."""
        if self.kind == "router":
            return calibrate_threshold(self.values, share)
        if share >= 1.0:
            return float(np.nextafter(self.keys[-1], np.inf))
        if share <= 0.0:
            return float(self.keys[0])
        return float(np.quantile(self.values, share))


def simplest_threshold(scores: FloatArray, threshold: float) -> float:
    """The number with the fewest decimals that routes ``scores`` as ``threshold`` does.

    A router sends a case to the strong model when its score >= the threshold, so
    every threshold between the highest score below it (excluded) and the lowest
    score at or above it (included) routes these cases alike. Of those, the one
    with the fewest decimals, nearest the threshold: ``0.48`` for a quantile's
    ``0.47000000000000003`` between scores 0.47 and 0.48, ``0.4`` for ``0.46``
    between 0.2 and 0.47. Rounding instead could cross a score and move a case:
    scores such as a prompt's length scaled are quantized.
    """
    keys = np.unique(scores)
    at = int(np.searchsorted(keys, threshold, side="left"))
    # Under every score (all strong) the threshold itself bounds the search: it is
    # the lowest score. Over every score (none strong) it is the next float after
    # the highest: the search goes one typical step between scores past it.
    low = float(keys[at - 1]) if at > 0 else float(np.nextafter(threshold, -math.inf))
    if at < keys.size:
        high = float(keys[at])
    else:
        step = float(np.median(np.diff(keys))) if keys.size > 1 else 1.0
        high = max(threshold, float(keys[-1]) + step)
    original = Decimal(repr(threshold))
    for digits in range(18):
        # The coarsest decimals first; of their multiples in the interval, the one
        # nearest the threshold.
        unit = Decimal(1).scaleb(-digits)
        candidate = (original / unit).to_integral_value() * unit
        if float(candidate) <= low:
            candidate += unit
        elif float(candidate) > high:
            candidate -= unit
        value = float(candidate)
        if low < value <= high:
            return value
    return threshold


def _points(
    routing: Routing, thresholds: Sequence[float] | None, n_quantiles: int
) -> tuple[FloatArray, IntArray]:
    """Thresholds and strong-call counts of the distinct points, by increasing strong calls."""
    if isinstance(n_quantiles, bool) or not isinstance(n_quantiles, int) or n_quantiles < 1:
        raise CostEvalError(f"n_quantiles must be a whole number >= 1, got {n_quantiles!r}.")
    quantile = [routing.threshold_for_share(j / n_quantiles) for j in range(n_quantiles + 1)]
    user = [] if thresholds is None else [float(t) for t in thresholds]
    for t in user:
        if not math.isfinite(t):
            raise CostEvalError(f"sweep threshold {t!r} is not a finite number.")
    values = np.array(user + quantile, dtype=np.float64)
    source = np.array([0] * len(user) + [1] * len(quantile), dtype=np.int64)  # 0: user first
    calls = routing.calls(values)
    # One point per distinct routing (strong-call count): the user's threshold when
    # they gave one, else the quantile threshold; then the lowest threshold.
    order = np.lexsort((values, source, calls))
    keep = order[np.concatenate(([True], np.diff(calls[order]) != 0))]
    return values[keep], calls[keep]


def _estimates(inp: SweepInput, routing: Routing, calls: IntArray) -> tuple[FloatArray, ...]:
    n = inp.n
    o = routing.order
    gain = (inp.strong_score - inp.weak_score)[o]
    cum_q = np.concatenate(([0.0], np.cumsum(gain)))
    cum_c = np.concatenate(([0.0], np.cumsum((routing.routed_cost - inp.weak_cost)[o])))
    quality = (float(inp.weak_score.sum()) + cum_q[calls]) / n
    cost = (float(inp.weak_cost.sum()) + cum_c[calls]) / n
    delta = (float((inp.weak_score - inp.baseline_score).sum()) + cum_q[calls]) / n
    return quality, cost, delta


def routing_curve(
    inp: SweepInput, routing: Routing, thresholds: Sequence[float] | None, n_quantiles: int
) -> Curve:
    """The point estimates of ``routing``'s distinct points (see the module docs).

    Raises:
        CostEvalError: bad ``thresholds`` or ``n_quantiles``.
    """
    values, calls = _points(routing, thresholds, n_quantiles)
    quality, cost, delta = _estimates(inp, routing, calls)
    return Curve(
        kind=routing.kind,
        threshold=values,
        strong_calls=calls,
        strong_share=calls / inp.n,
        cost_per_query=cost,
        quality=quality,
        delta=delta,
    )


def curve(
    inp: SweepInput, *, thresholds: Sequence[float] | None = None, n_quantiles: int = 20
) -> Curve:
    """The router's point estimates only (no bootstrap, no verdicts): cheap.

    Points as in :func:`~harness.analysis.router_sweep.sweep_router_thresholds`:
    the quantiles of the router scores giving 0, 1/n_quantiles, ..., 100 % strong
    calls, plus ``thresholds``, one point per distinct routing, by increasing
    strong share.
    """
    if inp.router_score is None:
        raise CostEvalError("sweep input has no router scores; give router_score per case.")
    routing = Routing.build(inp, "router", inp.router_score)
    return routing_curve(inp, routing, thresholds, n_quantiles)
