"""Confidence intervals for a binomial proportion ``k / n``: exact (Clopper-Pearson) and Wilson.

Used for the rates of a cache (false, stale and wrong hits over hits). The
exact interval needs no scipy: it bisects the binomial tails, computed in log
space. The Wilson interval's normal quantile is
:func:`harness.stats.distributions.normal_ppf`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from typing import Literal

import numpy as np
import numpy.typing as npt

from harness.stats.distributions import normal_ppf

__all__ = ["Interval", "binomial_interval", "clopper_pearson", "wilson_interval"]

Interval = Literal["exact", "wilson"]
"""An interval method: ``exact`` (Clopper-Pearson) or ``wilson``."""


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``k / n`` (``(0, 1)`` when n = 0)."""
    _check_counts(k, n, confidence)
    if n == 0:
        return 0.0, 1.0
    z = normal_ppf(0.5 + confidence / 2)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At k = 0 (k = n) the lower (upper) bound is exactly 0 (1); computed as
    # centre -/+ half it can land a few ulps off.
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided interval for ``k / n`` (``(0, 1)`` when n = 0).

    Found by bisection on the binomial tail probabilities, computed in log space
    with :func:`math.lgamma`, so it needs no scipy and is exact to 1e-12.
    """
    _check_counts(k, n, confidence)
    if n == 0:
        return 0.0, 1.0
    alpha = 1.0 - confidence
    low = 0.0 if k == 0 else _bisect(lambda p: _binom_sf(k, n, p) - alpha / 2)
    high = 1.0 if k == n else _bisect(lambda p: alpha / 2 - _binom_cdf(k, n, p))
    return low, high


def binomial_interval(
    k: int, n: int, confidence: float = 0.95, method: Interval = "exact"
) -> tuple[float, float]:
    """The interval of ``method``: ``exact`` (Clopper-Pearson) or ``wilson``."""
    if method == "exact":
        return clopper_pearson(k, n, confidence)
    if method == "wilson":
        return wilson_interval(k, n, confidence)
    raise ValueError(f"interval method must be 'exact' or 'wilson', got {method!r}.")


def _check_counts(k: int, n: int, confidence: float) -> None:
    """Raise ValueError unless ``0 <= k <= n`` and ``0 < confidence < 1``."""
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k!r}, n={n!r}.")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}.")


@cache
def _log_factorials(n: int) -> npt.NDArray[np.float64]:
    """``log(i!)`` for i = 0..n, as a cumulative sum of logs."""
    out = np.zeros(n + 1, dtype=np.float64)
    out[1:] = np.cumsum(np.log(np.arange(1, n + 1, dtype=np.float64)))
    return out


def _log_pmf(i: npt.NDArray[np.float64], n: int, p: float) -> npt.NDArray[np.float64]:
    """``log P(X = i)`` for X ~ Binomial(n, p), elementwise over ``i``."""
    lf = _log_factorials(n)
    k = i.astype(np.int64)
    return np.asarray(
        lf[n] - lf[k] - lf[n - k] + i * math.log(p) + (n - i) * math.log1p(-p), dtype=np.float64
    )


def _binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), 0 < p < 1."""
    return float(np.exp(_log_pmf(np.arange(0, k + 1, dtype=np.float64), n, p)).sum())


def _binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), 0 < p < 1."""
    return float(np.exp(_log_pmf(np.arange(k, n + 1, dtype=np.float64), n, p)).sum())


def _bisect(f: Callable[[float], float]) -> float:
    """The root in (0, 1) of an increasing ``f``."""
    lo, hi = 1e-15, 1.0 - 1e-15
    for _ in range(100):
        mid = (lo + hi) / 2
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-13:
            break
    return (lo + hi) / 2
