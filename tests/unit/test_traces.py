"""Production traces in: spans from the real OpenTelemetry SDK, `harness import traces`,
and `harness monitor --json` against an independent count of the same spans (#20)."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import openai
import pytest
from google.protobuf.json_format import MessageToJson
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.trace import Tracer

from harness.cli import main
from harness.importers.otlp_traces import GENAI
from tests.fakes.llm_server import FakeLLMServer

PRICES = {  # USD per million tokens: input, cached input, output
    "gpt-4o": (Decimal("2.5"), Decimal("1.25"), Decimal("10")),
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.075"), Decimal("0.6")),
}
PYPROJECT = """\
[tool.cost-eval]
baseline = "sim:frontier"
volume = "1k/day"
"""
DAY = 1_764_547_200_000_000_000  # 2025-12-01T00:00:00Z in ns
SYSTEM = "You are the support assistant of Northwind Outfitters. " * 4


def pyproject() -> str:
    text = PYPROJECT
    for model, (price_in, cached, out) in PRICES.items():
        text += (
            f'\n[tool.cost-eval.prices."openai:{model}"]\n'
            f"input = {price_in}\ncached_input = {cached}\noutput = {out}\n"
        )
    return text


def chat(
    client: openai.OpenAI, tracer: Tracer, model: str, prompt: str, start: int, system: str
) -> None:
    """A few lines of instrumentation: one GenAI span around one chat completion."""
    messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
    span = tracer.start_span(f"chat {model}", start_time=start)
    span.set_attribute(gen_ai.GEN_AI_OPERATION_NAME, "chat")
    span.set_attribute(gen_ai.GEN_AI_PROVIDER_NAME, "openai")
    span.set_attribute(gen_ai.GEN_AI_REQUEST_MODEL, model)
    span.set_attribute(gen_ai.GEN_AI_INPUT_MESSAGES, json.dumps(messages))
    response = client.chat.completions.create(model=model, messages=messages)  # type: ignore[arg-type]
    usage = response.usage
    assert usage is not None
    details = usage.prompt_tokens_details
    span.set_attribute(gen_ai.GEN_AI_RESPONSE_MODEL, response.model)
    span.set_attribute(gen_ai.GEN_AI_USAGE_INPUT_TOKENS, usage.prompt_tokens)
    span.set_attribute(gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS, usage.completion_tokens)
    span.set_attribute(
        gen_ai.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, (details.cached_tokens or 0) if details else 0
    )
    span.end(end_time=start + 400_000_000 + 1_000_000 * len(prompt))


def independent(spans: list[ReadableSpan]) -> dict[str, Any]:
    """Cost per query, model shares and cache hit rate, computed here from the spans."""
    chats = [
        s for s in spans if s.attributes and s.attributes.get("gen_ai.operation.name") == "chat"
    ]
    total = Decimal(0)
    models: Counter[str] = Counter()
    hits = 0
    for span in chats:
        attrs = span.attributes or {}
        model = str(attrs[gen_ai.GEN_AI_RESPONSE_MODEL])
        cached = int(attrs[gen_ai.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS])  # type: ignore[arg-type]
        prompt = int(attrs[gen_ai.GEN_AI_USAGE_INPUT_TOKENS])  # type: ignore[arg-type]
        output = int(attrs[gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS])  # type: ignore[arg-type]
        price_in, price_cached, price_out = PRICES[model]
        total += ((prompt - cached) * price_in + cached * price_cached + output * price_out) / (
            Decimal(1_000_000)
        )
        models[model] += 1
        hits += cached > 0
    return {
        "queries": len(chats),
        "cost_per_query": total / len(chats),
        "shares": {m: c / len(chats) for m, c in models.items()},
        "hit_rate": hits / len(chats),
    }


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text(pyproject(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_semantic_convention_names_match_opentelemetry() -> None:
    assert GENAI["request_model"] == gen_ai.GEN_AI_REQUEST_MODEL
    assert GENAI["response_model"] == gen_ai.GEN_AI_RESPONSE_MODEL
    assert GENAI["provider"] == gen_ai.GEN_AI_PROVIDER_NAME
    assert GENAI["operation"] == gen_ai.GEN_AI_OPERATION_NAME
    assert GENAI["input_tokens"] == gen_ai.GEN_AI_USAGE_INPUT_TOKENS
    assert GENAI["output_tokens"] == gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS
    assert GENAI["cache_read"] == gen_ai.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS
    assert GENAI["cache_creation"] == gen_ai.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS
    assert GENAI["reasoning"] == gen_ai.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS
    assert GENAI["input_messages"] == gen_ai.GEN_AI_INPUT_MESSAGES


def test_otel_spans_imported_and_monitored_match_an_independent_count(
    project: Path, fake_llm: FakeLLMServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_llm.cache_min_tokens = 16  # the shared system prompt is then cached after first use
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("support-bot")
    client = openai.OpenAI(base_url=fake_llm.openai_base_url, api_key="test-key", max_retries=0)
    plan = [
        ("gpt-4o-mini", "Where is my order 1234?", SYSTEM),
        ("gpt-4o-mini", "Can I return shoes after 40 days?", SYSTEM),
        ("gpt-4o", "Compare the Trailblazer and the Summit jackets for winter hiking.", SYSTEM),
        ("gpt-4o-mini", "What are your store hours?", "Be brief."),
        ("gpt-4o", "Write a polite reply to a customer whose parcel was lost.", SYSTEM),
        ("gpt-4o-mini", "Do you ship to Canada?", SYSTEM),
    ]
    # An agent span around the calls repeats their token totals: it must not count twice.
    agent = tracer.start_span("invoke_agent support", start_time=DAY)
    agent.set_attribute(gen_ai.GEN_AI_OPERATION_NAME, "invoke_agent")
    agent.set_attribute(gen_ai.GEN_AI_REQUEST_MODEL, "gpt-4o")
    agent.set_attribute(gen_ai.GEN_AI_USAGE_INPUT_TOKENS, 10_000)
    for i, (model, prompt, system) in enumerate(plan):
        chat(client, tracer, model, prompt, DAY + (i + 1) * 60_000_000_000, system)
    agent.end(end_time=DAY + 3_600_000_000_000)
    spans = list(exporter.get_finished_spans())
    expected = independent(spans)
    assert 0 < expected["hit_rate"] < 1  # the fake server's prompt cache did serve some

    # Exported with the SDK's own OTLP encoder, one request per line (the file exporter's form).
    traces = project / "traces.jsonl"
    traces.write_text(
        MessageToJson(encode_spans(spans[:3]), indent=None)
        + "\n"
        + MessageToJson(encode_spans(spans[3:]), indent=None)
        + "\n",
        encoding="utf-8",
    )
    assert main(["import", "traces", str(traces)]) == 0
    assert main(["import", "traces", str(traces)]) == 0  # again: replaced, not added
    out = capsys.readouterr().out
    assert "0 new, 6 already stored and replaced" in out
    assert main(["monitor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    [window] = report["windows"]
    assert window["start"] == "2025-12-01"
    assert window["queries"] == expected["queries"] == 6
    assert Decimal(window["cost_per_query"]) == pytest.approx(
        expected["cost_per_query"], abs=Decimal("1e-12")
    )
    assert window["model_shares"] == pytest.approx(expected["shares"])
    assert window["cache_hit_rate"] == pytest.approx(expected["hit_rate"])
    assert window["estimated_calls"] == 6 and window["unpriced_calls"] == 0
    assert report["projection"] is None and report["drifted"] is False


def test_openai_and_litellm_logs_are_read_and_priced(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    openai_log = project / "calls.jsonl"
    rows = [
        {
            "request": {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi there"}]},
            "response": {
                "id": "chatcmpl-1",
                "model": "gpt-4o",
                "created": 1764583200,
                "usage": {
                    "prompt_tokens": 1000,
                    "completion_tokens": 100,
                    "prompt_tokens_details": {"cached_tokens": 400},
                },
            },
            "latency_ms": 900,
        },
        {
            "request": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Yo"}]},
            "response": {
                "id": "chatcmpl-2",
                "model": "gpt-4o-mini",
                "created": 1764583260,
                "usage": {"prompt_tokens": 200, "completion_tokens": 50},
            },
            "cost_usd": 0.5,
            "latency_ms": 300,
        },
    ]
    openai_log.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    litellm_log = project / "spend.csv"
    litellm_log.write_text(
        "request_id,call_type,spend,prompt_tokens,completion_tokens,startTime,endTime,model,"
        "cache_hit,messages\n"
        'r-1,acompletion,0.25,10,5,2025-12-01T12:00:00Z,2025-12-01T12:00:02Z,gpt-4o,True,"[]"\n'
        "r-2,aembedding,0.01,10,0,2025-12-01T12:00:00Z,2025-12-01T12:00:01Z,emb,False,[]\n",
        encoding="utf-8",
    )
    assert main(["import", "traces", str(openai_log), str(litellm_log)]) == 0
    out = capsys.readouterr().out
    assert "imported 3 calls" in out
    assert "skipped: 1 aembedding row(s)" in out  # the embedding row: said, not silent
    assert "2 recorded by the source, 1 estimated from prices" in out
    assert main(["monitor", "--json"]) == 0
    [window] = json.loads(capsys.readouterr().out)["windows"]
    first = (600 * Decimal("2.5") + 400 * Decimal("1.25") + 100 * Decimal(10)) / 1_000_000
    assert Decimal(window["cost_per_query"]) == (first + Decimal("0.5") + Decimal("0.25")) / 3
    assert window["cache_hit_rate"] == pytest.approx(2 / 3)  # cached tokens; LiteLLM's flag
    assert window["latency_p50_ms"] == pytest.approx(900)


@pytest.mark.parametrize(
    ("name", "fmt", "text", "message"),
    [
        (
            "calls.jsonl",
            "openai",
            '{"request": {"messages": []}, "response": {"id": "x", "model": "gpt-4o"}}\n',
            "calls.jsonl:1: response.usage is missing",
        ),
        (
            "calls.jsonl",
            "openai",
            '{"request": {}, "response": {"model": "m", "usage": {}}}\n[1, 2]\n',
            "calls.jsonl:1: no time: add 'time' (ISO 8601) or response.created.",
        ),
        (
            "spend.jsonl",
            "litellm",
            '{"model": "gpt-4o", "spend": 0.1, "startTime": "2025-12-01T00:00:00Z"}\n',
            "spend.jsonl:1: request_id is required",
        ),
        (
            "spend.jsonl",
            "litellm",
            '{"request_id": "r", "model": "gpt-4o", "startTime": "yesterday"}\n',
            "spend.jsonl:1: startTime must be a time",
        ),
    ],
)
def test_a_bad_log_line_names_the_file_line_and_key(
    project: Path, capsys: pytest.CaptureFixture[str], name: str, fmt: str, text: str, message: str
) -> None:
    (project / name).write_text(text, encoding="utf-8")
    assert main(["import", "traces", name, "--format", fmt]) == 2
    err = capsys.readouterr().err
    assert message in err and "Nothing was stored" in err
    assert "Traceback" not in err


def test_an_id_twice_in_a_file_is_one_call_the_last_copy(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        {
            "request": {"messages": [{"role": "user", "content": "Hi"}]},
            "response": {"id": "same", "model": "gpt-4o", "created": 1764583200, "usage": {}},
            "cost_usd": cost,
        }
        for cost in ("0.5", "0.25")
    ]
    (project / "calls.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert main(["import", "traces", "calls.jsonl"]) == 0
    assert "imported 1 calls" in capsys.readouterr().out
    assert main(["monitor", "--json"]) == 0
    [window] = json.loads(capsys.readouterr().out)["windows"]
    assert (window["queries"], Decimal(window["cost_usd"])) == (1, Decimal("0.25"))


def test_a_file_with_a_bad_line_stores_none_of_its_calls(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = {
        "request": {"messages": [{"role": "user", "content": "Hi"}]},
        "response": {"id": "a", "model": "gpt-4o", "created": 1764583200, "usage": {}},
    }
    bad = {**good, "response": {"id": "b", "model": "gpt-4o", "created": 1764583200}}
    (project / "calls.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    assert main(["import", "traces", "calls.jsonl"]) == 2
    assert "calls.jsonl:2: response.usage is missing" in capsys.readouterr().err
    assert main(["monitor"]) == 2
    assert "no imported traffic" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "00f067aa0ba902b7", '
            '"name": "chat", "attributes": [{"key": "gen_ai.request.model", '
            '"value": {"stringValue": "gpt-4o"}}]}]}]}]}\n',
            "traces.jsonl:1, span 00f067aa0ba902b7 (chat): traceId and spanId are required",
        ),
        ('{"resourceSpans": []}\n{"resourceSpans": [\n', "traces.jsonl:2: not valid JSON"),
        (
            '{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": '
            '"4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "00f067aa0ba902b7", "name": "chat", '
            '"startTimeUnixNano": "1764583200000000000", "attributes": [{"key": '
            '"gen_ai.request.model", "value": {"stringValue": "gpt-4o"}}, {"key": '
            '"gen_ai.usage.input_tokens", "value": {"stringValue": "many"}}]}]}]}]}\n',
            "traces.jsonl:1, span 00f067aa0ba902b7 (chat): input tokens must be a whole number",
        ),
    ],
)
def test_a_bad_trace_file_names_the_line_and_span(
    project: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    (project / "traces.jsonl").write_text(text, encoding="utf-8")
    assert main(["import", "traces", "traces.jsonl", "--format", "otlp"]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_otlp_json_with_hex_ids_older_names_and_prompt_events(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A collector's own OTLP/JSON spelling (hex ids), pre-1.36 attribute names, prompt event."""

    def attr(key: str, value: object) -> dict[str, object]:
        kind = "intValue" if isinstance(value, int) else "stringValue"
        return {"key": key, "value": {kind: str(value) if kind == "intValue" else value}}

    span = {
        "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
        "spanId": "00f067aa0ba902b7",
        "name": "chat gpt-4o-mini",
        "startTimeUnixNano": "1764583200000000000",
        "endTimeUnixNano": "1764583200250000000",
        "attributes": [
            attr("gen_ai.system", "openai"),
            attr("gen_ai.request.model", "gpt-4o-mini"),
            attr("gen_ai.usage.prompt_tokens", 1000),
            attr("gen_ai.usage.completion_tokens", 200),
            attr("gen_ai.usage.cache_read_input_tokens", 600),
        ],
        "events": [
            {"name": "gen_ai.user.message", "attributes": [attr("content", "Where is my parcel?")]}
        ],
    }
    document = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    # Pretty-printed: one document over many lines, not JSON Lines.
    (project / "export.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    assert main(["import", "traces", "export.json"]) == 0
    capsys.readouterr()
    assert main(["monitor", "--json"]) == 0
    [window] = json.loads(capsys.readouterr().out)["windows"]
    price_in, price_cached, price_out = PRICES["gpt-4o-mini"]
    expected = (400 * price_in + 600 * price_cached + 200 * price_out) / 1_000_000
    assert Decimal(window["cost_per_query"]) == expected
    assert window["latency_p50_ms"] == pytest.approx(250)
    assert window["cache_hit_rate"] == 1.0
    assert main(["sample", "--n", "1", "--out", "suites/prod.yaml"]) == 0
    assert "Where is my parcel?" in (project / "suites" / "prod.yaml").read_text()
