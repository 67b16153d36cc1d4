"""A run's threshold sweeps, kept in the ``sweeps`` table as JSON records.

The records are what :func:`harness.engine.router_sweep.sweep_record` gives;
the report's "Router sweeps" section reads them back (:func:`load_sweeps`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.engine.router_sweep import plain_json
from harness.store.database import connect, insert_rows, table_names
from harness.types import SCHEMA_VERSION

__all__ = ["SWEEPS_SCHEMA", "load_sweeps", "write_sweeps"]

SWEEPS_SCHEMA = """
CREATE TABLE IF NOT EXISTS sweeps (
    schema_version INTEGER, run_id VARCHAR, suite VARCHAR, config VARCHAR, json VARCHAR
);
"""
"""One row per (run, suite, sweep configuration): the sweep's record as JSON."""


def write_sweeps(
    path: Path, run_id: str, sweeps: Mapping[tuple[str, str], Mapping[str, Any]]
) -> None:
    """Store a run's sweeps in the ``sweeps`` table (replacing any of that run)."""
    if not sweeps:
        return
    rows = [
        {
            "schema_version": SCHEMA_VERSION,
            "run_id": run_id,
            "suite": suite,
            "config": config,
            "json": json.dumps(plain_json(record), allow_nan=False, ensure_ascii=False),
        }
        for (suite, config), record in sweeps.items()
    ]
    with connect(path) as connection:
        connection.execute(SWEEPS_SCHEMA)
        connection.execute("BEGIN TRANSACTION")
        connection.execute("DELETE FROM sweeps WHERE run_id = ?", [run_id])
        insert_rows(connection, "sweeps", rows)
        connection.execute("COMMIT")


def load_sweeps(path: Path, run_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The sweeps of one run, by (suite, configuration), in stored order (empty when none)."""
    if not path.is_file():
        return {}
    with connect(path, read_only=True) as connection:
        if "sweeps" not in table_names(connection):
            return {}
        rows = connection.execute(
            "SELECT suite, config, json FROM sweeps WHERE run_id = ? ORDER BY rowid", [run_id]
        ).fetchall()
    return {(str(suite), str(config)): json.loads(text) for suite, config, text in rows}
