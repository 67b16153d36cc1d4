"""LiteLLM proxy spend logs (``LiteLLM_SpendLogs``) -> :class:`TrafficCall`.

LiteLLM is the gateway picked because it is open source, fronts 100+ providers
behind one OpenAI-compatible API, and already keeps one row per call with the
billed ``spend``, tokens, start/end times and its own cache-hit flag: exactly
what the monitor needs, without per-provider parsing.

Two exports are read:

- JSON Lines, one spend-log row per line (``curl -H "Authorization: Bearer $KEY"
  "$PROXY/spend/logs?start_date=...&end_date=..." | jq -c '.[]' > spend.jsonl``);
- CSV with a header, as ``\\copy "LiteLLM_SpendLogs" TO 'spend.csv' CSV HEADER``
  writes it from the proxy's Postgres database (a file ending in ``.csv``).

Columns used: ``request_id`` (dedupe), ``startTime``, ``endTime``, ``model``,
``custom_llm_provider``, ``spend`` (recorded cost), ``prompt_tokens`` (cache reads
included, as OpenAI counts them), ``completion_tokens``, ``cache_hit``,
``call_type`` (embedding and other non-chat calls are skipped), ``messages``
(the prompt), and ``metadata.additional_usage_values`` for cached tokens.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
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
    elapsed_ms,
    file_lines,
    json_line,
    prompt_usage,
)

__all__ = ["read_litellm_log"]

WHAT = "one LiteLLM spend-log row as a JSON object (request_id, model, spend, ...)"
SKIPPED_CALLS = ("embedding", "image", "transcription", "speech", "moderation", "rerank")


def read_litellm_log(
    path: Path, *, prompts: bool = True, skipped: Counter[str] | None = None
) -> Iterator[TrafficCall]:
    """The completion calls of a LiteLLM spend-log export, one row at a time.

    Rows of other call types (embeddings, images, ...) are not LLM answers: they are
    counted in ``skipped`` by call type, for the import to say so.

    Raises:
        ConfigError: a row is malformed; names the file, the line and the column.
    """
    if path.suffix.lower() == ".csv":
        rows = _csv_rows(path)
    else:
        rows = (
            (f"{path}:{n}", json_line(line, f"{path}:{n}", WHAT)) for n, line in file_lines(path)
        )
    for where, row in rows:
        if not isinstance(row, Mapping):
            raise ConfigError(f"{where}: expected {WHAT}, got {str(row)[:60]!r}.")
        call_type = str(row.get("call_type") or "")
        if any(word in call_type for word in SKIPPED_CALLS):
            if skipped is not None:
                skipped[call_type] += 1
            continue
        yield _call(row, where, prompts)


def _csv_rows(path: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            for row in reader:
                yield f"{path}:{reader.line_num}", row
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file. Give the path of a spend-log export.") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte offset {exc.start}).") from None
    except csv.Error as exc:
        raise ConfigError(f"{path}: not a readable CSV file ({exc}).") from None


def _json_field(value: Any) -> Any:
    """A JSON column: already parsed (JSON Lines) or text (CSV)."""
    if isinstance(value, str) and value.strip().startswith(("{", "[")):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _call(row: Mapping[str, Any], where: str, prompts: bool) -> TrafficCall:
    request_id = row.get("request_id")
    if not isinstance(request_id, str) or not request_id:
        raise ConfigError(
            f"{where}: request_id is required (it keeps a re-import from double counting)."
        )
    model = row.get("model")
    if not isinstance(model, str) or not model:
        raise ConfigError(
            f"{where}: model is empty; export the spend logs with their model column."
        )
    metadata = _json_field(row.get("metadata"))
    extra = metadata.get("additional_usage_values") if isinstance(metadata, Mapping) else None
    extra = extra if isinstance(extra, Mapping) else {}
    details = extra.get("prompt_tokens_details")
    cached = as_count(
        extra.get("cache_read_input_tokens")
        or (details.get("cached_tokens") if isinstance(details, Mapping) else None),
        "metadata.additional_usage_values.cache_read_input_tokens",
        where,
    )
    written = as_count(
        extra.get("cache_creation_input_tokens"),
        "metadata.additional_usage_values.cache_creation_input_tokens",
        where,
    )
    total_in = as_count(_blank_none(row.get("prompt_tokens")), "prompt_tokens", where)
    usage = prompt_usage(
        total_in,
        cached=cached,
        written=written,
        output=as_count(_blank_none(row.get("completion_tokens")), "completion_tokens", where),
    )
    start = as_time(row.get("startTime"), "startTime", where)
    end = _blank_none(row.get("endTime"))
    latency = None if end is None else elapsed_ms(start, end, "endTime", where)
    cost = as_cost(_blank_none(row.get("spend")), "spend", where)
    hit = str(row.get("cache_hit") or "").strip().lower() == "true"
    return TrafficCall(
        source_id=f"litellm:{request_id}",
        time=start,
        model=model,
        provider=str(row.get("custom_llm_provider") or ""),
        usage=usage,
        cost_usd=cost,
        cost_source=cost_origin(cost),
        latency_ms=latency,
        cache_hit=hit or cached > 0,
        prompt=chat_user_text(_json_field(row.get("messages"))) if prompts else None,
        where=where,
    )


def _blank_none(value: Any) -> Any:
    return None if value == "" else value
