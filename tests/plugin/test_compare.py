"""--cost-eval-compare, --cost-eval-fail-on-regression, `harness history|compare|nightly`."""

from __future__ import annotations

import json

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
    assert recovered.ret == 0
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
    assert ": 0 regressed (1 of 2 configuration(s) compared)" in out
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
