"""Storage checked before spending: every path a run writes, tried before its first request.

A run pays for its answers as they arrive and writes them to the journal, then
to DuckDB and the report at its end. A path that cannot be written (a folder
that cannot be created, ``/dev/null/x.duckdb``, a damaged database) found only
then means answers paid for and lost. :func:`check_storage` finds it first:
the database's folder and file (every table read once, so a damaged block is
found now, with the same message as a truncated file), the journal folder and
the report's folder, each probed by writing a file there.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import suppress
from pathlib import Path

from harness.errors import StorageError
from harness.store.database import connect, is_corruption, unreadable_database
from harness.store.journal import journal_dir

__all__ = ["check_storage"]


def check_storage(db: Path, report: Path) -> None:
    """Raise unless the database, its journal folder and the report can be written.

    Raises:
        StorageError: which path, what is wrong and what to do; nothing was sent.
    """
    _check_folder(db.parent, db, "the results database", "--cost-eval-db (or `db`)")
    if db.exists() and not db.is_file():
        raise StorageError(
            f"{db}: the results database's path is a folder, not a file. Give a file path "
            "with --cost-eval-db (or `db` in [tool.cost-eval]). Nothing was sent."
        )
    _check_folder(
        journal_dir(db), db, "the journal of paid answers (beside the database)", "--cost-eval-db"
    )
    _check_folder(report.parent, report, "the report", "--cost-eval-report (or `report`)")
    if report.is_dir():
        raise StorageError(
            f"{report}: the report's path is a folder, not a file. Give a file path with "
            "--cost-eval-report (or `report` in [tool.cost-eval]). Nothing was sent."
        )
    if db.is_file():
        _check_database(db)


def _check_folder(folder: Path, path: Path, what: str, option: str) -> None:
    """Create ``folder`` if needed and write a file in it; undo a folder made just for that."""
    missing = [parent for parent in (folder, *folder.parents) if not parent.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".cost-eval-probe-")
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        in_the_way = next(
            (p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None
        )
        if in_the_way is not None:
            reason = f"{in_the_way} is a file, not a folder"
        else:
            where = f" ({exc.filename})" if exc.filename else ""
            reason = f"{exc.strerror or type(exc).__name__}{where}"
        raise StorageError(
            f"{path}: cannot write {what} there: {reason}. Nothing was sent. Give a "
            f"path in a folder you can write with {option} in [tool.cost-eval]."
        ) from None
    if folder.name.endswith(".journal") and folder in missing:
        # Made only for the probe: the run makes it when it first pays. A run started
        # at the same moment may be using it already: then it stays.
        with suppress(OSError):
            folder.rmdir()


def _check_database(db: Path) -> None:
    """Open the database and read every table once: a damaged block fails here."""
    import duckdb

    with connect(db, read_only=True) as connection:
        tables = [
            row[0]
            for row in connection.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        ]
        for table in tables:
            try:
                connection.execute(f'SELECT max(hash(t)) FROM "{table}" AS t').fetchall()
            except duckdb.Error as exc:
                # Damaged bytes, or a table no query of this harness can read.
                problem = exc if is_corruption(exc) else f"table {table!r}: {exc}"
                raise unreadable_database(db, problem) from None
