"""DuckDB storage: runs, configurations, per-case results, summaries, responses.

One file (``results/cost_eval.duckdb`` by default). Every table carries a
``schema_version`` column. Rows go in through Arrow tables, not row by row.
Migrations are forward-only ``ADD COLUMN IF NOT EXISTS`` statements in
:data:`SCHEMA`, run at every open for writing. Only one process writes (DuckDB
allows a single writer per file); the report and the CLI read.

Tables:

- ``runs``: one row per run: times, git sha and branch, harness version,
  settings, the price snapshot, provider calls made.
- ``configs``: each configuration of a run, as evaluated.
- ``results``: one row per run x configuration x case.
- ``summaries``: one row per run x suite x configuration: the verdict.
- ``problems``: suites a run could not evaluate, and why.
- ``responses``: the response store, keyed by request hash (no secrets: the
  request is its model, messages and parameters only).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from harness.errors import StorageError
from harness.types import (
    SCHEMA_VERSION,
    CaseResult,
    CategorySummary,
    Request,
    Response,
    Summary,
    Usage,
)

if TYPE_CHECKING:
    import duckdb

    from harness.engine.run import RunOutcome

LOCK_WAIT_ENV = "COST_EVAL_DB_LOCK_WAIT"
DEFAULT_LOCK_WAIT = 60.0
LOCK_POLL_SECONDS = 0.2
MONEY = "DECIMAL(28, 12)"
HISTORY_SELECT = """
    SELECT r.run_id, r.rowid AS run_order, r.started_at, r.git_sha, r.git_branch,
           s.suite, s.config, s.n, s.errors,
           s.quality, s.baseline_quality, s.delta, s.ci_low, s.ci_high, s.verdict, s.enforced,
           s.cost_per_query, s.savings_pct, s.flagged_cases
    FROM summaries s JOIN runs r USING (run_id)
"""
"""One row per (run, suite, configuration); also the ``history`` view for your own SQL."""
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (
    schema_version INTEGER, run_id VARCHAR PRIMARY KEY, started_at VARCHAR,
    finished_at VARCHAR, git_sha VARCHAR, git_branch VARCHAR, harness_version VARCHAR,
    python_version VARCHAR, baseline VARCHAR, volume VARCHAR, seed BIGINT,
    settings_json VARCHAR, prices_json VARCHAR, calls BIGINT
);
CREATE TABLE IF NOT EXISTS configs (
    schema_version INTEGER, run_id VARCHAR, config VARCHAR, family VARCHAR,
    enforce BOOLEAN, spec_json VARCHAR
);
CREATE TABLE IF NOT EXISTS results (
    schema_version INTEGER, run_id VARCHAR, suite VARCHAR, config VARCHAR, case_id VARCHAR,
    category VARCHAR, model VARCHAR, output VARCHAR, reference VARCHAR, expected VARCHAR,
    score DOUBLE, baseline_score DOUBLE, delta DOUBLE, cost_usd {MONEY},
    baseline_cost_usd {MONEY}, input_tokens BIGINT, cached_input_tokens BIGINT,
    cache_write_tokens BIGINT, output_tokens BIGINT, reasoning_tokens BIGINT,
    latency_ms DOUBLE, cache_hit BOOLEAN, calls INTEGER, error VARCHAR, flagged BOOLEAN
);
CREATE TABLE IF NOT EXISTS summaries (
    schema_version INTEGER, run_id VARCHAR, suite VARCHAR, config VARCHAR, n INTEGER,
    errors INTEGER, quality DOUBLE, baseline_quality DOUBLE, delta DOUBLE, ci_low DOUBLE,
    ci_high DOUBLE, margin DOUBLE, verdict VARCHAR, reasons_json VARCHAR, enforced BOOLEAN,
    cost_per_query {MONEY}, baseline_cost_per_query {MONEY}, savings_pct DOUBLE,
    monthly_cost {MONEY}, baseline_monthly_cost {MONEY}, flagged_cases INTEGER,
    categories_json VARCHAR
);
ALTER TABLE runs ADD COLUMN IF NOT EXISTS spend_usd {MONEY};
ALTER TABLE results ADD COLUMN IF NOT EXISTS rationale VARCHAR;
ALTER TABLE summaries ADD COLUMN IF NOT EXISTS extras_json VARCHAR;
ALTER TABLE results ADD COLUMN IF NOT EXISTS eval_cost_usd {MONEY};
ALTER TABLE summaries ADD COLUMN IF NOT EXISTS p_value DOUBLE;
ALTER TABLE summaries ADD COLUMN IF NOT EXISTS test VARCHAR;
ALTER TABLE summaries ADD COLUMN IF NOT EXISTS min_detectable_drop DOUBLE;
ALTER TABLE summaries ADD COLUMN IF NOT EXISTS noise DOUBLE;
CREATE TABLE IF NOT EXISTS problems (
    schema_version INTEGER, run_id VARCHAR, suite VARCHAR, message VARCHAR
);
CREATE OR REPLACE VIEW history AS {HISTORY_SELECT};
CREATE TABLE IF NOT EXISTS batches (
    schema_version INTEGER, provider VARCHAR, batch_id VARCHAR PRIMARY KEY,
    hashes_json VARCHAR, submitted_at VARCHAR, finished_at VARCHAR
);
CREATE TABLE IF NOT EXISTS responses (
    schema_version INTEGER, request_hash VARCHAR PRIMARY KEY, model VARCHAR,
    request_json VARCHAR, response VARCHAR, input_tokens BIGINT, cached_input_tokens BIGINT,
    cache_write_tokens BIGINT, output_tokens BIGINT, reasoning_tokens BIGINT,
    latency_ms DOUBLE, recorded_at VARCHAR
);
"""

USAGE_FIELDS = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
)


def lock_wait_seconds() -> float:
    """Seconds to wait for another process to release the database.

    Set with the environment variable ``COST_EVAL_DB_LOCK_WAIT``.
    """
    try:
        return max(0.0, float(os.environ.get(LOCK_WAIT_ENV, DEFAULT_LOCK_WAIT)))
    except ValueError:
        return DEFAULT_LOCK_WAIT


@contextmanager
def connect(
    path: Path, *, read_only: bool = False, wait: float | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the database (creating it and its tables for writing), close when done.

    Waits up to ``wait`` seconds (default :func:`lock_wait_seconds`) while another
    process holds the file.

    Raises:
        StorageError: the file stayed locked, or is not a DuckDB file.
    """
    import duckdb

    if read_only and not path.is_file():
        raise StorageError(
            f"{path}: no results database. Run `pytest --cost-eval` first, or give the "
            "right file with --db."
        )
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    wait = lock_wait_seconds() if wait is None else wait
    deadline = time.monotonic() + wait
    while True:
        try:
            connection = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            locked = "lock" in str(exc).lower()
            if locked and time.monotonic() < deadline:
                # Another run holds the file (DuckDB allows one writer): it only
                # writes at its end, so waiting a little usually suffices.
                time.sleep(LOCK_POLL_SECONDS)
                continue
            if locked:
                raise StorageError(
                    f"{path}: another process is using the results database and did not "
                    f"release it within {wait:g} s. Wait for that run to finish, give this "
                    "run its own file with --cost-eval-db, or wait longer by setting "
                    f"{LOCK_WAIT_ENV} (seconds)."
                ) from None
            raise StorageError(
                f"{path}: cannot open the results database: {exc}. Is it a DuckDB file "
                "written by this harness? Move it aside to start a new one."
            ) from None
    try:
        if not read_only:
            connection.execute(SCHEMA)
        yield connection
    finally:
        connection.close()


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("1e-12"))


def _insert(
    connection: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert rows through an Arrow table (one statement, not one per row)."""
    if not rows:
        return
    import pyarrow as pa

    columns = [row[0] for row in connection.execute(f"DESCRIBE {table}").fetchall()]
    arrow = pa.table({c: [row.get(c) for row in rows] for c in columns})
    connection.register("incoming_rows", arrow)
    try:
        connection.execute(f"INSERT INTO {table} SELECT * FROM incoming_rows")
    finally:
        connection.unregister("incoming_rows")


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
            },
            default=str,
        ),
        "prices_json": json.dumps(outcome.price_snapshot),
        "calls": outcome.calls,
        "spend_usd": _money(outcome.spend_usd),
    }


def write_run(path: Path, outcome: RunOutcome) -> None:
    """Store a run: its metadata, configurations, results, summaries and new responses."""
    settings = outcome.settings
    with connect(path) as connection:
        connection.execute("BEGIN TRANSACTION")
        _insert(connection, "runs", [_run_row(outcome)])
        used = {s.config for s in outcome.summaries}
        _insert(
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
        _insert(connection, "results", [_result_row(outcome.run_id, r) for r in outcome.results])
        _insert(
            connection, "summaries", [_summary_row(outcome.run_id, s) for s in outcome.summaries]
        )
        _insert(
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
        _insert_responses(connection, outcome.new_responses.items(), outcome.finished_at)
        connection.execute("COMMIT")


def _insert_responses(
    connection: duckdb.DuckDBPyConnection,
    entries: Iterable[tuple[str, tuple[Request, Response]]],
    recorded_at: str,
) -> None:
    """Upsert response-store rows: a re-recorded request replaces its old answer."""
    rows = [
        {
            "schema_version": SCHEMA_VERSION,
            "request_hash": key,
            "model": request.model,
            "request_json": json.dumps(
                {
                    "model": request.model,
                    "messages": [[m.role, m.content] for m in request.messages],
                    "params": [list(p) for p in request.params],
                },
                ensure_ascii=False,
            ),
            "response": response.text,
            **{f: getattr(response.usage, f) for f in USAGE_FIELDS},
            "latency_ms": response.latency_ms,
            "recorded_at": recorded_at,
        }
        for key, (request, response) in entries
    ]
    if rows:
        hashes = [row["request_hash"] for row in rows]
        connection.execute(
            "DELETE FROM responses WHERE request_hash IN (SELECT unnest(?))", [hashes]
        )
        _insert(connection, "responses", rows)


def store_responses(path: Path, pairs: Iterable[tuple[Request, Response]], recorded_at: str) -> int:
    """Add (request, response) pairs to the response store; returns how many distinct ones.

    Used by importers: ``replay:`` configurations then answer from them offline.
    """
    entries = {request.hash(): (request, response) for request, response in pairs}
    with connect(path) as connection:
        connection.execute("BEGIN TRANSACTION")
        _insert_responses(connection, entries.items(), recorded_at)
        connection.execute("COMMIT")
    return len(entries)


def _result_row(run_id: str, r: CaseResult) -> dict[str, Any]:
    row = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "suite": r.suite,
        "config": r.config,
        "case_id": r.case_id,
        "category": r.category,
        "model": r.model,
        "output": r.output,
        "reference": r.reference,
        "expected": r.expected,
        "score": r.score,
        "baseline_score": r.baseline_score,
        "delta": r.delta,
        "cost_usd": _money(r.cost_usd),
        "baseline_cost_usd": _money(r.baseline_cost_usd),
        "latency_ms": r.latency_ms,
        "cache_hit": r.cache_hit,
        "calls": r.calls,
        "error": r.error,
        "flagged": r.flagged,
        "rationale": r.rationale,
        "eval_cost_usd": _money(r.eval_cost_usd),
    }
    row.update({f: getattr(r.usage, f) for f in USAGE_FIELDS})
    return row


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
        "cost_per_query": _money(s.cost_per_query),
        "baseline_cost_per_query": _money(s.baseline_cost_per_query),
        "savings_pct": s.savings_pct,
        "monthly_cost": _money(s.monthly_cost),
        "baseline_monthly_cost": _money(s.baseline_monthly_cost),
        "flagged_cases": s.flagged_cases,
        "categories_json": json.dumps([asdict(c) for c in s.categories]),
        "p_value": s.p_value,
        "test": s.test,
        "min_detectable_drop": s.min_detectable_drop,
        "noise": s.noise,
        "extras_json": json.dumps(s.extras, default=str),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredRun:
    """A run as read back from the database: enough to render its report."""

    run: Mapping[str, Any]
    summaries: tuple[Summary, ...]
    results: tuple[CaseResult, ...]
    problems: Mapping[str, str]


def _rows(
    connection: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    cursor = connection.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


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


def load_history(
    path: Path, *, config: str | None = None, suite: str | None = None, limit: int = 30
) -> list[dict[str, Any]]:
    """Per (run, suite, configuration): quality, delta, verdict and cost, newest runs first.

    ``limit`` counts runs, not rows.
    """
    with connect(path, read_only=True) as connection:
        return _rows(
            connection,
            f"SELECT * FROM ({HISTORY_SELECT}) WHERE run_id IN ("
            "  SELECT run_id FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?)"
            " AND (? IS NULL OR config = ?) AND (? IS NULL OR suite = ?)"
            " ORDER BY started_at DESC, run_order DESC, suite, config",
            [limit, config, config, suite, suite],
        )


def load_run(path: Path, run: str = "latest") -> StoredRun:
    """Read one run back, every case result with its texts.

    Raises:
        StorageError: no database, no runs, or no such run.
    """
    with _open_run(path, run) as (connection, run_row, summaries):
        run_id = run_row["run_id"]
        results = tuple(
            _result_from_row(row)
            for row in _rows(
                connection, "SELECT * FROM results WHERE run_id = ? ORDER BY rowid", [run_id]
            )
        )
        problems = {
            row["suite"]: row["message"]
            for row in _rows(
                connection, "SELECT suite, message FROM problems WHERE run_id = ?", [run_id]
            )
        }
    return StoredRun(run=run_row, summaries=summaries, results=results, problems=problems)


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
    with _open_run(path, run) as (connection, run_row, summaries):
        rows = connection.execute(
            "SELECT suite, config, case_id, category, score FROM results WHERE run_id = ? "
            "ORDER BY rowid",
            [run_row["run_id"]],
        ).fetchall()
    return RunScores(
        run=run_row, summaries=summaries, results=tuple(CaseScore(*row) for row in rows)
    )


@contextmanager
def _open_run(
    path: Path, run: str
) -> Iterator[tuple[duckdb.DuckDBPyConnection, dict[str, Any], tuple[Summary, ...]]]:
    """A read-only connection, the run's ``runs`` row and its summaries."""
    with connect(path, read_only=True) as connection:
        tables = {r[0] for r in connection.execute("SHOW TABLES").fetchall()}
        if "runs" not in tables:
            raise StorageError(f"{path}: not a harness results database (no 'runs' table).")
        run_id = resolve_run_id(connection, run, path)
        run_row = _rows(connection, "SELECT * FROM runs WHERE run_id = ?", [run_id])[0]
        summaries = tuple(
            _summary_from_row(row)
            for row in _rows(
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
    )


def _result_from_row(row: Mapping[str, Any]) -> CaseResult:
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
    )


def load_responses(path: Path) -> dict[str, Response]:
    """The response store: every recorded response by request hash (empty without a file)."""
    if not path.is_file():
        return {}
    with connect(path, read_only=True) as connection:
        tables = {r[0] for r in connection.execute("SHOW TABLES").fetchall()}
        if "responses" not in tables:
            return {}  # a database no run has written yet
        rows = _rows(connection, "SELECT * FROM responses")
    return {
        row["request_hash"]: Response(
            text=row["response"],
            model=row["model"],
            usage=Usage(**{f: row[f] for f in USAGE_FIELDS}),
            latency_ms=row["latency_ms"],
        )
        for row in rows
    }


class DuckBatchStore:
    """Submitted provider batches, remembered in the ``batches`` table.

    A run killed while its batches are pending leaves them here; the next run
    with ``--cost-eval-batch`` resumes them instead of submitting (and paying
    for) new ones. Satisfies :class:`harness.providers.batch.BatchStore`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def pending(self, provider: str) -> list[tuple[str, list[str]]]:
        """``(batch_id, request hashes)`` of every unfinished batch of ``provider``."""
        if not self.path.is_file():
            return []
        with connect(self.path) as connection:
            rows = connection.execute(
                "SELECT batch_id, hashes_json FROM batches WHERE provider = ? "
                "AND finished_at IS NULL ORDER BY submitted_at",
                [provider],
            ).fetchall()
        return [(str(batch_id), list(json.loads(hashes))) for batch_id, hashes in rows]

    def save(self, provider: str, batch_id: str, hashes: Sequence[str]) -> None:
        """Remember a batch the moment it is submitted."""
        from harness.config.suites import now_iso

        with connect(self.path) as connection:
            connection.execute(
                "INSERT OR REPLACE INTO batches VALUES (?, ?, ?, ?, ?, NULL)",
                [SCHEMA_VERSION, provider, batch_id, json.dumps(list(hashes)), now_iso()],
            )

    def finish(self, batch_id: str) -> None:
        """Mark a batch done once its results are read."""
        from harness.config.suites import now_iso

        with connect(self.path) as connection:
            connection.execute(
                "UPDATE batches SET finished_at = ? WHERE batch_id = ?", [now_iso(), batch_id]
            )


EXPORTED_TABLES = ("runs", "configs", "results", "summaries", "problems")


def export_parquet(path: Path, out_dir: Path) -> dict[str, int]:
    """Write every table as Parquet under ``out_dir``, partitioned by run id (zstd).

    DuckDB (and most data tools) query the folder in place, locally or on object
    storage: ``SELECT * FROM read_parquet('out/results/*/*.parquet',
    hive_partitioning = true)``. Returns rows written per table.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    with connect(path, read_only=True) as connection:
        tables = {r[0] for r in connection.execute("SHOW TABLES").fetchall()}
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
