"""Labelled question pairs: read from a file, or mined from a suite's own questions.

A labelled pair is two texts and a label: 1 when they ask the same thing (a
cached answer of one is right for the other), 0 when they do not (a near-miss:
serving one's answer for the other is a wrong hit). Label-0 pairs people
judged, such as Quora Question Pairs' non-duplicates, are **real negatives**;
:func:`~harness.importers.paraphrase_pairs.build_cache_suite` uses them as they
are.

:func:`load_labelled_pairs` reads:

- **JSON Lines**, one pair per line: ``{"text_a": ..., "text_b": ..., "label": 0}``;
- **CSV** (a ``.csv`` file) with a header row naming the same columns;
- a **JSON list** of such objects, e.g. GPTCache's ``mock_data.json``.

``origin``/``similar`` and Quora's ``question1``/``question2``/``is_duplicate``
are accepted as names; ``label`` may be 0/1, true/false or ``"0"``/``"1"``, and
a pair without one is a paraphrase (label 1), as GPTCache's are.

:func:`mine_pairs` labels pairs without anyone labelling them: each question of
a suite and its nearest neighbours by the embedder, label 1 when the earlier
question's golden answer passes for the later one, else 0 (a mined negative).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from harness.errors import SuiteError
from harness.files import AtomicFile

__all__ = ["LabelledPairs", "load_labelled_pairs", "mine_pairs", "write_labelled_pairs"]

_FIRST = ("text_a", "origin", "question1")
_SECOND = ("text_b", "similar", "question2")
_LABEL = ("label", "is_duplicate")
_TRUE = {"1", "true", "yes"}
_FALSE = {"0", "false", "no"}
_SHAPE = '{"text_a": text, "text_b": text, "label": 1 or 0}'


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelledPairs:
    """Pairs of texts, each labelled 1 (same question) or 0 (different: a negative)."""

    pairs: tuple[tuple[str, str], ...]
    """``(text_a, text_b)``: ``text_a`` arrives first in a cache stream."""
    labels: tuple[int, ...]
    """One 0 or 1 per pair."""
    labelled: bool = True
    """Whether the file gave labels (False: GPTCache-style paraphrases, all 1)."""

    @property
    def positives(self) -> int:
        """Pairs labelled 1."""
        return sum(self.labels)

    @property
    def negatives(self) -> int:
        """Pairs labelled 0."""
        return len(self.labels) - self.positives

    def __len__(self) -> int:
        return len(self.pairs)


def _pick(row: Mapping[str, Any], names: Sequence[str]) -> Any:
    for name in names:
        if name in row:
            return row[name]
    return None


def _label(value: Any, *, where: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and value in (0, 1):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return int(value.strip().lower() in _TRUE)
    raise SuiteError(f"{where}: 'label' must be 1 (same question) or 0 (different), got {value!r}.")


def _pair(row: Any, *, where: str) -> tuple[str, str, int | None]:
    if not isinstance(row, Mapping):
        raise SuiteError(f"{where}: expected an object {_SHAPE}, got {row!r:.80}.")
    first, second = _pick(row, _FIRST), _pick(row, _SECOND)
    if not isinstance(first, str) or not isinstance(second, str) or not first or not second:
        raise SuiteError(
            f"{where}: a pair needs two non-empty texts, 'text_a' and 'text_b' (or 'origin' "
            f"and 'similar'); got keys {sorted(row)}."
        )
    raw = _pick(row, _LABEL)
    return first, second, None if raw is None or raw == "" else _label(raw, where=where)


def _rows(path: Path, text: str) -> Iterable[tuple[str, Any]]:
    """``(where, row)`` for every pair of the file, in order."""
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        header = reader.fieldnames or []
        if not any(n in header for n in _FIRST) or not any(n in header for n in _SECOND):
            raise SuiteError(
                f"{path}: the CSV header must name 'text_a' and 'text_b' (and 'label'), "
                f"got {header}."
            )
        for row in reader:
            yield f"{path}:{reader.line_num}", row
        return
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{path}: not valid JSON at line {exc.lineno}: {exc.msg}.") from None
        for index, row in enumerate(data):
            yield f"{path}: pair #{index + 1}", row
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SuiteError(
                f"{path}:{number}: not valid JSON ({exc.msg}); write one pair per line, "
                f"{_SHAPE}, or a CSV file ending in .csv."
            ) from None
        yield f"{path}:{number}", row


def load_labelled_pairs(path: str | Path) -> LabelledPairs:
    """Read labelled pairs from JSON Lines, CSV (``.csv``) or a JSON list (see the module).

    Either every pair has a label or none does (then all are paraphrases, label 1).

    Raises:
        SuiteError: the file is missing or unreadable, a row is not a pair, a
            label is not 0 or 1, labels are given for some pairs only, or no pair.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SuiteError(f"{path}: cannot read the pairs: {exc.strerror}.") from None
    except UnicodeDecodeError:
        raise SuiteError(f"{path}: not UTF-8 text; pairs are JSON Lines, CSV or JSON.") from None
    pairs: list[tuple[str, str]] = []
    labels: list[int | None] = []
    for where, row in _rows(path, text):
        first, second, label = _pair(row, where=where)
        if labels and (label is None) != (labels[0] is None):
            raise SuiteError(
                f"{where}: {'no' if label is None else 'a'} label, while the first pair "
                f"{'has one' if label is None else 'has none'}; label every pair or none "
                "(none: all are paraphrases)."
            )
        pairs.append((first, second))
        labels.append(label)
    if not pairs:
        raise SuiteError(f"{path}: no pairs; write one {_SHAPE} per line.")
    labelled = labels[0] is not None
    return LabelledPairs(
        pairs=tuple(pairs),
        labels=tuple(1 if label is None else label for label in labels),
        labelled=labelled,
    )


def write_labelled_pairs(path: str | Path, pairs: LabelledPairs) -> None:
    """Write ``pairs`` as JSON Lines ``{text_a, text_b, label}`` (atomically)."""
    with AtomicFile(Path(path)) as out:
        for (first, second), label in zip(pairs.pairs, pairs.labels, strict=True):
            out.write_json_line({"text_a": first, "text_b": second, "label": label})


def mine_pairs(
    texts: Sequence[str],
    vectors: Any,
    agree: Callable[[int, int], bool],
    *,
    neighbours: int = 3,
    block: int = 1024,
) -> LabelledPairs:
    """Each text and its ``neighbours`` most similar others, labelled by whether answers agree.

    Args:
        texts: The questions, in arrival order (a suite's cases).
        vectors: One embedding per text (any norm).
        agree: ``agree(i, j)`` with ``i < j``: is text ``i``'s answer right for text
            ``j`` (what a cache would serve when ``j`` arrives after ``i``)?
        neighbours: Nearest neighbours taken per text (by cosine similarity).
        block: Rows compared in one matrix product (bounds memory).

    Returns:
        Every distinct pair ``(earlier, later)`` found, in order of the earlier
        text, labelled 1 when ``agree`` says so, else 0 (a mined negative).
        ``labelled`` is True: the labels come from the answers.

    Raises:
        SuiteError: fewer than two texts, or not one vector per text.
    """
    arr: npt.NDArray[np.float64] = np.asarray(vectors, dtype=np.float64)
    if len(texts) < 2 or arr.ndim != 2 or arr.shape[0] != len(texts):
        raise SuiteError(
            f"mining pairs needs two or more texts and one vector each: {len(texts)} texts, "
            f"vectors of shape {arr.shape}."
        )
    norms = np.linalg.norm(arr, axis=1)
    unit = arr / np.where(norms == 0, 1.0, norms)[:, None]
    k = max(1, min(neighbours, len(texts) - 1))
    found: set[tuple[int, int]] = set()
    for start in range(0, len(texts), block):
        sims = unit[start : start + block] @ unit.T
        rows = np.arange(start, min(start + block, len(texts)))
        sims[rows - start, rows] = -np.inf  # never a text with itself
        nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        for offset, i in enumerate(rows):
            for j in nearest[offset]:
                found.add((min(int(i), int(j)), max(int(i), int(j))))
    ordered = sorted(found)
    return LabelledPairs(
        pairs=tuple((texts[i], texts[j]) for i, j in ordered),
        labels=tuple(int(bool(agree(i, j))) for i, j in ordered),
    )
