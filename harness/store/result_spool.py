"""Case results on disk while a run goes on, inserted into the results database at its end.

A run of a million results cannot hold them all in memory; it cannot write
them into the results database as it goes either: DuckDB lets one process
write a file at a time, and concurrent runs would wait on each other for the
whole run. So each process (the run, or each pytest-xdist worker) keeps the
results of every finished (suite, configuration) pair, and past
:data:`SPILL_AT` results appends them to its own scratch file,
``<db>.journal/spool-<name>.bin`` (a small run never makes the file). When the
run is stored, :func:`~harness.store.runs.write_run` inserts every spool's
results inside the same transaction as the run's other rows (a run is stored
whole or not at all), pair by pair in the run's order, then the spools are
deleted.

The file is a sequence of frames, each of up to :data:`FRAME_ROWS` results of one
pair: a fixed header (two lengths), the pair's name and its results as the
``results`` table's columns, both in
:mod:`marshal` form (plain values only: amounts as text). Frames are written
whole by one process and read back by the same version of Python, so marshal's
speed (about 1 us a result each way) comes without its portability caveats.
A DuckDB file as the spool cost twice as much: a full insert there, then a copy.

A spool left by a killed run holds nothing that was paid for (answers are in the
journal); :meth:`ResultSpool.discard` deletes it, or it may be deleted by hand.
"""

from __future__ import annotations

import marshal
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from harness.engine.run_data import ResultSink
from harness.errors import StorageError
from harness.store.journal import journal_dir
from harness.store.result_columns import result_columns
from harness.types import CaseResult

SPILL_AT = 25_000
"""Results kept in memory (about 15 MB) before the spool goes to disk."""

FRAME_ROWS = 10_000
"""Results per frame: what is read back (and inserted) at a time when the run is stored."""

_HEADER = struct.Struct("<II")
"""A frame's header: the sizes of its marshalled name and columns."""

Frame = tuple[int, int]
"""Where a frame's columns lie in a spool file: offset and size."""


class ResultSpool(ResultSink):
    """One process's results while its run goes on (a :class:`ResultSink`)."""

    def __init__(self, db: Path, name: str, *, spill_at: int = SPILL_AT) -> None:
        self.path = journal_dir(db) / f"spool-{name}.bin"
        self.rows = 0
        self.kept: list[CaseResult] = []
        """The results not written to disk (all of them until :attr:`spilled`)."""
        self.spill_at = spill_at
        self._handle: IO[bytes] | None = None

    @property
    def spilled(self) -> bool:
        """Whether results went to the file at :attr:`path` (and :attr:`kept` is not all)."""
        return self._handle is not None or self.path.is_file()

    def add(self, results: Sequence[CaseResult]) -> None:
        """Keep one pair's results (see :class:`~harness.engine.run_data.ResultSink`)."""
        self.kept.extend(results)
        self.rows += len(results)
        if len(self.kept) > self.spill_at or self._handle is not None:
            self.spill()

    def spill(self) -> None:
        """Append the kept results to the file (made if need be), a frame per pair."""
        if not self.kept:
            return
        handle = self._open()
        by_pair: dict[tuple[str, str], list[CaseResult]] = {}
        for result in self.kept:
            by_pair.setdefault((result.suite, result.config), []).append(result)
        try:
            for pair, results in by_pair.items():
                name = marshal.dumps(pair)
                for start in range(0, len(results), FRAME_ROWS):
                    chunk = results[start : start + FRAME_ROWS]
                    columns = marshal.dumps(result_columns(chunk, money_text=True))
                    handle.write(_HEADER.pack(len(name), len(columns)) + name + columns)
            handle.flush()
        except OSError as exc:
            raise _unwritable(self.path, exc) from None
        self.kept = []

    def close(self) -> None:
        """Close the file (it stays on disk until :meth:`discard`)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def discard(self) -> None:
        """Close and delete the file (its rows are stored, or not wanted)."""
        self.close()
        discard_spool(self.path)

    def _open(self) -> IO[bytes]:
        if self._handle is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._handle = self.path.open("wb")  # a leftover of this very name: over
            except OSError as exc:
                raise _unwritable(self.path, exc) from None
        return self._handle


def spooled_pairs(path: Path) -> dict[tuple[str, str], list[Frame]]:
    """Where each (suite, configuration)'s frames lie in a spool file, in file order.

    Raises:
        StorageError: the file is cut short (its process died while writing it).
    """
    frames: dict[tuple[str, str], list[Frame]] = {}
    with path.open("rb") as handle:
        size = path.stat().st_size
        offset = 0
        while offset < size:
            header = handle.read(_HEADER.size)
            if len(header) < _HEADER.size:
                raise _cut_short(path)
            name_size, columns_size = _HEADER.unpack(header)
            suite, config = marshal.loads(handle.read(name_size))
            start = offset + _HEADER.size + name_size
            if start + columns_size > size:
                raise _cut_short(path)
            frames.setdefault((suite, config), []).append((start, columns_size))
            offset = start + columns_size
            handle.seek(offset)
    return frames


def read_spooled(path: Path, frame: Frame) -> dict[str, list[Any]]:
    """One frame's columns (see :func:`spooled_pairs`)."""
    with path.open("rb") as handle:
        handle.seek(frame[0])
        columns: dict[str, list[Any]] = marshal.loads(handle.read(frame[1]))
    return columns


def discard_spool(path: Path) -> None:
    """Delete a closed spool file; gone already is fine."""
    path.unlink(missing_ok=True)


def _unwritable(path: Path, exc: OSError) -> StorageError:
    return StorageError(
        f"{path}: cannot write the run's results while it goes on ({exc.strerror or exc}). "
        "Free disk space or make the results folder writable, then run again."
    )


def _cut_short(path: Path) -> StorageError:
    return StorageError(
        f"{path}: the run's spooled results are cut short (a process died while writing "
        "them). Run again: the answers are stored, nothing is paid for twice."
    )


__all__ = ["SPILL_AT", "ResultSpool", "discard_spool", "read_spooled", "spooled_pairs"]
