"""Production traffic in the ``traffic`` table: one row per LLM call, and what is read back.

Rows come from :mod:`harness.importers` (``harness import traces``) in chunks, so
memory stays bounded however large the export. ``source_id`` identifies a call
(``otlp:<trace>/<span>``, ``openai:<response id>``, ``litellm:<request id>``):
importing a file again replaces its rows, never counts them twice. The file is
staged first and merged in one transaction, so an import stores all its calls or
none. No index is kept on ``source_id``: DuckDB holds an index in memory, which a
million-call table need not. Times are stored in UTC.
The monitor's figures are aggregated here, in SQL, for the same reason; the last
run's projection of a configuration is read from the run tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from harness.analysis.monitor import Projection, WindowStats
from harness.config.volume import parse_volume
from harness.errors import StorageError
from harness.importers.traffic import TrafficCall
from harness.store.database import MONEY, connect, insert_rows, stored_money, table_names
from harness.types import SCHEMA_VERSION

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "TRAFFIC_SCHEMA",
    "StoredQuery",
    "TrafficWrite",
    "load_projection",
    "recent_queries",
    "traffic_windows",
    "write_traffic",
]

TRAFFIC_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS traffic (
    schema_version INTEGER, source_id VARCHAR, time TIMESTAMP, model VARCHAR,
    provider VARCHAR, input_tokens BIGINT, cached_input_tokens BIGINT,
    cache_write_tokens BIGINT, output_tokens BIGINT, reasoning_tokens BIGINT,
    cost_usd {MONEY}, cost_source VARCHAR, latency_ms DOUBLE, cache_hit BOOLEAN,
    prompt VARCHAR, source VARCHAR, imported_at VARCHAR
);
"""
"""One row per call; ``cost_source`` is recorded, estimated (price table) or unpriced."""
CHUNK = 10_000
"""Calls inserted per statement."""
STAGING = "traffic_incoming"
"""Where an import's calls wait until the file has been read whole."""
MEMORY_LIMIT = "128MB"
"""DuckDB's memory limit while importing (it spills to disk beyond it)."""


@dataclass(frozen=True, slots=True)
class TrafficWrite:
    """What an import stored."""

    stored: int
    """Rows written (new or replaced)."""
    replaced: int
    """Of those, rows that were already stored (the same call imported before)."""


@dataclass(frozen=True, slots=True)
class StoredQuery:
    """One stored prompt, for ``harness sample``."""

    source_id: str
    time: datetime
    model: str
    prompt: str
    prompt_tokens: int


def _row(call: TrafficCall, imported_at: str) -> dict[str, Any]:
    cost = None if call.cost_usd is None else stored_money(call.cost_usd)
    return {
        "schema_version": SCHEMA_VERSION,
        "source_id": call.source_id,
        # Naive UTC: DuckDB's TIMESTAMP has no zone, and every reader assumes UTC.
        "time": call.time.replace(tzinfo=None),
        "model": call.model,
        "provider": call.provider,
        **call.usage.as_dict(),
        "cost_usd": cost,
        "cost_source": call.cost_source,
        "latency_ms": call.latency_ms,
        "cache_hit": call.cache_hit,
        "prompt": call.prompt,
        "source": call.where,
        "imported_at": imported_at,
    }


def write_traffic(path: Path, calls: Iterable[TrafficCall], imported_at: str) -> TrafficWrite:
    """Store calls as they come, replacing any already stored; all of them or none.

    Chunks of :data:`CHUNK` calls go to a staging table in the same file as they
    are read; once the last is read, one transaction replaces the stored calls
    with the same ids and adds the rest (the last copy of an id in the file wins).
    A problem in the file (raised by ``calls``) leaves the table as it was.
    """
    with connect(path) as connection:
        connection.execute(TRAFFIC_SCHEMA)
        # DuckDB caches table blocks up to 80 % of RAM by default; the merge needs
        # far less, and spills to disk beyond this.
        connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        connection.execute(f"DROP TABLE IF EXISTS {STAGING}")
        connection.execute(f"CREATE TABLE {STAGING} AS SELECT * FROM traffic LIMIT 0")
        try:
            pending: list[dict[str, Any]] = []
            for call in calls:
                pending.append(_row(call, imported_at))
                if len(pending) >= CHUNK:
                    insert_rows(connection, STAGING, pending)
                    pending = []
            insert_rows(connection, STAGING, pending)
            return _merge(connection)
        finally:
            connection.execute(f"DROP TABLE IF EXISTS {STAGING}")


def _merge(connection: duckdb.DuckDBPyConnection) -> TrafficWrite:
    """Move the staged calls into ``traffic`` (one transaction); what was stored."""
    connection.execute("BEGIN TRANSACTION")
    stored = connection.execute(f"SELECT count(DISTINCT source_id) FROM {STAGING}").fetchone()
    replaced = connection.execute(
        f"SELECT count(*) FROM traffic WHERE source_id IN (SELECT source_id FROM {STAGING})"
    ).fetchone()
    connection.execute(f"DELETE FROM traffic WHERE source_id IN (SELECT source_id FROM {STAGING})")
    rows = connection.execute(f"SELECT count(*) FROM {STAGING}").fetchone()
    if stored == rows:
        connection.execute(f"INSERT INTO traffic SELECT * FROM {STAGING}")
    else:
        # An id seen twice in the files: the last copy wins (a window sorts every row,
        # so only when needed).
        connection.execute(
            f"""INSERT INTO traffic SELECT * FROM {STAGING}
                QUALIFY row_number() OVER (PARTITION BY source_id ORDER BY rowid DESC) = 1"""
        )
    connection.execute("COMMIT")
    return TrafficWrite(
        stored=int(stored[0]) if stored else 0, replaced=int(replaced[0]) if replaced else 0
    )


def _has_traffic(path: Path) -> None:
    """Raise unless the database holds imported traffic."""
    if not path.is_file():
        raise StorageError(
            f"{path}: no results database. Import production traffic first: "
            "harness import traces FILE... --db PATH"
        )


def traffic_windows(
    path: Path, window: Literal["day", "week"], *, last: int | None = None
) -> list[WindowStats]:
    """Production figures per day or week (weeks start on Monday), oldest first.

    Args:
        last: Keep only the most recent windows.
    """
    _has_traffic(path)
    with connect(path, read_only=True) as connection:
        if "traffic" not in table_names(connection):
            return []
        bucket = f"date_trunc('{window}', time)"
        totals = connection.execute(
            f"""
            SELECT {bucket} AS start, count(DISTINCT CAST(time AS DATE)) AS days,
                   count(*) AS queries,
                   coalesce(sum(cost_usd), 0) AS cost,
                   count(*) FILTER (WHERE cost_source = 'unpriced') AS unpriced,
                   count(*) FILTER (WHERE cost_source = 'estimated') AS estimated,
                   sum(input_tokens + cached_input_tokens + cache_write_tokens
                       + output_tokens) AS tokens,
                   sum(input_tokens + cached_input_tokens + cache_write_tokens) AS prompt,
                   count(*) FILTER (WHERE cache_hit) AS hits,
                   quantile_cont(latency_ms, 0.5) AS p50,
                   quantile_cont(latency_ms, 0.95) AS p95
            FROM traffic GROUP BY 1 ORDER BY 1
            """
        ).fetchall()
        mix = connection.execute(
            f"SELECT {bucket}, model, count(*) FROM traffic GROUP BY 1, 2"
        ).fetchall()
    models: dict[Any, dict[str, int]] = {}
    for start, model, count in mix:
        models.setdefault(start, {})[str(model)] = int(count)
    windows = [
        WindowStats(
            start=start.date().isoformat(),
            days=int(days),
            queries=int(queries),
            cost_usd=Decimal(cost),
            unpriced=int(unpriced),
            estimated=int(estimated),
            tokens=int(tokens or 0),
            prompt_tokens=int(prompt or 0),
            cache_hits=int(hits),
            latency_p50_ms=None if p50 is None else float(p50),
            latency_p95_ms=None if p95 is None else float(p95),
            models=models.get(start, {}),
        )
        for start, days, queries, cost, unpriced, estimated, tokens, prompt, hits, p50, p95 in (
            totals
        )
    ]
    return windows[-last:] if last else windows


def load_projection(path: Path, config: str) -> Projection:
    """The last stored run's figures for ``config``.

    Raises:
        StorageError: no stored run evaluated ``config`` (names the ones that exist).
    """
    if not path.is_file():
        raise StorageError(
            f"{path}: no results database, so no projection for {config!r}. Run "
            "`pytest --cost-eval` first (it stores the run), or give the file with --db."
        )
    with connect(path, read_only=True) as connection:
        if "summaries" not in table_names(connection):
            raise StorageError(f"{path}: no stored run. Run `pytest --cost-eval` first.")
        latest = connection.execute(
            """SELECT r.run_id, r.started_at, r.volume FROM summaries s JOIN runs r
               USING (run_id) WHERE s.config = ? ORDER BY r.rowid DESC LIMIT 1""",
            [config],
        ).fetchone()
        if latest is None:
            names = [
                str(r[0])
                for r in connection.execute(
                    "SELECT DISTINCT config FROM summaries ORDER BY 1"
                ).fetchall()
            ]
            points = [name for name in names if name.startswith(config + "[")]
            if points:
                # A sweep's base name: each point is its own configuration with its own mix.
                raise StorageError(
                    f"{path}: {config!r} is a sweep; name the point you shipped with --config "
                    f"(or config in [tool.cost-eval.monitor]): {', '.join(points)}."
                )
            raise StorageError(
                f"{path}: no stored run evaluated configuration {config!r}. Stored "
                f"configurations: {', '.join(names) or 'none'}. Give one with --config (or "
                "config in [tool.cost-eval.monitor]), or run `pytest --cost-eval` with it."
            )
        run_id, started_at, volume = latest
        summaries = connection.execute(
            "SELECT suite, n, cost_per_query FROM summaries WHERE run_id = ? AND config = ?",
            [run_id, config],
        ).fetchall()
        answered = connection.execute(
            """SELECT model, count(*),
                      avg(input_tokens + cached_input_tokens + cache_write_tokens)
               FROM results WHERE run_id = ? AND config = ? AND error IS NULL
               GROUP BY model""",
            [run_id, config],
        ).fetchall()
    return _projection(config, str(run_id), str(started_at), str(volume), summaries, answered)


def _projection(
    config: str,
    run_id: str,
    started_at: str,
    volume: str,
    summaries: list[tuple[Any, ...]],
    answered: list[tuple[Any, ...]],
) -> Projection:
    cases = sum(int(n) for _, n, _ in summaries)
    cost = sum((Decimal(c) * int(n) for _, n, c in summaries), Decimal(0))
    counts: dict[str, int] = {}
    hits = 0
    prompt_sum = 0.0
    for model, count, prompt in answered:
        if model == "cache":
            hits += int(count)
            continue
        # A cascade stores "small+strong": the last model is the one that answered.
        answering = str(model).split("+")[-1]
        counts[answering] = counts.get(answering, 0) + int(count)
        prompt_sum += float(prompt or 0) * int(count)
    billed = sum(counts.values())
    return Projection(
        config=config,
        run_id=run_id,
        started_at=started_at,
        suites=tuple(sorted(str(s) for s, _, _ in summaries)),
        cost_per_query=cost / cases if cases else Decimal(0),
        volume=volume,
        queries_per_month=parse_volume(volume),
        model_shares={m: c / billed for m, c in sorted(counts.items())} if billed else {},
        cache_hit_rate=hits / (hits + billed) if hits + billed else 0.0,
        prompt_tokens=prompt_sum / billed if billed else 0.0,
    )


def recent_queries(path: Path, *, since: datetime | None = None) -> Iterator[StoredQuery]:
    """Stored prompts (newest first), streamed in batches; calls without a prompt are skipped."""
    _has_traffic(path)
    with connect(path, read_only=True) as connection:
        if "traffic" not in table_names(connection):
            return
        cursor = connection.execute(
            """SELECT source_id, time, model, prompt,
                      input_tokens + cached_input_tokens + cache_write_tokens
               FROM traffic WHERE prompt IS NOT NULL AND prompt <> ''
                 AND (? IS NULL OR time >= ?)
               ORDER BY time DESC, source_id""",
            [since, since],
        )
        while batch := cursor.fetchmany(5_000):
            for source_id, time, model, prompt, tokens in batch:
                yield StoredQuery(str(source_id), time, str(model), str(prompt), int(tokens or 0))
