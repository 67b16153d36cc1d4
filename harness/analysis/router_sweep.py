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

Pure computation over numpy arrays, no I/O. Definitions follow RouteLLM
(lm-sys/RouteLLM, ``routellm/evals``):

- *PGR(x)* = (q(x) − weak) / (strong − weak), the share of the quality gap
  recovered at x strong calls.
- *APGR*: the trapezoid area under the (strong share, quality) curve minus the
  weak area, over the strong area minus the weak area (over the x range the
  curve covers, which for a sweep is always [0, 1]).
- *CPT(p)*: the strong share needed to reach weak + p·(strong − weak), by linear
  interpolation along the curve. RouteLLM's ``np.interp`` assumes a curve that
  increases; real curves do not always, so this module takes the *first*
  crossing of the target, at the lowest strong share (what a user would pick).
- *Oracle*: weak-correct plus as many "only the strong model is better" cases as
  the strong-call budget allows; with continuous scores, the cases with the
  largest strong − weak gain go first. Its APGR is computed on RouteLLM's grid
  of 0, 10, ..., 100 % strong calls (the numbers RouteLLM publishes, e.g. 1.131
  on GSM8K; on a continuous grid the same oracle gives 1.133).
- A random router has expected APGR 0.5 (:data:`RANDOM_APGR`).

Bootstrap CIs (the expensive part) are computed as follows:

- Deltas at a point are ``strong - baseline`` for cases routed strong and
  ``weak - baseline`` for the others. When all those per-case values take at
  most :data:`GROUPED_MAX_VALUES` distinct values (to 12 decimals; correctness
  labels give 3, 1-10 judge scores 19), resampling n cases with replacement is
  exactly a multinomial draw of how many times each *value* is drawn, so the
  bootstrap runs on the value counts: the same estimator as
  :func:`harness.stats.bootstrap.paired_bootstrap_ci`, about 0.5 ms a point instead of
  0.35 s at 14,000 cases (a different random stream, so bounds differ from
  that function's by Monte Carlo error only). Otherwise each point goes
  through :func:`~harness.stats.bootstrap.paired_bootstrap_ci` itself.
- Every point gets its own seed, ``derive_seed(seed, kind, repr(threshold))``.
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
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from harness.errors import CostEvalError
from harness.stats.bootstrap import derive_seed, is_binary, paired_bootstrap_ci
from harness.stats.gates import GateInput, GateResult, GateSpec, judge
from harness.types import Verdict

__all__ = [
    "CPT_LEVELS",
    "GROUPED_MAX_VALUES",
    "MAX_CI_POINTS",
    "ORACLE_GRID",
    "RANDOM_APGR",
    "Curve",
    "SweepInput",
    "SweepPoint",
    "SweepResult",
    "apgr",
    "calibrate_threshold",
    "cascade",
    "cpt",
    "curve",
    "held_out_share",
    "oracle_curve",
    "pareto_front",
    "sweep",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Kind = Literal["router", "cascade"]

CPT_LEVELS = (0.2, 0.5, 0.8)
"""The quality-gap shares CPT is reported at (RouteLLM's 20/50/80 %)."""
ORACLE_GRID = tuple(i / 10 for i in range(11))
"""Strong shares the oracle curve is evaluated at: RouteLLM's 0, 10, ..., 100 %."""
RANDOM_APGR = 0.5
"""Expected APGR of a random router: its curve is the straight weak-strong line."""
MAX_CI_POINTS = 200
"""Above this many points, only the points that matter get bootstrap CIs."""
GROUPED_MAX_VALUES = 32
"""At most this many distinct per-case deltas: bootstrap on value counts."""
_DECIMALS = 12
"""Deltas are grouped by their value rounded to this many decimals."""


# --------------------------------------------------------------------------- input


def _as_array(values: Any, name: str, n: int | None) -> FloatArray:
    try:
        arr = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CostEvalError(f"sweep input: {name} must be numbers ({exc}).") from None
    if arr.ndim != 1:
        raise CostEvalError(
            f"sweep input: {name} must be one value per case, got shape {arr.shape}."
        )
    if n is not None and arr.size != n:
        raise CostEvalError(
            f"sweep input: {name} has {arr.size} values but there are {n} cases; "
            "give one value per case, in the same order."
        )
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class SweepInput:
    """Per-case numbers a sweep needs, as read-only numpy arrays (one entry per case).

    Build it with :meth:`build`, which fills the defaults; constructing it
    directly validates too. Every array has one value per case, in the order of
    ``case_ids``.

    Raises:
        CostEvalError: empty input, arrays of different lengths, a quality
            outside [0, 1], a negative or non-finite cost, a router score that
            is NaN or outside [0, 1] (the message names the case and the value),
            duplicate case ids.
    """

    case_ids: tuple[str, ...]
    """Names of the cases, for error messages."""
    strong_score: FloatArray
    """Quality of the strong model's answer, in [0, 1]."""
    weak_score: FloatArray
    """Quality of the weak model's answer, in [0, 1]."""
    strong_cost: FloatArray
    """USD the strong model's answer costs."""
    weak_cost: FloatArray
    """USD the weak model's answer costs."""
    baseline_score: FloatArray
    """Quality of the baseline's answer (usually the strong model's), in [0, 1]."""
    baseline_cost: FloatArray
    """USD the baseline's answer costs (usually the strong model's)."""
    router_score: FloatArray | None
    """Predicted need for the strong model, in [0, 1]; None for a cascade-only input."""
    categories: tuple[str, ...]
    """Category of each case (for per-category gate checks)."""

    def __post_init__(self) -> None:
        n = len(self.case_ids)
        if n == 0:
            raise CostEvalError("sweep input is empty: a sweep needs at least one case.")
        ids = tuple(str(c) for c in self.case_ids)
        if len(set(ids)) != n:
            seen: set[str] = set()
            for case_id in ids:
                if case_id in seen:
                    raise CostEvalError(
                        f"sweep input: case id {case_id!r} appears twice; ids must be unique."
                    )
                seen.add(case_id)
        object.__setattr__(self, "case_ids", ids)
        for name in ("strong_score", "weak_score", "baseline_score"):
            arr = _as_array(getattr(self, name), name, n)
            bad = ~(np.isfinite(arr) & (arr >= 0.0) & (arr <= 1.0))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise CostEvalError(
                    f"sweep input: case {ids[i]!r}: {name} {float(arr[i])!r} is not a quality "
                    "in [0, 1]. Normalize scores to [0, 1] (e.g. a 1-10 judge score / 10)."
                )
            object.__setattr__(self, name, arr)
        for name in ("strong_cost", "weak_cost", "baseline_cost"):
            arr = _as_array(getattr(self, name), name, n)
            bad = ~(np.isfinite(arr) & (arr >= 0.0))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise CostEvalError(
                    f"sweep input: case {ids[i]!r}: {name} {float(arr[i])!r} is not a cost "
                    "(a finite number of USD >= 0)."
                )
            object.__setattr__(self, name, arr)
        if self.router_score is not None:
            arr = _as_array(self.router_score, "router_score", n)
            _check_unit(arr, ids, "router score", "the predicted need for the strong model")
            object.__setattr__(self, "router_score", arr)
        categories = tuple(str(c) for c in self.categories) if self.categories else ("default",) * n
        if len(categories) != n:
            raise CostEvalError(
                f"sweep input: {len(categories)} categories but {n} cases; "
                "give one category per case."
            )
        object.__setattr__(self, "categories", categories)

    @classmethod
    def build(
        cls,
        *,
        strong_score: Any,
        weak_score: Any,
        strong_cost: Any,
        weak_cost: Any,
        router_score: Any = None,
        baseline_score: Any = None,
        baseline_cost: Any = None,
        case_ids: Sequence[str] | None = None,
        categories: Sequence[str] | None = None,
    ) -> SweepInput:
        """A validated input; the baseline defaults to the strong model, ids to ``#1, #2 ...``.

        ``strong_cost``/``weak_cost`` may be a single number (the same cost for every case).
        """
        strong = np.asarray(strong_score, dtype=np.float64)
        n = int(strong.size)

        def per_case(value: Any) -> Any:
            if np.ndim(value) == 0:
                return np.full(n, float(value))
            return value

        ids = tuple(case_ids) if case_ids is not None else tuple(f"#{i + 1}" for i in range(n))
        return cls(
            case_ids=ids,
            strong_score=strong,
            weak_score=weak_score,
            strong_cost=per_case(strong_cost),
            weak_cost=per_case(weak_cost),
            baseline_score=strong if baseline_score is None else baseline_score,
            baseline_cost=per_case(strong_cost if baseline_cost is None else baseline_cost),
            router_score=router_score,
            categories=tuple(categories) if categories is not None else (),
        )

    @property
    def n(self) -> int:
        """Number of cases."""
        return len(self.case_ids)

    def with_router_score(self, router_score: Any) -> SweepInput:
        """A copy with other router scores (validated)."""
        return replace(self, router_score=router_score)


def _check_unit(arr: FloatArray, ids: Sequence[str], what: str, meaning: str) -> None:
    bad = ~(np.isfinite(arr) & (arr >= 0.0) & (arr <= 1.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        value = float(arr[i])
        problem = "is NaN" if math.isnan(value) else "is outside [0, 1]"
        raise CostEvalError(
            f"case {ids[i]!r}: {what} {value!r} {problem}. A {what} is {meaning}, a number "
            "in [0, 1]; fix the score function (or normalize its output)."
        )


# --------------------------------------------------------------------------- calibration


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


# --------------------------------------------------------------------------- curve metrics


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


# --------------------------------------------------------------------------- the engine


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
class _Routing:
    kind: Kind
    order: IntArray
    """Cases in the order they switch to the strong model as the threshold moves."""
    keys: FloatArray
    """The routing key (router score or confidence), sorted ascending."""
    values: FloatArray
    """The routing key per case."""
    routed_cost: FloatArray
    """What a case costs when it goes (or escalates) to the strong model."""

    def calls(self, thresholds: FloatArray) -> IntArray:
        n = self.keys.size
        left = np.searchsorted(self.keys, thresholds, side="left").astype(np.int64)
        # router: strong when score >= t; cascade: escalate when confidence < t.
        return (n - left) if self.kind == "router" else left

    def threshold_for_share(self, share: float) -> float:
        if self.kind == "router":
            return calibrate_threshold(self.values, share)
        if share >= 1.0:
            return float(np.nextafter(self.keys[-1], np.inf))
        if share <= 0.0:
            return float(self.keys[0])
        return float(np.quantile(self.values, share))


def _routing(inp: SweepInput, kind: Kind, key: FloatArray) -> _Routing:
    if kind == "router":
        order = np.argsort(-key, kind="stable").astype(np.int64)
        routed = inp.strong_cost
    else:
        order = np.argsort(key, kind="stable").astype(np.int64)
        routed = inp.weak_cost + inp.strong_cost
    return _Routing(kind=kind, order=order, keys=np.sort(key), values=key, routed_cost=routed)


def _points(
    routing: _Routing, thresholds: Sequence[float] | None, n_quantiles: int
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


def _estimates(inp: SweepInput, routing: _Routing, calls: IntArray) -> tuple[FloatArray, ...]:
    n = inp.n
    o = routing.order
    gain = (inp.strong_score - inp.weak_score)[o]
    cum_q = np.concatenate(([0.0], np.cumsum(gain)))
    cum_c = np.concatenate(([0.0], np.cumsum((routing.routed_cost - inp.weak_cost)[o])))
    quality = (float(inp.weak_score.sum()) + cum_q[calls]) / n
    cost = (float(inp.weak_cost.sum()) + cum_c[calls]) / n
    delta = (float((inp.weak_score - inp.baseline_score).sum()) + cum_q[calls]) / n
    return quality, cost, delta


def _category_members(inp: SweepInput) -> dict[str, IntArray]:
    """The cases of each category, by category name (sorted)."""
    names, codes = np.unique(np.array(inp.categories, dtype=str), return_inverse=True)
    codes = codes.ravel()
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(names.size + 1))
    return {
        str(name): order[bounds[c] : bounds[c + 1]].astype(np.int64) for c, name in enumerate(names)
    }


class _Bootstrap:
    """Bootstrap CIs of the mean delta at the points of a routing."""

    def __init__(
        self, inp: SweepInput, routing: _Routing, calls: IntArray, gate: GateSpec, seed: int
    ) -> None:
        self.inp = inp
        self.routing = routing
        self.calls = calls
        self.gate = gate
        self.seed = seed
        self.d_weak = inp.weak_score - inp.baseline_score
        self.d_strong = inp.strong_score - inp.baseline_score
        # Deltas equal to 12 decimals are one value (0.3 - 0.1 and 0.5 - 0.3 differ in
        # binary floating point): an error below 1e-12 in any mean.
        r_weak = np.round(self.d_weak, _DECIMALS)
        r_strong = np.round(self.d_strong, _DECIMALS)
        self.values = np.unique(np.concatenate((r_weak, r_strong)))
        self.grouped = self.values.size <= GROUPED_MAX_VALUES
        self.counts = np.zeros((0, 0), dtype=np.int64)
        if self.grouped:
            # counts[j, v]: cases whose delta is values[v] at point j. A case
            # contributes its weak delta until it switches to strong.
            o = routing.order
            code_w = np.searchsorted(self.values, r_weak)[o]
            code_s = np.searchsorted(self.values, r_strong)[o]
            m = self.values.size
            base = np.bincount(code_w, minlength=m).astype(np.int64)
            self.counts = np.empty((calls.size, m), dtype=np.int64)
            for v in range(m):
                entered = np.searchsorted(np.flatnonzero(code_s == v), calls)
                left = np.searchsorted(np.flatnonzero(code_w == v), calls)
                self.counts[:, v] = base[v] + entered - left

    @property
    def method(self) -> str:
        return "grouped" if self.grouped else "cases"

    def exact_deltas(self) -> FloatArray | None:
        """Mean deltas from value counts: free of cumulative rounding (None if not grouped)."""
        if not self.grouped:
            return None
        result: FloatArray = (self.counts * self.values).sum(axis=1) / self.inp.n
        return result

    def deltas(self, j: int) -> FloatArray:
        """The per-case deltas at point ``j``."""
        deltas = self.d_weak.copy()
        chosen = self.routing.order[: int(self.calls[j])]
        deltas[chosen] = self.d_strong[chosen]
        return deltas

    def ci(self, j: int, threshold: float) -> tuple[float, float]:
        """``(low, high)`` of point ``j``, seeded by its threshold."""
        seed = derive_seed(self.seed, self.routing.kind, repr(float(threshold)))
        gate = self.gate
        n = self.inp.n
        if not self.grouped:
            _, low, high = paired_bootstrap_ci(
                self.deltas(j), confidence=gate.confidence, resamples=gate.resamples, seed=seed
            )
            return low, high
        counts = self.counts[j]
        present = counts > 0
        values = self.values[present]
        if values.size == 1:  # every case has the same delta: no spread to resample
            return float(values[0]), float(values[0])
        rng = np.random.default_rng(seed)
        draws = rng.multinomial(n, counts[present] / n, size=gate.resamples)
        means = (draws * values).sum(axis=1) / n  # not `@`: see _dot in routers_trained
        alpha = 1.0 - gate.confidence
        low, high = np.quantile(means, [alpha / 2, 1.0 - alpha / 2])
        return float(low), float(high)


def _curve(inp: SweepInput, routing: _Routing, thresholds: Any, n_quantiles: int) -> Curve:
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

    Points as in :func:`sweep`: the quantiles of the router scores giving
    0, 1/n_quantiles, ..., 100 % strong calls, plus ``thresholds``, one point
    per distinct routing, by increasing strong share.
    """
    if inp.router_score is None:
        raise CostEvalError("sweep input has no router scores; give router_score per case.")
    return _curve(inp, _routing(inp, "router", inp.router_score), thresholds, n_quantiles)


# --------------------------------------------------------------------------- results


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


def _run(
    inp: SweepInput,
    routing: _Routing,
    *,
    thresholds: Sequence[float] | None,
    n_quantiles: int,
    gate: GateSpec,
    seed: int,
    max_ci_points: int,
    noise: float | None,
    errors: int,
) -> SweepResult:
    c = _curve(inp, routing, thresholds, n_quantiles)
    m = c.threshold.size
    n = inp.n
    boot = _Bootstrap(inp, routing, c.strong_calls, gate, seed)
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
        return judge(
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


def sweep(
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
        _routing(inp, "router", inp.router_score),
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
    :func:`sweep`; ``inp.router_score`` is not used.

    Raises:
        CostEvalError: a confidence that is NaN or outside [0, 1] (naming the
            case), or a confidence count different from the number of cases.
    """
    conf = _as_array(confidence, "confidence", inp.n)
    _check_unit(conf, inp.case_ids, "confidence", "how sure the weak model is of its answer")
    return _run(
        inp,
        _routing(inp, "cascade", conf),
        thresholds=thresholds,
        n_quantiles=n_quantiles,
        gate=gate,
        seed=seed,
        max_ci_points=max_ci_points,
        noise=noise,
        errors=errors,
    )
