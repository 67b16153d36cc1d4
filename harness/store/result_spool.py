"""Case results on disk while a run goes on, copied into the results database at its end.

A run of a million results cannot hold them all in memory; it cannot write
them into the results database as it goes either: DuckDB lets one process
write a file at a time, and concurrent runs would wait on each other for the
whole run. So each process (the run, or each pytest-xdist worker) keeps the
results of every finished (suite, configuration) pair, and past
:data:`SPILL_AT` results writes them all into its own scratch DuckDB file,
``<db>.journal/spool-<name>.duckdb``, with the same ``results`` table as the
database (a small run never makes the file: 50 ms saved). When the run is stored,
:func:`~harness.store.runs.write_run` copies every spool into ``results`` inside
the same transaction as the run's other rows (so a run is stored whole or not
at all), in the run's pair order, then the spools are deleted.

A spool left by a killed run holds nothing that was paid for (answers are in the
journal); it is deleted by :meth:`ResultSpool.discard` or may be deleted by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from harness.engine.run_data import ResultSink
from harness.errors import StorageError
from harness.store.database import SCHEMA, insert_rows
from harness.store.journal import journal_dir
from harness.store.runs import result_row
from harness.types import CaseResult

if TYPE_CHECKING:
    import duckdb

SPOOL_RUN_ID = "spooled"
"""The run id spooled rows carry; :func:`~harness.store.runs.write_run` sets the real one
(xdist workers each have their own run id before the controller merges them)."""

SPILL_AT = 100_000
"""Results kept in memory (about 60 MB) before the spool goes to disk."""

SPOOL_MEMORY = "128MB"
"""DuckDB's memory for a spool: it writes through to disk beyond it."""


class ResultSpool(ResultSink):
    """One process's scratch file of case results (a :class:`ResultSink`)."""

    def __init__(self, db: Path, name: str, *, spill_at: int = SPILL_AT) -> None:
        self.path = journal_dir(db) / f"spool-{name}.duckdb"
        self.rows = 0
        self.kept: list[CaseResult] = []
        """The results not written to disk (all of them until :attr:`spilled`)."""
        self.spill_at = spill_at
        self._connection: duckdb.DuckDBPyConnection | None = None

    @property
    def spilled(self) -> bool:
        """Whether the results are on disk (at :attr:`path`) rather than in :attr:`kept`."""
        return self._connection is not None or self.path.is_file()

    def add(self, results: Sequence[CaseResult]) -> None:
        """Keep one pair's results (see :class:`~harness.engine.run_data.ResultSink`)."""
        self.kept.extend(results)
        self.rows += len(results)
        if len(self.kept) > self.spill_at or self._connection is not None:
            self.spill()

    def spill(self) -> None:
        """Write the kept results to the spool file (made if need be) and let them go."""
        if not self.kept:
            return
        connection = self._open()
        for start in range(0, len(self.kept), 50_000):
            chunk = self.kept[start : start + 50_000]
            insert_rows(connection, "results", [result_row(SPOOL_RUN_ID, r) for r in chunk])
        self.kept = []

    def close(self) -> None:
        """Flush and close the file (it stays on disk until :meth:`discard`)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def discard(self) -> None:
        """Close and delete the file (its rows are stored, or not wanted)."""
        self.close()
        discard_spool(self.path)

    def _open(self) -> duckdb.DuckDBPyConnection:
        if self._connection is None:
            import duckdb

            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.path.unlink(missing_ok=True)  # a leftover of this very name: start over
                self._connection = duckdb.connect(str(self.path))
                self._connection.execute(f"SET memory_limit = '{SPOOL_MEMORY}'")
                self._connection.execute(SCHEMA)
            except (OSError, duckdb.Error) as exc:
                raise StorageError(
                    f"{self.path}: cannot write the run's results while it goes on ({exc}). "
                    "Free disk space or make the results folder writable, then run again."
                ) from None
        return self._connection


def discard_spool(path: Path) -> None:
    """Delete a closed spool file (and its write-ahead log); gone already is fine."""
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)


__all__ = ["SPOOL_RUN_ID", "ResultSpool", "discard_spool"]
