"""`pytest -n 2 --cost-eval` gives the same summaries as a serial run, one writer to DuckDB."""

from __future__ import annotations

import json

import pytest

from harness.cli import main


def summaries(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> list[object]:
    capsys.readouterr()
    assert main(["summary", "--run", "latest", "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_parallel_run_matches_serial(
    mini_project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(mini_project.path)
    serial = mini_project.runpytest_subprocess(
        "--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider"
    )
    serial.assert_outcomes(passed=2)
    expected = summaries(mini_project, capsys)
    parallel = mini_project.runpytest_subprocess("--cost-eval", "-n", "2", "-p", "no:cacheprovider")
    parallel.assert_outcomes(passed=2)
    assert summaries(mini_project, capsys) == expected
    import duckdb

    with duckdb.connect(
        str(mini_project.path / "results" / "cost_eval.duckdb"), read_only=True
    ) as con:
        runs = con.execute("SELECT run_id FROM runs").fetchall()
        per_run = con.execute(
            "SELECT run_id, count(*) FROM results GROUP BY run_id ORDER BY run_id"
        ).fetchall()
    assert len(runs) == 2
    assert [count for _, count in per_run] == [20, 20]  # no pair stored twice
    assert not list((mini_project.path / "results").glob("*.journal/*.jsonl"))
