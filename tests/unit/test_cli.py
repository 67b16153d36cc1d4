"""The ``harness`` command on a stored run of the tiny project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main, summary_object
from harness.engine.run_data import RunOutcome
from harness.store.runs import write_run
from tests.unit.tiny_project import evaluate, make_settings, write_suite


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunOutcome]:
    """A results database holding one real run (batch-frontier passes, small-only does not)."""
    root = tmp_path_factory.mktemp("cli")
    write_suite(root)
    settings = make_settings(root)
    outcome = evaluate(settings, update_goldens="new")
    write_run(settings.db, outcome)
    return settings.db, outcome


@pytest.fixture(autouse=True)
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from an empty folder: no pyproject.toml decides the paths."""
    monkeypatch.chdir(tmp_path)


def test_summary_text(stored: tuple[Path, RunOutcome], capsys: pytest.CaptureFixture[str]) -> None:
    db, outcome = stored
    assert main(["summary", "--db", str(db)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = captured.out.splitlines()
    assert lines[0] == f"run {outcome.run_id} ({outcome.started_at}), baseline sim:frontier"
    assert lines[1] == (
        "PASS          tiny :: batch-frontier (enforced): quality 1.000, delta +0.0 pts "
        "[+0.0, +0.0], $0.000204/query (batch rate on 6 case(s)), -50% cost"
    )
    small = outcome.summaries[1]
    assert small.verdict != "pass"
    # A report-only configuration that does not pass is "flagged", as in every output.
    # Flagged: what its gate said beside report-only.
    assert lines[2].startswith(
        "FLAGGED       tiny :: small-only (report-only: inconclusive): quality "
    )
    assert f"quality {small.quality:.3f}, delta {small.delta * 100:+.1f} pts" in lines[2]
    assert lines[2].endswith(f"{-small.savings_pct:+.0f}% cost")
    assert lines[3] == "verdicts: 1 pass, 0 fail, 0 inconclusive, 1 flagged (report-only) of 2"
    assert len(lines) == 4


def test_summary_json(stored: tuple[Path, RunOutcome], capsys: pytest.CaptureFixture[str]) -> None:
    db, outcome = stored
    assert main(["summary", "--db", str(db), "--run", outcome.run_id[:10], "--json"]) == 0
    objects = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(o["suite"], o["config"], o["verdict"]) for o in objects] == [
        ("tiny", "batch-frontier", "pass"),
        ("tiny", "small-only", outcome.summaries[1].verdict),
    ]
    assert objects[0]["savings_pct"] == 50.0
    assert objects[0]["cost_per_query"] == pytest.approx(
        float(outcome.summaries[0].cost_per_query), rel=1e-9
    )
    # Plus the run's count of API keys redacted from answers (none here).
    expected = {**summary_object(outcome.summaries[1]), "redacted": 0}
    assert objects[1].keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, float):  # printed and read back as JSON
            assert objects[1][key] == pytest.approx(value), key
        else:
            assert objects[1][key] == value, key


def test_summary_object_fields(stored: tuple[Path, RunOutcome]) -> None:
    _db, outcome = stored
    obj = summary_object(outcome.summaries[0])
    assert set(obj) == {
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
        "judge",
        "batch",
    }
    assert isinstance(obj["cost_per_query"], float)
    json.dumps(obj)  # plain JSON types only


def test_unknown_run_id_exits_2(
    stored: tuple[Path, RunOutcome], capsys: pytest.CaptureFixture[str]
) -> None:
    db, outcome = stored
    assert main(["summary", "--db", str(db), "--run", "nope"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"harness: {db}: run 'nope' matches no run. Use 'latest' or one of: {outcome.run_id}.\n"
    )


def test_missing_database_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "--db", str(tmp_path / "none.duckdb")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("harness: ") and "no results database" in err
    assert "Traceback" not in err


def test_default_db_comes_from_the_project_settings(
    stored: tuple[Path, RunOutcome], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, outcome = stored
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.cost-eval]\nbaseline = "sim:frontier"\ndb = "{db.as_posix()}"\n'
    )
    assert main(["summary", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(outcome.summaries)


def test_default_db_without_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'results' / 'cost_eval.duckdb'}: no results database" in err


def test_problems_are_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_suite(tmp_path)
    settings = make_settings(tmp_path)
    write_run(settings.db, evaluate(settings))  # no goldens: the suite is a problem
    assert main(["summary", "--db", str(settings.db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[1].startswith("ERROR         tiny: ")
    assert "6 case(s) have no golden" in lines[1]


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "usage: harness" in capsys.readouterr().err
