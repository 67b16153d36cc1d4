"""A run hands its results to a spool as each pair finishes, and stores them whole (issue 18).

Real runs of the tiny sim project, a real DuckDB file: a run that streamed its
results through a :class:`ResultSpool` (spilled to disk after a few rows) stores
exactly the rows of the same run held in memory, in the same order; the run keeps
only each pair's notable results; pairs wait for room in the case budget.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import duckdb
import pytest

from harness.config.suites import suite_files
from harness.engine.case_budget import CaseBudget
from harness.engine.prepare import load_suites, prepare
from harness.engine.run import run
from harness.engine.run_data import NOTABLE_PER_PAIR, RunOutcome
from harness.store import runs
from harness.store.database import USAGE_FIELDS, stored_money
from harness.store.result_columns import RESULT_FIELDS, RESULT_MONEY, result_columns
from harness.store.result_spool import ResultSpool
from harness.store.runs import write_run
from tests.unit.tiny_project import BATCH, SMALL, evaluate, make_settings, write_suite

CASES = [
    (f"t-{n:02d}", f"Compute {n} + {n + 3} * 2.", str(n + (n + 3) * 2), "easy")
    for n in range(1, 21)
] + [
    (
        f"h-{n:02d}",
        f"Compute (({n} + 5) * 2 - 6) * (4 + 1) - 3.",
        str(((n + 5) * 2 - 6) * 5 - 3),
        "hard",
    )
    for n in range(1, 21)
]
COLUMNS = "suite, config, case_id, category, model, output, score, baseline_score, delta, cost_usd"


def stored_rows(db: Path, run_id: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as connection:
        return connection.execute(
            f"SELECT {COLUMNS} FROM results WHERE run_id = ? ORDER BY rowid", [run_id]
        ).fetchall()


def streamed_run(root: Path, spool: ResultSpool) -> RunOutcome:
    settings = make_settings(
        root, configs=(BATCH, SMALL, {"name": "small-2", "model": "sim:small"})
    )
    plan = prepare(settings)
    suites = load_suites(suite_files(settings.suites_dir), settings)
    selected = [(suite, spec.name) for suite in suites for spec in settings.configs]
    return run(plan, suites, selected, recorded={}, sink=spool)


def test_a_streamed_run_stores_the_rows_a_run_in_memory_stores(tmp_path: Path) -> None:
    write_suite(tmp_path, CASES)
    settings = make_settings(
        tmp_path, configs=(BATCH, SMALL, {"name": "small-2", "model": "sim:small"})
    )
    evaluate(settings, update_goldens="new")  # goldens on disk for both runs
    in_memory = evaluate(settings)
    db = tmp_path / "results.duckdb"
    write_run(db, in_memory)

    spool = ResultSpool(db, "test", spill_at=25)  # 120 results: spilled after the first pair
    streamed = streamed_run(tmp_path, spool)
    assert streamed.streamed and spool.spilled and spool.rows == 120
    assert spool.path.is_file() and not spool.kept
    spool.close()
    write_run(db, streamed, spools=[spool.path])
    spool.discard()

    assert len(stored_rows(db, in_memory.run_id)) == 120
    assert stored_rows(db, streamed.run_id) == stored_rows(db, in_memory.run_id)
    assert streamed.summaries == in_memory.summaries
    assert not spool.path.exists()


def test_a_streamed_run_keeps_only_each_pairs_notable_results(tmp_path: Path) -> None:
    write_suite(tmp_path, CASES)
    settings = make_settings(
        tmp_path, configs=(BATCH, SMALL, {"name": "small-2", "model": "sim:small"})
    )
    evaluate(settings, update_goldens="new")
    in_memory = evaluate(settings)
    spool = ResultSpool(tmp_path / "results.duckdb", "test")  # never spills: 120 < 100,000
    streamed = streamed_run(tmp_path, spool)
    assert not spool.spilled and len(spool.kept) == 120
    for summary in in_memory.summaries:
        pair = (summary.suite, summary.config)
        every = [r for r in in_memory.results if (r.suite, r.config) == pair]
        kept = [r for r in streamed.results if (r.suite, r.config) == pair]
        drops = sorted(
            (r for r in every if r.delta is not None and r.delta < 0),
            key=lambda r: (r.delta, r.case_id),
        )[:NOTABLE_PER_PAIR]
        errored = [r for r in every if r.error][:NOTABLE_PER_PAIR]
        expected = [r for r in every if r in drops or r in errored]
        assert [dataclasses.astuple(r) for r in kept] == [dataclasses.astuple(r) for r in expected]
    assert any(r.delta is not None and r.delta < 0 for r in streamed.results)  # small drops some


def test_pairs_wait_for_room_in_the_case_budget() -> None:
    budget = CaseBudget(10)
    in_use = [0]
    peak = [0]
    order: list[str] = []

    async def pair(name: str, cases: int) -> None:
        async with budget.take(cases):
            in_use[0] += min(cases, 10)
            peak[0] = max(peak[0], in_use[0])
            order.append(name)
            await asyncio.sleep(0.01)
            in_use[0] -= min(cases, 10)

    async def main() -> None:
        await asyncio.gather(pair("a", 6), pair("b", 6), pair("c", 4), pair("huge", 50))

    asyncio.run(main())
    assert peak[0] <= 10  # never more cases at once than the budget
    assert sorted(order) == ["a", "b", "c", "huge"]  # a pair larger than the budget still runs


def test_a_large_run_is_stored_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past RESULT_CHUNK results a run's rows are committed in chunks under a mark: a
    # failure after them (the disk fills while the run's own rows are written) leaves
    # none of them behind, and the run is not stored.
    write_suite(tmp_path, CASES)
    settings = make_settings(
        tmp_path, configs=(BATCH, SMALL, {"name": "small-2", "model": "sim:small"})
    )
    evaluate(settings, update_goldens="new")
    db = tmp_path / "results.duckdb"
    first = evaluate(settings)
    write_run(db, first)
    spool = ResultSpool(db, "again", spill_at=10)
    again = streamed_run(tmp_path, spool)
    spool.close()

    def disk_full(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runs, "insert_responses", disk_full)
    with pytest.raises(OSError):
        write_run(db, again, spools=[spool.path])
    with duckdb.connect(str(db), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM storing").fetchone() == (0,)
        stored = connection.execute("SELECT run_id FROM runs").fetchall()
    assert stored == [(first.run_id,)]
    assert stored_rows(db, again.run_id) == []
    assert len(stored_rows(db, first.run_id)) == 120


def test_the_rows_of_a_run_cut_short_while_stored_are_deleted_by_the_next_write(
    tmp_path: Path,
) -> None:
    write_suite(tmp_path, CASES)
    settings = make_settings(tmp_path, configs=(BATCH, SMALL))
    evaluate(settings, update_goldens="new")
    db = tmp_path / "results.duckdb"
    write_run(db, evaluate(settings))
    # What a process killed between its chunks leaves: a mark and rows of no stored run.
    with duckdb.connect(str(db)) as connection:
        connection.execute("INSERT INTO storing VALUES ('20990101T000000Z-dead00')")
        connection.execute(
            "INSERT INTO results SELECT * REPLACE ('20990101T000000Z-dead00' AS run_id) "
            "FROM results"
        )
    assert len(stored_rows(db, "20990101T000000Z-dead00")) == 80
    latest = evaluate(settings)
    write_run(db, latest)
    assert stored_rows(db, "20990101T000000Z-dead00") == []
    assert len(stored_rows(db, latest.run_id)) == 80
    with duckdb.connect(str(db), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM storing").fetchone() == (0,)


def test_result_columns_are_each_results_fields_in_order(tmp_path: Path) -> None:
    """The columns hold, row by row, each result's own field (money quantized)."""
    write_suite(tmp_path, CASES)
    settings = make_settings(tmp_path, configs=(BATCH, SMALL))
    evaluate(settings, update_goldens="new")
    results = evaluate(settings).results
    assert len(results) == 80 and any(r.error is None and r.score is not None for r in results)
    columns = result_columns(results)
    assert list(columns) == [*RESULT_FIELDS, *RESULT_MONEY, *USAGE_FIELDS]
    for name in RESULT_FIELDS:
        assert columns[name] == [getattr(r, name) for r in results], name
    for name in RESULT_MONEY:
        assert columns[name] == [stored_money(getattr(r, name)) for r in results], name
    assert result_columns(results, money_text=True)["cost_usd"] == [
        str(stored_money(r.cost_usd)) for r in results
    ]
    for name in USAGE_FIELDS:
        assert columns[name] == [getattr(r.usage, name) for r in results], name
    assert result_columns([]) == {name: [] for name in columns}
