"""Runs in the results database: writing a finished run, reading runs back, history, export.

A run is its ``runs`` row (times, git, settings, prices), the ``configs`` it
evaluated, one ``results`` row per configuration x case, one ``summaries`` row
per suite x configuration (the verdict) and the ``problems`` of suites it could
not evaluate (tables in :mod:`harness.store.database`). :func:`write_run` stores
all of them and the run's new responses in one transaction; :func:`load_run`,
:func:`load_scores` and :func:`load_history` read them back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from harness.errors import StorageError
from harness.store.database import (
    HISTORY_SELECT,
    USAGE_FIELDS,
    connect,
    insert_columns,
    insert_rows,
    query_rows,
    stored_money,
    table_names,
)
from harness.store.responses import insert_responses
from harness.store.result_columns import result_columns, with_run
from harness.store.result_spool import read_spooled, spooled_pairs
from harness.types import SCHEMA_VERSION, CaseResult, CategorySummary, Summary, Usage

if TYPE_CHECKING:
    import duckdb

    from harness.engine.run_data import RunOutcome

__all__ = [
    "EXPORTED_TABLES",
    "CaseScore",
    "RunScores",
    "StoredRun",
    "export_parquet",
    "load_history",
    "load_run",
    "load_scores",
    "open_run",
    "previous_run_id",
    "resolve_run_id",
    "result_from_row",
    "run_problems",
    "stored_run",
    "write_run",
]


def _run_row(outcome: RunOutcome) -> dict[str, Any]:
    """The ``runs`` row of a run: what :func:`write_run` stores and :func:`stored_run` shows."""
    settings = outcome.settings
    meta = outcome.metadata
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": outcome.run_id,
        "started_at": outcome.started_at,
        "finished_at": outcome.finished_at,
        "git_sha": meta.get("git_sha", ""),
        "git_branch": meta.get("git_branch", ""),
        "harness_version": meta.get("harness_version", ""),
        "python_version": meta.get("python_version", ""),
        "baseline": settings.baseline,
        "volume": settings.volume,
        "seed": settings.seed,
        "settings_json": json.dumps(
            {
                "source": settings.source,
                "gate": asdict(settings.gate),
                "redact": settings.redact,
                "case_limit": settings.case_limit,  # --cost-eval-limit: a partial run
            },
            default=str,
        ),
        "prices_json": json.dumps(outcome.price_snapshot),
        "calls": outcome.calls,
        "spend_usd": stored_money(outcome.spend_usd),
        # API keys found in answers and replaced before anything was stored or shown.
        "redacted": outcome.redacted,
    }


RESULT_CHUNK = 50_000
"""Results turned into rows and inserted at a time (the rows of a chunk are in memory)."""


WRITE_MEMORY = "128MB"
"""DuckDB's memory while a run is stored (it writes to the file beyond it)."""


def write_run(path: Path, outcome: RunOutcome, *, spools: Sequence[Path] = ()) -> None:
    """Store a run: its metadata, configurations, results, summaries and new responses.

    ``spools``: the :class:`~harness.store.result_spool.ResultSpool` files holding the
    results of a run that streamed them (:attr:`RunOutcome.streamed`), inserted in the
    run's pair order.

    A run is stored whole or not at all. Up to :data:`RESULT_CHUNK` results go in one
    transaction with everything else. More are committed chunk by chunk first (DuckDB
    holds a transaction's rows in memory until it commits: 40 MB per 50,000), under a
    ``storing`` mark; the last transaction stores the run's own row and removes the mark.
    The rows of a run whose storing was cut short are invisible (nothing reads results
    but by a stored run's id) and deleted by the next write.
    """
    staged = bool(spools) or len(outcome.results) > RESULT_CHUNK
    with connect(path) as connection:
        connection.execute(f"SET memory_limit = '{WRITE_MEMORY}'")
        forget_unfinished(connection)
        if staged:
            connection.execute("INSERT INTO storing VALUES (?)", [outcome.run_id])
            try:
                _stage_results(connection, outcome, spools)
            except BaseException:
                _forget(connection, outcome.run_id)
                raise
        connection.execute("BEGIN TRANSACTION")
        try:
            _store_run_rows(connection, outcome, staged=staged)
            connection.execute("COMMIT")
        except BaseException:
            with suppress(Exception):  # a failed COMMIT has rolled back already
                connection.execute("ROLLBACK")
            if staged:
                _forget(connection, outcome.run_id)
            raise


def _store_run_rows(
    connection: duckdb.DuckDBPyConnection, outcome: RunOutcome, *, staged: bool
) -> None:
    """The run's own rows (and its results unless staged), inside the final transaction."""
    settings = outcome.settings
    insert_rows(connection, "runs", [_run_row(outcome)])
    used = {s.config for s in outcome.summaries}
    insert_rows(
        connection,
        "configs",
        [
            {
                "schema_version": SCHEMA_VERSION,
                "run_id": outcome.run_id,
                "config": spec.name,
                "family": spec.family,
                "enforce": spec.enforce,
                "spec_json": json.dumps(asdict(spec), default=str),
            }
            for spec in settings.configs
            if spec.name in used
        ],
    )
    if not staged and not outcome.streamed:
        insert_results(connection, outcome.run_id, outcome.results)
    if staged:
        connection.execute("DELETE FROM storing WHERE run_id = ?", [outcome.run_id])
    insert_rows(
        connection, "summaries", [_summary_row(outcome.run_id, s) for s in outcome.summaries]
    )
    insert_rows(
        connection,
        "problems",
        [
            {
                "schema_version": SCHEMA_VERSION,
                "run_id": outcome.run_id,
                "suite": suite,
                "message": message,
            }
            for suite, message in outcome.problems.items()
        ],
    )
    insert_responses(connection, outcome.new_responses.items(), outcome.finished_at)


def forget_unfinished(connection: duckdb.DuckDBPyConnection) -> None:
    """Delete the results of runs whose storing was cut short (see :func:`write_run`).

    Only a writer runs this, and DuckDB lets one process write at a time: a mark
    left in ``storing`` belongs to a process that died.
    """
    for (run_id,) in connection.execute("SELECT run_id FROM storing").fetchall():
        _forget(connection, run_id)


def _forget(connection: duckdb.DuckDBPyConnection, run_id: str) -> None:
    connection.execute("BEGIN TRANSACTION")
    connection.execute("DELETE FROM results WHERE run_id = ?", [run_id])
    connection.execute("DELETE FROM storing WHERE run_id = ?", [run_id])
    connection.execute("COMMIT")


def _stage_results(
    connection: duckdb.DuckDBPyConnection, outcome: RunOutcome, spools: Sequence[Path]
) -> None:
    """Commit a large run's results chunk by chunk, under its ``storing`` mark."""
    if not outcome.streamed:
        for start in range(0, len(outcome.results), RESULT_CHUNK):
            connection.execute("BEGIN TRANSACTION")
            insert_results(
                connection, outcome.run_id, outcome.results[start : start + RESULT_CHUNK]
            )
            connection.execute("COMMIT")
    _copy_spools(connection, spools, outcome)


def _copy_spools(
    connection: duckdb.DuckDBPyConnection, spools: Sequence[Path], outcome: RunOutcome
) -> None:
    """Insert the spooled results under the run's id, pair by pair in the run's order,
    a frame at a time, each committed."""
    indexes = [(spool, spooled_pairs(spool)) for spool in spools if spool.is_file()]
    for summary in outcome.summaries:
        for spool, index in indexes:
            # A frame is at most FRAME_ROWS results: that many in memory, and in DuckDB's
            # transaction, at a time.
            for frame in index.get((summary.suite, summary.config), []):
                columns = read_spooled(spool, frame)
                connection.execute("BEGIN TRANSACTION")
                insert_columns(connection, "results", with_run(columns, outcome.run_id))
                connection.execute("COMMIT")
                del columns


def insert_results(
    connection: duckdb.DuckDBPyConnection, run_id: str, results: Sequence[CaseResult]
) -> None:
    """Insert ``results`` under ``run_id``, built column by column (no dict per result)."""
    if results:
        insert_columns(connection, "results", with_run(result_columns(results), run_id))


def _summary_row(run_id: str, s: Summary) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "suite": s.suite,
        "config": s.config,
        "n": s.n,
        "errors": s.errors,
        "quality": s.quality,
        "baseline_quality": s.baseline_quality,
        "delta": s.delta,
        "ci_low": s.ci_low,
        "ci_high": s.ci_high,
        "margin": s.margin,
        "verdict": s.verdict,
        "reasons_json": json.dumps(list(s.reasons)),
        "enforced": s.enforced,
        "cost_per_query": stored_money(s.cost_per_query),
        "baseline_cost_per_query": stored_money(s.baseline_cost_per_query),
        "savings_pct": s.savings_pct,
        "monthly_cost": stored_money(s.monthly_cost),
        "baseline_monthly_cost": stored_money(s.baseline_monthly_cost),
        "flagged_cases": s.flagged_cases,
        "categories_json": json.dumps([asdict(c) for c in s.categories]),
        "p_value": s.p_value,
        "test": s.test,
        "min_detectable_drop": s.min_detectable_drop,
        "noise": s.noise,
        "extras_json": json.dumps(s.extras, default=str),
        "cost_source": s.cost_source,
        "cost_sources_json": json.dumps(
            {"config": dict(s.cost_sources), "baseline": dict(s.baseline_cost_sources)}
        ),
        "scorer_problem": s.scorer_problem,
        "scorer_warnings_json": json.dumps(list(s.scorer_warnings)),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredRun:
    """A run as read back from the database: enough to render its report."""

    run: Mapping[str, Any]
    summaries: tuple[Summary, ...]
    results: tuple[CaseResult, ...]
    problems: Mapping[str, str]


def resolve_run_id(connection: duckdb.DuckDBPyConnection, run: str, path: Path) -> str:
    """``latest`` or a run id (or a unique prefix of one) -> the run id."""
    if run == "latest":
        found = connection.execute(
            "SELECT run_id FROM runs ORDER BY started_at DESC, rowid DESC LIMIT 1"
        ).fetchone()
        if found is None:
            raise StorageError(f"{path}: holds no runs yet. Run `pytest --cost-eval` first.")
        return str(found[0])
    matches = [
        r[0]
        for r in connection.execute(
            "SELECT run_id FROM runs WHERE starts_with(run_id, ?) ORDER BY run_id", [run]
        ).fetchall()
    ]
    if len(matches) != 1:
        recent = [
            r[0]
            for r in connection.execute(
                "SELECT run_id FROM runs ORDER BY started_at DESC, rowid DESC LIMIT 5"
            ).fetchall()
        ]
        what = "matches no run" if not matches else f"matches {len(matches)} runs"
        raise StorageError(
            f"{path}: run {run!r} {what}. Use 'latest' or one of: {', '.join(recent)}."
        )
    return str(matches[0])


def previous_run_id(path: Path, run_id: str) -> str | None:
    """The latest run before ``run_id`` on the same git branch (any branch if unknown)."""
    with connect(path, read_only=True) as connection:
        row = connection.execute(
            "SELECT started_at, git_branch, rowid FROM runs WHERE run_id = ?", [run_id]
        ).fetchone()
        if row is None:
            return None
        started_at, branch, position = row
        # Runs started in the same second are told apart by insertion order.
        found = connection.execute(
            "SELECT run_id FROM runs WHERE (started_at < ? OR (started_at = ? AND rowid < ?)) "
            "AND (? = '' OR git_branch = ?) ORDER BY started_at DESC, rowid DESC LIMIT 1",
            [started_at, started_at, position, branch or "", branch or ""],
        ).fetchone()
    return None if found is None else str(found[0])


def load_history(path: Path, *, limit: int = 30) -> list[dict[str, Any]]:
    """Per (run, suite, configuration): quality, delta, verdict and cost, newest runs first.

    ``limit`` counts runs, not rows. Callers filter the rows (``harness history``
    names the suites and configurations there are when a filter matches none).
    """
    with connect(path, read_only=True) as connection:
        return query_rows(
            connection,
            f"SELECT * FROM ({HISTORY_SELECT}) WHERE run_id IN ("
            "  SELECT run_id FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?)"
            " ORDER BY started_at DESC, run_order DESC, suite, config",
            [limit],
        )


def load_run(path: Path, run: str = "latest") -> StoredRun:
    """Read one run back, every case result with its texts.

    Raises:
        StorageError: no database, no runs, or no such run.
    """
    with open_run(path, run) as (connection, run_row, summaries):
        run_id = run_row["run_id"]
        results = tuple(
            result_from_row(row)
            for row in query_rows(
                connection, "SELECT * FROM results WHERE run_id = ? ORDER BY rowid", [run_id]
            )
        )
        problems = run_problems(connection, run_id)
    return StoredRun(run=run_row, summaries=summaries, results=results, problems=problems)


def run_problems(connection: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, str]:
    """The run's suites it could not evaluate, and why."""
    return {
        row["suite"]: row["message"]
        for row in query_rows(
            connection, "SELECT suite, message FROM problems WHERE run_id = ?", [run_id]
        )
    }


class CaseScore(NamedTuple):
    """One case's score in a stored run: what comparing two runs needs, no texts."""

    suite: str
    config: str
    case_id: str
    category: str
    score: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunScores:
    """A run's metadata, summaries and per-case scores (see :func:`load_scores`)."""

    run: Mapping[str, Any]
    summaries: tuple[Summary, ...]
    results: tuple[CaseScore, ...]


def load_scores(path: Path, run: str = "latest") -> RunScores:
    """Read one run back for a comparison: summaries and each case's score, no texts.

    About 15 times faster than :func:`load_run` (no texts, no money, no
    dataclass per row): what ``harness compare`` and the report's comparison
    with the previous run read.

    Raises:
        StorageError: no database, no runs, or no such run.
    """
    with open_run(path, run) as (connection, run_row, summaries):
        rows = connection.execute(
            "SELECT suite, config, case_id, category, score FROM results WHERE run_id = ? "
            "ORDER BY rowid",
            [run_row["run_id"]],
        ).fetchall()
    return RunScores(
        run=run_row, summaries=summaries, results=tuple(CaseScore(*row) for row in rows)
    )


@contextmanager
def open_run(
    path: Path, run: str
) -> Iterator[tuple[duckdb.DuckDBPyConnection, dict[str, Any], tuple[Summary, ...]]]:
    """A read-only connection, the run's ``runs`` row and its summaries."""
    with connect(path, read_only=True) as connection:
        if "runs" not in table_names(connection):
            raise StorageError(f"{path}: not a harness results database (no 'runs' table).")
        run_id = resolve_run_id(connection, run, path)
        run_row = query_rows(connection, "SELECT * FROM runs WHERE run_id = ?", [run_id])[0]
        summaries = tuple(
            _summary_from_row(row)
            for row in query_rows(
                connection, "SELECT * FROM summaries WHERE run_id = ? ORDER BY rowid", [run_id]
            )
        )
        yield connection, run_row, summaries


def stored_run(outcome: RunOutcome) -> StoredRun:
    """The run :func:`write_run` just stored, as :func:`load_run` would read it, from memory.

    Reading a large run back costs about 18 µs a row (18 s for a million); the
    session already holds every row, so its report and comparison use this.
    Money is the same to the cent (the store keeps 12 decimals).
    """
    return StoredRun(
        run=_run_row(outcome),
        summaries=tuple(outcome.summaries),
        results=tuple(outcome.results),
        problems=dict(outcome.problems),
    )


def _summary_from_row(row: Mapping[str, Any]) -> Summary:
    # Runs stored before costs said where they came from have no counts: nothing is said.
    sources = json.loads(row.get("cost_sources_json") or "{}")
    return Summary(
        suite=row["suite"],
        config=row["config"],
        n=row["n"],
        errors=row["errors"],
        quality=row["quality"],
        baseline_quality=row["baseline_quality"],
        delta=row["delta"],
        ci_low=row["ci_low"],
        ci_high=row["ci_high"],
        margin=row["margin"],
        verdict=row["verdict"],
        reasons=tuple(json.loads(row["reasons_json"])),
        enforced=row["enforced"],
        cost_per_query=row["cost_per_query"],
        baseline_cost_per_query=row["baseline_cost_per_query"],
        savings_pct=row["savings_pct"],
        monthly_cost=row["monthly_cost"],
        baseline_monthly_cost=row["baseline_monthly_cost"],
        flagged_cases=row["flagged_cases"],
        categories=tuple(CategorySummary(**c) for c in json.loads(row["categories_json"])),
        p_value=row.get("p_value"),
        test=row.get("test") or "bootstrap",
        min_detectable_drop=row.get("min_detectable_drop"),
        noise=row.get("noise"),
        extras=json.loads(row.get("extras_json") or "{}"),
        cost_sources=sources.get("config", {}),
        baseline_cost_sources=sources.get("baseline", {}),
        scorer_problem=row.get("scorer_problem"),
        scorer_warnings=tuple(json.loads(row.get("scorer_warnings_json") or "[]")),
    )


def result_from_row(row: Mapping[str, Any]) -> CaseResult:
    """A ``results`` row (a dict by column name) as the :class:`CaseResult` it stored."""
    return CaseResult(
        suite=row["suite"],
        config=row["config"],
        case_id=row["case_id"],
        category=row["category"],
        model=row["model"],
        output=row["output"],
        reference=row["reference"],
        expected=row["expected"],
        score=row["score"],
        baseline_score=row["baseline_score"],
        delta=row["delta"],
        cost_usd=row["cost_usd"],
        baseline_cost_usd=row["baseline_cost_usd"],
        usage=Usage(**{f: row[f] for f in USAGE_FIELDS}),
        latency_ms=row["latency_ms"],
        cache_hit=row["cache_hit"],
        calls=row["calls"],
        error=row["error"],
        flagged=row["flagged"],
        rationale=row.get("rationale") or "",
        eval_cost_usd=row.get("eval_cost_usd") or Decimal(0),
        cost_source=row.get("cost_source"),
        baseline_cost_source=row.get("baseline_cost_source"),
        prompt=row.get("prompt") or "",
        prompt_context=row.get("prompt_context") or "",
    )


EXPORTED_TABLES = ("runs", "configs", "results", "summaries", "problems")
"""The tables :func:`export_parquet` writes."""


def export_parquet(path: Path, out_dir: Path) -> dict[str, int]:
    """Write every table as Parquet under ``out_dir``, partitioned by run id (zstd).

    DuckDB (and most data tools) query the folder in place, locally or on object
    storage: ``SELECT * FROM read_parquet('out/results/*/*.parquet',
    hive_partitioning = true)``. Returns rows written per table.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    with connect(path, read_only=True) as connection:
        tables = table_names(connection)
        for table in EXPORTED_TABLES:
            if table not in tables:
                continue
            target = out_dir / table
            connection.execute(
                f"COPY {table} TO '{target.as_posix()}' "
                "(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (run_id), OVERWRITE_OR_IGNORE)"
            )
            row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
            written[table] = int(row[0]) if row else 0
    return written
