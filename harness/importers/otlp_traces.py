"""OTLP JSON traces (OpenTelemetry GenAI semantic conventions) -> :class:`TrafficCall`.

Reads what an OpenTelemetry Collector's ``file`` exporter writes: one
``ExportTraceServiceRequest`` as JSON per line (``resourceSpans`` ->
``scopeSpans`` -> ``spans``), or a single such document (pretty-printed,
as ``otlp-json`` dumps often are). Both the OTLP/JSON spelling of ids (hex) and
protobuf's JSON mapping (base64, as ``google.protobuf.json_format`` writes it)
are accepted.

A span is one LLM call when it names a model (``gen_ai.request.model`` or
``gen_ai.response.model``) and its ``gen_ai.operation.name`` is an inference
(``chat``, ``text_completion``, ``generate_content``) or absent: agent and tool
spans, which may repeat their children's token totals, are skipped so nothing is
counted twice. The attribute names are those of the GenAI semantic conventions
(``opentelemetry.semconv._incubating.attributes.gen_ai_attributes``, checked by
the tests), with the older names they replaced still read.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping, Sequence
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
    message_text,
    prompt_usage,
)

__all__ = [
    "CACHE_MARKERS",
    "GENAI",
    "INFERENCE_OPERATIONS",
    "read_otlp",
]

GENAI = {
    "request_model": "gen_ai.request.model",
    "response_model": "gen_ai.response.model",
    "provider": "gen_ai.provider.name",
    "system": "gen_ai.system",
    "operation": "gen_ai.operation.name",
    "input_tokens": "gen_ai.usage.input_tokens",
    "prompt_tokens": "gen_ai.usage.prompt_tokens",
    "output_tokens": "gen_ai.usage.output_tokens",
    "completion_tokens": "gen_ai.usage.completion_tokens",
    "cache_read": "gen_ai.usage.cache_read.input_tokens",
    "cache_creation": "gen_ai.usage.cache_creation.input_tokens",
    "reasoning": "gen_ai.usage.reasoning.output_tokens",
    "input_messages": "gen_ai.input.messages",
    "prompt": "gen_ai.prompt",
}
"""GenAI semantic-convention attribute names (the current ones and those they replaced)."""
OLD_CACHE_READ = ("gen_ai.usage.cache_read_input_tokens", "gen_ai.usage.input_tokens.cached")
OLD_CACHE_WRITE = ("gen_ai.usage.cache_creation_input_tokens",)
COST_ATTRIBUTES = ("gen_ai.usage.cost", "llm.usage.cost", "gen_ai.cost")
"""Attributes some instrumentations write with the billed cost in USD."""
INFERENCE_OPERATIONS = frozenset({"chat", "text_completion", "generate_content"})
CACHE_MARKERS = ("gen_ai.cache.hit", "cache_hit", "llm.cache.hit")
"""Boolean attributes read as "served from the application's cache"."""
PROMPT_EVENTS = ("gen_ai.user.message", "gen_ai.content.prompt")
DETAILS_EVENT = "gen_ai.client.inference.operation.details"
HEX_ID = re.compile(r"[0-9a-fA-F]{16}|[0-9a-fA-F]{32}")
"""A span id (8 bytes) or trace id (16 bytes) as OTLP/JSON writes it."""
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024
"""Largest single-document (not JSON Lines) file read whole."""

WHAT = (
    'one OTLP JSON export request ({"resourceSpans": [...]}), as a collector\'s file '
    "exporter writes"
)


def read_otlp(
    path: Path, *, cache_markers: Sequence[str] = CACHE_MARKERS, prompts: bool = True
) -> Iterator[TrafficCall]:
    """The LLM calls of an OTLP JSON file, one span at a time.

    Raises:
        ConfigError: a line or span is malformed; names the file, line and span.
    """
    lines = file_lines(path)
    first = next(lines, None)
    if first is None:
        return
    number, line = first
    try:
        document = json.loads(line)
    except json.JSONDecodeError:
        yield from _whole_document(path, cache_markers, prompts)
        return
    yield from _request_calls(document, f"{path}:{number}", cache_markers, prompts)
    for number, line in lines:
        where = f"{path}:{number}"
        yield from _request_calls(json_line(line, where, WHAT), where, cache_markers, prompts)


def _whole_document(path: Path, markers: Sequence[str], prompts: bool) -> Iterator[TrafficCall]:
    """A file holding one pretty-printed document (not JSON Lines)."""
    if path.stat().st_size > MAX_DOCUMENT_BYTES:
        raise ConfigError(
            f"{path}: not JSON Lines, and too large ({path.stat().st_size:,} bytes) to read "
            "as one document. Export with the collector's file exporter, which writes one "
            "request per line."
        )
    text = path.read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}:{exc.lineno}: not valid JSON ({exc.msg}). The file must hold {WHAT} "
            "on each line, or one such document."
        ) from None
    yield from _request_calls(document, str(path), markers, prompts)


def _request_calls(
    document: Any, where: str, markers: Sequence[str], prompts: bool
) -> Iterator[TrafficCall]:
    if not isinstance(document, Mapping) or not isinstance(document.get("resourceSpans"), list):
        raise ConfigError(f"{where}: expected {WHAT}; got {str(document)[:80]!r}.")
    for resource in document.get("resourceSpans") or []:
        resource_attrs = (
            _attributes((resource.get("resource") or {}).get("attributes"), where)
            if isinstance(resource, Mapping)
            else {}
        )
        scopes = resource.get("scopeSpans") if isinstance(resource, Mapping) else None
        # Older exporters wrote instrumentationLibrarySpans.
        if scopes is None and isinstance(resource, Mapping):
            scopes = resource.get("instrumentationLibrarySpans")
        for scope in scopes or []:
            for span in (scope.get("spans") if isinstance(scope, Mapping) else None) or []:
                call = _span_call(span, where, resource_attrs, markers, prompts)
                if call is not None:
                    yield call


def _span_call(
    span: Any,
    where: str,
    resource_attrs: Mapping[str, Any],
    markers: Sequence[str],
    prompts: bool,
) -> TrafficCall | None:
    if not isinstance(span, Mapping):
        raise ConfigError(f"{where}: a span must be a JSON object, got {str(span)[:60]!r}.")
    span_id = _hex_id(span.get("spanId"))
    where = f"{where}, span {span_id or '?'} ({span.get('name', '')!s})"
    attrs = _attributes(span.get("attributes"), where)
    model = attrs.get(GENAI["response_model"]) or attrs.get(GENAI["request_model"])
    operation = attrs.get(GENAI["operation"])
    if not model or (operation is not None and operation not in INFERENCE_OPERATIONS):
        return None
    trace_id = _hex_id(span.get("traceId"))
    if not trace_id or not span_id:
        raise ConfigError(
            f"{where}: traceId and spanId are required (they keep a re-import from counting "
            "the span twice). Export spans with their ids."
        )
    start = as_time(span.get("startTimeUnixNano"), "startTimeUnixNano", where)
    end = span.get("endTimeUnixNano")
    latency = None
    if end not in (None, "", "0", 0):
        latency = elapsed_ms(start, end, "endTimeUnixNano", where)
    total_in = as_count(
        attrs.get(GENAI["input_tokens"], attrs.get(GENAI["prompt_tokens"])), "input tokens", where
    )
    read = as_count(_first(attrs, GENAI["cache_read"], *OLD_CACHE_READ), "cache-read tokens", where)
    write = as_count(
        _first(attrs, GENAI["cache_creation"], *OLD_CACHE_WRITE), "cache-write tokens", where
    )
    output = as_count(
        attrs.get(GENAI["output_tokens"], attrs.get(GENAI["completion_tokens"])),
        "output tokens",
        where,
    )
    # The conventions count cache reads and writes inside gen_ai.usage.input_tokens;
    # the harness keeps only the full-rate tokens in input_tokens.
    usage = prompt_usage(
        total_in,
        cached=read,
        written=write,
        output=output,
        reasoning=as_count(attrs.get(GENAI["reasoning"]), "reasoning tokens", where),
    )
    marker = next((attrs[key] for key in markers if key in attrs), None)
    provider = (
        attrs.get(GENAI["provider"])
        or attrs.get(GENAI["system"])
        or resource_attrs.get(GENAI["provider"])
        or ""
    )
    cost = as_cost(_first(attrs, *COST_ATTRIBUTES), "cost", where)
    return TrafficCall(
        source_id=f"otlp:{trace_id}/{span_id}",
        time=start,
        model=str(model),
        provider=str(provider),
        usage=usage,
        cost_usd=cost,
        cost_source=cost_origin(cost),
        latency_ms=latency,
        cache_hit=_truthy(marker) or read > 0,
        prompt=_prompt(attrs, span.get("events"), where) if prompts else None,
        where=where,
    )


def _first(attrs: Mapping[str, Any], *keys: str) -> Any:
    return next((attrs[key] for key in keys if key in attrs), None)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "hit")
    return bool(value)


def _hex_id(value: Any) -> str:
    """A trace or span id as hex: OTLP/JSON writes hex, protobuf's JSON mapping base64."""
    if not isinstance(value, str) or not value:
        return ""
    if HEX_ID.fullmatch(value):
        return value.lower()
    try:
        return base64.b64decode(value, validate=True).hex()
    except (binascii.Error, ValueError):
        return value


def _attributes(raw: Any, where: str) -> dict[str, Any]:
    """OTLP's ``[{"key": k, "value": {"stringValue": v}}]`` as a plain dict."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise ConfigError(
            f'{where}: attributes must be a list of {{"key", "value"}} objects, got '
            f"{str(raw)[:60]!r}."
        )
    out: dict[str, Any] = {}
    for item in raw:
        if isinstance(item, Mapping) and isinstance(item.get("key"), str):
            out[item["key"]] = _any_value(item.get("value"))
    return out


def _any_value(value: Any) -> Any:
    """The Python value of an OTLP ``AnyValue``."""
    if not isinstance(value, Mapping):
        return value
    for key in ("stringValue", "boolValue", "intValue", "doubleValue"):
        if key in value:
            return value[key]
    if "arrayValue" in value:
        return [_any_value(v) for v in (value["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in value:
        return {
            kv.get("key"): _any_value(kv.get("value"))
            for kv in (value["kvlistValue"] or {}).get("values", [])
            if isinstance(kv, Mapping)
        }
    return None


def _prompt(attrs: Mapping[str, Any], events: Any, where: str) -> str | None:
    """The last user message, wherever this instrumentation put it."""
    found = _messages_text(attrs.get(GENAI["input_messages"]))
    if found is None and GENAI["prompt"] in attrs:
        found = _messages_text(attrs[GENAI["prompt"]])
    if found is None:
        # OpenLLMetry: gen_ai.prompt.<i>.role / gen_ai.prompt.<i>.content.
        indexed = sorted(
            (int(key.split(".")[2]), key)
            for key in attrs
            if key.startswith("gen_ai.prompt.")
            and key.endswith(".role")
            and key.split(".")[2].isdigit()
        )
        for _, key in reversed(indexed):
            if attrs[key] == "user":
                content = attrs.get(key[: -len("role")] + "content")
                found = content if isinstance(content, str) else None
                break
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, Mapping):
            continue
        name = event.get("name")
        if name in PROMPT_EVENTS or name == DETAILS_EVENT:
            event_attrs = _attributes(event.get("attributes"), where)
            text = (
                _messages_text(event_attrs.get(GENAI["input_messages"]))
                or _messages_text(event_attrs.get(GENAI["prompt"]))
                or message_text(event_attrs.get("content"))
                or _body_text(event.get("body"))
            )
            if text:
                found = text
    return found or None


def _messages_text(value: Any) -> str | None:
    """A prompt attribute: plain text, or chat messages as JSON (with ``parts`` or ``content``)."""
    if value is None:
        return None
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped.startswith(("[", "{")):
            return value or None
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError:
            return stripped
    if isinstance(value, Mapping):
        value = [value]
    return chat_user_text(
        [
            {**m, "content": m.get("content", m.get("parts"))} if isinstance(m, Mapping) else m
            for m in value
        ]
        if isinstance(value, list)
        else None
    )


def _body_text(body: Any) -> str | None:
    value = _any_value(body)
    if isinstance(value, Mapping):
        return message_text(value.get("content")) or None
    return str(value) if isinstance(value, str) and value else None
