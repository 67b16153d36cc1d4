"""``harness report`` and ``harness summary`` read a stored run in SQL: the cases the page
shows and the comparison's paired scores, never every result as an object (issue #18).

Each test writes real runs into a real DuckDB file and checks that what the SQL path
reads renders, compares and prints exactly as the run held in memory does.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.analysis.compare import compare_paired, compare_runs
from harness.cli import main
from harness.engine.run_data import RunOutcome
from harness.report import render_report
from harness.store.run_queries import load_paired_scores, load_report_run, report_run
from harness.store.runs import StoredRun, load_run, load_scores, stored_run, write_run
from tests.unit.test_report import case, sample_run
from tests.unit.test_report_leads import earlier_run
from tests.unit.tiny_project import make_settings


def outcome_of(stored: StoredRun, root: Path, run_id: str, started_at: str) -> RunOutcome:
    """The run ``stored`` as the engine would hand it to ``write_run``."""
    return RunOutcome(
        run_id=run_id,
        started_at=started_at,
        finished_at=started_at,
        settings=make_settings(root),
        metadata={"git_branch": "main", "git_sha": "1" * 40},
        summaries=list(stored.summaries),
        results=list(stored.results),
        problems=dict(stored.problems),
    )


def current_run() -> StoredRun:
    """The sample run with more cases: clean ones, a drop, one only here, one stored twice."""
    now = sample_run()
    extra = (
        *(
            case("faq", "semantic-cache", f"faq-1{i:02d}", score=0.0, output="No.")
            for i in range(20)
        ),
        case("faq", "route-small", "faq-900", score=0.2),  # not in the earlier run
        case("faq", "route-small", "faq-001", score=0.3),  # faq-001 again: the last one counts
    )
    return dataclasses.replace(now, results=now.results + extra)


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[Path, RunOutcome, RunOutcome]:
    """A database holding an earlier run and the current one, on the same branch."""
    db = tmp_path / "cost_eval.duckdb"
    before = outcome_of(earlier_run(), tmp_path, "20261201T090000Z-aaaaaa", "2026-12-01T09:00:00")
    now = outcome_of(current_run(), tmp_path, "20261202T090000Z-bbbbbb", "2026-12-02T09:00:00")
    write_run(db, before)
    write_run(db, now)
    return db, before, now


def test_only_the_flagged_and_errored_results_are_read(
    two_runs: tuple[Path, RunOutcome, RunOutcome],
) -> None:
    db, _before, now = two_runs
    shown = load_report_run(db)
    every = load_run(db)
    assert shown.run["run_id"] == now.run_id
    assert shown.summaries == every.summaries and shown.problems == every.problems
    assert list(shown.flagged) == [r for r in every.results if r.flagged]
    assert list(shown.errored) == [r for r in every.results if r.error]
    assert {r.case_id for r in shown.flagged + shown.errored} == {
        "faq-002",
        "faq-003",
        "faq-004",
        "faq-005",
        "faq-006",
    }
    assert shown.totals is None  # every flagged and errored result is there
    # From memory: the same cases, so the session's page is the CLI's page.
    memory = report_run(every)
    assert (memory.flagged, memory.errored) == (shown.flagged, shown.errored)
    head = load_report_run(db, now.run_id[:10], cases=False)
    assert head.flagged == head.errored == () and head.summaries == every.summaries


def test_the_page_from_sql_is_the_page_from_memory(
    two_runs: tuple[Path, RunOutcome, RunOutcome], tmp_path: Path
) -> None:
    db, _before, now = two_runs
    from_memory = render_report(stored_run(now), tmp_path / "memory.html", db=db)
    from_sql = render_report(load_report_run(db), tmp_path / "sql.html", db=db)
    page = from_sql.read_text(encoding="utf-8")
    assert page == from_memory.read_text(encoding="utf-8")
    # The comparison with the earlier run is on it: semantic-cache regressed.
    regressions = page[page.index('<section id="regressions">') :]
    assert "semantic-cache" in regressions[: regressions.index("</section>")]
    # And so are the cases: the hostile answer escaped, the error shown.
    assert "faq-002" in page and "faq-005" in page and "<img src=x" not in page


def test_cases_paired_in_sql_compare_as_the_runs_in_memory(
    two_runs: tuple[Path, RunOutcome, RunOutcome],
) -> None:
    db, before, now = two_runs
    paired = load_paired_scores(db, before.run_id, now.run_id)
    # faq-001 twice in this run: once, with the score stored last; faq-900 has no pair.
    route = paired[("faq", "route-small")]
    assert len(route.diffs) == 1 and route.diffs[0] == pytest.approx(0.3 - 1.0)
    assert [f.case_id for f in route.flipped] == ["faq-001"]
    # The errored faq-005 is left out; the cases that dropped flipped, by id.
    cache = paired[("faq", "semantic-cache")]
    assert [f.case_id for f in cache.flipped] == [
        "faq-002",
        "faq-003",
        "faq-004",
        *(f"faq-1{i:02d}" for i in range(20)),
    ]
    expected = compare_runs(load_scores(db, before.run_id), load_scores(db, now.run_id))
    got = compare_paired(before.summaries, load_run(db).summaries, paired)
    assert got == expected
    assert any(change.regressed for change in got)
    # A drop of exactly the flip drop flips (faq-003: 1.0 -> 0.4).
    wide = load_paired_scores(db, before.run_id, now.run_id, flip_drop=0.6)
    assert "faq-003" in [f.case_id for f in wide[("faq", "semantic-cache")].flipped]
    assert compare_paired(before.summaries, load_run(db).summaries, wide) == compare_runs(
        load_scores(db, before.run_id), load_scores(db, now.run_id), flip_drop=0.6
    )


def test_summary_and_report_commands_read_the_stored_run(
    two_runs: tuple[Path, RunOutcome, RunOutcome],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db, _before, now = two_runs
    out = tmp_path / "report.html"
    assert main(["report", "--db", str(db), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == render_report(
        stored_run(now), tmp_path / "memory.html", db=db
    ).read_text(encoding="utf-8")
    assert main(["summary", "--db", str(db)]) == 0
    printed = capsys.readouterr().out
    assert f"run {now.run_id}" in printed
    assert "faq :: semantic-cache" in printed and "ERROR" in printed


def case_id(suite: str, number: int) -> str:
    """Ids that sort against the suites' order: a tie goes to the suite shown first."""
    return f"{'a' if suite == 'support' else 'b'}-{number:03d}"


def crowded_run() -> StoredRun:
    """Many flagged cases over two suites: flagged by one to three configurations, drops
    of every size (some tied, one without a score), and many errors."""
    base = sample_run()
    configs = [(s.suite, s.config) for s in base.summaries]
    results = []
    for i in range(40):
        suite, _config = configs[i % len(configs)]
        members = [pair for pair in configs if pair[0] == suite][: 1 + i % 3]
        for _suite, config in members:
            score = None if i == 7 else (i % 5) / 10
            results.append(case(suite, config, case_id(suite, 39 - i), score=score, flagged=True))
        results.append(case(suite, members[0][1], f"{suite}-ok-{i:03d}"))
        if i % 2:
            results.append(
                case(suite, members[-1][1], f"{suite}-err-{i:03d}", score=None, error=f"E{i}")
            )
    return dataclasses.replace(base, results=tuple(results))


@pytest.mark.parametrize("max_cases", [0, 3, 8, 200])
def test_the_shown_cases_are_chosen_in_sql_as_the_page_orders_them(
    tmp_path: Path, max_cases: int
) -> None:
    db = tmp_path / "cost_eval.duckdb"
    run = outcome_of(crowded_run(), tmp_path, "20261203T090000Z-cccccc", "2026-12-03T09:00:00")
    write_run(db, run)
    shown = load_report_run(db, max_cases=max_cases)
    assert len(shown.errored) == min(max_cases, 20)
    assert shown.totals is not None and shown.totals.errored == 20
    assert shown.totals.flagged_cases == 40
    every = load_report_run(db)
    assert len(shown.flagged) <= len(every.flagged) == sum(shown.totals.flagged_by_pair.values())
    for redact in (False, True):
        pages = [
            render_report(
                source, tmp_path / f"{i}.html", max_cases=max_cases, db=db, redact=redact
            ).read_text(encoding="utf-8")
            for i, source in enumerate((stored_run(run), shown))
        ]
        assert pages[0] == pages[1]
    if max_cases == 3:  # the counts are the run's, not the few cases read
        assert "and 37 more flagged cases not shown" in pages[1]
        assert "and 17 more errored cases not shown" in pages[1]
