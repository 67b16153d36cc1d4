"""Paired bootstrap CIs and non-inferiority verdicts: the statistics a CI gate can trust.

Pure functions over numbers (numpy and :mod:`hashlib` only, no I/O, no scipy).
Every random draw is seeded through :func:`derive_seed`, so the same results
give the same verdict on every machine and in every run order. The tests the
gate uses to explain itself live in :mod:`harness.stats.significance`, the
distributions they rest on in :mod:`harness.stats.distributions`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_SEED",
    "Deltas",
    "as_deltas",
    "category_deltas",
    "deltas_by_category",
    "derive_seed",
    "non_inferiority_verdict",
    "paired_bootstrap_ci",
]

DEFAULT_SEED = 20261126
"""The bootstrap seed of a run when the settings name none (``[tool.cost-eval] seed``)."""

# Resampled indices held in memory at once: 4M int64 = 32 MB (plus as many
# float64 for the gathered deltas), whatever n is. n=100k gives 40 resamples
# per chunk.
_CHUNK_ELEMENTS = 4_000_000

Deltas = Sequence[float] | npt.NDArray[Any]
"""Per-case ``candidate - baseline`` score differences: a sequence or a 1-D array."""


def as_deltas(deltas: Deltas) -> npt.NDArray[np.float64]:
    """``deltas`` as a 1-D float64 array, checked.

    Raises:
        ValueError: ``deltas`` is not one-dimensional or holds NaN or infinity.
    """
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
    arr = as_deltas(deltas)
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
    return {
        category: (int(members.size), float(members.mean()))
        for category, members in deltas_by_category(categories, deltas).items()
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
    arr = as_deltas(deltas)
    if len(categories) != arr.size:
        raise ValueError(
            f"{len(categories)} categories but {arr.size} deltas: need one category per delta."
        )
    labels = np.asarray(categories, dtype=object)
    return {category: arr[labels == category] for category in sorted(set(categories))}
