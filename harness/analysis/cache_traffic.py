"""The traffic a semantic cache is replayed over: queries in arrival order.

A :class:`Stream` is built from a suite's cases (:func:`stream_from_cases`):
each case once, in order, or as a traffic file replays them
(:func:`load_traffic`: repeats, timestamps, knowledge changes). Each query
carries its correct answer, knowledge version, context hash, and what a model
call for it costs, which :mod:`harness.analysis.cache_replay` and
:mod:`harness.analysis.cache_sweep` read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from harness.errors import SuiteError
from harness.types import Case

__all__ = ["Query", "Stream", "TrafficRow", "load_traffic", "stream_from_cases"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Query:
    """One arrival of a case in the stream."""

    case_id: str
    row: int
    """Row of this case's embedding in the embeddings matrix."""
    answer: str
    """The answer that is correct for this query (the golden)."""
    category: str = "default"
    paraphrase_of: str | None = None
    knowledge_version: str | None = None
    timestamp: float = 0.0
    """Seconds; the stream position when no traffic timestamps were given."""
    context: str = ""
    """Hash of everything but the question: only equal contexts can share answers."""
    cost_usd: Decimal = Decimal(0)
    """What answering this query with a model costs (saved by a hit)."""
    latency_ms: float = 0.0
    """How long the model takes on it (saved by a hit)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TrafficRow:
    """One line of a traffic file: a case arriving, maybe again, maybe after a knowledge change."""

    case_id: str
    timestamp: float | None = None
    knowledge_version: str | None = None
    """Overrides the case's version (the facts changed since the suite was written)."""
    answer: str | None = None
    """Overrides the case's correct answer (the new answer after a knowledge change)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Stream:
    """Queries in arrival order and the distinct cases whose embeddings they use."""

    queries: tuple[Query, ...]
    case_ids: tuple[str, ...]
    """One per embedding row, in row order."""
    texts: tuple[str, ...]
    """The question of each case (what gets embedded), in row order."""

    def __len__(self) -> int:
        return len(self.queries)


def load_traffic(path: str | Path) -> list[TrafficRow]:
    """Read a JSON Lines traffic file: one ``{"case_id": ..., "timestamp": ...}`` per arrival.

    ``timestamp`` is seconds or an ISO-8601 time; ``knowledge_version`` and
    ``answer`` are optional overrides. Lines may repeat a case.

    Raises:
        SuiteError: unreadable file, bad JSON, or a row without ``case_id``.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SuiteError(f"{path}: cannot read the traffic file: {exc.strerror}.") from None
    rows: list[TrafficRow] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{where}: not valid JSON: {exc.msg}.") from None
        if not isinstance(raw, Mapping) or not isinstance(raw.get("case_id"), str):
            raise SuiteError(f"{where}: each line needs a 'case_id' string, got {line[:80]!r}.")
        unknown = set(raw) - {"case_id", "timestamp", "knowledge_version", "answer"}
        if unknown:
            raise SuiteError(
                f"{where}: unknown key {sorted(unknown)[0]!r}; valid keys: case_id, "
                "timestamp, knowledge_version, answer."
            )
        rows.append(
            TrafficRow(
                case_id=raw["case_id"],
                timestamp=_timestamp(raw.get("timestamp"), where=where),
                knowledge_version=_optional_str(raw, "knowledge_version", where),
                answer=_optional_str(raw, "answer", where),
            )
        )
    return rows


def _optional_str(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise SuiteError(f"{where}: {key!r} must be a string, got {value!r}.")
    return value


def _timestamp(value: Any, *, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    raise SuiteError(
        f"{where}: 'timestamp' must be seconds or an ISO-8601 time "
        f"('2026-11-26T10:00:00Z'), got {value!r}."
    )


def _context_hash(case: Case) -> str:
    digest = hashlib.sha256()
    for message in case.messages()[:-1]:
        digest.update(f"{message.role}\x1f{message.content}\x1e".encode())
    return digest.hexdigest()[:16]


def stream_from_cases(
    cases: Sequence[Case],
    answers: Mapping[str, str] | None = None,
    *,
    traffic: Sequence[TrafficRow] | None = None,
    costs: Mapping[str, Decimal] | None = None,
    latencies: Mapping[str, float] | None = None,
    namespace: Callable[[Case], str] | None = None,
) -> Stream:
    """The stream of queries: the cases in order, or as the traffic replays them.

    Args:
        cases: The suite's cases.
        answers: The correct answer of each case (goldens); default: each
            case's ``expected``.
        traffic: Arrivals in order (repeats allowed); default: each case once,
            at times 1, 2, 3 ...
        costs: What a model call costs for each case (saved by a hit).
        latencies: How long a model call takes for each case, in ms.
        namespace: Overrides the context each case is matched in (default: a
            hash of its messages but the question). Only queries with equal
            namespaces can share answers; e.g. one namespace per paraphrase
            family measures separation from hard negatives alone.

    Raises:
        SuiteError: a case without an answer, or traffic naming an unknown case.
    """
    by_id = {case.id: case for case in cases}
    rows = {case.id: i for i, case in enumerate(cases)}
    answer_of: dict[str, str] = {}
    for case in cases:
        answer = answers.get(case.id) if answers is not None else case.expected
        if answer is None:
            raise SuiteError(
                f"case {case.id!r} has no correct answer: give it an 'expected' or a golden."
            )
        answer_of[case.id] = answer
    arrivals = traffic if traffic is not None else [TrafficRow(case_id=c.id) for c in cases]
    queries: list[Query] = []
    for position, arrival in enumerate(arrivals, start=1):
        found = by_id.get(arrival.case_id)
        if found is None:
            raise SuiteError(
                f"traffic row #{position} names case {arrival.case_id!r}, not in the suite."
            )
        case = found
        queries.append(
            Query(
                case_id=case.id,
                row=rows[case.id],
                answer=arrival.answer if arrival.answer is not None else answer_of[case.id],
                category=case.category,
                paraphrase_of=case.paraphrase_of,
                knowledge_version=arrival.knowledge_version or case.knowledge_version,
                timestamp=arrival.timestamp if arrival.timestamp is not None else float(position),
                context=namespace(case) if namespace is not None else _context_hash(case),
                cost_usd=(costs or {}).get(case.id, Decimal(0)),
                latency_ms=(latencies or {}).get(case.id, 0.0),
            )
        )
    return Stream(
        queries=tuple(queries),
        case_ids=tuple(c.id for c in cases),
        texts=tuple(c.prompt for c in cases),
    )
