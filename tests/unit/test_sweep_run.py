"""Threshold sweeps in a run (harness.engine.router_sweep): config, engine, store, report, CLI."""

from __future__ import annotations

import asyncio
import json
import math
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from harness.cli import main
from harness.config.settings import ConfigSpec
from harness.config.suites import now_iso, suite_files
from harness.engine.executor import Executor
from harness.engine.goldens import prepare_goldens
from harness.engine.prepare import load_suites, prepare
from harness.engine.router_sweep import sweep_router, sweep_suite, threshold_text
from harness.engine.run_data import RunOutcome
from harness.errors import ConfigError
from harness.plugin.xdist import empty_outcome, merge_outcomes, outcome_to_wire
from harness.report.charts import SweepChart, sweep_curve_svg
from harness.report.render import RunContext, render_html
from harness.store.runs import load_run, write_run
from harness.store.sweeps import load_sweeps, write_sweeps
from harness.strategies.router import SweepOptions
from harness.types import Request
from tests.unit.tiny_project import (
    BATCH,
    CASES,
    PRICES,
    evaluate,
    make_settings,
    responses_of,
    write_suite,
)

ROUTER = {
    "kind": "threshold",
    "score": "length",
    "scale": 40,
    "strong": "sim:frontier",
    "weak": "sim:small",
    "threshold": "sweep",
}
SWEEP = {"name": "route-sweep", "router": ROUTER}
KEYS = {"strong_quality", "weak_quality", "points", "apgr", "cpt", "oracle_apgr", "recommended"}
POINT_KEYS = {
    "threshold",
    "strong_share",
    "cost_per_query",
    "quality",
    "delta",
    "ci_low",
    "ci_high",
    "verdict",
}


def sweep_config(name: str = "route-sweep", **router: Any) -> dict[str, Any]:
    return {"name": name, "router": {**ROUTER, **router}}


# Score functions named by import path in the configurations below.


def nan_score(request: Request) -> float:
    return float("nan")


def out_of_range_on_t03(request: Request) -> float:
    return 1.5 if request.case_id == "t-03" else 0.5


def raises_on_t05(request: Request) -> float:
    if request.case_id == "t-05":
        raise ValueError("no score for this one")
    return min(1.0, len(request.messages[-1].content) / 40)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_suite(tmp_path)
    return tmp_path


# --------------------------------------------------------------------------- configuration


def test_threshold_sweep_is_one_configuration_not_expanded(project: Path) -> None:
    settings = make_settings(
        project, configs=[sweep_config(sweep={"quantiles": 4, "thresholds": [0.45, 0.53]})]
    )
    (spec,) = settings.configs
    assert spec.name == "route-sweep" and spec.is_sweep and spec.sweep == ()
    router = sweep_router(spec, where="test")
    assert router.sweep == SweepOptions(quantiles=4, thresholds=(0.45, 0.53), folds=5)
    assert math.isnan(router.threshold)
    # A fixed threshold is not a sweep; a list still expands into configurations.
    fixed = make_settings(project, configs=[sweep_config(threshold=[0.4, 0.7])])
    assert [s.name for s in fixed.configs] == [
        "route-sweep[threshold=0.4]",
        "route-sweep[threshold=0.7]",
    ]
    assert not any(s.is_sweep for s in fixed.configs)


@pytest.mark.parametrize(
    ("router", "message"),
    [
        (
            {"threshold": 0.5, "sweep": {"quantiles": 4}},
            "a 'sweep' table needs threshold = \"sweep\"",
        ),
        ({"threshold": "swep"}, "or \"sweep\", got 'swep'"),
        ({"score": "trained", "threshold": 0.5}, "only a sweep does"),
        ({"sweep": {"quantile": 4}}, "unknown key 'quantile'. Did you mean 'quantiles'?"),
        ({"sweep": {"quantiles": 0}}, "'quantiles' must be a whole number >= 1"),
        ({"sweep": {"thresholds": [0.5, 1.5]}}, "'thresholds' must be between 0 and 1"),
        ({"sweep": {"thresholds": 0.5}}, "'thresholds' must be a list"),
        ({"sweep": {"folds": 1}}, "'folds' must be a whole number >= 2"),
        ({"sweep": "fast"}, "must be a table like"),
    ],
)
def test_bad_sweep_options_are_config_errors(
    project: Path, router: dict[str, Any], message: str
) -> None:
    settings = make_settings(project, configs=[sweep_config(**router)])
    with pytest.raises(ConfigError) as excinfo:
        prepare(settings)
    assert message in str(excinfo.value)


def test_a_sweep_judges_the_router_alone(project: Path) -> None:
    with pytest.raises(ConfigError, match="remove 'cache' and 'compress'"):
        make_settings(project, configs=[{**SWEEP, "cache": {"kind": "exact"}}])


def test_the_chain_of_a_sweep_never_routes_a_request(project: Path) -> None:
    from harness.strategies.chain import build_chain
    from harness.types import Message, Response

    (spec,) = make_settings(project, configs=[SWEEP]).configs
    sent: list[Request] = []

    async def provider(request: Request) -> Response:
        sent.append(request)
        return Response(text="x", model=request.model)

    request = Request(model="sim:frontier", messages=(Message(role="user", content="hi"),))
    response = asyncio.run(build_chain(spec, where="test").send(request, provider))
    assert sent == [] and response.error and "sweep" in response.error


# --------------------------------------------------------------------------- the run


def test_sweep_item_summary_is_the_recommended_point(project: Path) -> None:
    settings = make_settings(project, configs=[BATCH, SWEEP])
    outcome = evaluate(settings, update_goldens="new")
    assert [s.config for s in outcome.summaries] == ["batch-frontier", "route-sweep"]
    summary = outcome.summaries[1]
    record = outcome.sweeps[("tiny", "route-sweep")]
    rec = record["recommended"]
    # Question lengths / 40: 0.35, 0.35, 0.45, 0.6, 1.0, 1.0; the small model fails t-04 only.
    assert rec["strong_share"] == 0.5 and rec["threshold"] == pytest.approx(0.4875)
    assert summary.verdict == "pass"
    assert summary.quality == rec["quality"] == 1.0
    assert (summary.delta, summary.ci_low, summary.ci_high) == (
        rec["delta"],
        rec["ci_low"],
        rec["ci_high"],
    )
    assert float(summary.cost_per_query) == pytest.approx(rec["cost_per_query"])
    assert summary.savings_pct == pytest.approx(
        (1 - rec["cost_per_query"] / record["baseline_cost_per_query"]) * 100
    )
    assert summary.reasons == (
        "recommended threshold 0.4875: 50.0% of cases to sim:frontier, the cheapest of 5 "
        "thresholds that passes the gate",
    )
    # The item's cases are routed with the recommended threshold.
    models = [r.model for r in outcome.results if r.config == "route-sweep"]
    assert models == ["sim:small"] * 3 + ["sim:frontier"] * 3
    assert record["points"][record["recommended_index"]]["verdict"] == "pass"
    assert record["n"] == 6 and record["errors"] == 0
    assert json.loads(json.dumps(record, allow_nan=False)) == record


def test_no_passing_threshold_fails_with_the_reason_and_shows_the_closest(project: Path) -> None:
    # Every point costs more than 1 % of the baseline: nothing can pass.
    config = {**SWEEP, "gate": {"max_cost_ratio": 0.001}}
    outcome = evaluate(make_settings(project, configs=[config]), update_goldens="new")
    (summary,) = outcome.summaries
    record = outcome.sweeps[("tiny", "route-sweep")]
    assert record["recommended"] is None and record["recommended_index"] is None
    assert summary.verdict == "fail"
    assert summary.reasons[0].startswith("no point passes the gate (5 fail of 5 judged)")
    assert "cost" in summary.reasons[0]
    # The closest point's cases: the cheapest with the highest lower bound, as the reason says.
    assert "the closest is threshold 0.4875 (50.0% strong)" in summary.reasons[0]
    assert [r.model for r in outcome.results] == ["sim:small"] * 3 + ["sim:frontier"] * 3


def test_two_calls_per_case_at_most_and_none_once_recorded(project: Path) -> None:
    settings = make_settings(project, configs=[BATCH, SWEEP])
    evaluate(settings, update_goldens="new", configs=["batch-frontier"])
    plan = prepare(settings)
    suite = load_suites(suite_files(settings.suites_dir), settings)["tiny"]
    spec = plan.configs["route-sweep"]
    executor = Executor({})  # nothing recorded, goldens not loaded: every answer is a call

    async def twice() -> tuple[int, int]:
        outcome = RunOutcome(run_id="t", started_at=now_iso(), settings=settings)
        prepared = await prepare_goldens(plan, suite, executor, None, outcome)
        first = await sweep_suite(plan, prepared, spec, executor)
        calls = executor.calls
        second = await sweep_suite(plan, prepared, spec, executor)
        assert second.result == first.result
        return calls, executor.calls

    first_calls, after_second = asyncio.run(twice())
    assert first_calls == 2 * len(CASES)  # strong and weak, once each
    assert after_second == first_calls  # answered from what the first sweep got


def test_in_a_run_the_goldens_answer_the_strong_model_and_a_rerun_calls_nothing(
    project: Path,
) -> None:
    settings = make_settings(project, configs=[BATCH, SWEEP])
    evaluate(settings, update_goldens="new", configs=["batch-frontier"])
    first = evaluate(settings, configs=["route-sweep"])
    assert first.calls == len(CASES)  # the weak model's answers only
    rerun = evaluate(settings, configs=["route-sweep"], recorded=responses_of(first))
    assert rerun.calls == 0
    assert rerun.summaries == first.summaries and rerun.sweeps == first.sweeps


def test_sweep_uses_the_layered_gate_and_derived_seed(project: Path) -> None:
    write_suite(project, extra="gate: {max_quality_drop: 0.6, max_category_drop: 0.6}\n")
    outcome = evaluate(make_settings(project, configs=[SWEEP]), update_goldens="new")
    record = outcome.sweeps[("tiny", "route-sweep")]
    # With a 60-point margin the weak model alone passes (16.7 points down, CI to -50).
    assert record["margin"] == 0.6
    assert record["recommended"]["strong_share"] == 0.0
    assert outcome.summaries[0].margin == 0.6
    renamed = evaluate(
        make_settings(project, configs=[{**SWEEP, "name": "other"}]), update_goldens="new"
    )
    other = renamed.sweeps[("tiny", "other")]
    # Same numbers, other seed: bounds of a non-degenerate point may move, estimates never.
    assert [p["quality"] for p in other["points"]] == [p["quality"] for p in record["points"]]


# --------------------------------------------------------------------------- bad router scores


def test_nan_scores_everywhere_are_an_error_verdict_never_a_curve(project: Path) -> None:
    config = sweep_config(score="tests.unit.test_sweep_run:nan_score")
    outcome = evaluate(make_settings(project, configs=[config]), update_goldens="new")
    (summary,) = outcome.summaries
    assert (summary.verdict, summary.n, summary.errors) == ("error", 0, 6)
    assert summary.reasons[0].startswith("threshold sweep not computed: suite 'tiny', config")
    assert "no case can be swept: all 6 case(s) errored" in summary.reasons[0]
    assert "returned NaN" in summary.reasons[0]
    record = outcome.sweeps[("tiny", "route-sweep")]
    assert "points" not in record and "returned NaN" in record["error"]
    assert all(r.error and "returned NaN" in r.error for r in outcome.results)
    assert all(r.calls == 0 for r in outcome.results)


@pytest.mark.parametrize(
    ("score", "case_id", "message"),
    [
        ("out_of_range_on_t03", "t-03", "returned 1.5, outside [0, 1]"),
        ("raises_on_t05", "t-05", "raised ValueError: no score for this one"),
    ],
)
def test_a_bad_score_on_one_case_is_an_error_row_and_fails_the_error_share(
    project: Path, score: str, case_id: str, message: str
) -> None:
    config = sweep_config(score=f"tests.unit.test_sweep_run:{score}")
    outcome = evaluate(make_settings(project, configs=[config]), update_goldens="new")
    (summary,) = outcome.summaries
    (bad,) = [r for r in outcome.results if r.error]
    assert bad.case_id == case_id and message in (bad.error or "")
    assert bad.score is None and bad.model == "router" and bad.calls == 0
    record = outcome.sweeps[("tiny", "route-sweep")]
    assert record["n"] == 5 and record["errors"] == 1
    assert record["first_error"].startswith(f"case {case_id!r}: router score")
    # 1 case in 6 errored, beyond the 2 % error share: no threshold can pass.
    assert record["recommended"] is None
    assert summary.verdict == "fail" and summary.errors == 1
    assert all(p["verdict"] == "fail" for p in record["points"])


def test_a_suite_too_small_to_train_on_is_a_clear_error(project: Path) -> None:
    outcome = evaluate(
        make_settings(project, configs=[sweep_config(score="trained")]), update_goldens="new"
    )
    (summary,) = outcome.summaries
    assert summary.verdict == "error"
    (reason,) = summary.reasons
    assert "the trained router cannot be fitted" in reason
    assert "needs at least 10 cases with both outcomes; has 6" in reason
    assert outcome.sweeps[("tiny", "route-sweep")]["error"].startswith("suite 'tiny'")


def test_trained_scores_are_out_of_fold(tmp_path: Path) -> None:
    cases = [
        (f"c-{i:02d}", prompt, expected, category)
        for i, (prompt, expected, category) in enumerate(
            [
                ("Compute 3 + 4.", "7", "easy"),
                ("Compute 6 * 7.", "42", "easy"),
                ("Compute 2 + 3 * 4.", "14", "easy"),
                ("Compute 9 - 2.", "7", "easy"),
                ("Compute 5 * 5.", "25", "easy"),
                ("Compute 8 + 8.", "16", "easy"),
                ("Compute (8 + 1) * 3 - 4.", "23", "hard"),
                ("Compute ((7 + 5) * 2 - 6) * (4 + 1) - 3.", "87", "hard"),
                ("Compute ((15 - 6) * (4 + 3) + 8) * 2 - 9.", "133", "hard"),
                ("Compute (9 * 3 - 4) * (2 + 8) - (6 + 5) * 2.", "208", "hard"),
                ("Compute (12 - 4) * (6 + 3) - 10 + 2.", "64", "hard"),
                ("Compute ((3 + 9) * 4 - 8) * (2 + 3) - 7.", "193", "hard"),
            ]
        )
    ]
    write_suite(tmp_path, cases)
    config = sweep_config(score="trained", sweep={"folds": 2})
    outcome = evaluate(make_settings(tmp_path, configs=[config]), update_goldens="new")
    record = outcome.sweeps[("tiny", "route-sweep")]
    assert "error" not in record, record.get("error")
    assert record["score"] == "trained" and record["n"] == 12
    assert 0 < len(record["points"]) <= 13


# --------------------------------------------------------------------------- storage, wire


def test_sweeps_are_stored_and_read_back_per_run(project: Path) -> None:
    settings = make_settings(project, configs=[SWEEP])
    outcome = evaluate(settings, update_goldens="new")
    db = project / "results.duckdb"
    assert load_sweeps(db, outcome.run_id) == {}  # no file yet
    write_run(db, outcome)
    assert load_sweeps(db, outcome.run_id) == {}  # no sweeps table yet
    write_sweeps(db, outcome.run_id, outcome.sweeps)
    write_sweeps(db, outcome.run_id, outcome.sweeps)  # idempotent per run
    assert load_sweeps(db, outcome.run_id) == outcome.sweeps
    assert load_sweeps(db, "another-run") == {}
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT schema_version, run_id, suite, config FROM sweeps").fetchall()
    assert rows == [(1, outcome.run_id, "tiny", "route-sweep")]


def test_sweeps_cross_the_xdist_wire(project: Path) -> None:
    settings = make_settings(project, configs=[BATCH, SWEEP])
    outcome = evaluate(settings, update_goldens="new")
    wire = json.loads(json.dumps(outcome_to_wire(outcome)))  # plain data only
    merged = merge_outcomes(
        empty_outcome(settings, "r", outcome.started_at, {}),
        [wire],
        [("tiny", "batch-frontier"), ("tiny", "route-sweep")],
    )
    assert merged.sweeps == outcome.sweeps
    assert merged.summaries == outcome.summaries


# --------------------------------------------------------------------------- report


def stored_with_sweeps(project: Path, configs: list[dict[str, Any]]) -> tuple[Any, Any]:
    outcome = evaluate(make_settings(project, configs=configs), update_goldens="new")
    db = project / "r.duckdb"
    write_run(db, outcome)
    write_sweeps(db, outcome.run_id, outcome.sweeps)
    return load_run(db, outcome.run_id), db


def test_report_has_a_sweep_section_with_curve_and_table(project: Path) -> None:
    from harness.report import render_report

    stored, db = stored_with_sweeps(project, [BATCH, SWEEP])
    path = render_report(stored, project / "report.html", db=db)
    html = path.read_text(encoding="utf-8")
    section = html[
        html.index('<section id="sweeps">') : html.index(
            "</section>", html.index('<section id="sweeps">')
        )
    ]
    assert "<h2>Router sweeps</h2>" in section
    assert section.count("<svg") == 1
    assert "Recommended threshold <strong>0.4875</strong>: 50.0% of cases" in section
    assert section.count('class="recommended"') == 1
    assert "APGR" in section and "CPT(50%)" in section and "oracle" in section
    # The 0 %-strong point's threshold is the float above the highest score.
    assert "&gt; 1</td>" in section
    # Links to the pair's row, and chart ids are unique across the page.
    assert 'href="#pair-1"' in section
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_report_shows_why_a_sweep_was_not_computed(project: Path) -> None:
    stored, db = stored_with_sweeps(project, [sweep_config(score="trained")])
    from harness.report import run_context

    html = render_html(stored, extra=run_context(db, stored))
    assert "Sweep not computed: suite &#39;tiny&#39;" in html
    assert "needs at least 10 cases" in html


def test_report_escapes_stored_sweep_text(project: Path) -> None:
    stored, _db = stored_with_sweeps(project, [SWEEP])
    record = {
        "suite": "tiny",
        "config": "<script>x</script>",
        "strong": "sim:frontier",
        "weak": "sim:small",
        "score": "<b>s</b>",
        "error": "<img src=x>",
    }
    html = render_html(stored, extra=RunContext(sweeps={("tiny", "<script>x</script>"): record}))
    assert "<script>x</script>" not in html and "<img src=x>" not in html
    assert "&lt;img src=x&gt;" in html


def test_sweep_chart_is_deterministic_svg_with_prefixed_ids() -> None:
    chart = SweepChart(
        shares=[0.0, 0.5, 1.0],
        quality=[0.6, 0.95, 1.0],
        verdicts=["fail", "pass", None],
        oracle_shares=[0.0, 0.5, 1.0],
        oracle_quality=[0.6, 1.0, 1.0],
        weak_quality=0.6,
        strong_quality=1.0,
        floor=0.98,
        recommended=1,
        note="threshold 0.5\n$0.0001/query",
    )
    one = sweep_curve_svg(chart, title="t :: c", id_prefix="s0-")
    two = sweep_curve_svg(chart, title="t :: c", id_prefix="s0-")
    assert one == two and one.startswith("<svg")
    ids = re.findall(r'\bid="([^"]+)"', one)
    assert ids and all(i.startswith("s0-") for i in ids)
    assert "threshold 0.5" in one and "oracle router" in one and "random router" in one


def test_threshold_text() -> None:
    assert threshold_text(0.4875, 3) == "0.4875"
    assert threshold_text(math.nextafter(0.7, 1.0), 0) == "> 0.7"
    assert threshold_text(None, 3) == "—"


# --------------------------------------------------------------------------- harness sweep


PYPROJECT = """\
[tool.cost-eval]
baseline = "sim:frontier"
volume = "10k/day"

[tool.cost-eval.prices."sim:frontier"]
input = {frontier_in}
output = {frontier_out}

[tool.cost-eval.prices."sim:small"]
input = {small_in}
output = {small_out}

[[tool.cost-eval.configs]]
name = "route-sweep"

[tool.cost-eval.configs.router]
kind = "threshold"
score = "length"
scale = 40
strong = "sim:frontier"
weak = "sim:small"
threshold = "sweep"
"""


@pytest.fixture
def cli_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (project / "pyproject.toml").write_text(
        PYPROJECT.format(
            frontier_in=PRICES["sim:frontier"]["input"],
            frontier_out=PRICES["sim:frontier"]["output"],
            small_in=PRICES["sim:small"]["input"],
            small_out=PRICES["sim:small"]["output"],
        ),
        encoding="utf-8",
    )
    evaluate(make_settings(project, configs=[BATCH]), update_goldens="new")
    monkeypatch.chdir(project)
    monkeypatch.delenv("CI", raising=False)
    return project


SWEEP_ARGS = [
    "sweep",
    "--suite",
    "tiny",
    "--router",
    "length",
    "--scale",
    "40",
    "--strong",
    "sim:frontier",
    "--weak",
    "sim:small",
]


def test_harness_sweep_json_has_exactly_the_documented_keys(
    cli_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*SWEEP_ARGS, "--thresholds", "0.5", "--quantiles", "4", "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert set(data) == KEYS
    assert set(data["cpt"]) == {"20", "50", "80"}
    assert all(set(p) == POINT_KEYS for p in data["points"])
    assert set(data["recommended"]) == POINT_KEYS - {"verdict"}
    assert 0.5 in [p["threshold"] for p in data["points"]]
    assert data["recommended"]["strong_share"] == 0.5
    assert out.count("\n") == 1  # one JSON object, nothing else on stdout


def test_harness_sweep_config_gives_the_same_numbers_as_the_run(
    cli_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(cli_project, configs=[SWEEP])
    outcome = evaluate(settings)
    assert main(["sweep", "--suite", "tiny", "--config", "route-sweep", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    stored = outcome.sweeps[("tiny", "route-sweep")]
    assert data == {key: stored[key] for key in KEYS} | {
        "points": [{k: p[k] for k in POINT_KEYS} for p in stored["points"]]
    }


def test_harness_sweep_table_and_store(
    cli_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(SWEEP_ARGS) == 0
    first = capsys.readouterr().out
    assert "<- recommended" in first and "recommended: threshold 0.4875: 50.0% of cases" in first
    assert "APGR" in first and "CPT(50%)" in first
    assert "6 provider call(s)" in first and "6 new answer(s) stored" in first
    assert main(SWEEP_ARGS) == 0  # the weak answers now come from the store
    assert "0 provider call(s)" in capsys.readouterr().out


def test_harness_sweep_says_the_scale_it_used(
    cli_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(SWEEP_ARGS) == 0
    assert "score 'length' (scale 40 characters: " in capsys.readouterr().out
    without_scale = [a for a in SWEEP_ARGS if a not in ("--scale", "40")]
    assert main(without_scale) == 0
    out = capsys.readouterr().out
    assert "score 'length' (scale 1,000 characters: a question that long or longer scores 1)" in (
        out
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--suite", "nope"], "no suite named 'nope'"),
        (["--router", "nope"], "Unknown router score 'nope'"),
        (["--router", "trained"], "needs at least 10 cases"),
        (["--config", "route-sweep"], "give either --config or --router"),
        (["--thresholds", "1.5"], "'thresholds' must be between 0 and 1"),
    ],
)
def test_harness_sweep_errors_are_one_paragraph(
    cli_project: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    args = list(SWEEP_ARGS)
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_harness_sweep_needs_a_router_or_a_config(
    cli_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sweep", "--suite", "tiny", "--router", "length"]) == 2
    assert "--strong, --weak required" in capsys.readouterr().err
    assert main(["sweep", "--suite", "tiny", "--config", "nope"]) == 2
    assert "Sweep configurations: route-sweep" in capsys.readouterr().err


def test_config_spec_is_sweep_only_for_threshold_routers() -> None:
    from harness.config.settings import StrategySpec

    other = ConfigSpec(
        name="x",
        family="x",
        model=None,
        router=StrategySpec(kind="mine", options={"threshold": "sweep"}),
    )
    assert not other.is_sweep
