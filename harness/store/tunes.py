"""The latest ``harness tune`` result per suite, kept in the ``tunes`` table as JSON.

``harness tune`` writes each suite's entry of its ``--json`` object
(:func:`write_tunes`); the report's "Tune" section reads them back
(:func:`load_tunes`). A tune is not part of a run: a suite keeps its latest one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.store.database import connect, insert_rows, table_names
from harness.types import SCHEMA_VERSION

__all__ = ["TUNES_SCHEMA", "load_tunes", "write_tunes"]

TUNES_SCHEMA = """
CREATE TABLE IF NOT EXISTS tunes (
    schema_version INTEGER, tuned_at VARCHAR, suite VARCHAR, json VARCHAR
);
"""
"""One row per suite: its latest tune entry as JSON."""


def write_tunes(path: Path, tuned_at: str, entries: Sequence[Mapping[str, Any]]) -> None:
    """Store tune entries (each with a ``suite`` key), replacing those suites' earlier ones."""
    if not entries:
        return
    rows = [
        {
            "schema_version": SCHEMA_VERSION,
            "tuned_at": tuned_at,
            "suite": str(entry["suite"]),
            "json": json.dumps(entry, allow_nan=False, ensure_ascii=False),
        }
        for entry in entries
    ]
    with connect(path) as connection:
        connection.execute(TUNES_SCHEMA)
        connection.execute("BEGIN TRANSACTION")
        for row in rows:
            connection.execute("DELETE FROM tunes WHERE suite = ?", [row["suite"]])
        insert_rows(connection, "tunes", rows)
        connection.execute("COMMIT")


def load_tunes(path: Path) -> list[dict[str, Any]]:
    """Every suite's latest tune entry, by suite name, ``tuned_at`` added (empty when none)."""
    if not path.is_file():
        return []
    with connect(path, read_only=True) as connection:
        if "tunes" not in table_names(connection):
            return []
        rows = connection.execute("SELECT tuned_at, json FROM tunes ORDER BY suite").fetchall()
    return [{**json.loads(text), "tuned_at": tuned_at} for tuned_at, text in rows]
