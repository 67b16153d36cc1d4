"""harness.stats against scipy.stats and statsmodels, the independent reference.

The gate's distributions, the exact McNemar test, the one-sided t-test, the
detectable drop and the binomial intervals are computed from the standard
library and ``scipy.special`` so that a run never imports ``scipy.stats``
(0.5 s of CPU) or statsmodels (0.8 s). These tests hold them to the values
``scipy.stats`` and statsmodels give over grids of inputs that reach the edges
(no discordant pair, one case, rates near 0 and 1, one and a billion degrees of
freedom, tails down to 1e-300), and check in a fresh process that the gate
imports neither. statsmodels is in the ``dev`` extra for this alone.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import proportion_confint

from harness.stats.binomial import binomial_interval, clopper_pearson, wilson_interval
from harness.stats.distributions import normal_cdf, normal_ppf, student_t_cdf
from harness.stats.significance import mcnemar_exact, min_detectable_drop, one_sided_p_below

REL = 1e-12
"""Relative agreement required with the reference (they are the same formulas)."""

CONFIDENCES = [0.5, 0.8, 0.9, 0.95, 0.975, 0.99, 1 - 1e-6]


def test_normal_cdf_matches_scipy_into_both_tails() -> None:
    # Down to x = -37 (P = 5.7e-300): relative, not absolute, agreement in the lower tail.
    for x in np.concatenate([np.linspace(-37.0, 9.0, 4601), [-1e-300, 0.0, 1e-300, 40.0]]):
        assert normal_cdf(float(x)) == pytest.approx(float(stats.norm.cdf(x)), rel=REL, abs=0.0)
    assert normal_cdf(math.inf) == 1.0 and normal_cdf(-math.inf) == 0.0
    assert math.isnan(normal_cdf(math.nan))


def test_normal_ppf_matches_scipy_from_1e_300_to_1_minus_1e_16() -> None:
    ps = np.concatenate(
        [np.logspace(-300, -1, 600), np.linspace(0.01, 0.99, 981), 1 - np.logspace(-16, -1, 150)]
    )
    for p in ps:
        assert normal_ppf(float(p)) == pytest.approx(float(stats.norm.ppf(p)), rel=REL, abs=1e-15)


@pytest.mark.parametrize("df", [1, 2, 3, 4.5, 11, 30, 100, 1e3, 1e6, 1e9, 1e15, math.inf])
def test_student_t_cdf_matches_scipy(df: float) -> None:
    xs = np.concatenate([np.linspace(-50.0, 50.0, 1001), -np.logspace(-10, 3, 50)])
    for x in xs:
        assert student_t_cdf(float(x), df) == pytest.approx(
            float(stats.t.cdf(x, df)), rel=REL, abs=0.0
        )
    assert student_t_cdf(math.inf, df) == 1.0 and student_t_cdf(-math.inf, df) == 0.0


def _statsmodels_mcnemar(b: int, c: int) -> float:
    return min(1.0, float(mcnemar([[0, b], [c, 0]], exact=True).pvalue))


def test_mcnemar_exact_matches_statsmodels_on_every_small_table() -> None:
    # Every table up to 60 discordant pairs, b = c = 0 and b = c included.
    for b in range(61):
        for c in range(61):
            assert mcnemar_exact(b, c) == pytest.approx(
                _statsmodels_mcnemar(b, c), rel=REL, abs=0.0
            ), (b, c)


@pytest.mark.parametrize(
    ("b", "c"),
    [
        (0, 1000),  # 2^-999, no underflow yet
        (0, 3000),  # underflows to 0.0 in both
        (400, 600),
        (4900, 5100),
        (2500, 2500),
        (2499, 2501),
        (1666, 3334),
        (49_000, 51_000),
        (497_000, 503_000),  # a million pairs: where scipy.special.bdtr drifts by 1e-9
        (499_500, 500_500),
        (5_000_000, 5_000_000),
    ],
)
def test_mcnemar_exact_matches_statsmodels_on_large_tables(b: int, c: int) -> None:
    assert mcnemar_exact(b, c) == pytest.approx(_statsmodels_mcnemar(b, c), rel=REL, abs=0.0)
    assert mcnemar_exact(c, b) == mcnemar_exact(b, c)


def _interval_grid() -> list[tuple[int, int]]:
    small = [(k, n) for n in range(1, 41) for k in range(n + 1)]
    large = [
        (k, n)
        for n in (100, 999, 10_000, 1_000_000)
        for k in sorted({0, 1, 2, n // 100, n // 3, n // 2, n - 2, n - 1, n})
    ]
    return small + large


@pytest.mark.parametrize("confidence", CONFIDENCES)
def test_binomial_intervals_match_statsmodels(confidence: float) -> None:
    # n = 1, k = 0 and k = n, and rates near 0 and 1 (1 or n - 1 of a million).
    for k, n in _interval_grid():
        for ours, method in ((clopper_pearson, "beta"), (wilson_interval, "wilson")):
            low, high = ours(k, n, confidence)
            ref_low, ref_high = proportion_confint(k, n, alpha=1 - confidence, method=method)
            context = (method, k, n, confidence)
            assert low == pytest.approx(float(ref_low), rel=REL, abs=1e-15), context
            assert high == pytest.approx(float(ref_high), rel=REL, abs=1e-15), context
            assert 0.0 <= low <= k / n <= high <= 1.0, context
        assert binomial_interval(k, n, confidence, "exact") == clopper_pearson(k, n, confidence)
        assert binomial_interval(k, n, confidence, "wilson") == wilson_interval(k, n, confidence)


def test_clopper_pearson_is_the_beta_quantiles() -> None:
    # The textbook definition, through scipy.stats.beta rather than statsmodels.
    for k, n in [(1, 1), (3, 10), (2, 800), (999_999, 1_000_000)]:
        low, high = clopper_pearson(k, n, 0.95)
        assert low == pytest.approx(float(stats.beta.ppf(0.025, k, n - k + 1)), rel=REL)
        upper = stats.beta.isf(0.025, k + 1, n - k) if k < n else 1.0
        assert high == pytest.approx(float(upper), rel=REL)


def test_one_sided_p_below_matches_scipys_one_sample_t_test() -> None:
    rng = np.random.default_rng(18)
    for n in (2, 3, 5, 12, 60, 1000, 100_000):
        for margin in (0.0, 0.02, 0.05):
            for deltas in (
                rng.normal(-0.03, 0.2, size=n),
                rng.choice([-1.0, 0.0, 1.0], size=n, p=[0.2, 0.7, 0.1]),
            ):
                if bool((deltas == deltas[0]).all()):
                    continue  # sd = 0: ours is exact, scipy's is NaN
                ref = stats.ttest_1samp(deltas, -margin, alternative="less").pvalue
                assert one_sided_p_below(deltas, margin) == pytest.approx(
                    float(ref), rel=1e-10, abs=1e-300
                ), (n, margin)


def test_min_detectable_drop_matches_scipys_normal_quantiles() -> None:
    for n in (1, 12, 60, 1000, 10**6):
        for sd in (0.035, 0.1, 0.424):
            for confidence in (0.9, 0.95, 0.975):
                for power in (0.5, 0.8, 0.9, 0.99):
                    z = stats.norm.ppf(confidence) + stats.norm.ppf(power)
                    ref = float(z * sd / math.sqrt(n))
                    got = min_detectable_drop(n, sd, confidence=confidence, power=power)
                    assert got == pytest.approx(ref, rel=REL)


def test_a_gate_decision_imports_neither_scipy_stats_nor_statsmodels() -> None:
    # A fresh process, as a user's `pytest --cost-eval` run: the first gate
    # decision on binary scores with categories, and a cache rate interval.
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        from harness.stats.binomial import clopper_pearson, wilson_interval
        from harness.stats.gates import GateInput, GateSpec, decide

        deltas = np.array([-1.0] * 6 + [0.0] * 50 + [1.0] * 4)
        result = decide(
            GateSpec(),
            GateInput(
                n=60, errors=0, delta=float(deltas.mean()), ci_low=-0.1, ci_high=0.05,
                deltas=deltas,
                category_deltas={"a": deltas[:30], "b": deltas[30:]},
                cost_ratio=0.5, binary=True,
            ),
        )
        assert result.p_value is not None and 0 < result.p_value < 1, result
        clopper_pearson(3, 10)
        wilson_interval(3, 10)
        heavy = ("scipy.stats", "statsmodels", "pandas")
        print(sorted({"scipy.stats" if m.startswith("scipy.stats") else m.split(".")[0]
                      for m in sys.modules if m.startswith(heavy)}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
