"""Threshold sweeps (``threshold = "sweep"``) through `pytest --cost-eval`, the report and CLI."""

from __future__ import annotations

import json
import sys

import duckdb
import pytest

from tests.helpers import MINI_CASES, PYPROJECT, mini_suite_text, set_pyproject

SWEEP_CONFIG = """
[[tool.cost-eval.configs]]
name = "route-sweep"
enforce = true
{gate}

[tool.cost-eval.configs.router]
kind = "threshold"
score = "{score}"
scale = 40
strong = "sim:frontier"
weak = "sim:small"
threshold = "sweep"
sweep = {{ quantiles = 10, thresholds = [0.5] }}
"""


def with_sweep(score: str = "length", gate: str = "") -> str:
    return PYPROJECT.format(small_enforce="") + SWEEP_CONFIG.format(score=score, gate=gate)


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("--cost-eval", "-p", "no:cacheprovider", *args)


@pytest.fixture
def sweep_project(mini_project: pytest.Pytester) -> pytest.Pytester:
    set_pyproject(mini_project, with_sweep())
    return mini_project


def test_a_sweep_is_one_item(sweep_project: pytest.Pytester) -> None:
    result = run(sweep_project, "--collect-only", "-q")
    ids = [line for line in result.outlines if "::" in line]
    assert ids == [
        "suites/mini.yaml::batch-frontier",
        "suites/mini.yaml::small-only",
        "suites/mini.yaml::route-sweep",
    ]


def test_the_item_is_gated_on_the_recommended_threshold(sweep_project: pytest.Pytester) -> None:
    run(sweep_project, "--cost-eval-update-goldens").assert_outcomes(passed=3)
    result = run(sweep_project)
    result.assert_outcomes(passed=3)
    out = result.stdout.str()
    assert "PASS         mini :: route-sweep (enforced): quality 1.000" in out
    assert (
        "recommended threshold 0.5: 60% to sim:frontier, $0.000313/query, 28% saved; "
        "8 thresholds" in out
    )
    db = sweep_project.path / "results" / "cost_eval.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        run_id = con.execute("SELECT run_id FROM runs ORDER BY rowid DESC LIMIT 1").fetchone()
        summary = con.execute(
            "SELECT verdict, quality, delta, ci_low, cost_per_query FROM summaries "
            "WHERE run_id = ? AND config = 'route-sweep'",
            [run_id[0] if run_id else None],
        ).fetchone()
        models = con.execute(
            "SELECT model FROM results WHERE run_id = ? AND config = 'route-sweep' ORDER BY rowid",
            [run_id[0] if run_id else None],
        ).fetchall()
        (record,) = con.execute(
            "SELECT json FROM sweeps WHERE run_id = ? AND config = 'route-sweep'",
            [run_id[0] if run_id else None],
        ).fetchone() or ("{}",)
    sweep = json.loads(record)
    rec = sweep["recommended"]
    assert summary is not None
    assert summary[:4] == ("pass", rec["quality"], rec["delta"], rec["ci_low"])
    assert float(summary[4]) == pytest.approx(rec["cost_per_query"])
    # The item's cases are routed with the recommended threshold: 60 % strong.
    assert sum(m == ("sim:frontier",) for m in models) == 6 and len(models) == 10
    assert 0.5 in [p["threshold"] for p in sweep["points"]]
    report = (sweep_project.path / "results" / "report.html").read_text()
    section = report[report.index('<section id="sweeps">') :]
    section = section[: section.index("</section>")]
    assert "Router sweeps" in section and "<svg" in section
    # The user's threshold 0.5 routes like the quantile 0.4725: the point keeps the user's.
    assert "Recommended threshold <strong>0.5</strong>" in section


def test_two_calls_per_case_at_most_and_none_on_rerun(mini_project: pytest.Pytester) -> None:
    # Only the sweep: goldens are the strong answers, the weak ones are called once.
    set_pyproject(mini_project, with_sweep())
    run(mini_project, "--cost-eval-update-goldens", "-k", "batch").assert_outcomes(
        passed=1, deselected=2
    )
    first = run(mini_project, "-k", "route-sweep")
    first.assert_outcomes(passed=1, deselected=2)
    first.stdout.fnmatch_lines(["*; 10 provider call(s), 0 of them to paid APIs*"])
    rerun = run(mini_project, "-k", "route-sweep")
    rerun.stdout.fnmatch_lines(["*; 0 provider call(s), 0 of them to paid APIs*"])


def test_no_passing_threshold_fails_the_enforced_item_with_the_reason(
    mini_project: pytest.Pytester,
) -> None:
    set_pyproject(mini_project, with_sweep(gate="gate = { max_cost_ratio = 0.01 }"))
    run(mini_project, "--cost-eval-update-goldens", "-k", "batch")
    result = run(mini_project, "-k", "route-sweep")
    result.assert_outcomes(failed=1, deselected=2)
    out = result.stdout.str()
    assert "mini :: route-sweep: FAIL (enforced)" in out
    assert (
        "why: no point passes the gate (8 fail of 8 judged); the closest is threshold 0.5 "
        "(60.0% strong): cost is 72% of the baseline's, above the 1% limit" in out
    )
    assert "Traceback" not in out
    report = (mini_project.path / "results" / "report.html").read_text()
    assert "no recommendation" in report


def test_a_suite_too_small_to_train_a_router_on_is_a_clear_error(
    mini_project: pytest.Pytester,
) -> None:
    set_pyproject(mini_project, with_sweep(score="trained"))
    (mini_project.path / "suites" / "mini.yaml").write_text(mini_suite_text(MINI_CASES[:6]))
    run(mini_project, "--cost-eval-update-goldens", "-k", "batch")
    result = run(mini_project, "-k", "route-sweep")
    result.assert_outcomes(failed=1, deselected=2)
    out = result.stdout.str()
    # Verdict "error" (nothing measured) reads "fail", as in every output; the why says what.
    assert "mini :: route-sweep: FAIL (enforced)" in out
    assert (
        "why: threshold sweep not computed: suite 'mini', config 'route-sweep': the trained "
        "router cannot be fitted: a trained router with 5-fold cross-validation needs at least "
        "10 cases with both outcomes; has 6" in out
    )
    assert "Traceback" not in out
    report = (mini_project.path / "results" / "report.html").read_text()
    assert "Sweep not computed:" in report


def test_harness_sweep_json(sweep_project: pytest.Pytester) -> None:
    run(sweep_project, "--cost-eval-update-goldens", "-k", "batch")
    args = ["--suite", "mini", "--router", "length", "--scale", "40"]
    args += ["--strong", "sim:frontier", "--weak", "sim:small", "--json"]
    result = sweep_project.run(sys.executable, "-m", "harness.cli", "sweep", *args)
    assert result.ret == 0, result.stderr.str()
    data = json.loads(result.stdout.str())
    assert list(data) == [
        "strong_quality",
        "weak_quality",
        "points",
        "apgr",
        "cpt",
        "oracle_apgr",
        "recommended",
    ]
    assert list(data["cpt"]) == ["20", "50", "80"]
    assert list(data["points"][0]) == [
        "threshold",
        "strong_share",
        "cost_per_query",
        "quality",
        "delta",
        "ci_low",
        "ci_high",
        "verdict",
    ]
    assert list(data["recommended"]) == list(data["points"][0])[:-1]
    assert data["recommended"]["strong_share"] == 0.6
    assert data["strong_quality"] == 1.0 and data["weak_quality"] == 0.7
