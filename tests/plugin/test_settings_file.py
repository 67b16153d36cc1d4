"""`pytest --cost-eval` (in a subprocess) and `harness`: one name for the settings file;
a configuration naming a suite that does not exist; `--cost-eval-limit N`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from harness.cli import main
from tests.helpers import PYPROJECT

NO_CACHE = ("-p", "no:cacheprovider")


def move_settings(project: pytest.Pytester, name: str = "cost-eval.toml") -> Path:
    """Move the project's [tool.cost-eval] table out of pyproject.toml into ``name``."""
    (project.path / "pyproject.toml").unlink()
    path = project.path / name
    path.write_text(PYPROJECT.format(small_enforce=""))
    return path


def test_cost_eval_settings_names_the_file(mini_project: pytest.Pytester) -> None:
    move_settings(mini_project, "eval-settings.toml")
    result = mini_project.runpytest_subprocess(
        "--cost-eval", "--cost-eval-settings", "eval-settings.toml", "--cost-eval-update-goldens",
        *NO_CACHE,
    )  # fmt: skip
    result.assert_outcomes(passed=2)
    assert "deprecated" not in result.stdout.str()


def test_the_ini_key_names_the_file(mini_project: pytest.Pytester) -> None:
    move_settings(mini_project, "other.toml")
    (mini_project.path / "pytest.ini").write_text("[pytest]\ncost_eval_settings = other.toml\n")
    result = mini_project.runpytest_subprocess(
        "--cost-eval", "--cost-eval-update-goldens", *NO_CACHE
    )
    result.assert_outcomes(passed=2)


def test_the_old_flag_still_works_and_says_so_once(mini_project: pytest.Pytester) -> None:
    move_settings(mini_project, "other.toml")
    result = mini_project.runpytest_subprocess(
        "--cost-eval", "--cost-eval-config", "other.toml", "--cost-eval-update-goldens", *NO_CACHE
    )
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    assert out.count("--cost-eval-config (or the cost_eval_config ini key) is deprecated") == 1
    assert "Use --cost-eval-settings PATH" in out


def test_cost_eval_toml_is_found_without_a_flag(mini_project: pytest.Pytester) -> None:
    """The folder `harness import` writes: cost-eval.toml, no pyproject.toml."""
    move_settings(mini_project)
    result = mini_project.runpytest_subprocess(
        "--cost-eval", "--cost-eval-update-goldens", *NO_CACHE
    )
    result.assert_outcomes(passed=2)


def test_cost_eval_toml_comes_first_and_the_run_says_so(mini_project: pytest.Pytester) -> None:
    # Both hold a table: cost-eval.toml (with another baseline) is read, and the run says so.
    (mini_project.path / "cost-eval.toml").write_text(
        PYPROJECT.format(small_enforce="").replace('volume = "10k/day"', 'volume = "20k/day"')
    )
    result = mini_project.runpytest_subprocess(
        "--cost-eval", "--cost-eval-update-goldens", *NO_CACHE
    )
    result.assert_outcomes(passed=2)
    out = " ".join(result.stdout.str().split())
    assert "settings read from cost-eval.toml; pyproject.toml's [tool.cost-eval] table is " in out
    with duckdb.connect(str(mini_project.path / "results" / "cost_eval.duckdb")) as con:
        row = con.execute("SELECT volume, settings_json FROM runs").fetchone()
    assert row is not None and row[0] == "20k/day"
    assert json.loads(row[1])["source"] == "cost-eval.toml"


def test_harness_finds_cost_eval_toml_and_notes_the_choice(
    mini_project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    move_settings(mini_project)
    settings = mini_project.path / "cost-eval.toml"
    settings.write_text(settings.read_text().replace('volume = "10k/day"', 'db = "elsewhere.db"'))
    mini_project.runpytest_subprocess("--cost-eval", "--cost-eval-update-goldens", *NO_CACHE)
    monkeypatch.chdir(mini_project.path)
    capsys.readouterr()
    # `harness summary` reads the db setting of cost-eval.toml (not the default path).
    assert main(["summary", "--json"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) >= 2 and captured.err == ""
    # With a pyproject.toml table too, cost-eval.toml still wins and the choice is printed.
    (mini_project.path / "pyproject.toml").write_text(PYPROJECT.format(small_enforce=""))
    assert main(["summary", "--json"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) >= 2
    assert captured.err.startswith("harness: note: settings read from cost-eval.toml; ")
    assert main(["summary", "--json", "--settings", "cost-eval.toml"]) == 0
    assert capsys.readouterr().err == ""


def test_a_misspelt_suite_is_a_configuration_error(mini_project: pytest.Pytester) -> None:
    pyproject = mini_project.path / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text()
        + '\n[[tool.cost-eval.configs]]\nname = "typo"\nmodel = "sim:small"\nsuites = ["mni"]\n'
    )
    result = mini_project.runpytest_subprocess(
        "--cost-eval", "--cost-eval-update-goldens", *NO_CACHE
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = " ".join(result.stderr.str().split())
    assert (
        "pyproject.toml [tool.cost-eval] configuration 'typo': suites names 'mni', but no "
        "suite in suites/ has that name. Did you mean 'mini'? Suites: mini." in err
    )
    assert "Traceback" not in err + result.stdout.str()


def test_limit_takes_the_first_cases_of_each_suite(mini_project: pytest.Pytester) -> None:
    recorded = mini_project.runpytest_subprocess(
        "--cost-eval", "--cost-eval-update-goldens", *NO_CACHE
    )
    recorded.assert_outcomes(passed=2)
    summary = mini_project.path / "results" / "summary.md"
    assert "Partial run" not in summary.read_text(encoding="utf-8")
    result = mini_project.runpytest_subprocess("--cost-eval", "--cost-eval-limit", "3", *NO_CACHE)
    result.assert_outcomes(passed=2)
    out = " ".join(result.stdout.str().split())
    assert "limited to the first 3 case(s) of each suite (--cost-eval-limit)" in out
    # Where people read the verdicts, too: the report's header and the summary.
    page = (mini_project.path / "results" / "report.html").read_text(encoding="utf-8")
    assert 'id="case-limit">only the first 3 of each suite' in page
    assert "**Partial run:** only the first 3 case(s) of each suite" in summary.read_text(
        encoding="utf-8"
    )
    with duckdb.connect(str(mini_project.path / "results" / "cost_eval.duckdb")) as con:
        runs = con.execute(
            "SELECT run_id, settings_json FROM runs ORDER BY started_at, rowid"
        ).fetchall()
        latest = runs[-1][0]
        cases = con.execute(
            "SELECT DISTINCT case_id FROM results WHERE run_id = ? ORDER BY case_id", [latest]
        ).fetchall()
    assert [c for (c,) in cases] == ["m-01", "m-02", "m-03"]
    assert json.loads(runs[-1][1])["case_limit"] == 3
    assert json.loads(runs[0][1])["case_limit"] is None


def test_limit_from_the_ini_file_and_a_bad_value(mini_project: pytest.Pytester) -> None:
    mini_project.runpytest_subprocess("--cost-eval", "--cost-eval-update-goldens", *NO_CACHE)
    (mini_project.path / "pytest.ini").write_text("[pytest]\ncost_eval_limit = 2\n")
    result = mini_project.runpytest_subprocess("--cost-eval", *NO_CACHE)
    result.assert_outcomes(passed=2)
    assert "limited to the first 2 case(s)" in " ".join(result.stdout.str().split())
    (mini_project.path / "pytest.ini").write_text("[pytest]\ncost_eval_limit = two\n")
    result = mini_project.runpytest_subprocess("--cost-eval", *NO_CACHE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "ini key cost_eval_limit: 'two' is not a number of cases" in result.stderr.str()
    result = mini_project.runpytest_subprocess("--cost-eval", "--cost-eval-limit", "0", *NO_CACHE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "'0' is not a number of cases" in result.stderr.str()


def test_limit_never_records_goldens(mini_project: pytest.Pytester) -> None:
    """Goldens recorded from a limited suite would drop those of the other cases."""
    mini_project.runpytest_subprocess("--cost-eval", "--cost-eval-update-goldens", *NO_CACHE)
    goldens = mini_project.path / "goldens" / "mini" / "sim_frontier.jsonl"
    before = goldens.read_text()
    assert len(before.splitlines()) == 10
    result = mini_project.runpytest_subprocess(
        "--cost-eval", "--cost-eval-limit", "3", "--cost-eval-update-goldens=all", *NO_CACHE
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "Record goldens without the limit." in " ".join(result.stderr.str().split())
    assert goldens.read_text() == before


def test_pytest_in_an_imported_folder_inside_a_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cd evals && pytest --cost-eval`: pytest's rootdir is the project's (its pyproject.toml
    has pytest settings and no [tool.cost-eval]), the settings are evals/cost-eval.toml."""
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["t"]\n')
    monkeypatch.chdir(tmp_path)
    assert main(["init", "evals"]) == 0
    evals = tmp_path / "evals"
    (evals / "pyproject.toml").rename(evals / "cost-eval.toml")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--cost-eval", *NO_CACHE],
        cwd=evals,
        env={**env, "CI": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"rootdir: {tmp_path}" in done.stdout
    assert "3 passed" in done.stdout
    assert (evals / "results" / "cost_eval.duckdb").is_file()
