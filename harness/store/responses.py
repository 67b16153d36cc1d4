"""The response store: recorded provider answers by request hash, in the ``responses`` table.

A run adds the answers it paid for (:func:`harness.store.runs.write_run`);
importers and the journal add theirs (:func:`store_responses`); ``replay:``
configurations and record modes read them back (:func:`load_responses`). No
secrets are kept: a request is its model, messages and parameters only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.store.database import (
    USAGE_FIELDS,
    connect,
    insert_rows,
    stored_money,
    table_names,
)
from harness.types import SCHEMA_VERSION, Request, Response, Usage

if TYPE_CHECKING:
    import duckdb

__all__ = ["insert_responses", "load_responses", "response_row", "store_responses"]


def response_row(key: str, request: Request, response: Response) -> dict[str, Any]:
    """One answer's columns of the ``responses`` table, but ``schema_version`` and
    ``recorded_at``: what :func:`insert_responses` stores and an import stages."""
    return {
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
        "cost_usd": None if response.cost_usd is None else stored_money(response.cost_usd),
    }


def insert_responses(
    connection: duckdb.DuckDBPyConnection,
    entries: Iterable[tuple[str, tuple[Request, Response]]],
    recorded_at: str,
) -> None:
    """Upsert response-store rows: a re-recorded request replaces its old answer.

    ``entries`` are ``(request hash, (request, response))``; the caller owns the
    transaction.
    """
    rows = [
        {
            "schema_version": SCHEMA_VERSION,
            **response_row(key, request, response),
            "recorded_at": recorded_at,
        }
        for key, (request, response) in entries
    ]
    if rows:
        hashes = [row["request_hash"] for row in rows]
        connection.execute(
            "DELETE FROM responses WHERE request_hash IN (SELECT unnest(?))", [hashes]
        )
        insert_rows(connection, "responses", rows)


def store_responses(path: Path, pairs: Iterable[tuple[Request, Response]], recorded_at: str) -> int:
    """Add (request, response) pairs to the response store; returns how many distinct ones.

    Used by importers: ``replay:`` configurations then answer from them offline.
    """
    entries = {request.hash(): (request, response) for request, response in pairs}
    with connect(path) as connection:
        connection.execute("BEGIN TRANSACTION")
        insert_responses(connection, entries.items(), recorded_at)
        connection.execute("COMMIT")
    return len(entries)


def load_responses(path: Path) -> dict[str, Response]:
    """The response store: every recorded response by request hash (empty without a file)."""
    if not path.is_file():
        return {}
    with connect(path, read_only=True) as connection:
        if "responses" not in table_names(connection):
            return {}  # a database no run has written yet
        present = {name for name, *_ in connection.execute("DESCRIBE responses").fetchall()}
        # Only what a Response holds (not each request's JSON), as tuples: at 50,000
        # answers, `SELECT *` as dicts cost 0.3 s more. `cost_usd` came in a later
        # schema; a file opened read-only is not migrated.
        cost = "cost_usd" if "cost_usd" in present else "NULL"
        rows = connection.execute(
            f"SELECT request_hash, response, model, latency_ms, {cost}, "
            f"{', '.join(USAGE_FIELDS)} FROM responses"
        ).fetchall()
    return {
        key: Response(
            text=text,
            model=model,
            usage=Usage(**dict(zip(USAGE_FIELDS, usage, strict=True))),
            latency_ms=latency_ms,
            cost_usd=cost_usd,
        )
        for key, text, model, latency_ms, cost_usd, *usage in rows
    }
