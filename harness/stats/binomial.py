"""Confidence intervals for a binomial proportion ``k / n``: exact (Clopper-Pearson) and Wilson.

Used for the rates of a cache (false, stale and wrong hits over hits). Both
come from statsmodels' ``proportion_confint`` (``method="beta"``, the
Clopper-Pearson interval from the beta quantiles, and ``"wilson"``), imported
inside the function: this module is imported by the engine and the cache
analysis whether or not they need an interval. statsmodels rather than
``scipy.stats.binomtest(...).proportion_ci``, which gives the same bounds
(to 1e-12) but also computes a p-value nobody reads: 2-9 ms a call against
0.2-0.4 ms, on a cache sweep that asks for two intervals per threshold. What
stays here is the argument check and ``n = 0``, where a rate over no hits
knows nothing: ``(0, 1)``.
"""

from __future__ import annotations

from typing import Literal

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
    """``proportion_confint`` of ``method`` as two floats, after the checks."""
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k!r}, n={n!r}.")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}.")
    if n == 0:
        return 0.0, 1.0
    from statsmodels.stats.proportion import proportion_confint

    lower, upper = proportion_confint(
        int(k), int(n), alpha=1.0 - confidence, method="beta" if method == "exact" else "wilson"
    )
    # The bounds can land a few ulps off 0 (k = 0) or 1 (k = n).
    low = 0.0 if k == 0 else max(0.0, float(lower))
    high = 1.0 if k == n else min(1.0, float(upper))
    return low, high
