"""Significance tests behind the gate's explanations.

The small exact or closed-form tools the gate uses to explain a verdict: the
exact McNemar test for paired binary scores, a one-sided t-test of "the mean
delta is below ``-margin``" for categories, Holm's correction over
categories, the minimum drop a suite can detect, and the flip rate of a
repeated judgement. ``docs/statistics.md`` describes how the gate combines
them. The distributions come from :mod:`harness.stats.distributions` and the
binomial tail of the McNemar test from :mod:`scipy.special`, imported inside
the function (this module is on the CLI's start-up path); not from
``scipy.stats`` and statsmodels, which cost about 1.3 s of CPU to import for
these few closed formulas (``tests/unit/test_stats_reference.py`` checks the
values are theirs). What is ours is the argument checking, the degenerate
cases and Holm's step-down (see :func:`holm` for why).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from harness.stats.bootstrap import Deltas, as_deltas
from harness.stats.distributions import normal_ppf, student_t_cdf

__all__ = [
    "DEFAULT_SD",
    "flip_rate",
    "holm",
    "is_binary",
    "mcnemar_exact",
    "min_detectable_drop",
    "one_sided_p_below",
]


def is_binary(scores: Sequence[float] | npt.NDArray[Any]) -> bool:
    """Whether every score is exactly 0 or 1 (correct/incorrect labels).

    An empty sequence is not binary: nothing shows the scores are labels.
    NaN is not 0 or 1, so scores holding one are not binary either.
    """
    arr = np.asarray(scores, dtype=np.float64)
    return bool(arr.size > 0 and ((arr == 0.0) | (arr == 1.0)).all())


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for paired binary scores (statsmodels' ``mcnemar``).

    Only discordant pairs carry information: ``b`` cases the baseline got right
    and the candidate wrong, ``c`` the reverse. Under the null hypothesis (no
    difference) each discordant pair is equally likely to go either way, so
    ``b ~ Binomial(b + c, 1/2)``; the p-value is twice the smaller tail,
    capped at 1: what :func:`statsmodels.stats.contingency_tables.mcnemar`
    with ``exact=True`` returns, without its 0.8 s import.

    Args:
        b: Baseline right, candidate wrong (the candidate's losses), >= 0.
        c: Baseline wrong, candidate right (the candidate's wins), >= 0.

    Returns:
        The p-value in [0, 1]; 1.0 when there is no discordant pair or ``b == c``
        (it underflows to 0.0 below about 1e-308, e.g. 3,000 losses and no win).

    Raises:
        ValueError: ``b`` or ``c`` is negative or not an integer.
    """
    for name, value in (("b", b), ("c", c)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ValueError(f"{name} must be a count (an int >= 0), got {value!r}.")
    n, k = int(b) + int(c), min(int(b), int(c))
    if n == 0:
        return 1.0
    # Lazy: scipy.special costs ~0.15 s to import, paid only when scores are binary.
    from scipy.special import betainc

    # P(X <= k) for X ~ Binomial(n, 1/2) is the regularized incomplete beta
    # I_{1/2}(n - k, k + 1): Boost's ibeta, on which scipy.stats.binom.cdf
    # (statsmodels' tail) rests too; they agree to 4e-15. Not
    # scipy.special.bdtr (Cephes), off by 6e-12 relative at 5,000 pairs and
    # 1e-9 at a million.
    return min(1.0, 2.0 * float(betainc(n - k, k + 1, 0.5)))


def one_sided_p_below(deltas: Deltas, margin: float) -> float:
    """p-value for "the mean delta is below ``-margin``" (a drop larger than the margin).

    A one-sample t-test of H0: mean >= -margin against H1: mean < -margin:
    ``t = (mean + margin) / (sd / sqrt(n))`` with the sample standard
    deviation (``ddof=1``) and ``p = P(T_{n-1} <= t)``. A small p says the
    drop is larger than ``margin`` beyond what sampling noise explains.

    Student's t rather than the normal approximation ``Phi(t)``: the gate runs
    this on categories of a dozen cases, where the normal tail is too thin.
    With binary scores, 5 categories of 12 cases, every case a coin flip for
    both configurations (A/A) and Holm at 5 %, the normal approximation flags
    some category in 6.7 % of runs, the t distribution in 3.8 %
    (``docs/statistics.md``). The two agree for large n.

    Degenerate cases are exact, not approximated:

    - all deltas equal (sd = 0, n >= 2): the mean is known without noise, so
      ``p = 0.0`` if it is below ``-margin``, else ``1.0``;
    - one delta: its noise cannot be estimated, so ``p = 1.0`` (one case never
      shows a significant drop);
    - no delta: ``p = 1.0``.

    Args:
        deltas: Per-case ``candidate - baseline`` score differences.
        margin: The drop tested against, >= 0.

    Raises:
        ValueError: ``margin`` is negative or NaN, or deltas are not finite.
    """
    arr = as_deltas(deltas)
    if not margin >= 0.0:
        raise ValueError(f"margin is a drop and must be >= 0, got {margin!r}.")
    n = arr.size
    if n < 2:
        return 1.0
    if bool((arr == arr[0]).all()):
        return 0.0 if float(arr[0]) < -margin else 1.0
    mean = float(arr.mean())
    sd = float(arr.std(ddof=1))
    return student_t_cdf((mean + margin) / (sd / math.sqrt(n)), n - 1)


def holm(pvalues: Mapping[str, float]) -> dict[str, float]:
    """Holm–Bonferroni adjusted p-values (step-down, family-wise error control).

    Sorting the m p-values ascending, the i-th smallest (i from 1) is adjusted
    to ``max over j <= i of min(1, (m - j + 1) * p_j)``. Rejecting every
    hypothesis whose adjusted p-value is below alpha keeps the chance of *any*
    false rejection at most alpha, under any dependence between the tests, and
    is uniformly more powerful than plain Bonferroni (``m * p``). Tied
    p-values get the same adjusted value, so the result does not depend on the
    mapping's order.

    Ours rather than :func:`statsmodels.stats.multitest.multipletests`
    (``method="holm"``), which gives the same values (a unit test checks it)
    but runs a full ``gc.collect()`` on every call (statsmodels 0.15): 45 ms
    in a bare interpreter, about 0.3 s inside this project's test session, once per gate with
    categories; the calibration tests call the gate thousands of times.

    Args:
        pvalues: ``{name: p}`` with every p in [0, 1].

    Returns:
        ``{name: adjusted p}``, in the same key order as ``pvalues``.

    Raises:
        ValueError: A p-value is NaN or outside [0, 1].
    """
    for name, p in pvalues.items():
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p-value of {name!r} must be in [0, 1], got {p!r}.")
    m = len(pvalues)
    ordered = sorted(pvalues, key=lambda name: (pvalues[name], name))
    adjusted: dict[str, float] = {}
    running = 0.0
    for i, name in enumerate(ordered):
        running = max(running, min(1.0, (m - i) * float(pvalues[name])))
        adjusted[name] = running
    return {name: adjusted[name] for name in pvalues}


DEFAULT_SD = math.sqrt(2 * 0.1 * 0.9)
"""The delta standard deviation :func:`min_detectable_drop` assumes when the observed one is 0.

It is ``sqrt(2 p (1 - p))`` at ``p = 0.1`` (about 0.424): the paired delta of
binary scores when the baseline and the candidate each miss an independent 10 %
of cases, i.e. 18 % of pairs discordant. An observed sd of 0 (all deltas equal,
typically identical outputs) says nothing about how much a changed candidate
would vary, so this conservative value keeps the detectable drop from
collapsing to 0. For continuous scores in [0, 1] it is on the large side too.
"""


def min_detectable_drop(
    n: int, sd: float, *, confidence: float = 0.95, power: float = 0.8
) -> float:
    """The smallest true drop a one-sided test at ``n`` cases detects with ``power``.

    ``(z_confidence + z_power) * sd / sqrt(n)`` with ``z_q`` the standard
    normal quantile: the textbook minimum detectable effect of a one-sided
    z-test at level ``1 - confidence``. For the gate it is the resolution of
    the suite: a candidate as good as the baseline passes a margin of at least
    this size with probability ``power``, and a true drop of ``margin + mdd``
    fails with probability ``power``. When it exceeds the margin the suite is
    too small to decide the margin reliably.

    The gate's pass rule, "lower bound of a two-sided ``c`` CI >= -margin", is
    a one-sided test at ``(1 + c) / 2``: pass ``confidence=0.975`` for a 95 %
    CI (z = 1.96).

    Args:
        n: Number of paired cases, >= 1.
        sd: Standard deviation of the per-case deltas, >= 0. 0 (all deltas
            equal, or unknown) is replaced by :data:`DEFAULT_SD`.
        confidence: One-sided confidence level of the test, in (0, 1).
        power: Probability of detecting the drop, in (0, 1).

    Raises:
        ValueError: An argument is out of range.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}.")
    if not sd >= 0.0 or math.isinf(sd):
        raise ValueError(f"sd must be a finite number >= 0, got {sd!r}.")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}.")
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must be in (0, 1), got {power!r}.")
    effective = sd if sd > 0.0 else DEFAULT_SD
    return (normal_ppf(confidence) + normal_ppf(power)) * effective / math.sqrt(int(n))


def flip_rate(
    first: Sequence[float] | npt.NDArray[Any], second: Sequence[float] | npt.NDArray[Any]
) -> float:
    """Share of cases whose repeated judgement differs: the judge's own noise.

    Score the same outputs twice (same judge, same inputs) and compare case by
    case. Multiplied by the score range (1 for scores in [0, 1]) it bounds the
    quality change that judge noise alone can produce; see ``GateInput.noise``.

    Args:
        first: The first judgement of each case.
        second: The second judgement, in the same order.

    Returns:
        The share of cases with ``first[i] != second[i]``, in [0, 1].

    Raises:
        ValueError: The sequences are empty, differ in length, are not
            one-dimensional or hold NaN.
    """
    a = np.asarray(first, dtype=np.float64)
    b = np.asarray(second, dtype=np.float64)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError("flip_rate needs two one-dimensional sequences of scores.")
    if a.size != b.size:
        raise ValueError(f"flip_rate needs one repeat per case: {a.size} scores but {b.size}.")
    if a.size == 0:
        raise ValueError("flip_rate needs at least one repeated judgement, got none.")
    if np.isnan(a).any() or np.isnan(b).any():
        raise ValueError("flip_rate scores contain NaN; exclude errored judgements first.")
    return float(np.count_nonzero(a != b)) / a.size
