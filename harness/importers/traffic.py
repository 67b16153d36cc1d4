"""Production traffic as the trace importers read it: one :class:`TrafficCall` per LLM call.

The three readers (:mod:`~harness.importers.otlp_traces`,
:mod:`~harness.importers.openai_logs`, :mod:`~harness.importers.litellm_logs`)
turn their format into these records, one at a time; :mod:`harness.store.traffic`
keeps them in the ``traffic`` table. Helpers shared by the readers live here:
reading a file line by line with its line number, numbers and times out of
loosely typed JSON, splitting a prompt total into full-rate and cache tokens, and
pricing a call that carries no recorded cost.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from harness.config.prices import PriceTable
from harness.errors import ConfigError
from harness.types import Usage

__all__ = [
    "TRAFFIC_FORMATS",
    "CallPricer",
    "TrafficCall",
    "TrafficCost",
    "as_cost",
    "as_count",
    "as_time",
    "chat_user_text",
    "cost_origin",
    "elapsed_ms",
    "file_lines",
    "json_line",
    "message_text",
    "prompt_usage",
]

TRAFFIC_FORMATS = ("otlp", "openai", "litellm")
"""The formats ``harness import traces --format`` reads."""

TrafficCost = Literal["recorded", "estimated", "unpriced"]
"""Where a call's cost came from: the source's own figure, our price table, or neither."""

MAX_LINE_CHARS = 64 * 1024 * 1024
"""Longest line read (a collector's file exporter writes one batch of spans per line)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TrafficCall:
    """One LLM call seen in production."""

    source_id: str
    """Identity for dedupe: ``otlp:<trace id>/<span id>``, ``openai:<response id>``, ...
    Importing the same file twice replaces these rows instead of adding them again."""
    time: datetime
    """When the call started (UTC)."""
    model: str
    """The model that answered (the response's model, else the requested one)."""
    provider: str = ""
    """``openai``, ``anthropic``, ... as the source names it (may be empty)."""
    usage: Usage = field(default_factory=Usage)
    """Tokens; ``input_tokens`` excludes cache reads and writes, as everywhere in the harness."""
    cost_usd: Decimal | None = None
    """What the call cost; None when neither the source nor the price table knows."""
    cost_source: TrafficCost = "unpriced"
    latency_ms: float | None = None
    cache_hit: bool = False
    """Served from a cache: the source's own marker says so (an application or gateway
    cache), or the provider's prompt cache served part of the prompt (cached tokens > 0)."""
    prompt: str | None = None
    """The last user message, when the source recorded prompts."""
    where: str = ""
    """File and line (or span) it came from, for messages."""


def file_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The non-blank lines of a text file with their 1-based numbers, one at a time.

    Raises:
        ConfigError: the file is missing, unreadable or not UTF-8.
    """
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if len(line) > MAX_LINE_CHARS:
                    raise ConfigError(
                        f"{path}:{number}: line longer than {MAX_LINE_CHARS:,} characters. "
                        "Export smaller batches (the collector's file exporter writes one "
                        "batch per line)."
                    )
                if line.strip():
                    yield number, line
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file. Give the path of an exported trace file."
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte offset {exc.start}). Export the traces as JSON "
            "(OTLP JSON, JSON Lines), not protobuf or a compressed file."
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file: {exc.strerror or exc}.") from None


def json_line(line: str, where: str, what: str) -> Any:
    """One JSON value from one line.

    Raises:
        ConfigError: the line is not JSON; says where and what the line should be.
    """
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{where}: not valid JSON ({exc.msg} at column {exc.colno}). Each line must be {what}."
        ) from None


def as_count(value: Any, key: str, where: str) -> int:
    """A token count from JSON (OTLP writes 64-bit integers as strings); missing -> 0.

    Raises:
        ConfigError: the value is not a whole number >= 0.
    """
    if value is None:
        return 0
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where}: {key} must be a whole number >= 0, got {value!r}.")
    return value


def as_cost(value: Any, key: str, where: str) -> Decimal | None:
    """A recorded cost in USD (number or numeric string); missing -> None.

    Raises:
        ConfigError: not a number >= 0.
    """
    if value is None or value == "":
        return None
    try:
        cost = Decimal(str(value)) if not isinstance(value, bool) else None
    except InvalidOperation:
        cost = None
    if cost is None or not cost.is_finite() or cost < 0:
        raise ConfigError(f"{where}: {key} must be a cost in USD >= 0, got {value!r}.")
    return cost


def as_time(value: Any, key: str, where: str) -> datetime:
    """A UTC time from seconds since the epoch, nanoseconds (OTLP) or ISO 8601 text.

    Raises:
        ConfigError: none of those.
    """
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
        # OTLP times are nanoseconds; logs write seconds or milliseconds.
        while seconds > 1e11:
            seconds /= 1000
        return datetime.fromtimestamp(seconds, tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ConfigError(
        f"{where}: {key} must be a time (ISO 8601 like 2026-12-01T10:00:00Z, or seconds "
        f"since 1970), got {value!r}."
    )


def elapsed_ms(start: datetime, end: Any, key: str, where: str) -> float:
    """Milliseconds from ``start`` to the time ``end`` (read as :func:`as_time` reads it);
    never below 0, as a span's clocks may disagree.

    Raises:
        ConfigError: ``end`` is not a time.
    """
    return max(0.0, (as_time(end, key, where) - start).total_seconds()) * 1000


def prompt_usage(
    total_input: int, *, cached: int, written: int = 0, output: int, reasoning: int = 0
) -> Usage:
    """Tokens from counts whose prompt total includes cache reads and writes, as OpenAI,
    LiteLLM and the GenAI conventions count them: ``input_tokens`` keeps only the
    full-rate ones, as everywhere in the harness."""
    return Usage(
        input_tokens=max(0, total_input - cached - written),
        cached_input_tokens=cached,
        cache_write_tokens=written,
        output_tokens=output,
        reasoning_tokens=reasoning,
    )


def cost_origin(cost: Decimal | None) -> TrafficCost:
    """Where a call's cost came from as a reader sees it: the source's own figure, or
    none yet (:class:`CallPricer` may price it later)."""
    return "recorded" if cost is not None else "unpriced"


def message_text(content: Any) -> str:
    """The text of a chat message's content: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping):
                text = part.get("text", part.get("content"))
                if isinstance(text, str):
                    texts.append(text)
        return "\n".join(texts)
    return ""


def chat_user_text(messages: Any) -> str | None:
    """The last user message of a chat-completions ``messages`` list (None when none)."""
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") == "user":
            return message_text(message.get("content", message.get("parts"))) or None
    return None


class CallPricer:
    """Prices calls that carry no recorded cost, and counts what it could not price."""

    def __init__(self, prices: PriceTable) -> None:
        self.prices = prices
        self.unpriced: Counter[str] = Counter()
        """Calls left without a cost, by model."""

    def priced(self, call: TrafficCall) -> TrafficCall:
        """``call`` with an estimated cost when it has none (``unpriced`` when no price)."""
        if call.cost_usd is not None:
            return call
        specs = [f"{call.provider}:{call.model}", call.model] if call.provider else [call.model]
        for spec in specs:
            try:
                cost = self.prices.cost(spec, call.usage)
            except ConfigError:
                continue
            return replace(call, cost_usd=cost, cost_source="estimated")
        self.unpriced[call.model] += 1
        return replace(call, cost_source="unpriced")
