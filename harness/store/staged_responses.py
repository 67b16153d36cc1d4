"""An import's responses, staged on disk as they are read and stored in one transaction.

``harness import recordings`` must neither hold a large file's responses in
memory nor leave some of them in the response store when the import fails
halfway (a bad line at the end, a duplicate, a full disk). :class:`ResponseStage`
appends each response to a JSON Lines file as it is read (a few kilobytes of
buffer, whatever the file's size); :func:`store_staged` then loads that file
into ``responses`` in one transaction, which DuckDB reads in a stream under a
memory limit. Nothing reaches the store before every line was read and checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from harness.errors import StorageError
from harness.files import missing_folders, remove_empty_folders
from harness.store.database import MONEY, USAGE_FIELDS, connect
from harness.store.responses import response_row
from harness.types import SCHEMA_VERSION, Request, Response

__all__ = ["IMPORT_MEMORY_LIMIT", "ResponseStage", "store_staged"]

IMPORT_MEMORY_LIMIT = 64 * 1024 * 1024
"""DuckDB's memory limit (bytes) while it stores staged responses (it spills to disk
beyond it); raised for a file with very long lines, whose read buffer needs more."""
MIN_OBJECT_SIZE = 1024 * 1024
"""The smallest ``maximum_object_size`` given to DuckDB's JSON reader."""

_TEXT_COLUMNS = ("request_hash", "model", "request_json", "response", "cost_usd")


class ResponseStage:
    """Appends response-store rows to a JSON Lines file at ``path`` (created, truncated)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        """Responses staged."""
        self.longest = 0
        """The longest staged line, in bytes (DuckDB's reader is sized to it)."""
        self._handle = path.open("wb")

    def add(self, request: Request, response: Response) -> None:
        """Stage one response (the importer passes each distinct request hash once)."""
        row = response_row(request.hash(), request, response)
        if row["cost_usd"] is not None:
            # As text: DuckDB reads it into DECIMAL without a detour through a float.
            row["cost_usd"] = str(row["cost_usd"])
        line = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
        self._handle.write(line)
        self.longest = max(self.longest, len(line))
        self.count += 1

    def close(self) -> None:
        """Flush and close the file (a full disk fails here, before anything is stored)."""
        self._handle.close()


def store_staged(
    db: Path,
    stage: ResponseStage,
    recorded_at: str,
    *,
    before_commit: Callable[[], None] | None = None,
) -> int:
    """Store the staged responses in one transaction; returns how many.

    A staged request hash replaces the store's answer for it, as in
    :func:`harness.store.responses.store_responses`. ``before_commit`` runs
    inside the transaction, just before it commits: an import publishes its
    files there, so that if it fails nothing is stored, and if the commit fails
    the caller can put the files back. On any failure a database file this call
    created is deleted again, with the folders made for it.

    Raises:
        StorageError: the database cannot be opened or written (the path and
            what to do); other errors of ``before_commit`` pass through.
    """
    import duckdb

    stage.close()
    existed = db.exists()
    made = missing_folders(db.parent)
    try:
        with connect(db) as connection:
            # The reader's buffers are a few times its largest object: sized to the
            # longest staged line, not to the file (DuckDB's default is 16 MiB).
            object_size = max(MIN_OBJECT_SIZE, 2 * stage.longest)
            limit = max(IMPORT_MEMORY_LIMIT, 8 * object_size)
            connection.execute(f"SET memory_limit = '{limit // 1024 // 1024}MB'")
            connection.execute("SET preserve_insertion_order = false")
            connection.execute("SET threads = 1")  # one reader's buffers, not one per core
            columns = {c: "VARCHAR" for c in _TEXT_COLUMNS}
            columns.update({f: "BIGINT" for f in USAGE_FIELDS})
            columns["latency_ms"] = "DOUBLE"
            source = (
                "read_json(?, format = 'newline_delimited', columns = {"
                + ", ".join(f"{name}: '{kind}'" for name, kind in columns.items())
                + f"}}, maximum_object_size = {object_size})"
            )
            path = str(stage.path)
            connection.execute("BEGIN TRANSACTION")
            connection.execute(
                f"DELETE FROM responses WHERE request_hash IN (SELECT request_hash FROM {source})",
                [path],
            )
            names = ", ".join(columns)
            values = ", ".join(
                f"CAST(cost_usd AS {MONEY})" if name == "cost_usd" else name for name in columns
            )
            connection.execute(
                f"INSERT INTO responses (schema_version, {names}, recorded_at) "
                f"SELECT {SCHEMA_VERSION}, {values}, ? FROM {source}",
                [recorded_at, path],
            )
            if before_commit is not None:
                before_commit()
            connection.execute("COMMIT")
    except BaseException as exc:
        if not existed:
            for leftover in (db, db.with_name(db.name + ".wal")):
                leftover.unlink(missing_ok=True)
            remove_empty_folders(made)
        if isinstance(exc, duckdb.Error):
            raise StorageError(
                f"{db}: could not store the imported responses: {exc}. Nothing was imported "
                "(the suite, goldens and labels were not written either); free disk space "
                "or give another --out, then import again."
            ) from None
        raise
    return stage.count
