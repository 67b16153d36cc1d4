"""The standard normal and Student's t distributions the statistical tests need.

- The normal CDF is ``0.5 * erfc(-x / sqrt(2))`` from :func:`math.erfc`: as
  accurate as ``scipy.stats.norm.cdf`` (which is the same formula in Cephes'
  ``ndtr``) far into both tails. Not :meth:`statistics.NormalDist.cdf`, which
  computes ``0.5 * (1 + erf(...))`` and so returns 0.0 below about ``-8.3``.
- The normal quantile is :meth:`statistics.NormalDist.inv_cdf` (Wichura's
  AS241, accurate to double precision; the same values as
  ``scipy.stats.norm.ppf`` to about 1e-15).
- Student's t CDF is :func:`scipy.special.stdtr`, the function
  ``scipy.stats.t.cdf`` itself evaluates.

Not ``scipy.stats``: importing it costs about 0.5 s of CPU (it builds the
docstrings of every distribution), paid by the first gate decision of a
process for a few closed formulas. ``scipy.special`` costs about 0.15 s more
than numpy and is imported inside :func:`student_t_cdf`, because this module
sits under ``harness.config`` and so on the start-up path of the CLI.
``tests/unit/test_stats_reference.py`` checks every function here against
``scipy.stats`` over a grid of inputs.
"""

from __future__ import annotations

import math
from statistics import NormalDist

__all__ = ["normal_cdf", "normal_ppf", "student_t_cdf"]

_STANDARD_NORMAL = NormalDist()
# 1 / sqrt(2), multiplied rather than divided by sqrt(2), as Cephes' ndtr does.
_SQRT_HALF = math.sqrt(0.5)


def normal_cdf(x: float) -> float:
    """The standard normal CDF, ``P(Z <= x)``: ``0.5 * erfc(-x / sqrt(2))``.

    Accurate relative to the value in both tails (``normal_cdf(-30)`` is
    4.9e-198, not 0): the same values as ``scipy.stats.norm.cdf`` to about
    1e-13 relative. ``±inf`` give 1.0 and 0.0; NaN gives NaN.
    """
    return 0.5 * math.erfc(-x * _SQRT_HALF)


def normal_ppf(p: float) -> float:
    """The standard normal quantile: the ``x`` with ``P(Z <= x) = p``.

    :meth:`statistics.NormalDist.inv_cdf`. ``normal_ppf(0.95)`` is
    1.6448536..., ``normal_ppf(0.975)`` 1.9599640..., ``normal_ppf(0.8)``
    0.8416212....

    Raises:
        ValueError: ``p`` is not strictly between 0 and 1 (NaN included); the
            quantile would be an infinity or undefined.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"normal_ppf needs 0 < p < 1, got {p!r}.")
    return _STANDARD_NORMAL.inv_cdf(p)


def student_t_cdf(x: float, df: float) -> float:
    """Student's t CDF, ``P(T <= x)`` with ``df`` degrees of freedom (:func:`scipy.special.stdtr`).

    ``df = 1`` is the Cauchy distribution; as ``df`` grows it tends to
    :func:`normal_cdf` (``df = inf`` is the normal distribution). ``x = ±inf``
    gives 1.0 and 0.0.

    Raises:
        ValueError: ``df`` is not positive or ``x`` is NaN (scipy would return NaN).
    """
    if not df > 0.0:
        raise ValueError(f"df must be > 0, got {df!r}.")
    if math.isnan(x):
        raise ValueError("student_t_cdf got NaN.")
    # Lazy: scipy.special costs ~0.15 s to import, paid only by a process that runs a t-test.
    from scipy.special import stdtr

    return float(stdtr(df, x))
