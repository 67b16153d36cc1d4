"""Tests for harness.stats (bootstrap, distributions, significance) and harness.config.volume:
bootstrap CIs, seeds, verdicts, category deltas, volumes and the tests behind the gate (normal
and t distributions, McNemar, Holm, detectable drop)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.config.volume import parse_volume
from harness.errors import ConfigError
from harness.stats.bootstrap import (
    category_deltas,
    deltas_by_category,
    derive_seed,
    non_inferiority_verdict,
    paired_bootstrap_ci,
)
from harness.stats.distributions import normal_cdf, normal_ppf, student_t_cdf
from harness.stats.significance import (
    DEFAULT_SD,
    flip_rate,
    holm,
    is_binary,
    mcnemar_exact,
    min_detectable_drop,
    one_sided_p_below,
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


def test_deltas_by_category() -> None:
    result = deltas_by_category(["math", "faq", "math", "code"], [0.0, 1.0, -1.0, 0.25])
    assert list(result) == ["code", "faq", "math"]
    assert {k: v.tolist() for k, v in result.items()} == {
        "code": [0.25],
        "faq": [1.0],
        "math": [0.0, -1.0],
    }
    assert deltas_by_category([], []) == {}
    with pytest.raises(ValueError, match="2 categories but 1 deltas"):
        deltas_by_category(["a", "b"], [0.1])


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


# --- normal and t distributions ---------------------------------------------------


@pytest.mark.parametrize(
    ("p", "z"),
    [
        (0.5, 0.0),
        (0.8, 0.8416212335729143),
        (0.95, 1.6448536269514722),
        (0.975, 1.959963984540054),
        (0.995, 2.5758293035489004),
        (0.01, -2.3263478740408408),  # lower region of Acklam's approximation
        (1e-10, -6.361340902404056),
    ],
)
def test_normal_ppf_known_quantiles(p: float, z: float) -> None:
    assert normal_ppf(p) == pytest.approx(z, rel=1e-12, abs=1e-14)


def test_normal_ppf_inverts_the_cdf_across_the_range() -> None:
    for p in [1e-300, 1e-20, 1e-5, 0.02, 0.02425, 0.03, 0.3, 0.7, 0.97, 0.999, 1 - 1e-9]:
        assert normal_cdf(normal_ppf(p)) == pytest.approx(p, rel=1e-12)
    assert normal_ppf(0.3) == pytest.approx(-normal_ppf(0.7), rel=1e-14)


@pytest.mark.parametrize("p", [0.0, 1.0, -0.1, math.nan])
def test_normal_ppf_rejects_out_of_range(p: float) -> None:
    with pytest.raises(ValueError, match="0 < p < 1"):
        normal_ppf(p)


@pytest.mark.parametrize("x", [-40.0, -12.7, -1.8, -0.3, 0.0, 0.5, 2.2, 40.0])
def test_student_t_cdf_matches_closed_forms(x: float) -> None:
    # df = 1 is the Cauchy distribution; df = 2 has a closed form too.
    assert student_t_cdf(x, 1) == pytest.approx(0.5 + math.atan(x) / math.pi, abs=1e-14)
    assert student_t_cdf(x, 2) == pytest.approx(0.5 + x / (2 * math.sqrt(2 + x * x)), abs=1e-14)


def test_student_t_cdf_known_quantiles_and_normal_limit() -> None:
    assert student_t_cdf(-1.7958848187036696, 11) == pytest.approx(0.05, abs=1e-12)
    assert student_t_cdf(2.0422724563012373, 30) == pytest.approx(0.975, abs=1e-12)
    assert student_t_cdf(12.706204736174698, 1) == pytest.approx(0.975, abs=1e-12)
    assert student_t_cdf(1.6448536269514722, 1e9) == pytest.approx(0.95, abs=1e-8)
    assert student_t_cdf(math.inf, 3) == 1.0 and student_t_cdf(-math.inf, 3) == 0.0
    with pytest.raises(ValueError, match="df"):
        student_t_cdf(0.0, 0)


# --- is_binary ----------------------------------------------------------------------


def test_is_binary() -> None:
    assert is_binary([0, 1, 1.0, 0.0])
    assert is_binary(np.ones(5))
    assert not is_binary([0, 1, 0.5])
    assert not is_binary([0, 1, float("nan")])
    assert not is_binary([])


# --- mcnemar_exact ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        (0, 0, 1.0),
        (1, 0, 1.0),
        (3, 0, 0.25),
        (5, 0, 0.0625),
        (6, 0, 0.03125),
        (10, 2, 79 / 2048),  # 2 * (C(12,0) + C(12,1) + C(12,2)) / 2^12
        (2, 10, 79 / 2048),  # symmetric
        (5, 5, 1.0),
        (4, 5, 1.0),
    ],
)
def test_mcnemar_exact_small(b: int, c: int, p: float) -> None:
    assert mcnemar_exact(b, c) == p


def test_mcnemar_exact_large_n_agrees_with_integers() -> None:
    # Large counts against the tail summed exactly in integers.
    pairs = [(400, 600), (500, 520), (10, 990), (100, 900)]
    for b, c in pairs:
        n, k = b + c, min(b, c)
        exact = min(1.0, sum(math.comb(n, i) for i in range(k + 1)) / (1 << (n - 1)))
        assert mcnemar_exact(b, c) == pytest.approx(exact, rel=1e-10)


def test_mcnemar_exact_large_n_matches_the_normal_approximation() -> None:
    # 10,000 discordant pairs, z = 2 with continuity correction: 1.99 -> p = 0.0466.
    assert mcnemar_exact(4900, 5100) == pytest.approx(2 * normal_cdf(-1.99), rel=0.01)
    assert mcnemar_exact(0, 1000) == 2.0**-999  # exact in integers, no underflow yet
    assert mcnemar_exact(0, 3000) == 0.0  # 2^-2999 underflows


@pytest.mark.parametrize(("b", "c"), [(-1, 2), (1.5, 2), (True, 2), (2, "3")])
def test_mcnemar_exact_rejects_non_counts(b: object, c: object) -> None:
    with pytest.raises(ValueError, match="must be a count"):
        mcnemar_exact(b, c)  # type: ignore[arg-type]


# --- one_sided_p_below --------------------------------------------------------------


def test_one_sided_p_below_is_a_t_test() -> None:
    deltas = [-1.0] * 6 + [0.0] * 6
    mean, sd = -0.5, float(np.std(deltas, ddof=1))
    t = (mean + 0.05) / (sd / math.sqrt(12))
    assert one_sided_p_below(deltas, 0.05) == pytest.approx(student_t_cdf(t, 11), rel=1e-12)
    assert one_sided_p_below(deltas, 0.05) == pytest.approx(0.0062, abs=1e-4)
    assert one_sided_p_below([-1.0] + [0.0] * 11, 0.05) == pytest.approx(0.348, abs=1e-3)


def test_one_sided_p_below_moves_with_the_margin_and_the_evidence() -> None:
    rng = np.random.default_rng(1)
    drop = rng.normal(-0.1, 0.1, size=50)
    assert one_sided_p_below(drop, 0.0) < one_sided_p_below(drop, 0.05) < 0.5
    assert one_sided_p_below(drop, 0.15) > 0.5
    assert one_sided_p_below(drop[:10], 0.05) > one_sided_p_below(drop, 0.05)


def test_one_sided_p_below_degenerate_cases_are_exact() -> None:
    assert one_sided_p_below([-0.2] * 5, 0.05) == 0.0
    assert one_sided_p_below([-0.05] * 5, 0.05) == 1.0  # at the margin is not below it
    assert one_sided_p_below([0.0] * 5, 0.05) == 1.0
    assert one_sided_p_below([-1.0], 0.05) == 1.0  # one case: noise unknown
    assert one_sided_p_below([], 0.05) == 1.0


def test_one_sided_p_below_rejects_bad_margin() -> None:
    with pytest.raises(ValueError, match="margin"):
        one_sided_p_below([0.0, 1.0], -0.1)
    with pytest.raises(ValueError, match="margin"):
        one_sided_p_below([0.0, 1.0], math.nan)


# --- holm ---------------------------------------------------------------------------


def test_holm_known_example() -> None:
    adjusted = holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.5})
    assert adjusted == pytest.approx({"a": 0.04, "b": 0.09, "c": 0.09, "d": 0.5})
    assert list(adjusted) == ["a", "b", "c", "d"]  # input order kept


def test_holm_is_monotone_capped_and_at_least_raw() -> None:
    raw = {f"k{i}": p for i, p in enumerate(np.random.default_rng(4).random(20))}
    adjusted = holm(raw)
    ordered = sorted(raw, key=raw.__getitem__)
    values = [adjusted[k] for k in ordered]
    assert values == sorted(values)
    assert all(raw[k] <= adjusted[k] <= 1.0 for k in raw)
    assert adjusted[ordered[0]] == pytest.approx(min(1.0, 20 * raw[ordered[0]]))


def test_holm_matches_statsmodels_multipletests() -> None:
    # Ours is kept for speed (see holm's docstring); the values must be statsmodels'.
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(7)
    for size in (1, 2, 5, 20):
        raw = {f"k{i}": float(p) for i, p in enumerate(rng.random(size) ** 3)}
        _, expected, _, _ = multipletests(list(raw.values()), method="holm")
        assert list(holm(raw).values()) == pytest.approx(list(expected), rel=1e-12)


def test_holm_edge_cases() -> None:
    assert holm({}) == {}
    assert holm({"only": 0.03}) == {"only": 0.03}
    assert holm({"x": 0.02, "y": 0.02}) == {"x": 0.04, "y": 0.04}
    assert holm({"x": 0.0, "y": 1.0}) == {"x": 0.0, "y": 1.0}
    with pytest.raises(ValueError, match="'y'"):
        holm({"x": 0.1, "y": 1.5})
    with pytest.raises(ValueError, match="p-value"):
        holm({"x": math.nan})


# --- min_detectable_drop ------------------------------------------------------------


def test_min_detectable_drop_formula() -> None:
    assert min_detectable_drop(100, 0.3) == pytest.approx((1.6448536 + 0.8416212) * 0.03)
    assert min_detectable_drop(60, 0.3, confidence=0.975) == pytest.approx(
        (1.9599640 + 0.8416212) * 0.3 / math.sqrt(60)
    )
    # Four times the cases halve it; more power or confidence raises it.
    assert min_detectable_drop(240, 0.3) == pytest.approx(min_detectable_drop(60, 0.3) / 2)
    assert min_detectable_drop(60, 0.3, power=0.9) > min_detectable_drop(60, 0.3)
    assert min_detectable_drop(60, 0.3, confidence=0.99) > min_detectable_drop(60, 0.3)


def test_min_detectable_drop_uses_the_default_sd_for_zero() -> None:
    assert math.isclose(DEFAULT_SD, math.sqrt(0.18))
    assert min_detectable_drop(50, 0.0) == min_detectable_drop(50, DEFAULT_SD)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n": 0, "sd": 0.1},
        {"n": 2.5, "sd": 0.1},
        {"n": True, "sd": 0.1},
        {"n": 10, "sd": -0.1},
        {"n": 10, "sd": math.nan},
        {"n": 10, "sd": 0.1, "confidence": 1.0},
        {"n": 10, "sd": 0.1, "power": 0.0},
    ],
)
def test_min_detectable_drop_rejects_bad_arguments(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        min_detectable_drop(**kwargs)  # type: ignore[arg-type]


# --- flip_rate ----------------------------------------------------------------------


def test_flip_rate() -> None:
    assert flip_rate([1, 0, 1, 1], [1, 1, 1, 0]) == 0.5
    assert flip_rate(np.array([0.7, 0.2]), np.array([0.7, 0.2])) == 0.0
    assert flip_rate([3.0], [4.0]) == 1.0


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ([], [], "at least one"),
        ([1.0], [1.0, 0.0], "1 scores but 2"),
        ([1.0, math.nan], [1.0, 0.0], "NaN"),
        ([[1.0]], [[1.0]], "one-dimensional"),
    ],
)
def test_flip_rate_rejects_bad_input(first: list[float], second: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        flip_rate(first, second)
