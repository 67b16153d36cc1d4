"""--cost-eval-compare, --cost-eval-fail-on-regression, `harness history|compare|nightly`."""

from __future__ import annotations

import json
import re

import pytest

from harness.cli import main
from tests.helpers import PYPROJECT, set_pyproject


def plant_regression(pytester: pytest.Pytester) -> None:
    """Same configuration name, now answered by the small model: a real quality drop."""
    set_pyproject(
        pytester,
        PYPROJECT.format(small_enforce="").replace(
            'name = "batch-frontier"\nmodel = "sim:frontier"',
            'name = "batch-frontier"\nmodel = "sim:small"',
        ),
    )


def two_runs(pytester: pytest.Pytester) -> pytest.RunResult:
    pytester.runpytest("--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider")
    plant_regression(pytester)
    return pytester.runpytest("--cost-eval", "--cost-eval-compare=last", "-p", "no:cacheprovider")


def test_compare_names_the_regression(mini_project: pytest.Pytester) -> None:
    result = two_runs(mini_project)
    out = result.stdout.str()
    assert "compared with run" in out and ": 1 regressed" in out
    line = next(x for x in out.splitlines() if "REGRESSED" in x)
    assert "mini :: batch-frontier: quality 1.000 -> 0.700 (-30.0 pts, CI [-60.0, -10.0]" in line
    assert "verdict pass -> inconclusive" in line
    assert "flipped m-05 [hard]: 1.00 -> 0.00" in out
    # Without --cost-eval-fail-on-regression the exit status is the gates' alone:
    # batch-frontier is enforced and no longer passes its gate.
    result.assert_outcomes(passed=1, failed=1)


REPORT_ONLY = """
[[tool.cost-eval.configs]]
name = "candidate"
model = "{model}"
"""


def with_candidate(pytester: pytest.Pytester, model: str) -> None:
    """The mini project plus a report-only configuration answered by ``model``."""
    set_pyproject(pytester, PYPROJECT.format(small_enforce="") + REPORT_ONLY.format(model=model))


def test_fail_on_regression_sets_exit_status(mini_project: pytest.Pytester) -> None:
    with_candidate(mini_project, "sim:frontier")
    mini_project.runpytest("--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider")
    with_candidate(mini_project, "sim:small")  # report-only: its gate cannot fail the build
    plain = mini_project.runpytest(
        "--cost-eval", "--cost-eval-compare=last", "-p", "no:cacheprovider"
    )
    assert plain.ret == 0
    assert "REGRESSED  mini :: candidate" in plain.stdout.str()
    strict = mini_project.runpytest(
        "--cost-eval",
        "--cost-eval-compare",
        plain_run_id(plain),
        "--cost-eval-fail-on-regression",
        "-p",
        "no:cacheprovider",
    )
    # Compared with the run before it (same answers): nothing regressed.
    assert strict.ret == 0 and ": 0 regressed" in strict.stdout.str()
    with_candidate(mini_project, "sim:frontier")
    recovered = mini_project.runpytest(
        "--cost-eval",
        "--cost-eval-compare=last",
        "--cost-eval-fail-on-regression",
        "-p",
        "no:cacheprovider",
    )
    # Quality is back, but the candidate now costs what the baseline does: it lost the
    # savings it had (99 % of the baseline's cost), a cost regression.
    assert recovered.ret == pytest.ExitCode.TESTS_FAILED
    assert ": 1 regressed (0 quality, 1 cost)" in recovered.stdout.str()
    with_candidate(mini_project, "sim:small")
    regressed = mini_project.runpytest(
        "--cost-eval",
        "--cost-eval-compare=last",
        "--cost-eval-fail-on-regression",
        "-p",
        "no:cacheprovider",
    )
    assert regressed.ret == pytest.ExitCode.TESTS_FAILED
    regressed.assert_outcomes(passed=3)  # every gate green; the comparison failed the run
    assert ": 1 regressed (1 quality, 0 cost)" in regressed.stdout.str()


def plain_run_id(result: pytest.RunResult) -> str:
    line = next(x for x in result.stdout.lines if x.startswith("run "))
    return line.split()[1].rstrip(":")


def test_history_and_compare_cli(
    mini_project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    two_runs(mini_project)
    monkeypatch.chdir(mini_project.path)
    capsys.readouterr()
    assert main(["history", "--config", "batch-frontier", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["config"], r["verdict"], r["quality"]) for r in rows] == [
        ("batch-frontier", "inconclusive", pytest.approx(0.7)),
        ("batch-frontier", "pass", pytest.approx(1.0)),
    ]
    assert main(["compare", "--run", "latest"]) == 1  # a regression: non-zero
    text = capsys.readouterr().out
    assert "REGRESSED  mini :: batch-frontier" in text
    assert main(["compare", "--run", "latest", "--json"]) == 1
    changes = {c["config"]: c for c in map(json.loads, capsys.readouterr().out.splitlines())}
    batch = changes["batch-frontier"]
    assert batch["regressed"] and batch["change"] == pytest.approx(-0.3)
    assert batch["ci_high"] < 0
    assert [f["case_id"] for f in batch["flipped"]] == ["m-05", "m-06", "m-09"]
    assert not changes["small-only"]["regressed"] and changes["small-only"]["flipped"] == []


def test_nightly_exits_non_zero_on_regression(
    mini_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_candidate(mini_project, "sim:frontier")
    mini_project.runpytest("--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider")
    monkeypatch.chdir(mini_project.path)
    assert main(["nightly", "-p", "no:cacheprovider"]) == 0
    with_candidate(mini_project, "sim:small")
    assert main(["nightly", "-k", "candidate", "-p", "no:cacheprovider"]) == 1


def partial_run(pytester: pytest.Pytester) -> pytest.RunResult:
    """A `-k` run of one of the two configurations, compared with the last run."""
    return pytester.runpytest(
        "--cost-eval",
        "-k",
        "small-only",
        "--cost-eval-compare=last",
        "--cost-eval-fail-on-regression",
        "-p",
        "no:cacheprovider",
    )


def test_a_partial_run_names_the_configurations_it_could_not_compare(
    mini_project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mini_project.runpytest("--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider")
    partial = partial_run(mini_project)
    out = partial.stdout.str()
    assert ": 0 regressed; 1 of 2 configuration(s) compared" in out
    assert "1 configuration(s) not compared: in the earlier run only: mini :: batch-frontier" in out
    # The default (missing_configs = "warn"): named, said to be a warning, exit 0.
    assert 'a warning, not a failure; set missing_configs = "fail"' in out
    assert partial.ret == 0
    html = (mini_project.path / "results" / "report.html").read_text(encoding="utf-8")
    note = html[html.index('id="not-compared"') :].split("</p>")[0]
    assert "1 configuration not compared" in note
    assert "in the earlier run only: mini :: <code>batch-frontier</code>" in note

    # The next full run, compared with the partial one by `harness compare`.
    mini_project.runpytest("--cost-eval", "-p", "no:cacheprovider")
    monkeypatch.chdir(mini_project.path)
    capsys.readouterr()
    assert main(["compare", "--run", "latest"]) == 0
    text = capsys.readouterr().out
    assert "1 configuration(s) not compared: in this run only: mini :: batch-frontier" in text
    assert main(["compare", "--run", "latest", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["config"] for r in rows if r["compared"]] == ["small-only"]
    assert [r for r in rows if not r["compared"]] == [
        {"suite": "mini", "config": "batch-frontier", "compared": False, "only_in": "this run"}
    ]


def test_missing_configs_fail_makes_a_missing_configuration_fail_the_run(
    mini_project: pytest.Pytester,
) -> None:
    mini_project.runpytest("--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider")
    strict = PYPROJECT.format(small_enforce="").replace(
        'volume = "10k/day"', 'volume = "10k/day"\nmissing_configs = "fail"'
    )
    set_pyproject(mini_project, strict)
    result = partial_run(mini_project)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1)  # the gate passed; the missing configuration failed the run
    assert 'fails the run (missing_configs = "fail"' in result.stdout.str()
    # Without --cost-eval-fail-on-regression the setting changes nothing.
    lenient = mini_project.runpytest(
        "--cost-eval", "-k", "small-only", "--cost-eval-compare=last", "-p", "no:cacheprovider"
    )
    assert lenient.ret == 0


def test_a_wrong_missing_configs_value_is_named(mini_project: pytest.Pytester) -> None:
    set_pyproject(
        mini_project,
        PYPROJECT.format(small_enforce="").replace(
            'volume = "10k/day"', 'volume = "10k/day"\nmissing_configs = "error"'
        ),
    )
    result = mini_project.runpytest("--cost-eval", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "'missing_configs' must be \"warn\" or \"fail\", got 'error'" in err
    assert "Traceback" not in err


SWEEP = """
[[tool.cost-eval.configs]]
name = "route"
enforce = true

[tool.cost-eval.configs.router]
kind = "threshold"
score = "length"
scale = 40
strong = "sim:frontier"
weak = "sim:small"
threshold = "sweep"
sweep = { quantiles = 10, thresholds = [0.5] }
"""


SMALL_PRICE = "input = 0.15\noutput = 0.6"
DEAR_SMALL = "input = 50.0\noutput = 150.0"


def with_sweep(
    pytester: pytest.Pytester, *, small_price: str = SMALL_PRICE, small_gate: str = ""
) -> None:
    """The mini project plus an enforced threshold sweep; ``small_price`` reprices sim:small,
    ``small_gate`` is small-only's own gate table."""
    assert SMALL_PRICE in PYPROJECT
    text = PYPROJECT.format(small_enforce=small_gate).replace(SMALL_PRICE, small_price) + SWEEP
    set_pyproject(pytester, text)


def test_a_sweep_that_loses_its_savings_is_a_cost_regression(
    mini_project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with_sweep(mini_project)
    first = mini_project.runpytest(
        "--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider"
    )
    first.assert_outcomes(passed=3)
    assert "28% saved" in first.stdout.str()
    monkeypatch.chdir(mini_project.path)
    # The provider makes the small model dearer than the frontier one: the sweep's
    # cheapest passing threshold sends everything to the frontier model and saves
    # nothing, while its quality does not move.
    with_sweep(mini_project, small_price=DEAR_SMALL)
    assert main(["nightly", "-p", "no:cacheprovider"]) == 1
    out = capsys.readouterr().out
    assert ": 2 regressed (0 quality, 2 cost); 3 of 3 configuration(s) compared" in out
    line = next(x for x in out.splitlines() if "REGRESSED  mini :: route" in x)
    assert "quality 1.000 -> 1.000 (+0.0 pts" in line and "verdict pass -> pass" in line
    assert "(saved 28% -> 0% of the baseline's)" in line
    assert "why: cost: saved 28% of the baseline's cost per query, now 0%" in out
    assert "now costs 231% more than the baseline" in out  # small-only
    assert "why: quality" not in out

    assert main(["compare"]) == 1
    text = capsys.readouterr().out
    assert ": 2 regressed (0 quality, 2 cost)" in text
    assert "REGRESSED  mini :: route:" in text and "same       mini :: batch-frontier:" in text
    assert main(["compare", "--json"]) == 1
    rows = {r["config"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    route = rows["route"]
    assert route["regressed"] and route["cost_regressed"] and not route["quality_regressed"]
    assert route["savings_before"] == pytest.approx(28, abs=1)
    assert route["savings_now"] == pytest.approx(0, abs=0.5)
    assert route["reasons"][0].startswith("cost: saved 28%")
    assert not rows["batch-frontier"]["regressed"]


def test_the_cost_margin_is_a_gate_setting(
    mini_project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with_sweep(mini_project)
    mini_project.runpytest("--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider")
    # sim:small at the frontier's price: the sweep loses 11 % of the baseline's cost
    # (28 % -> 17 %), small-only 32 % (99 % -> 67 %); within the margins set here.
    with_sweep(
        mini_project,
        small_price="input = 5.0\noutput = 15.0",
        small_gate="[tool.cost-eval.configs.gate]\nmax_cost_increase = 0.4",
    )
    pyproject = mini_project.path / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "max_quality_drop = 0.02", "max_quality_drop = 0.02\nmax_cost_increase = 0.2"
        )
    )
    result = mini_project.runpytest(
        "--cost-eval",
        "--cost-eval-compare=last",
        "--cost-eval-fail-on-regression",
        "-p",
        "no:cacheprovider",
    )
    assert ": 0 regressed; 3 of 3" in result.stdout.str()
    assert result.ret == 0
    monkeypatch.chdir(mini_project.path)
    capsys.readouterr()
    assert main(["compare", "--json"]) == 0
    rows = {r["config"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["route"]["max_cost_increase"] == 0.2
    assert rows["small-only"]["max_cost_increase"] == 0.4
    assert rows["route"]["savings_now"] == pytest.approx(17, abs=1)
    # The project's margin alone would make small-only a cost regression.
    pyproject.write_text(pyproject.read_text().replace("max_cost_increase = 0.4", ""))
    assert main(["compare"]) == 1
    assert ": 1 regressed (0 quality, 1 cost)" in capsys.readouterr().out


THRESHOLDS = """
[[tool.cost-eval.configs]]
name = "route"

[tool.cost-eval.configs.router]
kind = "threshold"
score = "length"
scale = 40
strong = "sim:frontier"
weak = "sim:small"
threshold = [0.3, 0.6]
"""


def test_history_filters_by_base_name_and_aligns_cost_beside_quality(
    mini_project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    set_pyproject(mini_project, PYPROJECT.format(small_enforce="") + THRESHOLDS)
    mini_project.runpytest("--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider")
    mini_project.runpytest("--cost-eval", "-p", "no:cacheprovider")
    monkeypatch.chdir(mini_project.path)
    capsys.readouterr()
    # `route` was expanded to route[threshold=0.3] and route[threshold=0.6]: the base name
    # finds both, in both runs; a full name finds one; a prefix of a name finds nothing.
    assert main(["history", "--config", "route", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted({r["config"] for r in rows}) == ["route[threshold=0.3]", "route[threshold=0.6]"]
    assert len(rows) == 4
    assert {r["label"] for r in rows} <= {"pass", "flagged"}
    assert all(r["cost_per_query"] > 0 and "savings_pct" in r for r in rows)
    assert main(["history", "--config", "route[threshold=0.3]", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    # A name that matches nothing is an error that lists the names there are.
    assert main(["history", "--config", "rou"]) == 2
    err = capsys.readouterr().err
    assert "no run among the last 30 has configuration 'rou'" in err
    assert "route[threshold=0.3], route[threshold=0.6]" in err and "Their configurations: " in err

    assert main(["history", "--config", "route"]) == 0
    out = capsys.readouterr().out
    assert "\x1b[" not in out  # not a terminal: plain text
    header, *lines = out.splitlines()
    assert len(lines) == 4
    columns = ["verdict", "quality", "Δ pts", "cost/query", "vs baseline", "errors"]
    assert all(name in header for name in columns)
    verdict_at = header.index("verdict")
    quality_end = header.index("quality") + len("quality")
    cost_end = header.index("cost/query") + len("cost/query")
    for line in lines:
        assert line[verdict_at:].startswith(("pass (", "flagged (")), line  # left-aligned
        assert re.fullmatch(r"\d\.\d{3}", line[quality_end - 5 : quality_end]), line  # right
        assert re.fullmatch(r" *\$0\.\d+", line[cost_end - 10 : cost_end]), line
        assert re.search(r"[-+]\d+% cost|same cost", line), line
    # Each row names its sweep point in full (rich would read "[threshold=0.3]" as markup).
    for point in ("route[threshold=0.3]", "route[threshold=0.6]"):
        assert sum(point in line for line in lines) == 2, out


def test_compare_two_chosen_runs(
    mini_project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    two_runs(mini_project)  # batch-frontier answered by the small model in the second run
    monkeypatch.chdir(mini_project.path)
    capsys.readouterr()
    assert main(["history", "--config", "batch-frontier", "--json"]) == 0
    newer, older = (json.loads(line)["run_id"] for line in capsys.readouterr().out.splitlines())

    assert main(["compare", older, newer]) == 1
    text = capsys.readouterr().out
    assert text.startswith(f"run {newer} compared with {older}: 1 regressed (1 quality, 0 cost)")
    assert "REGRESSED  mini :: batch-frontier" in text
    # The same two runs by name, and by unique prefixes.
    assert main(["compare", "previous", "latest"]) == 1
    assert capsys.readouterr().out == text
    # The shortest unique prefixes (two runs in one second share the timestamp part).
    unique = next(i for i, (a, b) in enumerate(zip(older, newer, strict=True)) if a != b) + 1
    assert main(["compare", older[:unique], newer[:unique]]) == 1
    assert capsys.readouterr().out == text
    # The other way round: the frontier answers again, quality is back, and the savings
    # of the small model's answers are lost: a cost regression only.
    assert main(["compare", newer, older, "--json"]) == 1
    rows = {r["config"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    batch = rows["batch-frontier"]
    assert batch["change"] == pytest.approx(0.3)
    assert batch["cost_regressed"] and not batch["quality_regressed"]
    assert not rows["small-only"]["regressed"]

    assert main(["compare", older, newer, "latest"]) == 2
    err = capsys.readouterr().err
    assert "3 runs given" in err and "Traceback" not in err
    assert main(["compare", older, newer, "--run", newer]) == 2
    assert "either as RUN_A RUN_B or with --run/--against" in capsys.readouterr().err
    assert main(["compare", "nope", newer]) == 2
    assert "run 'nope' matches no run" in capsys.readouterr().err
