"""Gate specs (merging and checking override tables) and the verdict table of decide()."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from harness.errors import ConfigError, SuiteError
from harness.stats.gates import GateInput, GateSpec, decide
from harness.stats.significance import (
    DEFAULT_SD,
    mcnemar_exact,
    min_detectable_drop,
    one_sided_p_below,
)

WHERE = "pyproject.toml [tool.cost-eval.gate]"

# --------------------------------------------------------------------------- merged


def test_merged_empty_table_returns_same_spec() -> None:
    spec = GateSpec()
    assert spec.merged({}, where=WHERE) is spec


def test_merged_applies_every_key() -> None:
    table = {
        "max_quality_drop": 0.03,
        "confidence": 0.9,
        "max_category_drop": 0.1,
        "max_error_share": 0,
        "max_cost_ratio": 0.5,
        "flag_drop": 0.2,
        "resamples": 500,
        "on_inconclusive": "pass",
    }
    merged = GateSpec().merged(table, where=WHERE)
    assert merged == GateSpec(
        max_quality_drop=0.03,
        confidence=0.9,
        max_category_drop=0.1,
        max_error_share=0.0,
        max_cost_ratio=0.5,
        flag_drop=0.2,
        resamples=500,
        on_inconclusive="pass",
    )
    assert isinstance(merged.resamples, int)


def test_merged_layers_keep_earlier_values() -> None:
    project = GateSpec().merged({"max_quality_drop": 0.05, "confidence": 0.9}, where=WHERE)
    config = project.merged({"max_quality_drop": 0.01}, where="config")
    assert config.max_quality_drop == 0.01
    assert config.confidence == 0.9  # from the project layer
    assert config.max_category_drop == GateSpec().max_category_drop


def test_merged_unknown_key_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError) as info:
        GateSpec().merged({"max_quality_dorp": 0.1}, where=WHERE)
    message = str(info.value)
    assert message.startswith(f"{WHERE}: unknown key 'max_quality_dorp'.")
    assert "Did you mean 'max_quality_drop'?" in message


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ({"max_quality_drop": 1.5}, "'max_quality_drop' must be a number between 0.0 and 1.0"),
        ({"max_quality_drop": -0.01}, "'max_quality_drop' must be a number between"),
        ({"flag_drop": "10%"}, "'flag_drop' must be a number, got '10%'"),
        ({"confidence": 0.4}, "'confidence' must be a number between 0.5 and 0.999"),
        ({"confidence": 1.0}, "'confidence' must be a number between 0.5 and 0.999"),
        ({"max_cost_ratio": -1}, "'max_cost_ratio' must be a number between 0.0 and 100.0"),
        ({"resamples": 10}, "'resamples' must be a number between 100 and 1000000"),
        ({"on_inconclusive": "warn"}, "'on_inconclusive' must be 'fail' or 'pass', got 'warn'"),
        ({"max_error_share": True}, "'max_error_share' must be a number, got True"),
    ],
)
def test_merged_rejects_bad_values(table: Mapping[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        GateSpec().merged(table, where=WHERE)
    assert str(info.value).startswith(f"{WHERE}: ")
    assert fragment in str(info.value)


def test_merged_uses_the_given_error_class() -> None:
    with pytest.raises(SuiteError, match=r"suites/a\.yaml: gate"):
        GateSpec().merged({"confidence": 2}, where="suites/a.yaml: gate", error=SuiteError)


# --------------------------------------------------------------------------- decide


def measured(**overrides: Any) -> GateInput:
    """A GateInput: 50 cases in two categories, all deltas 0 unless overridden.

    ``deltas`` defaults to ``n`` copies of ``delta``; ``category_deltas`` to two
    halves of ``deltas``.
    """
    values: dict[str, Any] = {
        "n": 50,
        "errors": 0,
        "delta": 0.0,
        "ci_low": -0.01,
        "ci_high": 0.01,
        "cost_ratio": 0.4,
    }
    values.update(overrides)
    if "deltas" not in values:
        values["deltas"] = [values["delta"]] * values["n"]
    if "category_deltas" not in values:
        half = len(values["deltas"]) // 2
        values["category_deltas"] = {
            "easy": values["deltas"][:half],
            "hard": values["deltas"][half:],
        }
    return GateInput(**values)


SPEC = GateSpec(max_quality_drop=0.02, max_category_drop=0.05, max_error_share=0.02)
MDD_50_DEFAULT = min_detectable_drop(50, DEFAULT_SD, confidence=0.975, power=0.8)


def test_judge_pass() -> None:
    result = decide(SPEC, measured())
    assert result.verdict == "pass"
    assert result.reasons == ()
    assert result.failed_categories == frozenset()
    assert result.test == "bootstrap" and result.p_value is None
    # All deltas equal: the detectable drop uses the conservative default sd.
    assert result.min_detectable_drop == pytest.approx(MDD_50_DEFAULT)
    assert result.category_p_values == {"easy": 1.0, "hard": 1.0}


def test_judge_pass_when_lower_bound_equals_margin() -> None:
    assert decide(SPEC, measured(ci_low=-0.02, ci_high=0.0)).verdict == "pass"


def test_judge_fail_when_whole_interval_below_margin() -> None:
    result = decide(SPEC, measured(delta=-0.1, ci_low=-0.15, ci_high=-0.05, category_deltas={}))
    assert result.verdict == "fail"
    assert result.reasons == (
        "quality fell 10.0 points (CI -15.0 to -5.0), beyond the 2.0-point margin",
    )


def test_judge_inconclusive_names_the_detectable_drop() -> None:
    deltas = [0.1, -0.2, 0.0, 0.05, -0.1, 0.0, 0.1, -0.03]
    result = decide(SPEC, measured(n=8, delta=-0.01, ci_low=-0.08, ci_high=0.04, deltas=deltas))
    assert result.verdict == "inconclusive"
    mdd = min_detectable_drop(8, float(np.std(deltas, ddof=1)), confidence=0.975, power=0.8)
    assert result.min_detectable_drop == pytest.approx(mdd)
    needed = math.ceil(8 * (mdd / 0.02) ** 2)
    (reason,) = result.reasons
    assert reason == (
        "cannot show quality within 2.0 points of the baseline: delta -1.0 (CI -8.0 to +4.0); "
        f"n = 8 detects a {mdd * 100:.1f}-point drop at 80% power; the margin is 2.0 points; "
        f"add cases (n = {needed:,} detects a 2.0-point drop) or widen the margin"
    )


def test_judge_inconclusive_with_enough_cases_says_the_delta_is_close() -> None:
    deltas = np.random.default_rng(0).normal(-0.02, 0.05, size=2000)
    result = decide(
        SPEC, measured(n=2000, delta=-0.02, ci_low=-0.022, ci_high=-0.018, deltas=deltas)
    )
    assert result.verdict == "inconclusive"
    assert result.min_detectable_drop < 0.02
    assert result.reasons[0].endswith(
        "the delta is close to the margin: add cases or widen the margin"
    )


def test_judge_error_when_nothing_scored() -> None:
    result = decide(SPEC, measured(n=0, errors=7))
    assert result.verdict == "error"
    assert result.reasons == ("all 7 cases errored; nothing could be scored",)
    assert result.min_detectable_drop == math.inf and result.p_value is None


def test_judge_rejects_deltas_that_do_not_match_n() -> None:
    with pytest.raises(ValueError, match="n = 5 but 4 deltas"):
        decide(SPEC, measured(n=5, deltas=[0.0] * 4))
    with pytest.raises(ValueError, match="finite"):
        decide(SPEC, measured(n=2, deltas=[0.0, math.nan]))


# --------------------------------------------------------------------------- binary scores


def test_judge_binary_reports_mcnemar() -> None:
    deltas = [-1.0] * 10 + [1.0] * 2 + [0.0] * 48
    result = decide(
        SPEC,
        measured(n=60, delta=-8 / 60, ci_low=-0.22, ci_high=-0.05, deltas=deltas, binary=True),
    )
    assert result.test == "mcnemar"
    assert result.p_value == mcnemar_exact(10, 2) == pytest.approx(0.0386, abs=1e-4)
    assert result.verdict == "fail"
    assert result.reasons[0] == (
        "quality fell 13.3 points (CI -22.0 to -5.0), beyond the 2.0-point margin; "
        "exact McNemar p = 0.039 (10 cases worse, 2 better)"
    )


def test_judge_binary_mcnemar_is_reported_on_a_pass_too() -> None:
    result = decide(SPEC, measured(binary=True))
    assert (result.verdict, result.test, result.p_value) == ("pass", "mcnemar", 1.0)


def test_judge_binary_rejects_other_deltas() -> None:
    with pytest.raises(ValueError, match="-1, 0 or 1"):
        decide(SPEC, measured(n=2, deltas=[0.5, 0.0], binary=True))


# --------------------------------------------------------------------------- judge noise


def test_judge_never_fails_on_a_drop_within_judge_noise() -> None:
    inp = measured(delta=-0.03, ci_low=-0.035, ci_high=-0.025, category_deltas={}, noise=0.04)
    result = decide(SPEC, inp)
    assert result.verdict == "inconclusive"
    (reason,) = result.reasons
    assert reason.startswith("quality fell 3.0 points (CI -3.5 to -2.5), beyond the 2.0-point")
    assert "judge noise alone explains changes up to 4.0 points" in reason


def test_judge_fails_on_a_drop_beyond_judge_noise() -> None:
    inp = measured(delta=-0.03, ci_low=-0.035, ci_high=-0.025, category_deltas={}, noise=0.01)
    assert decide(SPEC, inp).verdict == "fail"


def test_judge_noise_does_not_touch_a_pass_or_other_failures() -> None:
    assert decide(SPEC, measured(noise=0.5)).verdict == "pass"
    result = decide(SPEC, measured(n=48, errors=2, noise=0.5))
    assert result.verdict == "fail"  # errors are not judge noise


def test_judge_category_drop_within_noise_is_inconclusive_not_failed() -> None:
    cats = {"easy": [0.0] * 25, "hard": [-0.2] * 25}
    result = decide(SPEC, measured(category_deltas=cats, noise=0.25))
    assert result.verdict == "inconclusive"
    assert result.failed_categories == frozenset()
    assert "judge noise alone explains changes up to 25.0 points" in result.reasons[0]


def test_judge_noise_applies_to_a_small_category_not_only_its_mean() -> None:
    # 5 of 10 cases fell a whole point: a mean drop of 50 points, beyond the 40-point noise,
    # but a coin-like judge flips that many in a category this small (#21).
    cats = {"small": [-1.0] * 5 + [0.0] * 5, "big": [0.0] * 40}
    result = decide(SPEC, measured(category_deltas=cats, noise=0.4))
    assert result.failed_categories == frozenset()
    assert result.verdict == "inconclusive"
    assert any(
        "category 'small' fell 50.0 points" in r and "judge noise" in r for r in result.reasons
    )
    # A drop well beyond the noise still fails the category.
    cats = {"small": [-1.0] * 10, "big": [0.0] * 40}
    result = decide(SPEC, measured(category_deltas=cats, noise=0.4))
    assert result.failed_categories == frozenset({"small"})


def test_a_judge_problem_neither_passes_nor_fails_on_quality() -> None:
    problem = "judge 'openai:gpt-4o' is position-biased: ..."
    worse = measured(delta=-0.5, ci_low=-0.6, ci_high=-0.4, judge_problem=problem)
    result = decide(SPEC, worse)
    assert (result.verdict, result.reasons, result.failed_categories) == (
        "inconclusive",
        (problem,),
        frozenset(),
    )
    assert decide(SPEC, measured(judge_problem=problem)).verdict == "inconclusive"
    # Errors and cost do not rest on the judge: they still fail.
    result = decide(SPEC, measured(n=45, errors=5, judge_problem=problem))
    assert result.verdict == "fail" and result.reasons[0] == problem
    assert "5 of 50 cases errored" in result.reasons[1]


@pytest.mark.parametrize("noise", [-0.1, math.nan, math.inf])
def test_judge_rejects_bad_noise(noise: float) -> None:
    with pytest.raises(ValueError, match="noise"):
        decide(SPEC, measured(noise=noise))


# --------------------------------------------------------------------------- categories


def test_judge_category_failure_turns_pass_into_fail() -> None:
    # Every "hard" case fell 20 points: no noise at all, so the drop is certain.
    result = decide(SPEC, measured(category_deltas={"easy": [0.01] * 20, "hard": [-0.2] * 5}))
    assert result.verdict == "fail"
    assert result.failed_categories == frozenset({"hard"})
    assert result.reasons == (
        "category 'hard' fell 20.0 points (n = 5, Holm-adjusted p < 0.001), "
        "beyond the 5.0-point category limit",
    )
    assert result.category_p_values == {"easy": 1.0, "hard": 0.0}


def test_judge_category_exactly_at_limit_passes() -> None:
    result = decide(SPEC, measured(category_deltas={"hard": [-0.05] * 5}))
    assert result.verdict == "pass"


def test_judge_noisy_small_category_is_not_flagged() -> None:
    # Mean drop 16.7 points, far beyond the limit, but 2 flipped cases of 12 could be luck.
    hard = [-1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    result = decide(SPEC, measured(category_deltas={"easy": [0.0] * 12, "hard": hard}))
    assert result.failed_categories == frozenset()
    assert result.verdict == "pass"
    assert result.category_p_values["hard"] == pytest.approx(
        min(1.0, 2 * one_sided_p_below(hard, 0.05))
    )


def test_judge_holm_adjusts_over_the_categories() -> None:
    # Raw p = 0.036 would fail alone at 5 %; with four clean categories Holm gives 0.18.
    flipped = [-1.0] * 4 + [0.0] * 8
    alone = decide(SPEC, measured(category_deltas={"c": flipped}))
    assert alone.failed_categories == frozenset({"c"})
    many = {"c": flipped, **{f"clean{i}": [0.0] * 12 for i in range(4)}}
    result = decide(SPEC, measured(category_deltas=many))
    assert result.failed_categories == frozenset()
    assert result.category_p_values["c"] == pytest.approx(5 * alone.category_p_values["c"])


def test_judge_category_failure_also_fails_inconclusive() -> None:
    result = decide(
        SPEC,
        measured(ci_low=-0.08, ci_high=0.04, category_deltas={"hard": [-0.3] * 5}),
    )
    assert result.verdict == "fail"
    assert len(result.reasons) == 2
    assert result.reasons[0].startswith("cannot show quality")
    assert result.reasons[1].startswith("category 'hard' fell 30.0 points")


def test_judge_error_share_failure() -> None:
    # 2 errors of 50 cases = 4% > 2%
    result = decide(SPEC, measured(n=48, errors=2))
    assert result.verdict == "fail"
    assert result.reasons == ("2 of 50 cases errored (4%), above the 2% limit",)


def test_judge_error_share_at_limit_passes() -> None:
    # 1 error of 50 cases = 2%: not above the limit
    assert decide(SPEC, measured(n=49, errors=1)).verdict == "pass"


def test_judge_cost_ratio_failure_only_when_limit_set() -> None:
    expensive = measured(cost_ratio=0.8)
    assert decide(SPEC, expensive).verdict == "pass"  # no limit configured
    limited = replace(SPEC, max_cost_ratio=0.5)
    result = decide(limited, expensive)
    assert result.verdict == "fail"
    assert result.reasons == ("cost is 80% of the baseline's, above the 50% limit",)
    assert decide(limited, measured(cost_ratio=0.5)).verdict == "pass"
    assert decide(limited, measured(cost_ratio=None)).verdict == "pass"


def test_judge_lists_every_failed_check() -> None:
    spec = replace(SPEC, max_cost_ratio=0.1)
    result = decide(
        spec,
        measured(
            n=40,
            errors=10,
            delta=-0.2,
            ci_low=-0.3,
            ci_high=-0.1,
            category_deltas={"a": [-0.2] * 20, "b": [-0.2] * 20},
            cost_ratio=0.9,
        ),
    )
    assert result.verdict == "fail"
    assert result.failed_categories == frozenset({"a", "b"})
    assert len(result.reasons) == 5  # margin, two categories, errors, cost


def test_judge_is_deterministic() -> None:
    deltas = np.random.default_rng(3).choice([-1.0, 0.0, 1.0], size=60)
    inp = measured(
        n=60,
        delta=float(deltas.mean()),
        ci_low=-0.1,
        ci_high=0.05,
        deltas=deltas,
        category_deltas={"a": deltas[:30], "b": deltas[30:]},
        binary=True,
    )
    assert decide(SPEC, inp) == decide(SPEC, inp)
