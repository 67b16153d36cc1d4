"""One evaluation run on a tiny suite with the real simulated models, goldens on disk."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from harness.config.suites import goldens_path, load_goldens, load_suite
from harness.engine.metadata import new_run_id
from harness.engine.prepare import load_suites, prepare
from harness.errors import ConfigError, SuiteError, UnknownComponent
from tests.unit.tiny_project import (
    BATCH,
    CASES,
    SMALL,
    evaluate,
    make_settings,
    responses_of,
    write_suite,
)

ROUTE = {
    "name": "route",
    "router": {
        "kind": "threshold",
        "score": "length",
        "scale": 40,
        "strong": "sim:frontier",
        "weak": "sim:small",
        "threshold": [0.4, 0.7],
    },
}


def nan_score(request: object) -> float:
    """A broken user score function (imported by path below)."""
    return float("nan")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_suite(tmp_path)
    return tmp_path


# --------------------------------------------------------------------------- goldens


def test_goldens_are_recorded_with_update_new(project: Path) -> None:
    settings = make_settings(project)
    outcome = evaluate(settings, update_goldens="new")
    assert outcome.problems == {}
    assert outcome.goldens_written == {"tiny": 6}
    path = goldens_path(settings.goldens_dir, "tiny", "sim:frontier")
    assert path == project / "goldens" / "tiny" / "sim_frontier.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [r["case_id"] for r in rows] == [c[0] for c in CASES]
    suite = load_suite(project / "suites" / "tiny.yaml")
    goldens = load_goldens(settings.goldens_dir, "tiny", "sim:frontier")
    for case in suite.cases:
        golden = goldens[case.id]
        assert golden.request_hash == suite.request(case, "sim:frontier").hash()
        assert golden.model == "sim:frontier"
        assert golden.text.endswith(f"The answer is {case.expected}.")
        assert golden.usage.input_tokens > 0 and golden.recorded_at
    # 6 baseline calls + 6 for small-only; batch-frontier is answered by the goldens.
    assert outcome.calls == 12
    assert len(outcome.new_responses) == 12
    assert [(s.suite, s.config) for s in outcome.summaries] == [
        ("tiny", "batch-frontier"),
        ("tiny", "small-only"),
    ]


def test_missing_goldens_are_a_problem_not_a_run(project: Path) -> None:
    outcome = evaluate(make_settings(project))
    assert outcome.summaries == [] and outcome.results == []
    assert outcome.calls == 0
    problem = outcome.problems["tiny"]
    assert (
        "6 case(s) have no golden ('t-01', 't-02', 't-03', 't-04', 't-05', and 1 more)" in problem
    )
    assert "--cost-eval-update-goldens" in problem
    assert not (project / "goldens").exists()


def test_stale_golden_is_detected_and_rerecorded(project: Path) -> None:
    settings = make_settings(project)
    evaluate(settings, update_goldens="new")
    changed = [*CASES]
    changed[2] = ("t-03", "Compute 2 + 3 * 5.", "17", "easy")
    write_suite(project, changed)

    stale = evaluate(settings)
    assert stale.summaries == []
    problem = stale.problems["tiny"]
    assert (
        "1 golden(s) are stale: recorded for a different request than the case sends now" in problem
    )
    assert "('t-03')" in problem

    fixed = evaluate(settings, update_goldens="new")
    assert fixed.problems == {}
    assert fixed.goldens_written == {"tiny": 1}
    goldens = load_goldens(settings.goldens_dir, "tiny", "sim:frontier")
    assert goldens["t-03"].text.endswith("The answer is 17.")
    assert list(goldens) == [c[0] for c in CASES]  # suite order kept


def test_update_all_rerecords_every_golden(project: Path) -> None:
    settings = make_settings(project, configs=[BATCH])
    first = evaluate(settings, update_goldens="new")
    again = evaluate(settings, update_goldens="all", recorded=responses_of(first))
    assert again.goldens_written == {"tiny": 6}
    assert again.calls == 6  # fresh: records are bypassed


def test_goldens_drop_cases_removed_from_the_suite(project: Path) -> None:
    settings = make_settings(project, configs=[BATCH])
    evaluate(settings, update_goldens="new")
    write_suite(project, [*CASES[:2], ("t-99", "Compute 1 + 1.", "2", "easy")])
    outcome = evaluate(settings, update_goldens="new")
    assert outcome.goldens_written == {"tiny": 1}
    assert list(load_goldens(settings.goldens_dir, "tiny", "sim:frontier")) == [
        "t-01",
        "t-02",
        "t-99",
    ]


# --------------------------------------------------------------------------- calls


def test_rerun_from_goldens_and_records_makes_no_calls(project: Path) -> None:
    settings = make_settings(project)
    first = evaluate(settings, update_goldens="new")
    rerun = evaluate(settings, recorded=responses_of(first))
    assert rerun.calls == 0
    assert rerun.new_responses == {}
    assert rerun.summaries == first.summaries
    assert rerun.results == first.results


def test_goldens_alone_answer_the_baseline_requests(project: Path) -> None:
    settings = make_settings(project, configs=[BATCH])
    evaluate(settings, update_goldens="new")
    rerun = evaluate(settings)  # no response store: the goldens suffice
    assert rerun.calls == 0
    assert all(r.calls == 1 and r.error is None for r in rerun.results)


def test_router_sweep_pays_for_each_distinct_request_once(project: Path) -> None:
    settings = make_settings(project, configs=[SMALL, ROUTE])
    first = evaluate(settings, update_goldens="new", configs=["small-only"])
    sweep = evaluate(
        settings,
        recorded=responses_of(first),
        configs=["route[threshold=0.4]", "route[threshold=0.7]"],
    )
    assert sweep.calls == 0
    assert [s.config for s in sweep.summaries] == ["route[threshold=0.4]", "route[threshold=0.7]"]
    # Question lengths / 40: 0.35, 0.35, 0.45, 0.6, 1.0, 1.0.
    models = {(r.config, r.case_id): r.model for r in sweep.results}
    low, high = "route[threshold=0.4]", "route[threshold=0.7]"
    assert [models[(low, c[0])] for c in CASES] == ["sim:small"] * 2 + ["sim:frontier"] * 4
    assert [models[(high, c[0])] for c in CASES] == ["sim:small"] * 4 + ["sim:frontier"] * 2
    # Each point is scored and costed on its own.
    assert all(r.calls == 1 and r.error is None for r in sweep.results)
    costs = {s.config: s.cost_per_query for s in sweep.summaries}
    assert costs[high] < costs[low]


# --------------------------------------------------------------------------- results


def test_batch_config_costs_exactly_half(project: Path) -> None:
    outcome = evaluate(make_settings(project), update_goldens="new")
    batch = [r for r in outcome.results if r.config == "batch-frontier"]
    assert len(batch) == 6
    for result in batch:
        assert result.cost_usd > 0
        assert result.cost_usd * 2 == result.baseline_cost_usd
        assert result.model == "sim:frontier" and result.score == 1.0 and result.delta == 0.0
    assert sum(r.cost_usd for r in batch) * 2 == sum(r.baseline_cost_usd for r in batch)
    summary = outcome.summaries[0]
    assert summary.config == "batch-frontier"
    assert summary.savings_pct == 50.0
    step = Decimal("1e-12")
    assert (summary.cost_per_query * 2).quantize(step) == summary.baseline_cost_per_query.quantize(
        step
    )
    assert summary.verdict == "pass" and summary.reasons == ()
    assert summary.enforced


def test_baseline_cost_is_priced_from_the_golden_usage(project: Path) -> None:
    settings = make_settings(project, configs=[BATCH])
    outcome = evaluate(settings, update_goldens="new")
    goldens = load_goldens(settings.goldens_dir, "tiny", "sim:frontier")
    for result in outcome.results:
        usage = goldens[result.case_id].usage
        expected = (
            Decimal(usage.input_tokens) * Decimal(5) + Decimal(usage.output_tokens) * Decimal(15)
        ) / Decimal(1_000_000)
        assert result.baseline_cost_usd == expected
    assert outcome.price_snapshot["sim:frontier"]["input"] == "5.0"


def test_small_model_is_cheaper_and_flagged_on_hard_cases(project: Path) -> None:
    outcome = evaluate(make_settings(project), update_goldens="new")
    small = {r.case_id: r for r in outcome.results if r.config == "small-only"}
    assert {r.model for r in small.values()} == {"sim:small"}
    assert all(r.cost_usd < r.baseline_cost_usd for r in small.values())
    # Easy questions (1-2 steps) are always right on the small model.
    assert all(small[c].score == 1.0 for c in ("t-01", "t-02", "t-03"))
    wrong = [r for r in small.values() if r.score == 0.0]
    assert wrong and all(r.category == "hard" and r.flagged for r in wrong)
    summary = outcome.summaries[1]
    assert summary.flagged_cases == len(wrong)
    assert summary.delta == pytest.approx(-len(wrong) / 6)
    # The interval reaches far below the margin: never a pass (fail or inconclusive
    # depending on what n = 6 can show).
    assert summary.verdict in ("fail", "inconclusive")
    assert summary.ci_low < -summary.margin and summary.reasons
    easy, hard = summary.categories
    assert (easy.category, easy.n, easy.delta, easy.failed) == ("easy", 3, 0.0, False)
    assert (hard.category, hard.n) == ("hard", 3)
    assert hard.delta == pytest.approx(-len(wrong) / 3)
    assert not summary.enforced


def test_summaries_are_deterministic(project: Path) -> None:
    settings = make_settings(project, configs=[SMALL, ROUTE])
    first = evaluate(settings, update_goldens="new")
    second = evaluate(settings, recorded=responses_of(first))
    third = evaluate(settings)
    assert first.run_id != second.run_id
    assert first.summaries == second.summaries == third.summaries
    assert first.results == second.results == third.results


def test_seed_changes_only_the_interval(project: Path) -> None:
    first = evaluate(make_settings(project, configs=[SMALL]), update_goldens="new")
    other = evaluate(make_settings(project, configs=[SMALL], seed=12345))
    (a,), (b,) = first.summaries, other.summaries
    assert (a.quality, a.delta, a.cost_per_query) == (b.quality, b.delta, b.cost_per_query)


def test_cache_config_serves_repeats_for_free(tmp_path: Path) -> None:
    cases = [
        ("c-01", "Compute 3 + 4.", "7", "easy"),
        ("c-02", "compute 3 + 4", "7", "easy"),
        ("c-03", "Compute 6 * 7.", "42", "easy"),
        ("c-04", "COMPUTE  6 * 7?", "42", "easy"),
    ]
    write_suite(tmp_path, cases)
    cache = {"name": "cache", "model": "sim:frontier", "cache": {"kind": "exact"}}
    outcome = evaluate(make_settings(tmp_path, configs=[cache]), update_goldens="new")
    results = {r.case_id: r for r in outcome.results}
    for hit in ("c-02", "c-04"):
        assert results[hit].cache_hit and results[hit].model == "cache"
        assert results[hit].cost_usd == 0 and results[hit].calls == 0
        assert results[hit].usage.input_tokens == 0
    for miss in ("c-01", "c-03"):
        assert not results[miss].cache_hit and results[miss].calls == 1
    (summary,) = outcome.summaries
    assert summary.savings_pct > 0
    assert summary.quality == 1.0


def test_error_rows_give_an_error_verdict(project: Path) -> None:
    broken = {
        "name": "broken",
        "router": {
            "kind": "threshold",
            "score": "tests.unit.test_pipeline:nan_score",
            "strong": "sim:frontier",
            "weak": "sim:small",
            "threshold": 0.5,
        },
    }
    outcome = evaluate(make_settings(project, configs=[broken]), update_goldens="new")
    assert len(outcome.results) == 6
    for result in outcome.results:
        assert result.score is None and result.delta is None
        assert (
            result.error
            == "router score 'tests.unit.test_pipeline:nan_score' returned nan, outside [0, 1]"
        )
        assert result.cost_usd == 0 and result.calls == 0
    (summary,) = outcome.summaries
    assert (summary.verdict, summary.n, summary.errors) == ("error", 0, 6)
    assert summary.reasons == ("all 6 cases errored; nothing could be scored",)


def test_suite_and_config_gates_are_layered(project: Path) -> None:
    write_suite(project, extra="gate: {max_quality_drop: 0.4, max_category_drop: 0.5}\n")
    loose = {**SMALL, "name": "loose"}
    strict = {**SMALL, "name": "strict", "gate": {"max_quality_drop": 0.01}}
    outcome = evaluate(make_settings(project, configs=[loose, strict]), update_goldens="new")
    margins = {s.config: s.margin for s in outcome.summaries}
    assert margins == {"loose": 0.4, "strict": 0.01}


def test_config_restricted_to_other_suites_is_not_selected(project: Path) -> None:
    only_other = {**SMALL, "suites": ["other"]}
    outcome = evaluate(make_settings(project, configs=[BATCH, only_other]), update_goldens="new")
    assert [s.config for s in outcome.summaries] == ["batch-frontier"]


def test_run_records_metadata(project: Path) -> None:
    outcome = evaluate(make_settings(project, configs=[BATCH]), update_goldens="new")
    assert outcome.metadata["harness_version"]
    assert outcome.metadata["python_version"].startswith("3.")
    assert outcome.started_at <= outcome.finished_at
    assert len(outcome.run_id) == len(new_run_id())


# --------------------------------------------------------------------------- prepare


def test_prepare_checks_models_and_prices(project: Path) -> None:
    unknown = make_settings(project, configs=[{"name": "x", "model": "sim:tiny"}])
    with pytest.raises(UnknownComponent) as info:
        prepare(unknown)
    message = str(info.value)
    assert message.startswith("pyproject.toml [tool.cost-eval] config 'x': Unknown sim model")
    assert "sim:small" in message

    unpriced = make_settings(
        project, configs=[SMALL], prices={"sim:frontier": {"input": 1, "output": 1}}
    )
    with pytest.raises(ConfigError, match=r"No price for model 'sim:small'"):
        prepare(unpriced)

    with pytest.raises(UnknownComponent, match=r"baseline: Unknown provider 'simm'"):
        prepare(make_settings(project, baseline="simm:frontier"))


def test_prepare_checks_strategies_and_volume(project: Path) -> None:
    bad_kind = make_settings(project, configs=[{**SMALL, "cache": {"kind": "semantik"}}])
    with pytest.raises(UnknownComponent, match=r"config 'small-only'.cache: Unknown cache"):
        prepare(bad_kind)
    with pytest.raises(ConfigError) as info:
        prepare(make_settings(project, volume="a lot"))
    assert str(info.value).startswith("pyproject.toml [tool.cost-eval]: volume 'a lot'")


def test_prepare_monthly_volume(project: Path) -> None:
    assert prepare(make_settings(project)).monthly_volume == 300_000


def test_load_suites_rejects_duplicate_names(project: Path) -> None:
    write_suite(project, name="tiny")
    (project / "suites" / "copy.yaml").write_text(
        (project / "suites" / "tiny.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    settings = make_settings(project)
    with pytest.raises(SuiteError) as info:
        load_suites(sorted((project / "suites").glob("*.yaml")), settings)
    assert "suite name 'tiny' is already used by" in str(info.value)
    assert "Give each suite a unique 'suite:'." in str(info.value)
