"""The trace readers split a prompt total into full-rate, cache-read and cache-write tokens.

OpenAI, LiteLLM and the GenAI conventions count cache reads and writes inside the
prompt total; the harness keeps only the full-rate tokens in ``input_tokens``
(:func:`harness.importers.traffic.prompt_usage`, shared by the three readers).
Each reader is fed a real file and its calls are checked field by field.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from harness.importers.litellm_logs import read_litellm_log
from harness.importers.openai_logs import read_openai_log
from harness.importers.otlp_traces import read_otlp
from harness.types import Usage


def write_lines(path: Path, *rows: object) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_litellm_rows_keep_cache_reads_and_writes_out_of_input(tmp_path: Path) -> None:
    log = write_lines(
        tmp_path / "spend.jsonl",
        {
            "request_id": "r-1",
            "model": "claude-3-5-haiku",
            "spend": 0.0125,
            "prompt_tokens": 1000,
            "completion_tokens": 50,
            "startTime": "2026-12-01T10:00:00Z",
            "endTime": "2026-12-01T10:00:01.500000Z",
            "metadata": {
                "additional_usage_values": {
                    "cache_read_input_tokens": 600,
                    "cache_creation_input_tokens": 300,
                }
            },
        },
        # No spend, no end time, and an end before the start: unpriced, no latency / 0.
        {"request_id": "r-2", "model": "m", "prompt_tokens": 10, "startTime": 1764583200},
        {
            "request_id": "r-3",
            "model": "m",
            "startTime": "2026-12-01T10:00:05Z",
            "endTime": "2026-12-01T10:00:04Z",
        },
    )
    first, second, third = read_litellm_log(log)
    assert first.usage == Usage(
        input_tokens=100, cached_input_tokens=600, cache_write_tokens=300, output_tokens=50
    )
    assert first.latency_ms == 1500.0
    assert (first.cost_usd, first.cost_source) == (Decimal("0.0125"), "recorded")
    assert second.usage == Usage(input_tokens=10)
    assert (second.latency_ms, second.cost_usd, second.cost_source) == (None, None, "unpriced")
    assert third.latency_ms == 0.0


def test_openai_log_counts_cached_and_reasoning_tokens_apart(tmp_path: Path) -> None:
    log = write_lines(
        tmp_path / "openai.jsonl",
        {
            "request": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
            "response": {
                "id": "chatcmpl-1",
                "model": "gpt-4o",
                "created": 1764583200,
                "usage": {
                    "prompt_tokens": 120,
                    "completion_tokens": 40,
                    "prompt_tokens_details": {"cached_tokens": 64},
                    "completion_tokens_details": {"reasoning_tokens": 8},
                },
            },
            "cost_usd": 0.0007,
        },
    )
    [call] = read_openai_log(log)
    assert call.usage == Usage(
        input_tokens=56, cached_input_tokens=64, output_tokens=40, reasoning_tokens=8
    )
    assert (call.cost_usd, call.cost_source) == (Decimal("0.0007"), "recorded")


def test_otlp_span_keeps_cache_reads_and_writes_out_of_input(tmp_path: Path) -> None:
    def attr(key: str, value: int | str) -> dict[str, object]:
        kind = "intValue" if isinstance(value, int) else "stringValue"
        return {"key": key, "value": {kind: str(value) if kind == "intValue" else value}}

    span = {
        "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
        "spanId": "00f067aa0ba902b7",
        "name": "chat claude",
        "startTimeUnixNano": "1764583200000000000",
        "endTimeUnixNano": "1764583200250000000",
        "attributes": [
            attr("gen_ai.request.model", "claude-3-5-haiku"),
            attr("gen_ai.usage.input_tokens", 1000),
            attr("gen_ai.usage.output_tokens", 200),
            attr("gen_ai.usage.cache_read.input_tokens", 600),
            attr("gen_ai.usage.cache_creation.input_tokens", 300),
        ],
    }
    traces = write_lines(
        tmp_path / "traces.jsonl", {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    )
    [call] = read_otlp(traces)
    assert call.usage == Usage(
        input_tokens=100, cached_input_tokens=600, cache_write_tokens=300, output_tokens=200
    )
    assert call.latency_ms == 250.0
    assert (call.cost_usd, call.cost_source) == (None, "unpriced")
