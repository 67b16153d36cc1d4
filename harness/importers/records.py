"""One recorded response, a line of a recordings file: its keys and how each is checked.

The JSONL format :func:`harness.importers.recordings.import_recordings` reads
(and :mod:`harness.importers.routellm` builds): ``case_id``, ``model``,
``response``, ``prompt`` or ``messages``, and optionally ``expected``,
``category``, ``usage``, ``cost_usd``, ``latency_ms`` and ``quality``. Every
check raises a :class:`~harness.errors.SuiteError` naming the file and line.

``model`` is the name the recording gives: a spec like ``openai:gpt-4o`` or a
bare name like ``gpt-4o-2024-08-06``, as real logs write it (:func:`record_model`).
``quality`` is in [0, 1], or on the scale given to the import
(:class:`QualityScale`, ``--quality-scale 1,10``), mapped into [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.errors import ConfigError, SuiteError
from harness.types import Usage

__all__ = [
    "RECORD_KEYS",
    "USAGE_KEYS",
    "QualityScale",
    "case_row",
    "record_model",
    "record_number",
    "record_quality",
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


def record_model(value: Any, where: str) -> str:
    """The ``model`` of a record: a spec (``openai:gpt-4o``) or a bare name (``gpt-4o``).

    Real logs name the model as the API reported it, without a provider
    prefix; such a name is kept as written (genai-prices prices it by that
    name, and ``replay:<name>`` replays it).

    Raises:
        SuiteError: not a non-empty name, or a ``replay:`` spec (a recording
            names the model that answered, not a replay of it).
    """
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise SuiteError(
            f"{where}: 'model' must be the name of the model that answered, like "
            f"'gpt-4o-2024-08-06' or 'openai:gpt-4o', got {value!r}."
        )
    if value.startswith("replay:"):
        raise SuiteError(
            f"{where}: 'model' must name the model that answered, not a replay of it: "
            f"write {value.removeprefix('replay:')!r} instead of {value!r}."
        )
    return value


@dataclass(frozen=True, slots=True)
class QualityScale:
    """The scale recorded quality scores are on: ``low`` maps to 0 and ``high`` to 1.

    A judge's 1-10 scores are ``QualityScale(1, 10)``: 10 -> 1.0, 1 -> 0.0,
    5.5 -> 0.5. A score outside the scale (a judge's -1 for "could not parse")
    maps to nothing: the importer records it as an error for that case and model.

    Raises:
        ConfigError: the bounds are not finite numbers with ``low < high``.
    """

    low: float = 0.0
    high: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ConfigError(
                f"a quality scale needs finite bounds MIN < MAX, got {self.low:g},{self.high:g}."
            )

    @classmethod
    def parse(cls, text: str) -> QualityScale:
        """The scale written ``MIN,MAX`` (``--quality-scale 1,10``).

        Raises:
            ConfigError: not two numbers with MIN < MAX.
        """
        parts = text.split(",")
        try:
            if len(parts) != 2:
                raise ValueError
            low, high = (float(part) for part in parts)
            return cls(low, high)
        except (ValueError, ConfigError):
            raise ConfigError(
                f"--quality-scale must be MIN,MAX with MIN < MAX (the lowest and the highest "
                f"score of the recordings, e.g. 1,10 for a judge's 1-10 scores), got {text!r}."
            ) from None

    def __str__(self) -> str:
        return f"{self.low:g}-{self.high:g}"

    def mapped(self, value: float) -> float | None:
        """``value`` mapped into [0, 1], or None when it is outside the scale."""
        if not self.low <= value <= self.high:
            return None
        return (value - self.low) / (self.high - self.low)

    def original(self, quality: float) -> float:
        """A quality in [0, 1] back on this scale (the inverse of :meth:`mapped`)."""
        return self.low + quality * (self.high - self.low)


def record_quality(
    value: Any, where: str, scale: QualityScale | None = None
) -> tuple[float | None, str | None]:
    """A record's ``quality`` as ``(quality in [0, 1], None)`` or ``(None, why not)``.

    Without ``scale`` the quality must be in [0, 1] (a boolean counts as 1 or
    0). With ``scale``, a number on it is mapped into [0, 1]; a number outside
    it, or NaN, is a score the recording could not give (a judge's -1 when it
    could not parse its own verdict): ``(None, reason)``, an error row of that
    case and model, never a refused import. ``None`` gives ``(None, None)``.

    Raises:
        SuiteError: not a number; without ``scale``, a number outside [0, 1]
            (the message points at ``--quality-scale``).
    """
    if value is None:
        return None, None
    if scale is None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value) if _finite(value) else math.nan
            if not 0.0 <= number <= 1.0:
                raise SuiteError(
                    f"{where}: 'quality' must be between 0 and 1, got {value!r}. Scores on "
                    "another scale (a judge's 1-10) import with --quality-scale MIN,MAX "
                    "(e.g. 1,10): they are mapped into [0, 1], and a score outside the "
                    "scale (like -1) makes that case an error row."
                )
        return record_number(value, "quality", where, high=1.0), None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SuiteError(
            f"{where}: 'quality' must be a number on the scale {scale} (--quality-scale), "
            f"got {value!r}."
        )
    quality = scale.mapped(float(value)) if _finite(value) else None
    if quality is None:
        return None, (
            f"the recorded quality {value!r} is outside the scale {scale} given to the "
            "import (--quality-scale), so this answer has no score; judges record such a "
            "value (like -1) when they could not score an answer"
        )
    return quality, None


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond any float
        return False


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
