"""Confidence intervals for a binomial proportion ``k / n``: exact (Clopper-Pearson) and Wilson.

Used for the rates of a cache (false, stale and wrong hits over hits). The
formulas are statsmodels' ``proportion_confint`` (``method="beta"`` and
``"wilson"``), evaluated without importing statsmodels (0.8 s with pandas and
``scipy.stats``, for two closed formulas):

- Clopper-Pearson: the bounds are beta quantiles, ``betaincinv(k, n - k + 1,
  alpha / 2)`` and ``betainccinv(k + 1, n - k, alpha / 2)`` from
  :mod:`scipy.special` (Boost's inverse incomplete beta: exactly what
  ``scipy.stats.beta.ppf`` and ``.isf`` return), imported inside the function
  because the engine and the cache analysis import this module whether or not
  they need an interval;
- Wilson: a closed form around the normal quantile
  (:func:`~harness.stats.distributions.normal_ppf`).

``tests/unit/test_stats_reference.py`` checks both against statsmodels over a
grid of ``k``, ``n`` and confidence levels. ``n = 0`` gives ``(0, 1)``: a rate
over no hits knows nothing.
"""

from __future__ import annotations

import math
from typing import Literal

from harness.stats.distributions import normal_ppf

__all__ = ["Interval", "binomial_interval", "clopper_pearson", "wilson_interval"]

Interval = Literal["exact", "wilson"]
"""An interval method: ``exact`` (Clopper-Pearson) or ``wilson``."""


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``k / n`` (``(0, 1)`` when n = 0)."""
    return _proportion_ci(k, n, confidence, "wilson")


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided interval for ``k / n`` (``(0, 1)`` when n = 0)."""
    return _proportion_ci(k, n, confidence, "exact")


def binomial_interval(
    k: int, n: int, confidence: float = 0.95, method: Interval = "exact"
) -> tuple[float, float]:
    """The interval of ``method``: ``exact`` (Clopper-Pearson) or ``wilson``."""
    if method == "exact":
        return clopper_pearson(k, n, confidence)
    if method == "wilson":
        return wilson_interval(k, n, confidence)
    raise ValueError(f"interval method must be 'exact' or 'wilson', got {method!r}.")


def _proportion_ci(k: int, n: int, confidence: float, method: Interval) -> tuple[float, float]:
    """The two-sided interval of ``method`` for ``k / n``, after the checks."""
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k!r}, n={n!r}.")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}.")
    if n == 0:
        return 0.0, 1.0
    k, n = int(k), int(n)
    # Each tail gets half the miss rate, computed as statsmodels does (same rounding).
    alpha = (1.0 - confidence) / 2.0
    if method == "exact":
        lower, upper = _clopper_pearson_bounds(k, n, alpha)
    else:
        lower, upper = _wilson_bounds(k, n, alpha)
    # The bounds can land a few ulps off 0 (k = 0) or 1 (k = n).
    low = 0.0 if k == 0 else max(0.0, lower)
    high = 1.0 if k == n else min(1.0, upper)
    return low, high


def _clopper_pearson_bounds(k: int, n: int, alpha: float) -> tuple[float, float]:
    """The beta quantiles of Clopper-Pearson for ``0 <= k <= n``, ``n >= 1``."""
    # Lazy: scipy.special costs ~0.15 s to import; a run without a cache never needs it.
    from scipy.special import betainccinv, betaincinv

    # The alpha-quantile of Beta(k, n - k + 1) and the upper alpha-quantile of
    # Beta(k + 1, n - k): scipy.stats.beta.ppf and .isf. The distributions are
    # undefined at k = 0 and k = n, where the bound is 0 and 1.
    lower = 0.0 if k == 0 else float(betaincinv(k, n - k + 1, alpha))
    upper = 1.0 if k == n else float(betainccinv(k + 1, n - k, alpha))
    return lower, upper


def _wilson_bounds(k: int, n: int, alpha: float) -> tuple[float, float]:
    """The Wilson score interval's bounds for ``0 <= k <= n``, ``n >= 1``."""
    crit = -normal_ppf(alpha)  # scipy.stats.norm.isf(alpha)
    crit2 = crit**2
    q = k / n
    denom = 1 + crit2 / n
    center = (q + crit2 / (2 * n)) / denom
    dist = crit * math.sqrt(q * (1.0 - q) / n + crit2 / (4.0 * n**2)) / denom
    return center - dist, center + dist
