"""Bootstrap CIs of the mean paired delta at the points of a router sweep.

Deltas at a point are ``strong - baseline`` for cases routed strong and
``weak - baseline`` for the others. When all those per-case values take at
most :data:`GROUPED_MAX_VALUES` distinct values (to 12 decimals; correctness
labels give 3, 1-10 judge scores 19), resampling n cases with replacement is
exactly a multinomial draw of how many times each *value* is drawn, so the
bootstrap runs on the value counts: the same estimator as
:func:`harness.stats.bootstrap.paired_bootstrap_ci`, about 0.5 ms a point instead of
0.35 s at 14,000 cases (a different random stream, so bounds differ from
that function's by Monte Carlo error only). Otherwise each point goes
through :func:`~harness.stats.bootstrap.paired_bootstrap_ci` itself.

Every point gets its own seed, ``derive_seed(seed, kind, repr(threshold))``.
Which points get a CI at all is the sweep's choice
(:mod:`harness.analysis.router_sweep`).
"""

from __future__ import annotations

import numpy as np

from harness.analysis.router_input import FloatArray, IntArray, SweepInput
from harness.analysis.router_points import Routing
from harness.stats.bootstrap import derive_seed, paired_bootstrap_ci
from harness.stats.gates import GateSpec

__all__ = ["GROUPED_MAX_VALUES", "PointBootstrap"]

GROUPED_MAX_VALUES = 32
"""At most this many distinct per-case deltas: bootstrap on value counts."""
_DECIMALS = 12
"""Deltas are grouped by their value rounded to this many decimals."""


class PointBootstrap:
    """Bootstrap CIs of the mean delta at the points of a routing."""

    def __init__(
        self, inp: SweepInput, routing: Routing, calls: IntArray, gate: GateSpec, seed: int
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
        """``grouped`` (bootstrap on value counts) or ``cases`` (paired_bootstrap_ci)."""
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
        means = (draws * values).sum(axis=1) / n  # not `@`: see _dot in strategies.trained_router
        alpha = 1.0 - gate.confidence
        low, high = np.quantile(means, [alpha / 2, 1.0 - alpha / 2])
        return float(low), float(high)
