"""Cost regressions and runs with no answers in :mod:`harness.analysis.compare` (#17)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest

from harness.analysis.compare import (
    PairChange,
    compare_runs,
    describe_change,
    describe_regressions,
    run_cost_margin,
)
from harness.store.runs import CaseScore
from harness.types import Summary

BASE = Summary(
    suite="s",
    config="route",
    n=10,
    errors=0,
    quality=1.0,
    baseline_quality=1.0,
    delta=0.0,
    ci_low=0.0,
    ci_high=0.0,
    margin=0.02,
    verdict="pass",
    reasons=(),
    enforced=True,
    cost_per_query=Decimal("0.85"),
    baseline_cost_per_query=Decimal("1.00"),
    savings_pct=15.0,
    monthly_cost=Decimal(0),
    baseline_monthly_cost=Decimal(0),
    flagged_cases=0,
)


@dataclass(frozen=True)
class Run:
    summaries: tuple[Summary, ...]
    results: tuple[CaseScore, ...]


def run(summary: Summary, scores: Sequence[float | None] | None = None) -> Run:
    scores = [1.0] * 10 if scores is None else scores
    return Run(
        (summary,),
        tuple(
            CaseScore(summary.suite, summary.config, f"c{i}", "x", score)
            for i, score in enumerate(scores)
        ),
    )


def costing(cost: str, baseline: str = "1.00", **changes: object) -> Summary:
    return replace(
        BASE,
        cost_per_query=Decimal(cost),
        baseline_cost_per_query=Decimal(baseline),
        **changes,  # type: ignore[arg-type]
    )


def only(before: Summary, now: Summary, margin: float = 0.05, **kwargs: object) -> PairChange:
    (change,) = compare_runs(run(before), run(now), max_cost_increase=margin, **kwargs)  # type: ignore[arg-type]
    return change


def test_losing_savings_beyond_the_margin_is_a_cost_regression() -> None:
    change = only(costing("0.85"), costing("1.00"))  # saved 15 %, now 0 %
    assert change.regressed and change.cost_regressed and not change.quality_regressed
    assert change.kind == "cost"
    assert change.savings_before == pytest.approx(15) and change.savings_now == pytest.approx(0)
    assert change.reasons == (
        "cost: saved 15% of the baseline's cost per query, now 0% ($0.85 -> $1.00/query), "
        "more than max_cost_increase = 0.05 lost",
    )
    line = describe_change(change)[0]
    assert line.startswith("  REGRESSED  s :: route: quality 1.000 -> 1.000")
    assert "(saved 15% -> 0% of the baseline's)" in line
    assert describe_regressions([change]) == "1 regressed (0 quality, 1 cost)"
    assert change.to_json()["cost_regressed"] is True


def test_within_the_margin_or_cheaper_is_no_regression() -> None:
    assert not only(costing("0.85"), costing("0.89")).regressed  # 4 points lost of 5 allowed
    assert only(costing("0.85"), costing("0.91")).cost_regressed  # 6 points
    assert not only(costing("0.85"), costing("0.91"), margin=0.1).regressed
    assert not only(costing("0.85"), costing("0.50")).regressed  # cheaper
    # A configuration's own margin wins over the project's.
    assert not only(costing("0.85"), costing("0.91"), cost_margins={"route": 0.1}).regressed


def test_a_price_change_of_every_model_is_not_the_levers_doing() -> None:
    # Both the configuration and the baseline doubled: still 15 % saved.
    change = only(costing("0.85"), costing("1.70", baseline="2.00"))
    assert not change.regressed and change.cost_change_pct == pytest.approx(100)


def test_without_a_baseline_cost_the_earlier_runs_cost_is_the_reference() -> None:
    change = only(costing("0.12", baseline="0"), costing("0.15", baseline="0"))
    assert change.cost_regressed and change.savings_before is None
    assert change.reasons == (
        "cost: $0.12 -> $0.15/query (+25%), more than max_cost_increase = 0.05",
    )


def test_quality_and_cost_regressions_are_both_named() -> None:
    before = run(costing("0.85"))
    now = run(costing("1.00", quality=0.5, verdict="fail"), [0.0] * 5 + [1.0] * 5)
    (change,) = compare_runs(before, now)
    assert change.quality_regressed and change.cost_regressed and change.kind == "quality and cost"
    assert [reason.split(":")[0] for reason in change.reasons] == ["quality", "cost"]
    assert describe_regressions([change]) == "1 regressed (1 quality, 1 cost)"


def test_a_run_with_no_answers_is_compared_on_nothing_never_as_a_saving() -> None:
    errored = costing("0", n=0, errors=10, quality=0.0, verdict="error", savings_pct=0.0)
    before, now = run(costing("0.85")), run(errored, [None] * 10)
    (change,) = compare_runs(before, now)
    assert not change.cost_regressed and change.savings_now is None
    # The verdict that no longer passes is the regression, not a cost of $0.
    assert change.quality_regressed and change.reasons == ("quality: verdict pass -> error",)
    line = describe_change(change)[0]
    assert "no answers in this run (every case errored)" in line
    assert "quality" not in line.split("verdict")[0] and "$0" not in line


def test_the_stored_runs_margin_is_read_from_its_settings() -> None:
    assert run_cost_margin({"settings_json": '{"gate": {"max_cost_increase": 0.2}}'}) == 0.2
    assert run_cost_margin({"settings_json": '{"gate": {}}'}) == 0.05
    assert run_cost_margin({}) == 0.05
