"""Statistics a CI gate can trust: paired bootstrap CIs and non-inferiority verdicts.

Pure functions over numbers (numpy and :mod:`math` only, no I/O, no scipy).
Every random draw is seeded through :func:`derive_seed`, so the same results
give the same verdict on every machine and in every run order.

Besides the bootstrap, the module holds the small exact or closed-form tools
the gate uses to explain itself: the exact McNemar test for paired binary
scores, a one-sided test of "the mean delta is below ``-margin``" for
categories, Holm's correction over categories, the minimum drop a suite can
detect, and the flip rate of a repeated judgement. ``docs/statistics.md``
describes how the gate combines them.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from harness.errors import ConfigError

__all__ = [
    "DEFAULT_SD",
    "Deltas",
    "category_deltas",
    "deltas_by_category",
    "derive_seed",
    "flip_rate",
    "holm",
    "is_binary",
    "mcnemar_exact",
    "min_detectable_drop",
    "non_inferiority_verdict",
    "normal_cdf",
    "normal_ppf",
    "one_sided_p_below",
    "paired_bootstrap_ci",
    "parse_volume",
    "student_t_cdf",
]

# Resampled indices held in memory at once: 4M int64 = 32 MB (plus as many
# float64 for the gathered deltas), whatever n is. n=100k gives 40 resamples
# per chunk.
_CHUNK_ELEMENTS = 4_000_000

Deltas = Sequence[float] | npt.NDArray[Any]
"""Per-case ``candidate - baseline`` score differences: a sequence or a 1-D array."""


def _as_deltas(deltas: Deltas) -> npt.NDArray[np.float64]:
    arr = np.asarray(deltas, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"deltas must be one-dimensional, got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ValueError("deltas contain NaN or infinity; score errors must be excluded first.")
    return arr


def paired_bootstrap_ci(
    deltas: Deltas,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int,
) -> tuple[float, float, float]:
    """Mean of paired per-case deltas with a percentile bootstrap CI.

    Cases are resampled with replacement ``resamples`` times; the CI bounds are
    the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of the
    resampled means. Resampling runs in chunks so memory stays bounded for
    large suites.

    Args:
        deltas: One ``candidate - baseline`` score difference per case.
        confidence: Two-sided confidence level, in (0, 1).
        resamples: Number of bootstrap resamples.
        seed: Seed of the generator (see :func:`derive_seed`); the same deltas
            and seed always give bit-identical results.

    Returns:
        ``(mean, low, high)``. With one delta, or all deltas equal, the CI is
        degenerate: ``(d, d, d)``.

    Raises:
        ValueError: ``deltas`` is empty, not one-dimensional or not finite, or
            ``confidence``/``resamples`` is out of range.
    """
    arr = _as_deltas(deltas)
    n = arr.size
    if n == 0:
        raise ValueError("paired_bootstrap_ci needs at least one delta, got none.")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}.")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples!r}.")
    first = float(arr[0])
    # Every resample of equal values is that value: skip the draws, and return
    # it exactly rather than a mean with rounding error.
    if n == 1 or bool((arr == first).all()):
        return first, first, first

    rng = np.random.default_rng(seed)
    means = np.empty(resamples, dtype=np.float64)
    rows = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, resamples, rows):
        stop = min(start + rows, resamples)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = arr[idx].mean(axis=1)
    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2, 1.0 - alpha / 2])
    return float(arr.mean()), float(low), float(high)


def derive_seed(*parts: str | int) -> int:
    """A stable 64-bit seed from ``parts`` (e.g. suite and configuration names).

    The seed depends only on the parts, not on run order, process or
    ``PYTHONHASHSEED`` (unlike :func:`hash`), so a (suite, configuration) pair
    is resampled identically however the run is scheduled.

    Args:
        parts: Strings and ints; ``"1"`` and ``1`` give different seeds.

    Raises:
        TypeError: A part is neither a str nor an int.
    """
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, str):
            kind, text = "s", part
        elif isinstance(part, int):
            kind, text = "i", str(int(part))
        else:
            raise TypeError(f"derive_seed parts must be str or int, got {part!r}.")
        data = text.encode("utf-8")
        # Type and length prefixes: ("ab", "c") and ("a", "bc") must differ.
        digest.update(f"{kind}{len(data)}:".encode("ascii"))
        digest.update(data)
    return int.from_bytes(digest.digest()[:8], "big")


def non_inferiority_verdict(
    *, ci_low: float, ci_high: float, margin: float
) -> Literal["pass", "fail", "inconclusive"]:
    """Whether a candidate is no worse than the baseline by more than ``margin``.

    Non-inferiority asks whether the candidate's quality loss is smaller than an
    acceptable margin, not whether the two differ: it passes when even the
    pessimistic end of the CI of the mean delta stays above ``-margin``. It fails
    only when the whole CI lies below ``-margin``; a CI straddling ``-margin``
    means the data cannot decide (too few cases for that margin), which is
    reported as inconclusive rather than guessed.

    Args:
        ci_low: Lower bound of the CI of the mean delta (candidate - baseline).
        ci_high: Upper bound of that CI.
        margin: Largest acceptable quality drop, >= 0 (0.02 = two points).

    Returns:
        ``"pass"`` if ``ci_low >= -margin``, ``"fail"`` if ``ci_high < -margin``,
        else ``"inconclusive"``.

    Raises:
        ValueError: ``margin`` is negative or a value is NaN.
    """
    if np.isnan([ci_low, ci_high, margin]).any():
        raise ValueError(f"NaN in ci_low={ci_low!r}, ci_high={ci_high!r}, margin={margin!r}.")
    if margin < 0:
        raise ValueError(f"margin is a drop and must be >= 0, got {margin!r}.")
    if ci_low >= -margin:
        return "pass"
    if ci_high < -margin:
        return "fail"
    return "inconclusive"


def category_deltas(categories: Sequence[str], deltas: Deltas) -> dict[str, tuple[int, float]]:
    """Number of cases and mean delta per category.

    Args:
        categories: The category of each case.
        deltas: The delta of each case, in the same order.

    Returns:
        ``{category: (n, mean_delta)}`` with keys in sorted order.

    Raises:
        ValueError: The two sequences differ in length.
    """
    arr = _as_deltas(deltas)
    if len(categories) != arr.size:
        raise ValueError(
            f"{len(categories)} categories but {arr.size} deltas: need one category per delta."
        )
    groups: dict[str, list[int]] = {}
    for i, category in enumerate(categories):
        groups.setdefault(category, []).append(i)
    return {
        category: (len(groups[category]), float(arr[groups[category]].mean()))
        for category in sorted(groups)
    }


def deltas_by_category(
    categories: Sequence[str], deltas: Deltas
) -> dict[str, npt.NDArray[np.float64]]:
    """The per-case deltas of each category, for ``GateInput.category_deltas``.

    Args:
        categories: The category of each case.
        deltas: The delta of each case, in the same order.

    Returns:
        ``{category: deltas}`` with keys in sorted order and each category's
        deltas in case order.

    Raises:
        ValueError: The two sequences differ in length.
    """
    arr = _as_deltas(deltas)
    if len(categories) != arr.size:
        raise ValueError(
            f"{len(categories)} categories but {arr.size} deltas: need one category per delta."
        )
    labels = np.asarray(categories, dtype=object)
    return {category: arr[labels == category] for category in sorted(set(categories))}


# --------------------------------------------------------------------------- normal


# Acklam's rational approximation of the inverse normal CDF (relative error
# < 1.15e-9), refined below by one Halley step on math.erfc to full precision.
_ACKLAM_A = (
    -3.969683028665376e01,
    2.209460984245205e02,
    -2.759285104469687e02,
    1.383577518672690e02,
    -3.066479806614716e01,
    2.506628277459239e00,
)
_ACKLAM_B = (
    -5.447609879822406e01,
    1.615858368580409e02,
    -1.556989798598866e02,
    6.680131188771972e01,
    -1.328068155288572e01,
)
_ACKLAM_C = (
    -7.784894002430293e-03,
    -3.223964580411365e-01,
    -2.400758277161838e00,
    -2.549732539343734e00,
    4.374664141464968e00,
    2.938163982698783e00,
)
_ACKLAM_D = (
    7.784695709041462e-03,
    3.224671290700398e-01,
    2.445134137142996e00,
    3.754408661907416e00,
)
_ACKLAM_LOW = 0.02425


def normal_cdf(x: float) -> float:
    """The standard normal CDF, ``P(Z <= x)``, through :func:`math.erfc` (accurate in the tails)."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def normal_ppf(p: float) -> float:
    """The standard normal quantile: the ``x`` with ``P(Z <= x) = p``.

    Acklam's rational approximation followed by one Halley step against
    :func:`normal_cdf`, accurate to about 1e-15 relative: ``normal_ppf(0.95)``
    is 1.6448536..., ``normal_ppf(0.975)`` 1.9599640..., ``normal_ppf(0.8)``
    0.8416212....

    Raises:
        ValueError: ``p`` is not strictly between 0 and 1.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"normal_ppf needs 0 < p < 1, got {p!r}.")
    a, b, c, d = _ACKLAM_A, _ACKLAM_B, _ACKLAM_C, _ACKLAM_D
    if p < _ACKLAM_LOW:
        q = math.sqrt(-2.0 * math.log(p))
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0
        )
    elif p <= 1.0 - _ACKLAM_LOW:
        q = p - 0.5
        r = q * q
        x = (
            (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
            * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
        )
    else:
        q = math.sqrt(-2.0 * math.log1p(-p))
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0
        )
    # One Halley step: cubic convergence takes the 1e-9 start to machine precision.
    error = normal_cdf(x) - p
    u = error * math.sqrt(2.0 * math.pi) * math.exp(x * x / 2.0)
    return x - u / (1.0 + x * u / 2.0)


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        for aa in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-16:
            return h
    return h  # pragma: no cover - converges in O(sqrt(max(a, b))) steps


def _log_gamma_half_ratio(a: float) -> float:
    """``lgamma(a + 1/2) - lgamma(a)`` without the cancellation of two huge lgammas.

    Above a = 40 it subtracts the two Stirling series term by term (error
    below 1e-15); ``a * log1p(1 / (2a))`` keeps the leading terms exact.
    """
    if a <= 40.0:
        return math.lgamma(a + 0.5) - math.lgamma(a)
    h = a + 0.5
    return (
        0.5 * math.log(a)
        + a * math.log1p(0.5 / a)
        - 0.5
        + (1.0 / h - 1.0 / a) / 12.0
        - (1.0 / h**3 - 1.0 / a**3) / 360.0
        + (1.0 / h**5 - 1.0 / a**5) / 1260.0
    )


def student_t_cdf(x: float, df: float) -> float:
    """Student's t CDF, ``P(T <= x)`` with ``df`` degrees of freedom.

    Through the regularized incomplete beta function,
    ``P(|T| > |x|) = I_{df / (df + x^2)}(df / 2, 1 / 2)``, evaluated by its
    continued fraction, with the logarithms arranged so that a huge ``df``
    loses no precision: checked against mpmath, the relative error of the
    smaller tail is below 1e-10 up to ``df = 1e6`` and below 1e-8 up to 1e9.
    ``df = 1`` is the Cauchy distribution, ``0.5 + atan(x) / pi``; as ``df``
    grows it tends to :func:`normal_cdf`.

    Raises:
        ValueError: ``df`` is not positive or ``x`` is NaN.
    """
    if not df > 0.0:
        raise ValueError(f"df must be > 0, got {df!r}.")
    if math.isnan(x):
        raise ValueError("student_t_cdf got NaN.")
    if math.isinf(x):
        return 1.0 if x > 0 else 0.0
    if x == 0.0:
        return 0.5
    # P(|T| > |x|) = I_w(df / 2, 1 / 2) with w = df / (df + x^2); 1 - w and the
    # logs are computed directly so that huge df loses no precision.
    a, b = df / 2.0, 0.5
    w = df / (df + x * x)
    one_minus_w = x * x / (df + x * x)
    log_front = (
        _log_gamma_half_ratio(a)
        - math.lgamma(b)
        - a * math.log1p(x * x / df)
        + b * (2.0 * math.log(abs(x)) - math.log(df + x * x))
    )
    if w < (a + 1.0) / (a + b + 2.0):
        two_tailed = math.exp(log_front) * _beta_continued_fraction(a, b, w) / a
    else:
        two_tailed = 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, one_minus_w) / b
    tail = 0.5 * two_tailed
    return 1.0 - tail if x > 0 else tail


# --------------------------------------------------------------------------- tests


def is_binary(scores: Sequence[float] | npt.NDArray[Any]) -> bool:
    """Whether every score is exactly 0 or 1 (correct/incorrect labels).

    An empty sequence is not binary: nothing shows the scores are labels.
    NaN is not 0 or 1, so scores holding one are not binary either.
    """
    arr = np.asarray(scores, dtype=np.float64)
    return bool(arr.size > 0 and ((arr == 0.0) | (arr == 1.0)).all())


# Up to this many discordant pairs the tail is summed exactly in integers.
_MCNEMAR_EXACT_MAX = 1024


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for paired binary scores.

    Only discordant pairs carry information: ``b`` cases the baseline got right
    and the candidate wrong, ``c`` the reverse. Under the null hypothesis (no
    difference) each discordant pair is equally likely to go either way, so
    ``b ~ Binomial(b + c, 1/2)``; the p-value is twice the smaller tail,
    capped at 1. Up to 1,024 discordant pairs the tail is an exact integer sum
    of :func:`math.comb` terms; above, it is summed in log space with
    :func:`math.lgamma` (relative error ~1e-12).

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
    n = int(b) + int(c)
    k = min(int(b), int(c))
    if n == 0 or 2 * k == n:
        return 1.0
    if n <= _MCNEMAR_EXACT_MAX:
        tail = sum(math.comb(n, i) for i in range(k + 1))
        # 2 * tail / 2**n, as a correctly rounded ratio of integers.
        return min(1.0, tail / (1 << (n - 1)))
    # Terms grow with i up to n / 2 > k: sum from i = k down until they stop
    # mattering (e^-40 of the largest, far below double precision).
    log_norm = math.lgamma(n + 1) + n * math.log(0.5)
    top = log_norm - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    ratios = []
    for i in range(k, -1, -1):
        log_term = log_norm - math.lgamma(i + 1) - math.lgamma(n - i + 1)
        if log_term < top - 40.0:
            break
        ratios.append(math.exp(log_term - top))
    return min(1.0, 2.0 * math.exp(top) * math.fsum(ratios))


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
    arr = _as_deltas(deltas)
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
    is uniformly more powerful than plain Bonferroni (``m * p``). Ties are
    ordered by key, so the result does not depend on the mapping's order.

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


_DAYS_PER_MONTH = 30
_PER_MONTH = {
    "hour": 24 * _DAYS_PER_MONTH,
    "day": _DAYS_PER_MONTH,
    "week": _DAYS_PER_MONTH / 7,
    "month": 1,
}
_UNITS = {"": 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000}
_VOLUME = re.compile(
    r"""
    \s*(?P<number>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)
    \s*(?P<unit>[kmb])?
    \s*(?:/|\s+per\s+)\s*(?P<period>hour|day|week|month)s?\s*
    """,
    re.VERBOSE | re.IGNORECASE,
)


def parse_volume(text: str) -> float:
    """Queries per month from a volume such as ``"1M/day"`` or ``"250000/month"``.

    Args:
        text: A number with optional thousands separators and an optional unit
            (``k``, ``M``, ``B``), a slash (or ``per``) and a period (``hour``,
            ``day``, ``week``, ``month``). A month is 30 days.

    Returns:
        The volume in queries per month.

    Raises:
        ConfigError: ``text`` is not in that form.
    """
    match = _VOLUME.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(
            f"volume {text!r} is not understood. Write it as a number and a period, "
            "e.g. '1M/day' or '250000/month'."
        )
    number = float(match["number"].replace(",", ""))
    unit = _UNITS[(match["unit"] or "").lower()]
    return number * unit * _PER_MONTH[match["period"].lower()]
