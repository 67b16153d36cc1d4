"""Tests for harness.stats: bootstrap CIs, seeds, verdicts, category deltas, volumes."""

from __future__ import annotations

import numpy as np
import pytest

from harness.errors import ConfigError
from harness.stats import (
    category_deltas,
    derive_seed,
    non_inferiority_verdict,
    paired_bootstrap_ci,
    parse_volume,
)

# --- paired_bootstrap_ci ----------------------------------------------------------


def test_bootstrap_covers_true_mean_about_95_percent() -> None:
    true_mean = 0.3
    trials = 400
    covered = 0
    # Fixed seeds make the test deterministic. With 400 trials the coverage's
    # standard error is ~1.1 points, so some seed sets land outside the window
    # by chance (rng(0..399) gives 0.905, where even the exact t-interval
    # covers only 0.9225 of those samples); over 2,000 trials this CI covers 0.952.
    for trial in range(trials):
        data = np.random.default_rng(derive_seed("coverage-data", trial)).normal(
            true_mean, 1.0, size=100
        )
        _, low, high = paired_bootstrap_ci(data, seed=derive_seed("coverage-bootstrap", trial))
        covered += low <= true_mean <= high
    assert 0.92 <= covered / trials <= 0.98


def test_bootstrap_ci_brackets_the_mean_and_narrows_with_n() -> None:
    rng = np.random.default_rng(7)
    small = rng.normal(0.0, 1.0, size=50)
    large = rng.normal(0.0, 1.0, size=5000)
    mean, low, high = paired_bootstrap_ci(small, seed=1)
    assert mean == pytest.approx(float(small.mean()))
    assert low < mean < high
    _, low_l, high_l = paired_bootstrap_ci(large, seed=1)
    assert high_l - low_l < (high - low) / 5


def test_bootstrap_confidence_widens_the_interval() -> None:
    data = np.random.default_rng(3).normal(size=200)
    _, low90, high90 = paired_bootstrap_ci(data, confidence=0.90, seed=5)
    _, low99, high99 = paired_bootstrap_ci(data, confidence=0.99, seed=5)
    assert low99 < low90 < high90 < high99


def test_bootstrap_is_deterministic() -> None:
    data = list(np.random.default_rng(11).normal(size=300))
    first = paired_bootstrap_ci(data, seed=42)
    assert paired_bootstrap_ci(data, seed=42) == first  # bit-identical, not approx
    assert paired_bootstrap_ci(np.array(data), seed=42) == first
    assert paired_bootstrap_ci(data, seed=43) != first


def test_bootstrap_chunking_handles_large_n() -> None:
    data = np.random.default_rng(0).normal(0.01, 0.3, size=100_000)
    mean, low, high = paired_bootstrap_ci(data, resamples=200, seed=derive_seed("big"))
    assert low < mean < high
    # Standard error is 0.3 / sqrt(1e5) ~ 0.00095: a 95 % CI is about 0.0037 wide.
    assert 0.002 < high - low < 0.006


def test_bootstrap_empty_raises() -> None:
    with pytest.raises(ValueError, match="at least one delta"):
        paired_bootstrap_ci([], seed=1)


def test_bootstrap_single_value_is_degenerate() -> None:
    assert paired_bootstrap_ci([0.25], seed=1) == (0.25, 0.25, 0.25)


def test_bootstrap_equal_values_are_degenerate() -> None:
    assert paired_bootstrap_ci([0.1] * 7, seed=1) == (0.1, 0.1, 0.1)
    assert paired_bootstrap_ci(np.zeros(1000), seed=1) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"confidence": 1.0}, "confidence"),
        ({"confidence": 0.0}, "confidence"),
        ({"resamples": 0}, "resamples"),
    ],
)
def test_bootstrap_bad_arguments(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        paired_bootstrap_ci([0.0, 1.0], seed=1, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [[0.0, float("nan")], [[0.0, 1.0], [1.0, 0.0]]])
def test_bootstrap_rejects_nan_and_2d(bad: list[object]) -> None:
    with pytest.raises(ValueError):
        paired_bootstrap_ci(bad, seed=1)  # type: ignore[arg-type]


# --- derive_seed ------------------------------------------------------------------


def test_derive_seed_is_stable() -> None:
    # Pinned: a change here changes every stored CI, so it must be deliberate.
    assert derive_seed("faq", "route") == 14723102597692243078
    assert derive_seed("faq", "route") == derive_seed("faq", "route")


def test_derive_seed_separates_parts() -> None:
    seeds = {
        derive_seed("faq", "route"),
        derive_seed("route", "faq"),
        derive_seed("fa", "qroute"),
        derive_seed("faqroute"),
        derive_seed("1"),
        derive_seed(1),
        derive_seed(),
    }
    assert len(seeds) == 7


def test_derive_seed_is_a_valid_numpy_seed() -> None:
    seed = derive_seed("x", 3)
    assert 0 <= seed < 2**64
    np.random.default_rng(seed)


def test_derive_seed_rejects_other_types() -> None:
    with pytest.raises(TypeError):
        derive_seed(1.5)  # type: ignore[arg-type]


# --- non_inferiority_verdict ------------------------------------------------------


@pytest.mark.parametrize(
    ("ci_low", "ci_high", "verdict"),
    [
        (0.01, 0.05, "pass"),  # better than baseline
        (-0.01, 0.01, "pass"),  # within the margin
        (-0.02, 0.00, "pass"),  # lower bound exactly at -margin
        (-0.05, -0.03, "fail"),  # entirely worse than the margin
        (-0.05, -0.0201, "fail"),
        (-0.03, 0.01, "inconclusive"),  # straddles -margin
        (-0.03, -0.02, "inconclusive"),  # upper bound exactly at -margin
    ],
)
def test_verdict_table(ci_low: float, ci_high: float, verdict: str) -> None:
    assert non_inferiority_verdict(ci_low=ci_low, ci_high=ci_high, margin=0.02) == verdict


def test_verdict_zero_margin() -> None:
    assert non_inferiority_verdict(ci_low=0.0, ci_high=0.1, margin=0.0) == "pass"
    assert non_inferiority_verdict(ci_low=-0.001, ci_high=0.1, margin=0.0) == "inconclusive"


def test_verdict_rejects_negative_margin_and_nan() -> None:
    with pytest.raises(ValueError, match="margin"):
        non_inferiority_verdict(ci_low=0.0, ci_high=0.1, margin=-0.02)
    with pytest.raises(ValueError, match="NaN"):
        non_inferiority_verdict(ci_low=float("nan"), ci_high=0.1, margin=0.02)


# --- category_deltas --------------------------------------------------------------


def test_category_deltas() -> None:
    result = category_deltas(["math", "faq", "math", "faq", "code"], [0.0, 1.0, -1.0, 0.5, 0.25])
    assert result == {"code": (1, 0.25), "faq": (2, 0.75), "math": (2, -0.5)}
    assert list(result) == ["code", "faq", "math"]


def test_category_deltas_accepts_arrays_and_empty() -> None:
    assert category_deltas(["a"], np.array([0.5])) == {"a": (1, 0.5)}
    assert category_deltas([], []) == {}


def test_category_deltas_length_mismatch() -> None:
    with pytest.raises(ValueError, match="2 categories but 1 deltas"):
        category_deltas(["a", "b"], [0.1])


# --- parse_volume -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "per_month"),
    [
        ("1M/day", 30_000_000),
        ("100k/day", 3_000_000),
        ("250000/month", 250_000),
        ("5,000/hour", 5_000 * 24 * 30),
        ("1.5M/month", 1_500_000),
        ("2B/month", 2_000_000_000),
        ("7/week", 30),
        ("1m / days", 30_000_000),
        (" 10K per day ", 300_000),
        ("0/day", 0),
    ],
)
def test_parse_volume(text: str, per_month: float) -> None:
    assert parse_volume(text) == pytest.approx(per_month)


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "",
        "1000000",
        "1M",
        "1M/year",
        "1X/day",
        "-5/day",
        "5,00/day",
        "1M/day extra",
        "M/day",
    ],
)
def test_parse_volume_errors(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_volume(text)
    assert str(info.value) == (
        f"volume {text!r} is not understood. Write it as a number and a period, "
        "e.g. '1M/day' or '250000/month'."
    )


def test_parse_volume_non_string_is_config_error() -> None:
    with pytest.raises(ConfigError, match="volume 1000000 is not understood"):
        parse_volume(1000000)  # type: ignore[arg-type]
