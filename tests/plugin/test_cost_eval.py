"""`pytest --cost-eval` end to end, on a tiny project in a temporary folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import pytest

from tests.helpers import PYPROJECT, set_pyproject


def record_goldens(pytester: pytest.Pytester) -> pytest.RunResult:
    result = pytester.runpytest(
        "--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider"
    )
    return result


def test_without_flag_nothing_is_collected(mini_project: pytest.Pytester) -> None:
    mini_project.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = mini_project.runpytest("suites", "test_plain.py", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "mini.yaml" not in result.stdout.str()


def test_without_flag_no_heavy_import(mini_project: pytest.Pytester) -> None:
    """The plugin is imported by every pytest run: it must stay cheap."""
    mini_project.makeconftest(
        """
        import sys
        def pytest_sessionfinish(session):
            heavy = ["openai", "anthropic", "datasets", "evaluate", "duckdb", "numpy",
                     "harness.plugin.session", "harness.engine.run"]
            with open("imported.txt", "w") as fh:
                fh.write(" ".join(m for m in heavy if m in sys.modules))
        """
    )
    mini_project.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = mini_project.runpytest_subprocess("test_plain.py", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert (mini_project.path / "imported.txt").read_text() == ""


def test_missing_goldens_are_reported_with_the_fix(mini_project: pytest.Pytester) -> None:
    result = mini_project.runpytest("--cost-eval", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    assert "10 case(s) have no golden ('m-01'" in out
    assert "--cost-eval-update-goldens" in out
    assert "Traceback" not in out


def test_update_goldens_then_run(mini_project: pytest.Pytester) -> None:
    recorded = record_goldens(mini_project)
    recorded.assert_outcomes(passed=2)
    recorded.stdout.fnmatch_lines(["*recorded 10 golden(s) for suite 'mini'*"])
    golden_file = mini_project.path / "goldens" / "mini" / "sim_frontier.jsonl"
    rows = [json.loads(line) for line in golden_file.read_text().splitlines()]
    assert [r["case_id"] for r in rows] == [f"m-{i:02d}" for i in range(1, 11)]
    assert all(r["schema_version"] == 1 and r["model"] == "sim:frontier" for r in rows)

    result = mini_project.runpytest("--cost-eval", "-p", "no:cacheprovider")
    # small-only is report-only: flagged, but the build stays green.
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    assert "PASS" in out and "mini :: batch-frontier (enforced)" in out
    assert "FLAGGED" in out and "mini :: small-only (report-only: " in out
    db = mini_project.path / "results" / "cost_eval.duckdb"
    report = mini_project.path / "results" / "report.html"
    assert db.is_file() and report.is_file()
    with duckdb.connect(str(db), read_only=True) as con:
        runs = con.execute("SELECT count(*) FROM runs").fetchone()
        rows_per_config = dict(
            con.execute("SELECT config, count(*) FROM results GROUP BY config").fetchall()
        )
        versions = con.execute("SELECT DISTINCT schema_version FROM summaries").fetchall()
    assert runs == (2,)
    # The latest run: 10 cases per configuration (the first run also stored 10 each).
    assert rows_per_config == {"batch-frontier": 20, "small-only": 20}
    assert versions == [(1,)]
    html = report.read_text()
    assert "batch-frontier" in html and "small-only" in html


def test_rerun_makes_no_provider_calls(mini_project: pytest.Pytester) -> None:
    record_goldens(mini_project)
    first = mini_project.runpytest("--cost-eval", "-p", "no:cacheprovider")
    first.stdout.fnmatch_lines(["*; 0 provider call(s), 0 of them to paid APIs (spent $0);*"])


def test_enforced_failure_explains_itself(mini_project: pytest.Pytester) -> None:
    set_pyproject(mini_project, PYPROJECT.format(small_enforce="enforce = true"))
    record_goldens(mini_project)
    result = mini_project.runpytest("--cost-eval", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str()
    # 3 of 10 cases worse: a big drop, but 10 cases cannot tell it from noise
    # at a 2-point margin, and an enforced gate that cannot decide fails.
    assert "mini :: small-only: INCONCLUSIVE (enforced)" in out
    assert "quality 0.700 vs baseline 1.000: delta -30.0 points" in out
    assert "margin -2.0 points" in out
    assert "n = 10 detects a 42.8-point drop at 80% power" in out
    assert "exact McNemar p = 0.250 (3 cases worse, 0 better)" in out
    assert "worst cases:" in out and "m-05 [hard] score 0.00" in out
    assert "Traceback" not in out and "harness/" not in out


def test_k_selects_configurations(mini_project: pytest.Pytester) -> None:
    record_goldens(mini_project)
    result = mini_project.runpytest("--cost-eval", "-k", "batch", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, deselected=1)
    out = result.stdout.str()
    assert "small-only" not in out.split("cost-eval", 1)[1]


def test_item_ids(mini_project: pytest.Pytester) -> None:
    result = mini_project.runpytest("--cost-eval", "--collect-only", "-q", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        [
            "suites/mini.yaml::batch-frontier",
            "suites/mini.yaml::small-only",
        ]
    )


def test_stale_golden_is_reported(mini_project: pytest.Pytester) -> None:
    record_goldens(mini_project)
    suite = mini_project.path / "suites" / "mini.yaml"
    suite.write_text(suite.read_text().replace("Compute 3 + 4.", "Compute 3 + 5."))
    result = mini_project.runpytest("--cost-eval", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    assert "1 golden(s) are stale" in out and "'m-01'" in out
    assert "Traceback" not in out


def test_report_and_summary_cli(
    mini_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.cli import main

    record_goldens(mini_project)
    monkeypatch.chdir(mini_project.path)
    report = mini_project.path / "results" / "report.html"
    report.unlink()
    assert main(["report", "--run", "latest"]) == 0
    assert report.is_file() and "small-only" in report.read_text()


def test_summary_json(
    mini_project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from harness.cli import main

    record_goldens(mini_project)
    monkeypatch.chdir(mini_project.path)
    capsys.readouterr()
    assert main(["summary", "--run", "latest", "--json"]) == 0
    objects = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["config"] for o in objects] == ["batch-frontier", "small-only"]
    assert set(objects[0]) == {
        "suite",
        "config",
        "n",
        "quality",
        "baseline_quality",
        "delta",
        "ci_low",
        "ci_high",
        "verdict",
        "label",
        "reasons",
        "scorer_problem",
        "scorer_warnings",
        "enforced",
        "cost_per_query",
        "baseline_cost_per_query",
        "cost_source",
        "recorded_cost_cases",
        "priced_cost_cases",
        "estimated_cost_cases",
        "baseline_cost_source",
        "monthly_cost",
        "baseline_monthly_cost",
        "errors",
        "savings_pct",
        "flagged_cases",
        "redacted",  # the run's API keys redacted from answers
        "judge",  # an LLM judge's calls, cost and consistency (None: no judge)
        "batch",  # batch-rate cases (None: none evaluated through a batch API)
    }
    batch, small = objects
    assert batch["verdict"] == "pass" and batch["savings_pct"] == pytest.approx(50.0)
    # Simulated models report their usage: every cost is priced, none recorded or estimated.
    assert (batch["cost_source"], batch["baseline_cost_source"]) == ("priced", "priced")
    assert (batch["priced_cost_cases"], batch["recorded_cost_cases"]) == (batch["n"], 0)
    assert small["quality"] == pytest.approx(0.7) and small["flagged_cases"] == 3
    assert small["verdict"] in ("fail", "inconclusive") and not small["enforced"]


def test_summary_cli_without_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["summary"]) == 2
    err = capsys.readouterr().err
    assert "no results database" in err and "pytest --cost-eval" in err


def test_redacted_failure_text_shows_no_case_text(mini_project: pytest.Pytester) -> None:
    set_pyproject(
        mini_project,
        PYPROJECT.format(small_enforce="enforce = true").replace(
            'volume = "10k/day"', 'volume = "10k/day"\nredact = true'
        ),
    )
    record_goldens(mini_project)
    result = mini_project.runpytest("--cost-eval", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "worst cases:" in out and "m-05 [hard] score 0.00" in out
    assert "The answer is 24" not in out
    assert "output:    [redacted: 17 chars, sha256" in out


def test_a_pair_with_no_answered_case_reports_no_measurement(
    mini_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every case errored: no quality of 0.000 at "$0/query (same cost)" (#14)."""
    record_goldens(mini_project).assert_outcomes(passed=2)
    with (mini_project.path / "pyproject.toml").open("a") as fh:
        fh.write(
            '\n[[tool.cost-eval.configs]]\nname = "unrecorded"\nmodel = "openai:gpt-4o-mini"\n'
        )
    monkeypatch.setenv("CI", "true")  # record mode 'none': nothing is sent, every case errors
    result = mini_project.runpytest("--cost-eval", "-p", "no:cacheprovider", "-k", "unrecorded")
    out = result.stdout.str()
    line = next(x for x in out.splitlines() if ":: unrecorded" in x)
    assert "no answers (10 error(s)): nothing measured, no cost" in line
    assert "quality 0.000" not in line and "$0/query" not in line
    assert "not recorded" in out


def test_the_heap_is_thawed_after_the_run_and_frozen_again_at_exit(
    mini_project: pytest.Pytester,
) -> None:
    """A process that goes on after ``pytest.main()`` gets its collector back; at the
    interpreter's exit the heap is frozen, so CPython's last collection skips it."""
    mini_project.makepyfile(
        driver="""
        import atexit, gc, sys

        # Registered first, so it runs last at exit: after the plugin's freeze.
        atexit.register(lambda: print(f"frozen at exit: {gc.get_freeze_count() > 0}"))
        import pytest

        code = pytest.main(["--cost-eval", "--cost-eval-update-goldens", "-q", "-p", "no:randomly"])
        print(f"thawed after the run: {gc.get_freeze_count() == 0}")
        pytest.main(["--cost-eval", "-q", "-p", "no:randomly"])
        sys.exit(code)
        """
    )
    result = mini_project.run(sys.executable, "driver.py")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["thawed after the run: True", "frozen at exit: True"])
    assert result.stdout.str().count("frozen at exit") == 1
