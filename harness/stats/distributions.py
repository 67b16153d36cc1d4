"""The standard normal and Student's t distributions the statistical tests need, from scipy.

Thin, validated wrappers over :data:`scipy.stats.norm` and :data:`scipy.stats.t`
(scipy's Cephes/Boost code: accurate far into the tails and for huge degrees
of freedom). scipy is imported inside each function: this module sits under
``harness.config`` and so on the start-up path of the CLI, and ``scipy.stats``
costs about 0.6 s to import, paid only by the process that computes a gate.
"""

from __future__ import annotations

import math

__all__ = ["normal_cdf", "normal_ppf", "student_t_cdf"]


def normal_cdf(x: float) -> float:
    """The standard normal CDF, ``P(Z <= x)`` (:data:`scipy.stats.norm`)."""
    from scipy.stats import norm

    return float(norm.cdf(x))


def normal_ppf(p: float) -> float:
    """The standard normal quantile: the ``x`` with ``P(Z <= x) = p`` (:data:`scipy.stats.norm`).

    ``normal_ppf(0.95)`` is 1.6448536..., ``normal_ppf(0.975)`` 1.9599640...,
    ``normal_ppf(0.8)`` 0.8416212....

    Raises:
        ValueError: ``p`` is not strictly between 0 and 1 (NaN included); scipy
            would return an infinity or NaN instead.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"normal_ppf needs 0 < p < 1, got {p!r}.")
    from scipy.stats import norm

    return float(norm.ppf(p))


def student_t_cdf(x: float, df: float) -> float:
    """Student's t CDF, ``P(T <= x)`` with ``df`` degrees of freedom (:data:`scipy.stats.t`).

    ``df = 1`` is the Cauchy distribution; as ``df`` grows it tends to
    :func:`normal_cdf`.

    Raises:
        ValueError: ``df`` is not positive or ``x`` is NaN (scipy would return NaN).
    """
    if not df > 0.0:
        raise ValueError(f"df must be > 0, got {df!r}.")
    if math.isnan(x):
        raise ValueError("student_t_cdf got NaN.")
    from scipy.stats import t

    return float(t.cdf(x, df))
