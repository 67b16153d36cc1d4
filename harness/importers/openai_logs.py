"""OpenAI-format request/response logs (JSON Lines) -> :class:`TrafficCall`.

One JSON object per line::

    {"request":  {"model": "gpt-4o", "messages": [{"role": "user", "content": "..."}]},
     "response": {"id": "chatcmpl-1", "model": "gpt-4o-2024-08-06", "created": 1764583200,
                  "usage": {"prompt_tokens": 120, "completion_tokens": 40,
                            "prompt_tokens_details": {"cached_tokens": 64},
                            "completion_tokens_details": {"reasoning_tokens": 0}}},
     "time": "2026-12-01T10:00:00Z", "latency_ms": 812, "cost_usd": 0.0007,
     "cache_hit": false}

``request`` is the chat-completions request body and ``response`` the response
body, as the SDK sends and receives them (``response.model_dump()``); ``time``
(else ``response.created``), ``latency_ms``, ``cost_usd`` and ``cache_hit`` are
optional. The response's ``id`` identifies the call for dedupe (a line without
one is identified by its content).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.importers.traffic import (
    TrafficCall,
    as_cost,
    as_count,
    as_time,
    chat_user_text,
    cost_origin,
    file_lines,
    json_line,
    prompt_usage,
)

__all__ = ["read_openai_log"]

WHAT = 'a JSON object {"request": <chat.completions body>, "response": <body with usage>}'


def read_openai_log(path: Path, *, prompts: bool = True) -> Iterator[TrafficCall]:
    """The calls of an OpenAI-format log, one line at a time.

    Raises:
        ConfigError: a line is malformed; names the file, the line and the key.
    """
    for number, line in file_lines(path):
        where = f"{path}:{number}"
        record = json_line(line, where, WHAT)
        if not isinstance(record, Mapping):
            raise ConfigError(f"{where}: expected {WHAT}, got {str(record)[:60]!r}.")
        request, response = record.get("request"), record.get("response")
        if not isinstance(request, Mapping) or not isinstance(response, Mapping):
            raise ConfigError(
                f"{where}: 'request' and 'response' must both be JSON objects. Each line is {WHAT}."
            )
        yield _call(record, request, response, line, where, prompts)


def _call(
    record: Mapping[str, Any],
    request: Mapping[str, Any],
    response: Mapping[str, Any],
    line: str,
    where: str,
    prompts: bool,
) -> TrafficCall:
    model = response.get("model") or request.get("model")
    if not isinstance(model, str) or not model:
        raise ConfigError(f"{where}: no model: set response.model (or request.model).")
    usage_raw = response.get("usage")
    if not isinstance(usage_raw, Mapping):
        raise ConfigError(
            f"{where}: response.usage is missing: the log must keep the response's token "
            "usage (prompt_tokens, completion_tokens) to count cost."
        )
    details = usage_raw.get("prompt_tokens_details") or {}
    out_details = usage_raw.get("completion_tokens_details") or {}
    total_in = as_count(usage_raw.get("prompt_tokens"), "usage.prompt_tokens", where)
    cached = as_count(
        details.get("cached_tokens") if isinstance(details, Mapping) else None,
        "usage.prompt_tokens_details.cached_tokens",
        where,
    )
    usage = prompt_usage(
        total_in,
        cached=cached,
        output=as_count(usage_raw.get("completion_tokens"), "usage.completion_tokens", where),
        reasoning=as_count(
            out_details.get("reasoning_tokens") if isinstance(out_details, Mapping) else None,
            "usage.completion_tokens_details.reasoning_tokens",
            where,
        ),
    )
    when = record.get("time", response.get("created"))
    if when is None:
        raise ConfigError(f"{where}: no time: add 'time' (ISO 8601) or response.created.")
    cost = as_cost(record.get("cost_usd"), "cost_usd", where)
    latency = record.get("latency_ms")
    if latency is not None and (
        isinstance(latency, bool) or not isinstance(latency, int | float) or latency < 0
    ):
        raise ConfigError(f"{where}: latency_ms must be a number >= 0, got {latency!r}.")
    call_id = response.get("id")
    if not isinstance(call_id, str) or not call_id:
        call_id = hashlib.sha256(line.strip().encode("utf-8")).hexdigest()[:32]
    marker = record.get("cache_hit")
    return TrafficCall(
        source_id=f"openai:{call_id}",
        time=as_time(when, "time", where),
        model=model,
        provider=str(record.get("provider") or "openai"),
        usage=usage,
        cost_usd=cost,
        cost_source=cost_origin(cost),
        latency_ms=None if latency is None else float(latency),
        cache_hit=marker is True or cached > 0,
        prompt=chat_user_text(request.get("messages")) if prompts else None,
        where=where,
    )
