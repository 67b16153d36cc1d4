"""DuckDB storage: a real run written and read back, run-id resolution, the response store."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from harness.engine.run_data import RunOutcome
from harness.errors import StorageError
from harness.store.database import connect
from harness.store.responses import load_responses
from harness.store.runs import load_run, stored_run, write_run
from harness.types import Summary
from tests.unit.tiny_project import evaluate, make_settings, responses_of, write_suite

STEP = Decimal("1e-12")


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> RunOutcome:
    """One real run of the tiny project (goldens recorded, two configurations)."""
    root = tmp_path_factory.mktemp("project")
    write_suite(root)
    return evaluate(make_settings(root), update_goldens="new")


def with_run_id(outcome: RunOutcome, run_id: str, started_at: str | None = None) -> RunOutcome:
    return dataclasses.replace(outcome, run_id=run_id, started_at=started_at or outcome.started_at)


def quantized(summary: Summary) -> Summary:
    """A summary with its money as stored (DECIMAL(28, 12))."""
    return dataclasses.replace(
        summary,
        cost_per_query=summary.cost_per_query.quantize(STEP),
        baseline_cost_per_query=summary.baseline_cost_per_query.quantize(STEP),
        monthly_cost=summary.monthly_cost.quantize(STEP),
        baseline_monthly_cost=summary.baseline_monthly_cost.quantize(STEP),
    )


def test_write_and_load_round_trip(tmp_path: Path, outcome: RunOutcome) -> None:
    db = tmp_path / "results" / "cost_eval.duckdb"
    write_run(db, outcome)
    stored = load_run(db)
    assert stored.run["run_id"] == outcome.run_id
    assert stored.run["baseline"] == "sim:frontier"
    assert stored.run["volume"] == "10k/day"
    assert stored.run["calls"] == outcome.calls == 12
    assert stored.run["schema_version"] == 1
    assert json.loads(stored.run["prices_json"]) == outcome.price_snapshot
    assert json.loads(stored.run["settings_json"])["gate"]["max_quality_drop"] == 0.02
    assert stored.summaries == tuple(quantized(s) for s in outcome.summaries)
    assert stored.problems == {}
    # Results come back in the order written, every field intact.
    assert len(stored.results) == len(outcome.results) == 12
    for back, original in zip(stored.results, outcome.results, strict=True):
        assert back == original  # costs here have <= 12 decimals: exact
        assert isinstance(back.cost_usd, Decimal)


def test_configs_and_responses_tables(tmp_path: Path, outcome: RunOutcome) -> None:
    db = tmp_path / "r.duckdb"
    write_run(db, outcome)
    with duckdb.connect(str(db), read_only=True) as con:
        configs = con.execute(
            "SELECT config, family, enforce, spec_json FROM configs ORDER BY config"
        ).fetchall()
        stored_hashes = {r[0] for r in con.execute("SELECT request_hash FROM responses").fetchall()}
        request_json = con.execute("SELECT request_json FROM responses LIMIT 1").fetchone()
    assert [(c[0], c[1], c[2]) for c in configs] == [
        ("batch-frontier", "batch-frontier", True),
        ("small-only", "small-only", False),
    ]
    assert json.loads(configs[0][3])["batch"] is True
    assert stored_hashes == set(outcome.new_responses)
    assert request_json is not None
    assert set(json.loads(request_json[0])) == {"model", "messages", "params"}


def test_load_responses_round_trip(tmp_path: Path, outcome: RunOutcome) -> None:
    db = tmp_path / "r.duckdb"
    assert load_responses(db) == {}  # no file yet
    write_run(db, outcome)
    loaded = load_responses(db)
    # Text, model, usage and latency come back exactly; the responses were plain calls.
    assert loaded == responses_of(outcome)
    assert len(loaded) == 12


def test_responses_of_a_database_from_before_billed_costs_load(tmp_path: Path) -> None:
    """A file written before ``cost_usd`` existed, opened read-only (never migrated)."""
    db = tmp_path / "old.duckdb"
    with duckdb.connect(str(db)) as connection:
        connection.execute(
            "CREATE TABLE responses (schema_version INTEGER, request_hash VARCHAR PRIMARY KEY, "
            "model VARCHAR, request_json VARCHAR, response VARCHAR, input_tokens BIGINT, "
            "cached_input_tokens BIGINT, cache_write_tokens BIGINT, output_tokens BIGINT, "
            "reasoning_tokens BIGINT, latency_ms DOUBLE, recorded_at VARCHAR)"
        )
        connection.execute(
            "INSERT INTO responses VALUES (1, 'abc', 'sim:small', '{}', 'ANSWER: 4', "
            "12, 3, 0, 5, 2, 40.5, '2026-01-01T00:00:00Z')"
        )
    [(key, response)] = load_responses(db).items()
    assert key == "abc"
    assert (response.text, response.model, response.latency_ms) == ("ANSWER: 4", "sim:small", 40.5)
    assert dataclasses.astuple(response.usage) == (12, 3, 0, 5, 2)
    assert response.cost_usd is None


def test_stored_responses_make_a_rerun_free(tmp_path: Path) -> None:
    write_suite(tmp_path)
    settings = make_settings(tmp_path)
    first = evaluate(settings, update_goldens="new")
    write_run(settings.db, first)
    rerun = evaluate(settings, recorded=load_responses(settings.db))
    assert rerun.calls == 0
    write_run(settings.db, rerun)
    assert load_run(settings.db).run["calls"] == 0
    assert load_run(settings.db, first.run_id).run["calls"] == 12


def test_rewriting_a_response_replaces_it(tmp_path: Path, outcome: RunOutcome) -> None:
    db = tmp_path / "r.duckdb"
    write_run(db, outcome)
    # A second run that re-recorded the same requests (record mode 'all').
    write_run(db, with_run_id(outcome, "20991231T000000Z-aaaaaa"))
    with duckdb.connect(str(db), read_only=True) as con:
        count = con.execute("SELECT count(*) FROM responses").fetchone()
        runs = con.execute("SELECT count(*) FROM runs").fetchone()
    assert count == (len(outcome.new_responses),)
    assert runs == (2,)


def test_latest_and_prefix_resolution(tmp_path: Path, outcome: RunOutcome) -> None:
    db = tmp_path / "r.duckdb"
    first = with_run_id(outcome, "20260101T000000Z-aaaaaa", "2026-01-01T00:00:00+00:00")
    second = with_run_id(outcome, "20260102T000000Z-bbbbbb", "2026-01-02T00:00:00+00:00")
    write_run(db, second)
    write_run(db, first)  # written last, but started earlier
    assert load_run(db).run["run_id"] == second.run_id
    assert load_run(db, "latest").run["run_id"] == second.run_id
    assert load_run(db, "20260101").run["run_id"] == first.run_id
    assert load_run(db, first.run_id).run["run_id"] == first.run_id
    assert len(load_run(db, "20260101").summaries) == 2


def test_latest_of_runs_started_in_the_same_second(tmp_path: Path, outcome: RunOutcome) -> None:
    """Run ids end in a random suffix: 'latest' must not depend on it."""
    db = tmp_path / "r.duckdb"
    same = "2026-01-01T00:00:00+00:00"
    write_run(db, with_run_id(outcome, "20260101T000000Z-ffffff", same))
    write_run(db, with_run_id(outcome, "20260101T000000Z-000000", same))
    assert load_run(db).run["run_id"] == "20260101T000000Z-000000"


def test_ambiguous_and_unknown_run_ids(tmp_path: Path, outcome: RunOutcome) -> None:
    db = tmp_path / "r.duckdb"
    write_run(db, with_run_id(outcome, "20260101T000000Z-aaaaaa", "2026-01-01T00:00:00+00:00"))
    write_run(db, with_run_id(outcome, "20260101T000000Z-abbbbb", "2026-01-01T00:00:01+00:00"))
    with pytest.raises(StorageError) as info:
        load_run(db, "20260101T000000Z-a")
    assert str(info.value) == (
        f"{db}: run '20260101T000000Z-a' matches 2 runs. Use 'latest' or one of: "
        "20260101T000000Z-abbbbb, 20260101T000000Z-aaaaaa."
    )
    with pytest.raises(StorageError) as info:
        load_run(db, "1999")
    assert str(info.value).startswith(f"{db}: run '1999' matches no run. Use 'latest' or one of: ")


def test_missing_database(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as info:
        load_run(tmp_path / "none.duckdb")
    message = str(info.value)
    assert "no results database" in message and "pytest --cost-eval" in message
    assert not (tmp_path / "none.duckdb").exists()  # reading never creates it


def test_database_without_runs(tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE other (x INTEGER)")
    with pytest.raises(StorageError, match=r"not a harness results database \(no 'runs' table\)"):
        load_run(db)
    assert load_responses(db) == {}  # reads only: a database no run has written
    with connect(db):  # opening for writing creates the tables
        pass
    with pytest.raises(StorageError, match=r"holds no runs yet"):
        load_run(db)


def test_not_a_duckdb_file(tmp_path: Path) -> None:
    db = tmp_path / "junk.duckdb"
    db.write_text("this is not a database")
    with pytest.raises(StorageError, match=r"cannot open the results database"):
        load_run(db)


def test_problems_are_stored(tmp_path: Path) -> None:
    write_suite(tmp_path)
    settings = make_settings(tmp_path)
    outcome = evaluate(settings)  # no goldens: a problem, no summaries
    write_run(settings.db, outcome)
    stored = load_run(settings.db)
    assert stored.summaries == () and stored.results == ()
    assert stored.problems == outcome.problems
    assert "6 case(s) have no golden" in stored.problems["tiny"]


def test_error_rows_round_trip(tmp_path: Path) -> None:
    write_suite(tmp_path)
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
    settings = make_settings(tmp_path, configs=[broken])
    outcome = evaluate(settings, update_goldens="new")
    write_run(settings.db, outcome)
    stored = load_run(settings.db)
    assert stored.results == tuple(outcome.results)
    assert all(r.score is None and r.error for r in stored.results)
    assert stored.summaries[0].verdict == "error"
    assert stored.summaries[0].reasons == outcome.summaries[0].reasons


def test_export_parquet_is_queryable_in_place(outcome: RunOutcome, tmp_path: Path) -> None:
    from harness.store.runs import export_parquet

    db = tmp_path / "export.duckdb"
    write_run(db, outcome)
    written = export_parquet(db, tmp_path / "pq")
    assert written["results"] == len(outcome.results)
    assert written["summaries"] == len(outcome.summaries)
    pattern = (tmp_path / "pq" / "results" / "*" / "*.parquet").as_posix()
    rows = duckdb.sql(
        f"SELECT run_id, count(*) FROM read_parquet('{pattern}', hive_partitioning = true) "
        "GROUP BY run_id"
    ).fetchall()
    assert rows == [(outcome.run_id, len(outcome.results))]
    assert (tmp_path / "pq" / "results" / f"run_id={outcome.run_id}").is_dir()


def test_stored_run_from_memory_equals_the_run_read_back(
    tmp_path: Path, outcome: RunOutcome
) -> None:
    """The session renders its report from memory; it must show what the store holds.

    Only money differs, beyond the store's 12 decimals.
    """
    db = tmp_path / "cost_eval.duckdb"
    write_run(db, outcome)
    from_memory = stored_run(outcome)
    read_back = load_run(db, outcome.run_id)
    assert dict(from_memory.run) == dict(read_back.run)
    assert [quantized(s) for s in from_memory.summaries] == list(read_back.summaries)
    money = ("cost_usd", "baseline_cost_usd", "eval_cost_usd")
    assert [
        dataclasses.replace(r, **{f: getattr(r, f).quantize(STEP) for f in money})
        for r in from_memory.results
    ] == list(read_back.results)
    assert len(read_back.results) > 0
    assert dict(from_memory.problems) == dict(read_back.problems)


def test_load_scores_is_load_run_without_the_texts(tmp_path: Path, outcome: RunOutcome) -> None:
    """A comparison reads scores only; it must find what the full read finds."""
    from harness.analysis.compare import compare_runs
    from harness.store.runs import load_scores

    db = tmp_path / "cost_eval.duckdb"
    first = with_run_id(outcome, "20260101T000000Z-000000", "2026-01-01T00:00:00+00:00")
    # The second run: one case's score falls, as a regression would.
    worse = [
        dataclasses.replace(r, score=0.0, delta=-1.0) if i == 0 else r
        for i, r in enumerate(outcome.results)
    ]
    second = dataclasses.replace(
        with_run_id(outcome, "20260102T000000Z-000000", "2026-01-02T00:00:00+00:00"),
        results=worse,
    )
    write_run(db, first)
    write_run(db, second)
    full, light = load_run(db, second.run_id), load_scores(db, second.run_id)
    assert light.run == full.run and light.summaries == full.summaries
    assert list(light.results) == [
        (r.suite, r.config, r.case_id, r.category, r.score) for r in full.results
    ]
    from_full = compare_runs(load_run(db, first.run_id), full)
    from_light = compare_runs(load_scores(db, first.run_id), light)
    assert from_light == from_full
    flipped = [f.case_id for change in from_light for f in change.flipped]
    assert flipped == [worse[0].case_id]


def test_the_redacted_count_is_stored_and_older_databases_gain_the_column(
    tmp_path: Path, outcome: RunOutcome
) -> None:
    db = tmp_path / "cost_eval.duckdb"
    write_run(db, with_run_id(outcome, "before-the-column"))
    with duckdb.connect(str(db)) as connection:  # as a database written before it existed
        connection.execute("ALTER TABLE runs DROP COLUMN redacted")
    write_run(db, dataclasses.replace(with_run_id(outcome, "with-keys"), redacted=3))
    assert load_run(db, "with-keys").run["redacted"] == 3
    assert load_run(db, "before-the-column").run["redacted"] is None
