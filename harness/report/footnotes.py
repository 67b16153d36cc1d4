"""Texts that repeat down a table, said once: numbered notes under it, referred to by number.

A sweep's table can give the same "why" for sixteen thresholds, and several
configurations can fail for the same reason; the page prints such a text once,
in a numbered list under the table, and each row says "see note 2".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Reason:
    """One text of a row: said in the row, or a reference to a shared note."""

    text: str
    note: int = 0
    """1-based number of the note that says it, 0 when the row says it itself."""

    @property
    def head(self) -> str:
        """The text's first clause (up to the first ``; ``): what the row shows unfolded."""
        return self.text.split("; ", 1)[0]

    @property
    def rest(self) -> str:
        """The rest after :attr:`head` (figures, advice), folded in the row; may be empty."""
        parts = self.text.split("; ", 1)
        return parts[1] if len(parts) > 1 else ""


def say_once(rows: Sequence[Sequence[str]]) -> tuple[list[tuple[Reason, ...]], list[str]]:
    """Each row's texts, those that appear more than once turned into note references;
    and the notes, numbered in order of first appearance."""
    counts = Counter(text for row in rows for text in row)
    notes: dict[str, int] = {}
    out: list[tuple[Reason, ...]] = []
    for row in rows:
        out.append(
            tuple(
                Reason(text=text, note=notes.setdefault(text, len(notes) + 1))
                if counts[text] > 1
                else Reason(text=text)
                for text in row
            )
        )
    return out, list(notes)
