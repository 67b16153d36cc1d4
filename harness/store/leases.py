"""Request leases: one payment per distinct request across processes.

Two runs on one project (a developer's and CI's, or two terminals), or the
workers of one ``pytest -n 2`` run, would each pay for every request neither
has answered yet. Before a paid request is sent, its sender takes the lease of
the request's hash: an exclusive POSIX record lock (``lockf``) on one byte of
``<db>.journal/leases/locks``, at an offset drawn from the hash. The holder
calls the provider and appends the answer to ``leases/answers.jsonl`` before
letting go; a process that wanted the same request waits for the lease, then
finds the answer there and uses it without calling anyone.

One lock file and one answer file for every request: a lease costs two
``fcntl`` calls and, for a paid answer, one appended line. (A first version
made a file per request: creating it cost about 0.2 ms of kernel time, half a
second per thousand requests.) Two requests whose hashes share an offset (one
chance in 2**60) wait on each other; the second then calls itself.

The kernel releases a lock when its process ends, however it ends: a run
killed mid-call leaves no answer, and the next taker calls the provider itself
(an error, which is not an answer, leaves none either). A line cut short by a
killed writer is skipped: each line starts on a fresh line.

The files are cleared by the last run to leave: each run holds a shared lock on
``leases/.runs`` while it lives, and a run that can take it exclusively (nobody
else is alive) deletes them, whose answers are in DuckDB by then (or in the
journals that recovery folds in).
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import json
import os
import re
import time
from pathlib import Path
from typing import IO

from harness.files import lock_file
from harness.store.journal import journal_dir, read_record, record_line, still_at
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

    def __init__(
        self, leases: FileLeases, offset: int, answer: Response | None, waited: bool
    ) -> None:
        self._leases: FileLeases | None = leases
        self._offset = offset
        self.answer = answer
        self.waited = waited
        """Whether another process held the lease when this one first asked."""

    def settle(self, key: str, request: Request, response: Response) -> None:
        """Leave ``response`` for whoever wants the request next (before :meth:`release`)."""
        if self._leases is not None:
            self._leases.leave_answer(key, request, response)

    def release(self) -> None:
        """Let go of the lease."""
        if self._leases is not None:
            self._leases.unlock(self._offset)
            self._leases = None


class FileLeases:
    """The leases of one process on the requests of ``db`` (see the module docstring).

    POSIX record locks belong to a process, and closing any descriptor of the lock
    file drops all of them: keep one instance per process and per ``db``.

    Args:
        db: The results database; leases live beside its journals.
        since: Wall-clock time (``time.time()``) the run started: when an answer
            must be fresh (re-recording), an answer older than this is ignored.
    """

    def __init__(self, db: Path, *, since: float | None = None) -> None:
        self.folder = leases_dir(db)
        self.since = time.time() if since is None else since
        self.shared = 0
        """Answers taken from a lease another process had paid for."""
        self._presence: IO[str] | None = None
        self._locks: int | None = None
        self._answers: IO[str] | None = None
        self._answers_read = 0  # bytes of the answer file already indexed
        self._lines: dict[str, tuple[int, int]] = {}  # hash -> its answer line (offset, size)

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
        if self._locks is not None:
            os.close(self._locks)
            self._locks = None
        if self._answers is not None:
            self._answers.close()
            self._answers = None
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
        if self._locks is None:
            self._locks = os.open(self.folder / "locks", os.O_RDWR | os.O_CREAT, 0o644)
        offset = int(key[:15], 16) if _is_hex(key[:15]) else hash(key) & (2**60 - 1)
        pause = FIRST_POLL
        waited = False
        while True:
            try:
                fcntl.lockf(self._locks, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            waited = True
            await asyncio.sleep(pause)
            pause = min(pause * 2, LAST_POLL)
        answer = self._answer_for(key, self.since if fresh else None)
        if answer is not None:
            self.shared += 1
        return LeaseClaim(self, offset, answer, waited)

    def unlock(self, offset: int) -> None:
        """Release the lease at ``offset`` (:meth:`LeaseClaim.release`)."""
        if self._locks is not None:
            fcntl.lockf(self._locks, fcntl.LOCK_UN, 1, offset)

    def leave_answer(self, key: str, request: Request, response: Response) -> None:
        """Append the answer to ``key`` for other processes (:meth:`LeaseClaim.settle`)."""
        if self._answers is None:
            self._answers = (self.folder / "answers.jsonl").open("a", encoding="utf-8")
        # A leading newline: a line a killed writer cut short ends here, not in ours.
        line = record_line(key, request, response)
        self._answers.write("\n" + line + "\n")
        self._answers.flush()

    def _answer_for(self, key: str, fresh_after: float | None) -> Response | None:
        self._read_new_answers()
        at = self._lines.get(key)
        if at is None:
            return None
        with (self.folder / "answers.jsonl").open("rb") as handle:
            handle.seek(at[0])
            line = handle.read(at[1])
        return _answer(line.decode("utf-8", "replace"), key, fresh_after)

    def _read_new_answers(self) -> None:
        """Index the answer lines appended since the last look (by any process)."""
        path = self.folder / "answers.jsonl"
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return
        if size <= self._answers_read:
            return
        with path.open("rb") as handle:
            handle.seek(self._answers_read)
            chunk = handle.read(size - self._answers_read)
        complete = chunk.rfind(b"\n") + 1  # a line still being written waits for next time
        offset = self._answers_read
        for raw in chunk[:complete].split(b"\n"):
            match = _KEY.match(raw)
            if match is not None:
                # Only where it is: the answer is read and parsed when it is wanted.
                self._lines[match.group(1).decode()] = (offset, len(raw))
            offset += len(raw) + 1
        self._answers_read += complete

    def _clear(self, *, keep: Path | None) -> None:
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            if path != keep:
                path.unlink(missing_ok=True)


_KEY = re.compile(rb'\{"key": "([^"]+)"')
"""The request hash at the start of an answer line (:func:`record_of` writes it first)."""


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdef" for c in text)


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
