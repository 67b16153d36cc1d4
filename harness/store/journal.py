"""The response journal: every paid answer is on disk the moment it arrives.

DuckDB is written once, at the end of a run. A run killed before that (SIGKILL,
a CI timeout, a laptop lid) must not lose the answers it already paid for, so
each response from a remote provider is also appended, as one JSON line, to
``<db>.journal/<run id>.jsonl`` as soon as it arrives; the OS keeps it even if
the process dies the next instant. A finished run folds its journal into the
response store and deletes it; the next run folds in any journal a dead run
left behind before it sends anything, so a rerun pays only for the requests
that never completed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from harness.config.suites import now_iso, recorded_cost
from harness.store.responses import store_responses
from harness.types import Message, Request, Response, Usage


def journal_dir(db: Path) -> Path:
    """Where the journals of the runs of ``db`` live."""
    return db.with_name(db.name + ".journal")


class Journal:
    """Append-only log of one run's new responses."""

    def __init__(self, db: Path, run_id: str) -> None:
        self.path = journal_dir(db) / f"{run_id}.jsonl"
        self._handle: IO[str] | None = None
        self.entries = 0

    def append(self, key: str, request: Request, response: Response) -> None:
        """Write one response; flushed to the OS before returning."""
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a", encoding="utf-8")
        record = {
            "key": key,
            "model": request.model,
            "messages": [[m.role, m.content] for m in request.messages],
            "params": [list(p) for p in request.params],
            "text": response.text,
            "usage": response.usage.as_dict(),
            "latency_ms": response.latency_ms,
            "batch": response.batch,
        }
        if response.cost_usd is not None:
            record["cost_usd"] = str(response.cost_usd)  # as a string: every digit kept
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.flush()
        self.entries += 1

    def close(self) -> None:
        """Close the file (it stays until :meth:`discard`)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def discard(self) -> None:
        """Delete the journal: its entries are safely in DuckDB."""
        self.close()
        self.path.unlink(missing_ok=True)


def read_journal(path: Path) -> Iterator[tuple[Request, Response]]:
    """The entries of a journal file; a line cut short by a crash is skipped."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
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
            except (json.JSONDecodeError, KeyError, TypeError, ValueError, ArithmeticError):
                continue  # the last line of a killed run may be incomplete
            yield request, response


def recover_journals(db: Path) -> int:
    """Fold journals left by dead runs into the response store; returns responses saved."""
    folder = journal_dir(db)
    if not folder.is_dir():
        return 0
    saved = 0
    for path in sorted(folder.glob("*.jsonl")):
        pairs = list(read_journal(path))
        if pairs:
            saved += store_responses(db, pairs, now_iso())
        path.unlink()
    return saved
