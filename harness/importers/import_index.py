"""What an import has read so far, kept on disk so its memory does not grow with the file.

An import must remember every case it has seen (its first row, to check that
later lines ask the same question and to write the cases file at the end),
every (case, model) pair (to refuse a duplicate, naming the record that gave
it first) and every request hash passed on to the store (first recording
wins). Held in dicts, that is a few hundred bytes a line: 200 MB of memory
for a 200 MB file. :class:`ImportIndex` keeps them in a SQLite file beside
the staged output instead, with a bounded page cache, and the most recent
cases in a small LRU (recordings usually give a case's lines together, so
most lookups never reach the file).
"""

from __future__ import annotations

import json
import sqlite3
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["ImportIndex", "KnownCase"]

RECENT_CASES = 2048
"""Cases kept in memory (the LRU): a constant, whatever the size of the file."""
PAGE_CACHE_KIB = 8192
"""SQLite's page cache, in KiB: the rest of the index stays on disk."""

_SCHEMA = """
CREATE TABLE cases (
    ordinal INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, row TEXT NOT NULL,
    at TEXT NOT NULL, expected INTEGER NOT NULL
);
CREATE TABLE pairs (
    case_id TEXT NOT NULL, model TEXT NOT NULL, record INTEGER NOT NULL,
    PRIMARY KEY (case_id, model)
) WITHOUT ROWID;
CREATE TABLE hashes (hash BLOB PRIMARY KEY) WITHOUT ROWID;
"""


class KnownCase:
    """A case already read: its first row (``expected`` may be added later) and where."""

    __slots__ = ("at", "parsed", "row")

    def __init__(self, row: dict[str, Any], at: str, parsed: Any) -> None:
        self.row = row
        self.at = at
        """Where its first line was (``file: line N``)."""
        self.parsed = parsed
        """The caller's parsed form of ``row`` (a ``Case``), rebuilt when it leaves the LRU."""


class ImportIndex:
    """Cases, (case, model) pairs and request hashes seen by one import, in a SQLite file.

    ``path`` must not exist; the caller deletes it when the import is over.
    """

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None)
        # A scratch file rebuilt by rerunning the import: no journal, no fsync.
        self._db.executescript(
            f"PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; "
            f"PRAGMA cache_size = -{PAGE_CACHE_KIB}; PRAGMA temp_store = FILE; BEGIN;"
        )
        self._db.executescript(_SCHEMA)
        self._recent: OrderedDict[str, KnownCase] = OrderedDict()
        self.cases = 0
        """Distinct cases seen."""

    def known(self, case_id: str) -> KnownCase | None:
        """The case ``case_id`` if seen (``parsed`` is None when read back from disk)."""
        found = self._recent.get(case_id)
        if found is not None:
            self._recent.move_to_end(case_id)
            return found
        row = self._db.execute("SELECT row, at FROM cases WHERE id = ?", (case_id,)).fetchone()
        if row is None:
            return None
        return self._remember(case_id, KnownCase(json.loads(row[0]), row[1], None))

    def add_case(self, case_id: str, row: dict[str, Any], at: str, parsed: Any) -> None:
        """A new case (its first line)."""
        self._db.execute(
            "INSERT INTO cases (id, row, at, expected) VALUES (?, ?, ?, ?)",
            (case_id, json.dumps(row, ensure_ascii=False), at, "expected" in row),
        )
        self.cases += 1
        self._remember(case_id, KnownCase(row, at, parsed))

    def update_case(self, case_id: str, known: KnownCase) -> None:
        """Store a change to a known case's row (an ``expected`` given on a later line)."""
        self._db.execute(
            "UPDATE cases SET row = ?, expected = ? WHERE id = ?",
            (json.dumps(known.row, ensure_ascii=False), "expected" in known.row, case_id),
        )
        self._remember(case_id, known)

    def pair(self, case_id: str, model: str, record: int) -> int | None:
        """Note that record ``record`` answers ``case_id`` with ``model``.

        Returns the earlier record of that pair (nothing is noted), or None.
        """
        added = self._db.execute(
            "INSERT OR IGNORE INTO pairs VALUES (?, ?, ?)", (case_id, model, record)
        ).rowcount
        if added:
            return None
        found = self._db.execute(
            "SELECT record FROM pairs WHERE case_id = ? AND model = ?", (case_id, model)
        ).fetchone()
        return int(found[0])

    def first_hash(self, key: str) -> bool:
        """Whether request hash ``key`` (hex) is new; it is then noted."""
        return bool(
            self._db.execute(
                "INSERT OR IGNORE INTO hashes VALUES (?)", (bytes.fromhex(key),)
            ).rowcount
        )

    def unanswered(self, model: str, limit: int) -> tuple[list[str], int]:
        """Up to ``limit`` cases ``model`` did not answer (first seen first), and how many."""
        where = "id NOT IN (SELECT case_id FROM pairs WHERE model = ?)"
        count = self._db.execute(f"SELECT count(*) FROM cases WHERE {where}", (model,)).fetchone()
        shown = self._db.execute(
            f"SELECT id FROM cases WHERE {where} ORDER BY ordinal LIMIT ?", (model, limit)
        ).fetchall()
        return [r[0] for r in shown], int(count[0])

    def all_expected(self) -> bool:
        """Whether every case has an ``expected`` answer."""
        row = self._db.execute("SELECT count(*) FROM cases WHERE expected = 0").fetchone()
        return bool(row[0] == 0)

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every case's row, in the order the cases were first seen (streamed)."""
        for (row,) in self._db.execute("SELECT row FROM cases ORDER BY ordinal"):
            yield json.loads(row)

    def close(self) -> None:
        """Close the file (the caller deletes it)."""
        self._db.close()

    def _remember(self, case_id: str, known: KnownCase) -> KnownCase:
        self._recent[case_id] = known
        self._recent.move_to_end(case_id)
        if len(self._recent) > RECENT_CASES:
            self._recent.popitem(last=False)
        return known
