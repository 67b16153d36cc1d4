"""One recorded response, a line of a recordings file: its keys and how each is checked.

The JSONL format :func:`harness.importers.recordings.import_recordings` reads
(and :mod:`harness.importers.routellm` builds): ``case_id``, ``model``,
``response``, ``prompt`` or ``messages``, and optionally ``expected``,
``category``, ``usage``, ``cost_usd``, ``latency_ms`` and ``quality``. Every
check raises a :class:`~harness.errors.SuiteError` naming the file and line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from harness.errors import SuiteError
from harness.types import Usage

__all__ = [
    "RECORD_KEYS",
    "USAGE_KEYS",
    "case_row",
    "record_number",
    "record_usage",
    "same_question",
]

RECORD_KEYS = (
    "case_id",
    "model",
    "response",
    "prompt",
    "messages",
    "expected",
    "category",
    "usage",
    "cost_usd",
    "latency_ms",
    "quality",
)
"""The keys a record may have; ``model`` and ``response`` are required, and one of
``prompt`` and ``messages``."""
USAGE_KEYS = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
)
"""The keys of a record's ``usage`` object (the fields of :class:`~harness.types.Usage`)."""


def record_number(value: Any, key: str, where: str, *, high: float | None = None) -> float:
    """The number under ``key`` of a record, checked: finite, >= 0 and at most ``high``.

    A boolean ``quality`` counts as 1.0 or 0.0.

    Raises:
        SuiteError: ``value`` is not such a number (the message names ``where``).
    """
    if isinstance(value, bool) and key == "quality":
        return 1.0 if value else 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SuiteError(f"{where}: {key!r} must be a number, got {value!r}.")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an integer beyond any float
        finite = False
    if not finite:
        raise SuiteError(f"{where}: {key!r} must be a finite number, got {value!r}.")
    if value < 0 or (high is not None and value > high):
        bounds = f"between 0 and {high:g}" if high is not None else ">= 0"
        raise SuiteError(f"{where}: {key!r} must be {bounds}, got {value!r}.")
    return float(value)


def record_usage(value: Any, where: str) -> Usage:
    """The :class:`~harness.types.Usage` of a record's ``usage`` object (None: no usage).

    Raises:
        SuiteError: an unknown key or a count that is not a whole number >= 0.
    """
    if value is None:
        return Usage()
    if not isinstance(value, Mapping):
        raise SuiteError(f"{where}: 'usage' must be an object like {{input_tokens: 12}}.")
    counts: dict[str, int] = {}
    for key, count in value.items():
        if key not in USAGE_KEYS:
            raise SuiteError(
                f"{where}: unknown usage key {key!r}. Valid keys: {', '.join(USAGE_KEYS)}."
            )
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise SuiteError(f"{where}: usage {key!r} must be a whole number >= 0, got {count!r}.")
        counts[key] = count
    return Usage(**counts)


def case_row(record: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The suite case row (``id, prompt, system, history, expected, category``) of a record.

    Raises:
        SuiteError: no usable ``case_id``, not exactly one of ``prompt`` and
            ``messages``, or ``messages`` not ending with the user's turn.
    """
    case_id = record.get("case_id")
    if isinstance(case_id, int) and not isinstance(case_id, bool):
        case_id = str(case_id)
    if not isinstance(case_id, str) or not case_id.strip():
        raise SuiteError(f"{where}: 'case_id' must be a non-empty string, got {case_id!r}.")
    row: dict[str, Any] = {"id": case_id}
    has_prompt, has_messages = "prompt" in record, "messages" in record
    if has_prompt == has_messages:
        raise SuiteError(
            f"{where} (case {case_id!r}): give exactly one of 'prompt' (the question) or "
            "'messages' (the conversation, ending with the user's turn)."
        )
    if has_prompt:
        row["prompt"] = record["prompt"]
    else:
        messages = record["messages"]
        if (
            not isinstance(messages, list)
            or not messages
            or not all(isinstance(m, Mapping) for m in messages)
        ):
            raise SuiteError(
                f"{where} (case {case_id!r}): 'messages' must be a non-empty list of "
                "{role, content} objects."
            )
        last = messages[-1]
        if last.get("role") != "user":
            raise SuiteError(
                f"{where} (case {case_id!r}): the last message must be the user's question, "
                f"got role {last.get('role')!r}."
            )
        first = 0
        if messages[0].get("role") == "system" and len(messages) > 1:
            row["system"] = messages[0].get("content")
            first = 1
        history = [{"role": m.get("role"), "content": m.get("content")} for m in messages[first:-1]]
        if history:
            row["history"] = history
        row["prompt"] = last.get("content")
    for key in ("expected", "category"):
        if record.get(key) is not None:
            row[key] = record[key]
    return row


def same_question(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two case rows ask the same question (prompt, system and history)."""
    keys = ("prompt", "system", "history")
    return all(a.get(k) == b.get(k) for k in keys)
