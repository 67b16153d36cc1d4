"""What the report and ``harness summary`` read of a stored run: no row they do not show.

A run of 50,000 cases x 5 configurations holds 250,000 ``results`` rows; read
back as :class:`~harness.types.CaseResult` objects they took 6.5 s of CPU and
790 MB, yet the page shows only the summaries (one row per suite x
configuration, stored as such) and a few hundred flagged or errored cases.
:func:`load_report_run` selects those rows in SQL (and counts the rest);
:func:`load_paired_scores` pairs two runs' scores for the comparison in SQL;
:func:`report_run` makes the same view of a run held in memory (the pytest
session's), so both paths render the very same page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.analysis.compare import FlippedCase, PairedScores
from harness.store.database import connect
from harness.store.runs import StoredRun, open_run, result_from_row, run_problems
from harness.types import CaseResult, Summary

if TYPE_CHECKING:
    import duckdb

__all__ = ["ReportRun", "ShownTotals", "load_paired_scores", "load_report_run", "report_run"]

_ERRORED = "coalesce(error, '') <> ''"
"""A result the report lists as errored (an empty message is no error)."""

# The flagged cases the report shows, in its order (see harness.report.degraded):
# more configurations first, then the worst drop (no drop: last), the suite's place
# in the verdict table, the case id.
_SHOWN_CASES = """
SELECT suite, case_id FROM results WHERE run_id = $run AND flagged
GROUP BY suite, case_id
ORDER BY count(*) DESC, min(coalesce(delta, 'infinity'::DOUBLE)),
         coalesce(list_position($suites, suite) - 1, len($suites)), case_id
LIMIT $shown
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class ShownTotals:
    """A run's flagged and errored results in all, when only those shown were read."""

    flagged_by_pair: Mapping[tuple[str, str], int]
    """Flagged results per (suite, configuration)."""
    flagged_cases: int
    """Distinct (suite, case) with a flagged result."""
    errored: int
    """Errored results."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportRun:
    """A run as its report reads it: metadata, summaries, problems and the shown cases."""

    run: Mapping[str, Any]
    summaries: tuple[Summary, ...]
    problems: Mapping[str, str]
    flagged: tuple[CaseResult, ...] = ()
    """Flagged results in stored order: every one, or (with :attr:`totals`) those of the
    cases the page shows."""
    errored: tuple[CaseResult, ...] = ()
    """Errored results in stored order: every one, or (with :attr:`totals`) the first shown."""
    totals: ShownTotals | None = None
    """How many there are in all; None: :attr:`flagged` and :attr:`errored` hold them all."""


def report_run(stored: StoredRun | ReportRun) -> ReportRun:
    """The report's view of a run held in memory: its flagged and errored results only."""
    if isinstance(stored, ReportRun):
        return stored
    return ReportRun(
        run=stored.run,
        summaries=stored.summaries,
        problems=stored.problems,
        flagged=tuple(r for r in stored.results if r.flagged),
        errored=tuple(r for r in stored.results if r.error),
    )


def load_report_run(
    path: Path, run: str = "latest", *, cases: bool = True, max_cases: int | None = None
) -> ReportRun:
    """Read what a report shows of one run, selected in SQL: summaries and shown cases.

    ``max_cases`` reads the flagged results of the first ``max_cases`` flagged
    cases in the report's order, the first ``max_cases`` errored results, and
    how many there are in all (:class:`ShownTotals`); None reads every flagged
    and errored result. ``cases=False`` reads the metadata, summaries and
    problems only (``harness summary``).

    Raises:
        StorageError: no database, no runs, or no such run.
    """
    with open_run(path, run) as (connection, run_row, summaries):
        run_id = str(run_row["run_id"])
        problems = run_problems(connection, run_id)
        if not cases:
            return ReportRun(run=run_row, summaries=summaries, problems=problems)
        params: dict[str, Any] = {"run": run_id}
        flagged_where = "run_id = $run AND flagged"
        errored_sql = f"SELECT * FROM results WHERE run_id = $run AND {_ERRORED} ORDER BY rowid"
        totals = None
        if max_cases is not None:
            shown = max(max_cases, 0)
            suites = list(dict.fromkeys(s.suite for s in summaries))
            params.update(shown=shown, suites=suites)
            flagged_where += f" AND (suite, case_id) IN ({_SHOWN_CASES})"
            errored_sql += " LIMIT $shown"
            totals = _totals(connection, run_id)
        flagged = _results(
            connection, f"SELECT * FROM results WHERE {flagged_where} ORDER BY rowid", params
        )
        errored = _results(
            connection, errored_sql, {k: v for k, v in params.items() if k != "suites"}
        )
    return ReportRun(
        run=run_row,
        summaries=summaries,
        problems=problems,
        flagged=flagged,
        errored=errored,
        totals=totals,
    )


def _results(
    connection: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any]
) -> tuple[CaseResult, ...]:
    cursor = connection.execute(sql, dict(params))
    names = [d[0] for d in cursor.description]
    return tuple(result_from_row(dict(zip(names, row, strict=True))) for row in cursor.fetchall())


def _totals(connection: duckdb.DuckDBPyConnection, run_id: str) -> ShownTotals:
    """Flagged results per pair, distinct flagged cases and errored results, counted in SQL."""
    by_pair = connection.execute(
        "SELECT suite, config, count(*) FROM results WHERE run_id = ? AND flagged "
        "GROUP BY suite, config",
        [run_id],
    ).fetchall()
    row = connection.execute(
        "SELECT count(DISTINCT (suite, case_id)) FILTER (WHERE flagged), "
        f"count(*) FILTER (WHERE {_ERRORED}) FROM results WHERE run_id = ?",
        [run_id],
    ).fetchone()
    cases, errored = row if row is not None else (0, 0)
    return ShownTotals(
        flagged_by_pair={(suite, config): n for suite, config, n in by_pair},
        flagged_cases=int(cases),
        errored=int(errored),
    )


# Each case once per run (the last row of a case stored twice, at its first place, as
# a dict by case id would keep it), then the cases scored in both runs.
_PAIRED = """
WITH now AS (
    SELECT suite, config, case_id, arg_max_null(score, rowid) AS score,
           arg_max_null(category, rowid) AS category, min(rowid) AS position
    FROM results WHERE run_id = $now GROUP BY suite, config, case_id),
before AS (
    SELECT suite, config, case_id, arg_max_null(score, rowid) AS score
    FROM results WHERE run_id = $before GROUP BY suite, config, case_id),
paired AS (
    SELECT now.suite, now.config, now.case_id, now.category, now.position,
           before.score AS score_before, now.score AS score_now
    FROM now JOIN before
      ON now.suite = before.suite AND now.config = before.config
     AND now.case_id = before.case_id
    WHERE now.score IS NOT NULL AND before.score IS NOT NULL)
"""


def load_paired_scores(
    path: Path, before_id: str, now_id: str, *, flip_drop: float = 0.1
) -> dict[tuple[str, str], PairedScores]:
    """Two stored runs' cases paired by id in SQL, per (suite, configuration).

    What :func:`~harness.analysis.compare.compare_paired` reads: each pair's
    score changes (one float per case scored in both, in the later run's
    order) and the cases whose score fell by at least ``flip_drop``. No object
    per case is made (reading every case of two 250,000-result runs as objects
    added 130 MB to the report's peak memory and 1 s of CPU).
    """
    with connect(path, read_only=True) as connection:
        rows = connection.execute(
            _PAIRED + "SELECT suite, config, list(score_now - score_before ORDER BY position), "
            "list({'case_id': case_id, 'category': category, 'score_before': score_before, "
            "'score_now': score_now} ORDER BY case_id) "
            "FILTER (WHERE score_before - score_now >= $drop) "
            "FROM paired GROUP BY suite, config",
            {"now": now_id, "before": before_id, "drop": flip_drop},
        ).fetchall()
    return {
        (suite, config): PairedScores(
            diffs=diffs, flipped=tuple(FlippedCase(**case) for case in flipped or ())
        )
        for suite, config, diffs, flipped in rows
    }
