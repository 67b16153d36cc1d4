"""The response journal: every paid answer is on disk the moment it arrives.

DuckDB is written once, at the end of a run. A run killed before that (SIGKILL,
a CI timeout, a laptop lid) must not lose the answers it already paid for, so
each response from a remote provider is also appended, as one JSON line, to
``<db>.journal/<run id>.jsonl`` as soon as it arrives; the OS keeps it even if
the process dies the next instant. A finished run folds its journal into the
response store and deletes it; the next run folds in any journal a dead run
left behind before it sends anything, so a rerun pays only for the requests
that never completed.

A journal belongs to its run for as long as that run lives: the run holds an
exclusive ``flock`` on the open file, which the kernel releases when the
process ends, however it ends (SIGKILL included). Recovery folds only the
journals whose lock it can take; a journal still locked is being written by a
live run and is left alone (folding and deleting it would lose every answer
that run pays for afterwards, and make its rerun pay for them again).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from harness.config.suites import now_iso, recorded_cost
from harness.files import lock_file
from harness.store.responses import store_responses
from harness.types import Message, Request, Response, Usage


def journal_dir(db: Path) -> Path:
    """Where the journals of the runs of ``db`` live."""
    return db.with_name(db.name + ".journal")


def still_at(handle: IO[str], path: Path) -> bool:
    """Whether ``handle`` is still the file at ``path`` (not unlinked meanwhile)."""
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False
    mine = os.fstat(handle.fileno())
    return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)


class Journal:
    """Append-only log of one run's new responses, locked while the run lives."""

    def __init__(self, db: Path, run_id: str) -> None:
        self.path = journal_dir(db) / f"{run_id}.jsonl"
        self._handle: IO[str] | None = None
        self.entries = 0

    def append(self, key: str, request: Request, response: Response) -> None:
        """Write one response; flushed to the OS before returning."""
        if self._handle is None:
            self._handle = self._open_locked()
        self._handle.write(record_line(key, request, response) + "\n")
        self._handle.flush()
        self.entries += 1

    def _open_locked(self) -> IO[str]:
        """Open (creating) the journal and hold its lock until :meth:`close`.

        A recovery that took the lock between our ``open`` and our ``flock``
        may have folded and deleted the (then empty) file: then open anew.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            handle = self.path.open("a", encoding="utf-8")
            lock_file(handle, wait=True)
            if still_at(handle, self.path):
                return handle
            handle.close()

    def close(self) -> None:
        """Close the file and release its lock (it stays until :meth:`discard`)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def discard(self) -> None:
        """Delete the journal: its entries are safely in DuckDB."""
        self.close()
        self.path.unlink(missing_ok=True)


def record_of(key: str, request: Request, response: Response) -> dict[str, object]:
    """One response as a JSON object: a journal line, or a lease's answer."""
    record: dict[str, object] = {
        "key": key,
        "model": request.model,
        "messages": [[m.role, m.content] for m in request.messages],
        "params": [list(p) for p in request.params],
        "text": response.text,
        "usage": response.usage.as_dict(),
        "latency_ms": response.latency_ms,
        "batch": response.batch,
        "written": time.time(),
    }
    if response.cost_usd is not None:
        record["cost_usd"] = str(response.cost_usd)  # as a string: every digit kept
    return record


_last_line: tuple[str, Response, str] | None = None


def record_line(key: str, request: Request, response: Response) -> str:
    """:func:`record_of` as one JSON line (no newline).

    The journal and the request's lease both write a paid answer, one after the
    other: the line is encoded once (the last one is remembered) for both.
    """
    global _last_line
    if _last_line is not None and _last_line[0] == key and _last_line[1] is response:
        return _last_line[2]
    line = json.dumps(record_of(key, request, response), ensure_ascii=False)
    _last_line = (key, response, line)
    return line


def read_record(record: object) -> tuple[Request, Response] | None:
    """The request and response of a :func:`record_of` object; None if malformed."""
    if not isinstance(record, dict):
        return None
    try:
        request = Request(
            model=record["model"],
            messages=tuple(Message(role=r, content=c) for r, c in record["messages"]),
            params=tuple((k, v) for k, v in record["params"]),
        )
        response = Response(
            text=record["text"],
            model=record["model"],
            usage=Usage(**record["usage"]),
            latency_ms=float(record["latency_ms"]),
            batch=bool(record.get("batch", False)),
            cost_usd=recorded_cost(record.get("cost_usd")),
        )
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return None
    return request, response


def read_journal(path: Path) -> Iterator[tuple[Request, Response]]:
    """The entries of a journal file; a line cut short by a crash is skipped."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                pair = read_record(json.loads(line))
            except json.JSONDecodeError:
                pair = None
            if pair is not None:  # the last line of a killed run may be incomplete
                yield pair


def recover_journals(db: Path) -> int:
    """Fold journals left by dead runs into the response store; returns responses saved.

    A journal whose lock is held belongs to a live run (this process's own open
    journal included): it is skipped and left on disk for its owner.
    """
    folder = journal_dir(db)
    if not folder.is_dir():
        return 0
    saved = 0
    for path in sorted(folder.glob("*.jsonl")):
        try:
            handle = path.open("r", encoding="utf-8")
        except FileNotFoundError:
            continue  # folded by another run meanwhile
        with handle:
            if not lock_file(handle, wait=False) or not still_at(handle, path):
                continue  # its run is alive, or another recovery took it
            pairs = list(read_journal(path))
            if pairs:
                saved += store_responses(db, pairs, now_iso())
            path.unlink()  # still under the lock: no one appends to it meanwhile
    return saved
