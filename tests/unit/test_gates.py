"""Gate specs (merging and checking override tables) and the verdict table of judge()."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest

from harness.errors import ConfigError, SuiteError
from harness.gates import GateInput, GateSpec, judge

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
    with pytest.raises(SuiteError, match="suites/a.yaml: gate"):
        GateSpec().merged({"confidence": 2}, where="suites/a.yaml: gate", error=SuiteError)


# --------------------------------------------------------------------------- judge


def measured(**overrides: Any) -> GateInput:
    values: dict[str, Any] = {
        "n": 50,
        "errors": 0,
        "delta": 0.0,
        "ci_low": -0.01,
        "ci_high": 0.01,
        "category_deltas": {"easy": (25, 0.0), "hard": (25, 0.0)},
        "cost_ratio": 0.4,
    }
    values.update(overrides)
    return GateInput(**values)


SPEC = GateSpec(max_quality_drop=0.02, max_category_drop=0.05, max_error_share=0.02)


def test_judge_pass() -> None:
    result = judge(SPEC, measured())
    assert result.verdict == "pass"
    assert result.reasons == ()
    assert result.failed_categories == frozenset()


def test_judge_pass_when_lower_bound_equals_margin() -> None:
    assert judge(SPEC, measured(ci_low=-0.02, ci_high=0.0)).verdict == "pass"


def test_judge_fail_when_whole_interval_below_margin() -> None:
    result = judge(SPEC, measured(delta=-0.1, ci_low=-0.15, ci_high=-0.05))
    assert result.verdict == "fail"
    assert result.reasons == (
        "quality fell 10.0 points (CI -15.0 to -5.0), beyond the 2.0-point margin",
    )


def test_judge_inconclusive_when_interval_straddles_margin() -> None:
    result = judge(SPEC, measured(n=8, delta=-0.01, ci_low=-0.08, ci_high=0.04))
    assert result.verdict == "inconclusive"
    (reason,) = result.reasons
    assert "cannot show quality within 2.0 points of the baseline" in reason
    assert "delta -1.0 (CI -8.0 to +4.0) with n = 8" in reason
    assert "add cases or widen the margin" in reason


def test_judge_error_when_nothing_scored() -> None:
    result = judge(SPEC, measured(n=0, errors=7))
    assert result.verdict == "error"
    assert result.reasons == ("all 7 cases errored; nothing could be scored",)


def test_judge_category_failure_turns_pass_into_fail() -> None:
    result = judge(SPEC, measured(category_deltas={"easy": (20, 0.01), "hard": (5, -0.2)}))
    assert result.verdict == "fail"
    assert result.failed_categories == frozenset({"hard"})
    assert result.reasons == (
        "category 'hard' fell 20.0 points (n = 5), beyond the 5.0-point category limit",
    )


def test_judge_category_exactly_at_limit_passes() -> None:
    result = judge(SPEC, measured(category_deltas={"hard": (5, -0.05)}))
    assert result.verdict == "pass"


def test_judge_category_failure_also_fails_inconclusive() -> None:
    result = judge(
        SPEC,
        measured(ci_low=-0.08, ci_high=0.04, category_deltas={"hard": (5, -0.3)}),
    )
    assert result.verdict == "fail"
    assert len(result.reasons) == 2
    assert result.reasons[0].startswith("cannot show quality")
    assert result.reasons[1].startswith("category 'hard' fell 30.0 points")


def test_judge_error_share_failure() -> None:
    # 2 errors of 50 cases = 4% > 2%
    result = judge(SPEC, measured(n=48, errors=2))
    assert result.verdict == "fail"
    assert result.reasons == ("2 of 50 cases errored (4%), above the 2% limit",)


def test_judge_error_share_at_limit_passes() -> None:
    # 1 error of 50 cases = 2%: not above the limit
    assert judge(SPEC, measured(n=49, errors=1)).verdict == "pass"


def test_judge_cost_ratio_failure_only_when_limit_set() -> None:
    expensive = measured(cost_ratio=0.8)
    assert judge(SPEC, expensive).verdict == "pass"  # no limit configured
    limited = replace(SPEC, max_cost_ratio=0.5)
    result = judge(limited, expensive)
    assert result.verdict == "fail"
    assert result.reasons == ("cost is 80% of the baseline's, above the 50% limit",)
    assert judge(limited, measured(cost_ratio=0.5)).verdict == "pass"
    assert judge(limited, measured(cost_ratio=None)).verdict == "pass"


def test_judge_lists_every_failed_check() -> None:
    spec = replace(SPEC, max_cost_ratio=0.1)
    result = judge(
        spec,
        measured(
            n=40,
            errors=10,
            delta=-0.2,
            ci_low=-0.3,
            ci_high=-0.1,
            category_deltas={"a": (20, -0.2), "b": (20, -0.2)},
            cost_ratio=0.9,
        ),
    )
    assert result.verdict == "fail"
    assert result.failed_categories == frozenset({"a", "b"})
    assert len(result.reasons) == 5  # margin, two categories, errors, cost
