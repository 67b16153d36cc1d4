"""``harness compare`` pairs two stored runs' scores in SQL (issue #18): it prints exactly
what comparing every result read back as an object printed, and holds no object per case.

The runs are real rows in a real DuckDB file; the reference output is the earlier
path's (``load_scores`` of both runs, then ``compare_runs``), kept in the library.
"""

from __future__ import annotations

import dataclasses
import json
import tracemalloc
from pathlib import Path

import pytest

from harness.analysis.compare import (
    compare_runs,
    describe_change,
    describe_regressions,
    describe_uncompared,
    run_cost_margin,
    uncompared_pairs,
)
from harness.cli import main
from harness.store.runs import StoredRun, load_scores, write_run
from harness.types import CaseResult
from tests.unit.test_report import case, summary
from tests.unit.test_report_leads import earlier_run
from tests.unit.test_run_queries import current_run, outcome_of

EARLIER = "20261201T090000Z-aaaaaa"
LATER = "20261202T090000Z-bbbbbb"


def old_compare(db: Path, before_id: str, now_id: str) -> tuple[list[str], list[str], int]:
    """What ``harness compare --json`` and ``harness compare`` printed before #18 (from a
    folder with no project settings: the margin is the later run's own), and its exit status."""
    before, now = load_scores(db, before_id), load_scores(db, now_id)
    changes = compare_runs(
        before, now, seed=int(now.run["seed"]), max_cost_increase=run_cost_margin(now.run)
    )
    uncompared = uncompared_pairs(before, now)
    as_json = [json.dumps(c.to_json()) for c in changes]
    as_json += [json.dumps(pair) for pair in uncompared.to_json()]
    text = [
        f"run {now_id} compared with {before_id}: {describe_regressions(changes)}; "
        f"{len(changes)} of {len(changes) + uncompared.count} configuration(s) compared"
    ]
    for change in changes:
        text.extend(describe_change(change))
    not_compared = describe_uncompared(uncompared)
    if not_compared:
        text.append(f"  {not_compared}")
    return as_json, text, int(any(c.regressed for c in changes))


def without(run: StoredRun, config: str) -> StoredRun:
    """``run`` without one configuration: its summary and its results."""
    return dataclasses.replace(
        run,
        summaries=tuple(s for s in run.summaries if s.config != config),
        results=tuple(r for r in run.results if r.config != config),
    )


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two runs, each with a configuration the other lacks; the later one with flipped
    cases (semantic-cache dropped), a case stored twice and a case only it has."""
    monkeypatch.chdir(tmp_path)  # no project settings here
    path = tmp_path / "cost_eval.duckdb"
    retired = case("faq", "retired", "faq-001")
    earlier = without(earlier_run(), "compress-history")
    earlier = dataclasses.replace(
        earlier,
        summaries=(*earlier.summaries, summary("faq", "retired", "pass")),
        results=(*earlier.results, retired),
    )
    write_run(path, outcome_of(earlier, tmp_path, EARLIER, "2026-12-01T09:00:00"))
    later = without(current_run(), "batch-small")
    write_run(path, outcome_of(later, tmp_path, LATER, "2026-12-02T09:00:00"))
    return path


def test_compare_from_sql_prints_what_the_objects_printed(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Forwards semantic-cache dropped and route-small lost its savings; backwards neither.
    for before_id, now_id, status in ((EARLIER, LATER, 1), (LATER, EARLIER, 0)):
        expected_json, expected_text, expected_status = old_compare(db, before_id, now_id)
        assert expected_status == status
        assert main(["compare", before_id, now_id, "--db", str(db), "--json"]) == status
        assert capsys.readouterr().out.splitlines() == expected_json
        assert main(["compare", before_id, now_id, "--db", str(db)]) == status
        assert capsys.readouterr().out.splitlines() == expected_text
    rows = [json.loads(line) for line in old_compare(db, EARLIER, LATER)[0]]
    # What the comparison covers: flipped cases, and a configuration missing on each side.
    cache = next(r for r in rows if r["config"] == "semantic-cache")
    assert cache["quality_regressed"] and len(cache["flipped"]) == 23
    assert {(r["config"], r.get("only_in")) for r in rows if not r["compared"]} == {
        ("retired", "earlier run"),
        ("batch-small", "earlier run"),
        ("compress-history", "this run"),
    }
    # The default names resolve to the same runs: the latest and the one before it.
    assert main(["compare", "--db", str(db), "--json"]) == 1
    assert capsys.readouterr().out.splitlines() == old_compare(db, EARLIER, LATER)[0]
    assert main(["compare", "previous", "latest", "--db", str(db), "--json"]) == 1
    assert capsys.readouterr().out.splitlines() == old_compare(db, EARLIER, LATER)[0]


def many(config: str, n: int, score: float) -> tuple[CaseResult, ...]:
    return tuple(case("faq", config, f"faq-{i:06d}", score=score) for i in range(n))


def test_compare_holds_no_object_per_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Python memory at the peak of ``harness compare`` grows by a float per paired case,
    not by an object per result of each run (reading them took about 300 bytes each)."""
    monkeypatch.chdir(tmp_path)
    n = 10_000
    path = tmp_path / "cost_eval.duckdb"
    configs = ("route-small", "semantic-cache")
    for run_id, started, score in (
        (EARLIER, "2026-12-01T09:00:00", 1.0),
        (LATER, "2026-12-02T09:00:00", 0.9),  # below the flip drop: no case flips
    ):
        stored = StoredRun(
            run={},
            summaries=tuple(summary("faq", c, "pass") for c in configs),
            results=tuple(r for c in configs for r in many(c, n, score)),
            problems={},
        )
        write_run(path, outcome_of(stored, tmp_path, run_id, started))
    argv = ["compare", EARLIER, LATER, "--db", str(path), "--json"]
    assert main(argv) == 1  # warm (modules imported); every case 0.1 lower: a real drop
    capsys.readouterr()
    tracemalloc.start()
    try:
        assert main(argv) == 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["n"] for r in rows] == [n, n]
    results = 2 * n * len(configs)
    assert peak / results < 100, f"{peak / results:.0f} bytes per stored result"
