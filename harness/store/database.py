"""The DuckDB file: opening it (waiting out another writer), its schema, row helpers.

One file (``results/cost_eval.duckdb`` by default). Every table carries a
``schema_version`` column. Rows go in through Arrow tables, not row by row
(:func:`insert_rows`). Migrations are forward-only ``ADD COLUMN IF NOT EXISTS``
statements in :data:`SCHEMA`, run at every open for writing. Only one process
writes (DuckDB allows a single writer per file); the report and the CLI read.

Tables:

- ``runs``: one row per run: times, git sha and branch, harness version,
  settings, the price snapshot, provider calls made, API keys redacted from answers.
- ``configs``: each configuration of a run, as evaluated.
- ``results``: one row per run x configuration x case.
- ``summaries``: one row per run x suite x configuration: the verdict.
- ``problems``: suites a run could not evaluate, and why.
- ``batches``: submitted provider batches (:mod:`harness.store.batches`).
- ``responses``: the response store, keyed by request hash (no secrets: the
  request is its model, messages and parameters only; :mod:`harness.store.responses`),
  with the cost billed for an answer when it was recorded with one (``cost_usd``).

The ``sweeps`` table is created on demand by :mod:`harness.store.sweeps`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import StorageError

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "DEFAULT_LOCK_WAIT",
    "HISTORY_SELECT",
    "LOCK_POLL_SECONDS",
    "LOCK_WAIT_ENV",
    "MONEY",
    "MONEY_STEP",
    "SCHEMA",
    "USAGE_FIELDS",
    "connect",
    "insert_columns",
    "insert_rows",
    "is_corruption",
    "lock_wait_seconds",
    "query_rows",
    "shared_reads",
    "stored_money",
    "table_names",
    "unreadable_database",
]

LOCK_WAIT_ENV = "COST_EVAL_DB_LOCK_WAIT"
"""Environment variable: seconds to wait for another process to release the file."""
DEFAULT_LOCK_WAIT = 60.0
"""Seconds to wait for the file when :data:`LOCK_WAIT_ENV` is unset or invalid."""
LOCK_POLL_SECONDS = 0.2
"""Pause between two attempts to open a locked file."""
MONEY = "DECIMAL(28, 12)"
"""The column type of every amount of money."""
MONEY_STEP = Decimal("1e-12")
"""The smallest amount :data:`MONEY` keeps: amounts are quantized to it before insert."""


def stored_money(value: Decimal) -> Decimal:
    """``value`` as a :data:`MONEY` column keeps it (quantized to :data:`MONEY_STEP`)."""
    return value.quantize(MONEY_STEP)


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
ALTER TABLE summaries ADD COLUMN IF NOT EXISTS scorer_problem VARCHAR;
ALTER TABLE summaries ADD COLUMN IF NOT EXISTS scorer_warnings_json VARCHAR;
CREATE TABLE IF NOT EXISTS problems (
    schema_version INTEGER, run_id VARCHAR, suite VARCHAR, message VARCHAR
);
CREATE OR REPLACE VIEW history AS {HISTORY_SELECT};
CREATE TABLE IF NOT EXISTS storing (run_id VARCHAR PRIMARY KEY);
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
ALTER TABLE responses ADD COLUMN IF NOT EXISTS cost_usd {MONEY};
ALTER TABLE results ADD COLUMN IF NOT EXISTS cost_source VARCHAR;
ALTER TABLE results ADD COLUMN IF NOT EXISTS baseline_cost_source VARCHAR;
ALTER TABLE results ADD COLUMN IF NOT EXISTS prompt VARCHAR;
ALTER TABLE results ADD COLUMN IF NOT EXISTS prompt_context VARCHAR;
ALTER TABLE summaries ADD COLUMN IF NOT EXISTS cost_source VARCHAR;
ALTER TABLE summaries ADD COLUMN IF NOT EXISTS cost_sources_json VARCHAR;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS redacted BIGINT;
"""
"""Every table and view, with its forward-only migrations; run at each open for writing."""

USAGE_FIELDS = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
)
"""The token columns of ``results`` and ``responses``: the fields of ``Usage``."""


def lock_wait_seconds() -> float:
    """Seconds to wait for another process to release the database.

    Set with the environment variable ``COST_EVAL_DB_LOCK_WAIT``.
    """
    try:
        return max(0.0, float(os.environ.get(LOCK_WAIT_ENV, DEFAULT_LOCK_WAIT)))
    except ValueError:
        return DEFAULT_LOCK_WAIT


OTHER_FILE = (
    "--cost-eval-db with pytest, --db with the harness commands, or `db` in [tool.cost-eval]"
)
"""How to point a run or a command at another database file (the same file serves both)."""


def unreadable_database(path: Path, problem: object) -> StorageError:
    """The error for a database file that cannot be read (truncated, corrupted, not
    DuckDB, or a path that cannot hold one): the path, what is wrong, what to do."""
    return StorageError(
        f"{path}: cannot open the results database: {problem}. Is it a DuckDB file written "
        f"by this harness? Move it aside to start a new one (or give another file: {OTHER_FILE}); "
        "the answers it holds are then paid for again."
    )


def is_corruption(exc: BaseException) -> bool:
    """Whether a DuckDB error means the file's bytes are damaged (not a bug in a query)."""
    text = str(exc).lower()
    return any(word in text for word in ("corrupt", "checksum", "deserializ"))


@contextmanager
def connect(
    path: Path, *, read_only: bool = False, wait: float | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the database (creating it and its tables for writing), close when done.

    Waits up to ``wait`` seconds (default :func:`lock_wait_seconds`) while another
    process holds the file.

    Raises:
        StorageError: the file stayed locked, is not a DuckDB file, or is damaged
            (found on opening it or on reading a damaged block).
    """
    import duckdb

    shared = _SHARED_READS.get()
    if read_only and shared is not None and shared[0] == path:
        # Inside :func:`shared_reads`: its one connection serves every read.
        yield shared[1]
        return
    if read_only and not path.is_file():
        raise StorageError(
            f"{path}: no results database. Run `pytest --cost-eval` first, or give the "
            "right file with --db."
        )
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise unreadable_database(path, f"its folder cannot be created ({exc})") from None
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
                    f"one its own file ({OTHER_FILE}), or wait longer by setting "
                    f"{LOCK_WAIT_ENV} (seconds)."
                ) from None
            raise unreadable_database(path, exc) from None
        except duckdb.Error as exc:
            raise unreadable_database(path, exc) from None
    try:
        if not read_only:
            # One transaction: one write to the log instead of one per statement (a new
            # file's tables are made in 10 ms instead of 20-35).
            connection.execute("BEGIN TRANSACTION")
            connection.execute(SCHEMA)
            connection.execute("COMMIT")
        yield connection
    except duckdb.Error as exc:
        if is_corruption(exc):
            raise unreadable_database(path, exc) from None
        raise
    finally:
        connection.close()


_SHARED_READS: ContextVar[tuple[Path, duckdb.DuckDBPyConnection] | None] = ContextVar(
    "shared_reads", default=None
)


@contextmanager
def shared_reads(path: Path) -> Iterator[None]:
    """Serve every read-only :func:`connect` to ``path`` in the block from one connection.

    Opening the file costs about 12 ms; a report reads it eight times over (the run,
    the previous one, the pairing, history, sweeps, tunes). Nothing in the block may
    open the file for writing: DuckDB refuses a writer beside a reader in one process.

    Raises:
        StorageError: as :func:`connect`.
    """
    with connect(path, read_only=True) as connection:
        token = _SHARED_READS.set((path, connection))
        try:
            yield
        finally:
            _SHARED_READS.reset(token)


_NUMPY_TYPES = {"DOUBLE": "float64", "BIGINT": "int64", "INTEGER": "int64", "BOOLEAN": "bool"}
"""Column types handed to DuckDB as typed NumPy arrays (masked where NULL)."""


def insert_rows(
    connection: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert rows in one statement; each row maps column names to values (missing: NULL)."""
    if not rows:
        return
    names = [name for name, *_ in connection.execute(f"DESCRIBE {table}").fetchall()]
    insert_columns(connection, table, {name: [row.get(name) for row in rows] for name in names})


def insert_columns(
    connection: duckdb.DuckDBPyConnection, table: str, columns: Mapping[str, Sequence[Any]]
) -> None:
    """Insert rows given column by column (every column as long; a table column not
    given is NULL), in one statement, each column handed to DuckDB as one NumPy array.

    DuckDB scans NumPy arrays natively (through pyarrow, the first insert of a process
    would import pandas: 0.16 s). A numeric or boolean column goes as a typed array
    (masked where NULL); any other value goes as text, which the insert casts to the column's
    type (exactly: the text of a float or a Decimal reads back the same number). DuckDB is
    not left to guess a type from a sample of the rows: a value past the sample could
    be wider than the guess.
    """
    length = len(next(iter(columns.values()), ()))
    if not length:
        return
    import numpy as np

    arrays = {}
    for column, column_type, *_ in connection.execute(f"DESCRIBE {table}").fetchall():
        values = columns.get(column)
        dtype = _NUMPY_TYPES.get(column_type)
        if values is None:
            arrays[column] = np.full(length, None, dtype=object)
            continue
        if dtype is not None:
            if None in values:  # NULLs as a masked array: DuckDB reads the mask as NULL
                mask = [v is None for v in values]
                filled = [0 if v is None else v for v in values]
                arrays[column] = np.ma.masked_array(filled, mask=mask, dtype=dtype)
            else:
                arrays[column] = np.array(values, dtype=dtype)
            continue
        array = np.empty(length, dtype=object)
        array[:] = values
        arrays[column] = array
    # Object arrays are read as text (DuckDB writes each value as its text: a float's
    # shortest exact form, a Decimal's digits), never typed from a sample of them.
    connection.execute("SET pandas_analyze_sample = 0")
    connection.register("incoming_rows", arrays)
    try:
        connection.execute(f"INSERT INTO {table} SELECT * FROM incoming_rows")
    finally:
        connection.unregister("incoming_rows")


def query_rows(
    connection: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    """The rows of a query, each as a dict by column name."""
    cursor = connection.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def table_names(connection: duckdb.DuckDBPyConnection) -> set[str]:
    """The tables (and views) of the open database."""
    return {r[0] for r in connection.execute("SHOW TABLES").fetchall()}
