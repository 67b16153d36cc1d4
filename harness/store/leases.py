"""Request leases: one payment per distinct request across processes.

Two runs on one project (a developer's and CI's, or two terminals), or the
workers of one ``pytest -n 2`` run, would each pay for every request neither
has answered yet. Before a paid request is sent, its sender takes the lease of
the request's hash: an exclusive ``flock`` on ``<db>.journal/leases/<hash>``.
The holder calls the provider and writes the answer into the lease file before
letting go; a process that wanted the same request waits for the lease, then
finds the answer there and uses it without calling anyone.

The kernel releases a lock when its process ends, however it ends: a run
killed mid-call leaves an empty lease, and the next taker calls the provider
itself (an error, which is not an answer, leaves it empty too).

Lease files are cleared by the last run to leave: each run holds a shared lock
on ``leases/.runs`` while it lives, and a run that can take it exclusively
(nobody else is alive) deletes the leases, whose answers are in DuckDB by then
(or in the journals that recovery folds in).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import time
from pathlib import Path
from typing import IO

from harness.store.journal import journal_dir, lock_file, read_record, record_of, still_at
from harness.types import Request, Response

FIRST_POLL = 0.01
"""Seconds before looking again at a lease held by another process (doubling)."""
LAST_POLL = 0.1
"""The longest pause between two looks: a waiter learns of the answer this fast."""


def leases_dir(db: Path) -> Path:
    """Where the request leases of the runs of ``db`` live."""
    return journal_dir(db) / "leases"


class LeaseClaim:
    """The lease of one request, held until :meth:`release`.

    ``answer`` is the response another process paid for while this one waited
    (or earlier in a run still alive); None means this process is to call.
    """

    def __init__(self, handle: IO[str], answer: Response | None, waited: bool) -> None:
        self._handle: IO[str] | None = handle
        self.answer = answer
        self.waited = waited
        """Whether another process held the lease when this one first asked."""

    def settle(self, key: str, request: Request, response: Response) -> None:
        """Leave ``response`` in the lease for whoever wants the request next."""
        if self._handle is None:
            return
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.write(json.dumps(record_of(key, request, response), ensure_ascii=False))
        self._handle.write("\n")
        self._handle.flush()

    def release(self) -> None:
        """Let go of the lease (closing the file releases the lock)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class FileLeases:
    """The leases of one process on the requests of ``db`` (see the module docstring).

    Args:
        db: The results database; leases live beside its journals.
        since: Wall-clock time (``time.time()``) the run started: when an answer
            must be fresh (re-recording), a lease answer older than this is ignored.
    """

    def __init__(self, db: Path, *, since: float | None = None) -> None:
        self.folder = leases_dir(db)
        self.since = time.time() if since is None else since
        self.shared = 0
        """Answers taken from a lease another process had paid for."""
        self._presence: IO[str] | None = None

    def open(self) -> None:
        """Announce this run (and clear leftover leases when no other run is alive).

        Call it before reading the response store: a run that leaves clears the
        leases only when no one else has announced itself, and by then its
        answers are in the store this run reads.
        """
        if self._presence is not None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / ".runs"
        while True:
            handle = path.open("a", encoding="utf-8")
            if lock_file(handle, wait=False) and still_at(handle, path):
                self._clear(keep=path)  # nobody else alive: every lease left is stale
            # Shared from here on: others may run too, and none of them clears.
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
            if still_at(handle, path):
                break
            handle.close()  # the last run to leave removed it meanwhile: announce anew
        self._presence = handle

    def close(self) -> None:
        """Leave; the last run to leave deletes the lease files and their folder."""
        if self._presence is None:
            return
        handle, self._presence = self._presence, None
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        if lock_file(handle, wait=False):
            self._clear(keep=None)
            for folder in (self.folder, self.folder.parent):
                try:
                    folder.rmdir()
                except OSError:
                    break  # not empty: a journal, or someone announced meanwhile
        handle.close()

    async def claim(self, key: str, *, fresh: bool = False) -> LeaseClaim:
        """Wait for the lease of ``key``; its ``answer`` if someone paid meanwhile.

        Polls without blocking the event loop, so this process's other requests
        go on while one waits.
        """
        self.open()
        path = self.folder / key
        pause = FIRST_POLL
        waited = False
        while True:
            handle = path.open("a+", encoding="utf-8")
            if lock_file(handle, wait=False):
                if still_at(handle, path):
                    break
            else:
                waited = True
            handle.close()
            await asyncio.sleep(pause)
            pause = min(pause * 2, LAST_POLL)
        handle.seek(0)
        answer = _answer(handle.read(), key, self.since if fresh else None)
        if answer is not None:
            self.shared += 1
        return LeaseClaim(handle, answer, waited)

    def _clear(self, *, keep: Path | None) -> None:
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            if path != keep:
                path.unlink(missing_ok=True)


def _answer(text: str, key: str, fresh_after: float | None) -> Response | None:
    """The answer left in a lease; None when empty, cut short, stale or for another key."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        return None  # empty, or its writer died mid-line
    if not isinstance(record, dict) or record.get("key") != key:
        return None
    if fresh_after is not None and float(record.get("written", 0.0)) < fresh_after:
        return None  # from before this run: re-recording wants a new answer
    parsed = read_record(record)
    return None if parsed is None else parsed[1]
