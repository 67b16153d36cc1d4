"""Calibration of the gate, proven by simulation with fixed seeds.

Every scenario runs the gate exactly as ``pipeline.summarize`` does: the
paired bootstrap CI (:data:`SPEC`'s 2,000 resamples, seeded per trial with
:func:`derive_seed`), then :func:`decide` with the per-case deltas, the
per-category deltas and the binary flag. Only the data are simulated. The
suite sizes and category layouts are the example suites' (``suites/*.yaml``):

==========  ===  ==================
suite        n   categories
==========  ===  ==================
docs_qa      30  15, 15
support      50  25, 25
arithmetic   60  12, 12, 12, 12, 12
faq          60  20, 12, 20, 8
==========  ===  ==================

The gate is :data:`SPEC`, the shipped defaults: margin 0.02, 95 % confidence,
category limit 0.05. ``docs/statistics.md`` lists the measured rates; run
``python tests/unit/test_calibration.py`` for them with 4,000 trials per
scenario (the tests use 400 to stay fast).
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt
import pytest

from harness.stats.bootstrap import Deltas, derive_seed, paired_bootstrap_ci
from harness.stats.distributions import normal_cdf
from harness.stats.gates import GateInput, GateResult, GateSpec, decide
from harness.stats.significance import min_detectable_drop, one_sided_p_below

Matrix = npt.NDArray[np.float64]

SPEC = GateSpec()
MARGIN = SPEC.max_quality_drop
TRIALS = 400

LAYOUTS: dict[str, tuple[int, ...]] = {
    "docs_qa": (15, 15),
    "support": (25, 25),
    "arithmetic": (12, 12, 12, 12, 12),
    "faq": (20, 12, 20, 8),
}

CONTINUOUS_NOISE = 0.025
"""Sd of the score noise each side adds in the continuous scenarios (2.5 points)."""


def labels(layout: str) -> npt.NDArray[np.str_]:
    sizes = LAYOUTS[layout]
    return np.repeat([f"c{i}" for i in range(len(sizes))], sizes)


def gate(
    deltas: Matrix,
    cats: npt.NDArray[np.str_],
    *,
    binary: bool,
    seed: int,
    noise: float | None = None,
) -> GateResult:
    """The gate on one trial, exactly as ``pipeline.summarize`` runs it."""
    mean, low, high = paired_bootstrap_ci(
        deltas, confidence=SPEC.confidence, resamples=SPEC.resamples, seed=seed
    )
    return decide(
        SPEC,
        GateInput(
            n=deltas.size,
            errors=0,
            delta=mean,
            ci_low=low,
            ci_high=high,
            deltas=deltas,
            category_deltas={c: deltas[cats == c] for c in sorted(set(cats.tolist()))},
            cost_ratio=None,
            binary=binary,
            noise=noise,
        ),
    )


def run(
    name: str, deltas: Matrix, cats: npt.NDArray[np.str_], *, binary: bool
) -> tuple[list[GateResult], dict[str, float]]:
    """The gate on every row of ``deltas``; returns the results and the share of each verdict."""
    results = [
        gate(row, cats, binary=binary, seed=derive_seed("calibration-bootstrap", name, i))
        for i, row in enumerate(deltas)
    ]
    counts = Counter(r.verdict for r in results)
    shares = {v: counts[v] / len(results) for v in ("pass", "fail", "inconclusive")}
    shares["category"] = sum(1 for r in results if r.failed_categories) / len(results)
    return results, shares


# --------------------------------------------------------------------------- scenarios
# Each takes a generator, the number of trials and n and returns (deltas, binary):
# one row of per-case candidate - baseline deltas per trial.


def identical_binary(rng: np.random.Generator, trials: int, n: int) -> tuple[Matrix, bool]:
    """A/A, no noise: the candidate's outputs are the baseline's (80 % correct)."""
    base = (rng.random((trials, n)) < 0.8).astype(np.float64)
    return base - base.copy(), True


def identical_continuous(rng: np.random.Generator, trials: int, n: int) -> tuple[Matrix, bool]:
    """A/A, no noise: continuous scores, identical on both sides."""
    base = rng.random((trials, n))
    return base - base.copy(), False


def aa_binary(rng: np.random.Generator, trials: int, n: int) -> tuple[Matrix, bool]:
    """A/A with sampling noise: case i is right with probability p_i ~ U(0, 1), drawn
    independently for the baseline and the candidate (a third of pairs discordant)."""
    p = rng.random((trials, n))
    base = (rng.random((trials, n)) < p).astype(np.float64)
    cand = (rng.random((trials, n)) < p).astype(np.float64)
    return cand - base, True


def aa_binary_coin(rng: np.random.Generator, trials: int, n: int) -> tuple[Matrix, bool]:
    """Worst-case A/A: every case is a fair coin flip on both sides (half the pairs discordant)."""
    base = (rng.random((trials, n)) < 0.5).astype(np.float64)
    cand = (rng.random((trials, n)) < 0.5).astype(np.float64)
    return cand - base, True


def continuous(shift: float, sd: float = CONTINUOUS_NOISE) -> Callable[..., tuple[Matrix, bool]]:
    """True quality q_i ~ U(0.3, 1); each side scores q_i + N(0, sd); the candidate also
    loses ``shift``. The delta is ``-shift`` plus N(0, sd * sqrt(2)) noise."""

    def scenario(rng: np.random.Generator, trials: int, n: int) -> tuple[Matrix, bool]:
        quality = rng.uniform(0.3, 1.0, size=(trials, n))
        base = quality + rng.normal(0.0, sd, size=(trials, n))
        cand = quality - shift + rng.normal(0.0, sd, size=(trials, n))
        return cand - base, False

    return scenario


def planted_binary(rng: np.random.Generator, trials: int, n: int) -> tuple[Matrix, bool]:
    """Planted drop of 2x the margin: the baseline is right on 80 % of the cases (at random
    positions); each case it gets right turns wrong in the candidate with probability
    0.05, an expected drop of 0.8 * 0.05 = 0.04. No other difference."""
    correct = round(0.8 * n)
    base = np.zeros((trials, n))
    for row in base:
        row[rng.choice(n, size=correct, replace=False)] = 1.0
    turned = (base == 1.0) & (rng.random((trials, n)) < 0.05)
    return np.where(turned, 0.0, base) - base, True


def simulate(
    scenario: Callable[..., tuple[Matrix, bool]],
    layout: str,
    *,
    trials: int = TRIALS,
    tag: str = "",
) -> tuple[list[GateResult], dict[str, float], Matrix]:
    name = f"{scenario.__name__}{tag}/{layout}"
    cats = labels(layout)
    rng = np.random.default_rng(derive_seed("calibration-data", name))
    deltas, binary = scenario(rng, trials, cats.size)
    results, shares = run(name, deltas, cats, binary=binary)
    return results, shares, deltas


# --------------------------------------------------------------------------- A/A


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("scenario", [identical_binary, identical_continuous])
def test_aa_identical_outputs_always_pass(
    scenario: Callable[..., tuple[Matrix, bool]], layout: str
) -> None:
    """A configuration compared with itself, outputs identical: 100 % pass, no reason."""
    results, shares, _ = simulate(scenario, layout, trials=100)
    assert shares["pass"] == 1.0
    assert all(r.reasons == () and r.failed_categories == frozenset() for r in results)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_aa_binary_sampling_noise_fails_at_most_5_percent(layout: str) -> None:
    """A/A with sampling noise at the example suites' sizes (n = 30, 50, 60): each case's
    baseline and candidate scores are independent Bernoulli(p_i) draws with p_i ~ U(0, 1)
    (see :func:`aa_binary`). Any fail (overall quality or a category) is a false alarm;
    at most 5 % of runs may fail. Measured at 400 trials: docs_qa 2.75 %, support 2.5 %,
    arithmetic 2.5 %, faq 2.75 % (at 4,000 trials: 4.0, 2.5, 2.1, 2.1 %)."""
    _, shares, _ = simulate(aa_binary, layout)
    assert shares["fail"] <= 0.05, shares


def test_aa_continuous_noise_passes_at_least_95_percent() -> None:
    """A/A where n is large enough for the margin: faq's layout (n = 60), continuous scores,
    each side adding N(0, 0.025) noise to a shared true quality (:func:`continuous` with no
    shift), so the delta sd is 0.025 * sqrt(2) = 0.035. The minimum detectable drop at
    95 % power is 0.0165 < the 0.02 margin, so at least 95 % of runs must pass
    (theory: Phi(0.02 / se - 1.96) = 99.2 %); none may fail."""
    results, shares, deltas = simulate(continuous(0.0), "faq", tag="-aa")
    sd = CONTINUOUS_NOISE * math.sqrt(2)
    n = deltas.shape[1]
    mdd95 = min_detectable_drop(n, sd, confidence=0.975, power=0.95)
    assert mdd95 == pytest.approx(0.0165, abs=5e-4) and mdd95 < MARGIN
    assert shares["pass"] >= 0.95, shares
    assert shares["fail"] == 0.0
    # The reported detectable drop uses the observed sd: close to the design value.
    mdd80 = min_detectable_drop(n, sd, confidence=0.975, power=0.8)
    observed = np.array([r.min_detectable_drop for r in results])
    assert abs(float(observed.mean()) - mdd80) < 0.001


# --------------------------------------------------------------------------- planted drops


def test_planted_binary_drop_is_caught_80_percent() -> None:
    """Planted drop of 2x the margin (0.04) at n = 60 (arithmetic's layout), binary scores,
    no other noise (:func:`planted_binary`): 80 % of cases right, each right case turned
    wrong with probability 0.05. The gate must not pass at least 80 % of the time
    (theory: it passes only when no case turned, 0.95^48 = 8.5 %)."""
    results, shares, deltas = simulate(planted_binary, "arithmetic")
    assert float(deltas.mean()) == pytest.approx(-0.04, abs=0.003)
    assert 1.0 - shares["pass"] >= 0.80, shares
    assert all(r.test == "mcnemar" and r.p_value is not None for r in results)
    # It passes exactly when nothing changed.
    unchanged = (deltas == 0).all(axis=1)
    assert [r.verdict == "pass" for r in results] == unchanged.tolist()


def test_planted_continuous_drop_is_caught_and_fails() -> None:
    """Planted drop of 2x the margin at n = 60 (faq's layout), continuous scores: the A/A
    scenario above with the candidate shifted down 0.04. At least 80 % of runs must not pass
    (theory: Phi(0.02 / se + 1.96), about 100 %), and since the detectable drop is below the
    margin at least 80 % fail outright (theory: Phi(0.02 / se - 1.96) = 99.2 %, the A/A
    pass rate mirrored)."""
    _, shares, deltas = simulate(continuous(0.04), "faq", tag="-drop")
    assert float(deltas.mean()) == pytest.approx(-0.04, abs=0.001)
    assert 1.0 - shares["pass"] >= 0.80, shares
    assert shares["fail"] >= 0.80, shares


# --------------------------------------------------------------------------- determinism


def test_same_inputs_and_seed_give_bit_identical_results() -> None:
    first_results, first_shares, first_deltas = simulate(aa_binary, "faq", trials=50)
    again_results, again_shares, again_deltas = simulate(aa_binary, "faq", trials=50)
    assert np.array_equal(first_deltas, again_deltas)
    assert first_results == again_results  # every field, floats compared exactly
    assert first_shares == again_shares
    cats = labels("faq")
    row = first_deltas[7]
    one = gate(row, cats, binary=True, seed=derive_seed("x", 1))
    assert gate(row.copy(), cats, binary=True, seed=derive_seed("x", 1)) == one
    assert paired_bootstrap_ci(row, seed=5) == paired_bootstrap_ci(row.tolist(), seed=5)


# --------------------------------------------------------------------------- categories


def arithmetic_with(flipped: int, *, noise: float | None = None) -> GateResult:
    """arithmetic's layout (5 x 12 cases, binary), identical except ``flipped`` cases of
    category c4 that the baseline got right and the candidate got wrong."""
    cats = labels("arithmetic")
    deltas = np.zeros(cats.size)
    deltas[np.flatnonzero(cats == "c4")[:flipped]] = -1.0
    return gate(deltas, cats, binary=True, seed=derive_seed("holm", flipped), noise=noise)


def test_category_with_one_flipped_case_of_12_is_not_flagged() -> None:
    result = arithmetic_with(1)
    assert result.failed_categories == frozenset()
    assert result.category_p_values["c4"] > 0.3
    assert result.verdict != "fail"


def test_category_with_4_of_12_flipped_is_saved_by_holm() -> None:
    """Significant alone (t-test p = 0.036 < 0.05), not after Holm over 5 categories."""
    result = arithmetic_with(4)
    assert result.category_p_values["c4"] == pytest.approx(5 * 0.0358, abs=0.005)
    assert result.failed_categories == frozenset()


def test_category_with_6_of_12_flipped_is_flagged() -> None:
    result = arithmetic_with(6)
    assert result.failed_categories == frozenset({"c4"})
    assert result.category_p_values["c4"] < 0.05
    assert result.verdict == "fail"
    assert any(r.startswith("category 'c4' fell 50.0 points (n = 12") for r in result.reasons)


def test_category_drop_within_judge_noise_is_not_flagged() -> None:
    result = arithmetic_with(6, noise=0.6)
    assert result.failed_categories == frozenset()
    assert result.verdict == "inconclusive"
    assert any("judge noise" in r for r in result.reasons)


# --------------------------------------------------------------------------- report


def _table(rows: Mapping[str, Mapping[str, float]]) -> str:
    lines = [
        "| scenario | pass | inconclusive | fail | category flagged |",
        "|---|---|---|---|---|",
    ]
    for name, s in rows.items():
        lines.append(
            f"| {name} | {s['pass']:.1%} | {s['inconclusive']:.1%} | {s['fail']:.1%} "
            f"| {s['category']:.1%} |"
        )
    return "\n".join(lines)


def main(trials: int) -> None:  # pragma: no cover - documentation helper
    """Print the calibration tables of docs/statistics.md."""
    rows: dict[str, dict[str, float]] = {}
    for scenario in (aa_binary, aa_binary_coin):
        for layout in LAYOUTS:
            _, shares, _ = simulate(scenario, layout, trials=trials)
            rows[f"{scenario.__name__} {layout}"] = shares
    rows["continuous A/A faq"] = simulate(continuous(0.0), "faq", trials=trials, tag="-aa")[1]
    rows["planted_binary arithmetic"] = simulate(planted_binary, "arithmetic", trials=trials)[1]
    rows["continuous drop 0.04 faq"] = simulate(
        continuous(0.04), "faq", trials=trials, tag="-drop"
    )[1]
    print(_table(rows))
    # The same worst case with the normal approximation in the category test, for the
    # record (docs/statistics.md): why one_sided_p_below uses Student's t.
    import harness.stats.gates

    def normal_p(deltas: Deltas, margin: float) -> float:
        arr = np.asarray(deltas, dtype=np.float64)
        if arr.size < 2 or bool((arr == arr[0]).all()):
            return one_sided_p_below(arr, margin)
        se = float(arr.std(ddof=1)) / math.sqrt(arr.size)
        return normal_cdf((float(arr.mean()) + margin) / se)

    t_test = harness.stats.gates.one_sided_p_below  # type: ignore[attr-defined]
    harness.stats.gates.one_sided_p_below = normal_p  # type: ignore[attr-defined]
    try:
        normal_rows = {
            f"aa_binary_coin {layout}, normal approximation": simulate(
                aa_binary_coin, layout, trials=trials
            )[1]
            for layout in LAYOUTS
        }
    finally:
        harness.stats.gates.one_sided_p_below = t_test  # type: ignore[attr-defined]
    print()
    print(_table(normal_rows))
    # The detectable drop means what it says. Continuous scores, n = 60, delta sd set so
    # that mdd(80 %) is a given multiple of the margin. Theory: a candidate equal to the
    # baseline passes, and a true drop of 2x the margin fails, both with probability
    # Phi(margin / se - z); at mdd = margin that is the 80 % power.
    print(
        "\n| mdd(80 %) / margin | delta sd | A/A pass | 2x drop fails | 2x drop not passed "
        "| theory (pass, fail) |"
    )
    print("|---|---|---|---|---|---|")
    z = 1.959963984540054
    for ratio in (0.5, 0.8, 1.0, 1.25, 1.5):
        se = ratio * MARGIN / (z + 0.8416212335729143)
        sd = se * math.sqrt(60)
        aa = simulate(continuous(0.0, sd / math.sqrt(2)), "faq", trials=trials, tag=f"-r{ratio}")
        drop = simulate(
            continuous(2 * MARGIN, sd / math.sqrt(2)), "faq", trials=trials, tag=f"-d{ratio}"
        )
        theory = normal_cdf(MARGIN / se - z)
        print(
            f"| {ratio} | {sd:.3f} | {aa[1]['pass']:.1%} | {drop[1]['fail']:.1%} "
            f"| {1 - drop[1]['pass']:.1%} | {theory:.1%} |"
        )


if __name__ == "__main__":  # pragma: no cover
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4000)
