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
