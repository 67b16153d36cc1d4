"""Submitted provider batches, kept in the ``batches`` table so a killed run can resume them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from harness.config.suites import now_iso
from harness.store.database import connect
from harness.types import SCHEMA_VERSION

__all__ = ["DuckBatchStore"]


class DuckBatchStore:
    """Submitted provider batches, remembered in the ``batches`` table.

    A run killed while its batches are pending leaves them here; the next run
    with ``--cost-eval-batch`` resumes them instead of submitting (and paying
    for) new ones. Satisfies :class:`harness.providers.batch.BatchStore`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def pending(self, provider: str) -> list[tuple[str, list[str]]]:
        """``(batch_id, request hashes)`` of every unfinished batch of ``provider``."""
        if not self.path.is_file():
            return []
        with connect(self.path) as connection:
            rows = connection.execute(
                "SELECT batch_id, hashes_json FROM batches WHERE provider = ? "
                "AND finished_at IS NULL ORDER BY submitted_at",
                [provider],
            ).fetchall()
        return [(str(batch_id), list(json.loads(hashes))) for batch_id, hashes in rows]

    def save(self, provider: str, batch_id: str, hashes: Sequence[str]) -> None:
        """Remember a batch the moment it is submitted."""
        with connect(self.path) as connection:
            connection.execute(
                "INSERT OR REPLACE INTO batches VALUES (?, ?, ?, ?, ?, NULL)",
                [SCHEMA_VERSION, provider, batch_id, json.dumps(list(hashes)), now_iso()],
            )

    def finish(self, batch_id: str) -> None:
        """Mark a batch done once its results are read."""
        with connect(self.path) as connection:
            connection.execute(
                "UPDATE batches SET finished_at = ? WHERE batch_id = ?", [now_iso(), batch_id]
            )
