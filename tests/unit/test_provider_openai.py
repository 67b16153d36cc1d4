"""The openai: provider, through the real SDK over HTTP to the fake server."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from harness.errors import ConfigError, MissingDependency, ProviderError
from harness.providers import make_provider
from harness.providers.limits import RateLimiter
from harness.providers.openai import OpenAIProvider, answer_from_completion
from harness.providers.remote import CallFailed
from harness.providers.sim import answer
from harness.types import Message, Request, Response
from tests.fakes import EMPTY_CHOICES, MALFORMED_JSON, PLANTED_KEY, FakeLLMServer, Reply
from tests.fakes.clock import FakeClock

pytest_plugins = ["tests.fakes.fixtures"]

T = TypeVar("T")

QUESTION = "Compute (8 + 1) * 3 - 4."


def ask(text: str = QUESTION, *, model: str = "openai:gpt-4o", **params: Any) -> Request:
    return Request(
        model=model,
        messages=(
            Message(role="system", content="You are a careful assistant."),
            Message(role="user", content=text),
        ),
        params=tuple(sorted(params.items())),
        case_id="c-1",
    )


def provider(fake: FakeLLMServer, **options: Any) -> OpenAIProvider:
    options.setdefault("max_retries", 2)
    return OpenAIProvider(base_url=fake.openai_base_url, api_key=PLANTED_KEY, **options)


def run(p: OpenAIProvider, use: Callable[[OpenAIProvider], Awaitable[T]]) -> T:
    async def go() -> T:
        try:
            return await use(p)
        finally:
            await p.aclose()

    return asyncio.run(go())


def complete(p: OpenAIProvider, *requests: Request) -> list[Response]:
    async def use(p: OpenAIProvider) -> list[Response]:
        return list(await asyncio.gather(*(p.complete(r) for r in requests)))

    return run(p, use)


def test_answers_like_the_simulated_model(fake_llm: FakeLLMServer) -> None:
    request = ask()
    [response] = complete(provider(fake_llm), request)
    assert response.error is None
    assert response.text == answer("sim:frontier", request.messages)
    assert response.model == "openai:gpt-4o"
    assert response.latency_ms > 0
    assert not response.batch
    usage = response.usage
    assert usage.input_tokens == sum(math.ceil(len(m.content) / 4) + 4 for m in request.messages)
    assert usage.cached_input_tokens == 0
    assert usage.output_tokens > 0
    assert usage.reasoning_tokens == 0
    body = fake_llm.stats.bodies["chat.completions"][0]
    assert body["model"] == "gpt-4o"
    assert body["messages"] == [
        {"role": "system", "content": "You are a careful assistant."},
        {"role": "user", "content": QUESTION},
    ]


def test_sends_what_chat_completions_create_sends(fake_llm: FakeLLMServer) -> None:
    """The provider posts its own body (skipping create()'s typed transform, see
    ``OpenAIProvider._call``): the server must see the same request as from
    ``chat.completions.create``, body and headers alike."""
    from openai import AsyncOpenAI

    request = ask(temperature=0.2, max_tokens=64, seed=7)
    [response] = complete(provider(fake_llm), request)
    assert response.error is None

    async def through_create() -> None:
        client = AsyncOpenAI(base_url=fake_llm.openai_base_url, api_key=PLANTED_KEY)
        try:
            await client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": "You are a careful assistant."},
                    {"role": "user", "content": QUESTION},
                ],
                temperature=0.2,
                max_completion_tokens=64,
                seed=7,
            )
        finally:
            await client.close()

    asyncio.run(through_create())
    ours, sdks = fake_llm.stats.bodies["chat.completions"]
    assert ours == sdks
    ignored = {"x-stainless-read-timeout", "x-stainless-timeout"}  # set per client timeout
    ours_headers, sdk_headers = (
        {k.lower() for k in h} - ignored for h in fake_llm.stats.headers[-2:]
    )
    assert ours_headers == sdk_headers


def test_reads_the_answer_from_json_as_from_the_sdk_model() -> None:
    from openai.types.chat import ChatCompletion

    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "ANSWER: 23", "refusal": None},
            }
        ],
        "usage": {
            "prompt_tokens": 1000,
            "completion_tokens": 300,
            "total_tokens": 1300,
            "prompt_tokens_details": {"cached_tokens": 600},
            "completion_tokens_details": {"reasoning_tokens": 250},
        },
    }
    from_json = answer_from_completion(body)
    assert from_json == answer_from_completion(ChatCompletion.model_validate(body))
    assert from_json.text == "ANSWER: 23"
    assert (from_json.usage.input_tokens, from_json.usage.cached_input_tokens) == (400, 600)
    assert from_json.usage.reasoning_tokens == 250


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ({"choices": "many"}, "InvalidResponse"),
        ({"choices": ["text"]}, "InvalidResponse"),
        ({"choices": [{"message": "text"}]}, "InvalidResponse"),
        ({"choices": [{"message": {"content": 7}}]}, "InvalidResponse"),
        ({"choices": [{"message": {}}]}, "EmptyResponse"),
        ({}, "EmptyResponse"),
    ],
)
def test_a_body_of_another_shape_is_a_failed_call(body: dict[str, Any], kind: str) -> None:
    with pytest.raises(CallFailed) as failed:
        answer_from_completion(body)
    assert failed.value.kind == kind


def test_small_model_names_get_the_small_simulation(fake_llm: FakeLLMServer) -> None:
    request = ask(model="openai:gpt-4o-mini")
    [response] = complete(provider(fake_llm), request)
    assert response.text == answer("sim:small", request.messages)


def test_usage_excludes_cached_tokens(fake_llm: FakeLLMServer) -> None:
    fake_llm.cache_min_tokens = 50
    long_system = "Policy. " * 200
    first = Request(
        model="openai:gpt-4o",
        messages=(
            Message(role="system", content=long_system),
            Message(role="user", content="Compute 2 + 2."),
        ),
    )
    second = first.with_messages(
        (first.messages[0], Message(role="user", content="Compute 3 + 3."))
    )
    p = provider(fake_llm)

    async def use(p: OpenAIProvider) -> list[Response]:
        return [await p.complete(first), await p.complete(second)]

    cold, warm = run(p, use)
    usage = fake_llm.stats.bodies  # the server saw both prompts
    assert len(usage["chat.completions"]) == 2
    system_tokens = -(-len(long_system) // 4) + 4
    assert cold.usage.cached_input_tokens == 0
    assert warm.usage.cached_input_tokens == system_tokens
    # input_tokens excludes the cached part; the total prompt is unchanged.
    assert warm.usage.input_tokens == cold.usage.input_tokens - system_tokens
    assert warm.usage.total_input_tokens == cold.usage.total_input_tokens


def test_reasoning_tokens_are_part_of_output(fake_llm: FakeLLMServer) -> None:
    [response] = complete(provider(fake_llm), ask(model="openai:o3-mini"))
    usage = response.usage
    assert usage.reasoning_tokens > 0
    visible = -(-len(response.text) // 4) + 1
    assert usage.reasoning_tokens == 3 * visible
    assert usage.output_tokens == visible + usage.reasoning_tokens


def test_usage_mapping_from_scripted_usage(fake_llm: FakeLLMServer) -> None:
    fake_llm.script(
        "chat.completions",
        Reply(
            patch={
                "usage": {
                    "prompt_tokens": 1000,
                    "completion_tokens": 300,
                    "prompt_tokens_details": {"cached_tokens": 600, "cache_write_tokens": 100},
                    "completion_tokens_details": {"reasoning_tokens": 250},
                }
            }
        ),
    )
    [response] = complete(provider(fake_llm), ask())
    usage = response.usage
    assert usage.input_tokens == 300
    assert usage.cached_input_tokens == 600
    assert usage.cache_write_tokens == 100
    assert usage.output_tokens == 300
    assert usage.reasoning_tokens == 250
    assert usage.total_input_tokens == 1000


def test_params_pass_through(fake_llm: FakeLLMServer) -> None:
    request = ask(temperature=0.2, top_p=0.9, seed=7, max_tokens=500, reasoning_effort="low")
    [response] = complete(provider(fake_llm), request)
    assert response.error is None
    body = fake_llm.stats.bodies["chat.completions"][0]
    assert body["temperature"] == 0.2
    assert body["top_p"] == 0.9
    assert body["seed"] == 7
    assert body["max_completion_tokens"] == 500
    assert "max_tokens" not in body
    assert body["reasoning_effort"] == "low"


def test_length_finish_of_an_answer_is_an_error_row(fake_llm: FakeLLMServer) -> None:
    request = ask(max_tokens=3)
    [response] = complete(provider(fake_llm), request)
    assert response.text == ""
    assert response.error is not None
    assert response.error.startswith("Truncated: the answer was cut off at the max_tokens limit")
    assert response.error.endswith("(after 1 attempt)")
    assert response.usage.output_tokens == 3  # paid for: the error row keeps the cost
    fake_llm.script("chat.completions", Reply(finish_reason="length"))
    [scripted] = complete(provider(fake_llm), ask())
    assert scripted.error is not None
    assert "finish_reason=length" in scripted.error


def test_length_finish_of_a_helper_call_keeps_the_text(fake_llm: FakeLLMServer) -> None:
    request = dataclasses.replace(ask(max_tokens=3), purpose="summarize")
    [response] = complete(provider(fake_llm), request)
    assert response.error is None
    assert response.usage.output_tokens == 3
    assert answer("sim:frontier", request.messages).startswith(response.text)


def test_429_with_retry_after_then_success(fake_llm: FakeLLMServer) -> None:
    fake_llm.script("chat.completions", Reply(429, retry_after=0))
    request = ask()
    [response] = complete(provider(fake_llm), request)
    assert response.error is None
    assert response.text == answer("sim:frontier", request.messages)
    assert fake_llm.stats["chat.completions"] == 2
    assert fake_llm.stats.total == 2


def test_5xx_retried_until_attempts_run_out(fake_llm: FakeLLMServer) -> None:
    fake_llm.script("chat.completions", *[Reply(500, retry_after_ms=1)] * 3)
    [response] = complete(provider(fake_llm, max_retries=2), ask())
    assert response.text == ""
    assert response.error is not None
    assert response.error.startswith("InternalServerError (HTTP 500): ")
    assert response.error.endswith("(after 3 attempts)")
    assert fake_llm.stats["chat.completions"] == 3


def test_400_is_not_retried(fake_llm: FakeLLMServer) -> None:
    fake_llm.script("chat.completions", Reply(400, message="Invalid value for 'top_p'."))
    [response] = complete(provider(fake_llm), ask())
    assert (
        response.error == "BadRequestError (HTTP 400): Invalid value for 'top_p'. (after 1 attempt)"
    )
    assert fake_llm.stats["chat.completions"] == 1


def test_timeout_is_an_error_response(fake_llm: FakeLLMServer) -> None:
    fake_llm.script("chat.completions", Reply(delay_ms=2000))
    [response] = complete(provider(fake_llm, timeout=0.2, max_retries=0), ask())
    # The read timeout or the whole call's deadline (same 0.2 s): whichever fires first.
    assert response.error is not None
    assert response.error.startswith("APITimeoutError: Request timed out. ")
    assert response.error.endswith("(after 1 attempt)")
    assert 150 < response.latency_ms < 1500


def test_connection_refused_is_an_error_response() -> None:
    p = OpenAIProvider(base_url="http://127.0.0.1:9/v1", api_key=PLANTED_KEY, max_retries=0)
    [response] = complete(p, ask())
    assert response.error is not None
    assert response.error.startswith("APIConnectionError: ")
    assert PLANTED_KEY not in response.error


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (MALFORMED_JSON, "InvalidResponse: "),
        (EMPTY_CHOICES, "EmptyResponse: the provider returned no choices (after 1 attempt)"),
        (
            Reply(finish_reason="content_filter"),
            "ContentFilter: the provider withheld the answer (finish_reason=content_filter)",
        ),
        (
            Reply(
                patch={
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {
                                "role": "assistant",
                                "content": None,
                                "refusal": "I can't help with that.",
                            },
                        }
                    ]
                }
            ),
            "Refusal: the model refused: I can't help with that.",
        ),
    ],
)
def test_unusable_answers_are_error_responses(
    fake_llm: FakeLLMServer, reply: Reply, expected: str
) -> None:
    fake_llm.script("chat.completions", reply)
    [response] = complete(provider(fake_llm), ask())
    assert response.text == ""
    assert response.error is not None
    assert response.error.startswith(expected)


def test_concurrency_limit_is_respected(fake_llm: FakeLLMServer) -> None:
    fake_llm.latency_ms = 40
    requests = [ask(f"Compute {i} + 1.") for i in range(12)]
    responses = complete(provider(fake_llm, max_concurrency=3), *requests)
    assert all(r.error is None for r in responses)
    assert fake_llm.stats["chat.completions"] == 12
    assert fake_llm.stats.max_in_flight == 3


def test_requests_per_minute_limit_waits(fake_llm: FakeLLMServer) -> None:
    p = provider(fake_llm)
    clock = FakeClock()
    p.limiter = RateLimiter(requests_per_minute=60, clock=clock, sleep=clock.sleep)
    responses = complete(p, *(ask(f"Compute {i} * 2.") for i in range(3)))
    assert all(r.error is None for r in responses)
    assert clock.elapsed == pytest.approx(2.0)


def test_tokens_per_minute_settles_to_actual_usage(fake_llm: FakeLLMServer) -> None:
    p = provider(fake_llm)
    clock = FakeClock()
    p.limiter = RateLimiter(tokens_per_minute=600_000, clock=clock, sleep=clock.sleep)
    [response] = complete(p, ask(max_tokens=200))
    assert p.limiter.tokens is not None
    used = response.usage.total_input_tokens + response.usage.output_tokens
    assert p.limiter.tokens.available == pytest.approx(10_000 - used)


PLANTED_BODIES = [
    Reply(401, message=f"Incorrect API key provided: {PLANTED_KEY}. Find yours at ..."),
    Reply(500, body=f"<html>upstream said Authorization: Bearer {PLANTED_KEY}</html>"),
    Reply(403, body={"error": {"message": f"key {PLANTED_KEY} is disabled"}}),
    Reply(200, body=f'{{"broken": "{PLANTED_KEY}'),
]


@pytest.mark.parametrize("reply", PLANTED_BODIES)
def test_api_key_never_appears_in_errors(fake_llm: FakeLLMServer, reply: Reply) -> None:
    fake_llm.script("chat.completions", reply)
    p = provider(fake_llm, max_retries=0)
    [response] = complete(p, ask())
    assert response.error is not None
    assert PLANTED_KEY not in response.error
    assert "sk-test" not in response.error
    assert PLANTED_KEY not in repr(p)
    # The key really was sent: the redaction, not luck, kept it out.
    assert fake_llm.stats.authorization == [f"Bearer {PLANTED_KEY}"]


def test_missing_key_is_a_setup_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ProviderError, match="OPENAI_API_KEY") as info:
        OpenAIProvider()
    assert "sim:" in str(info.value)


def test_base_url_without_key_is_allowed(
    fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    [response] = complete(OpenAIProvider(base_url=fake_llm.openai_base_url), ask())
    assert response.error is None


def test_environment_variables_are_honoured(fake_llm_env: FakeLLMServer) -> None:
    [response] = complete(OpenAIProvider(), ask())
    assert response.error is None
    assert fake_llm_env.stats.authorization == [f"Bearer {PLANTED_KEY}"]


def test_missing_sdk_is_a_missing_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)
    with pytest.raises(MissingDependency, match="pip install openai"):
        OpenAIProvider(api_key=PLANTED_KEY)


def test_make_provider_passes_options(fake_llm: FakeLLMServer) -> None:
    p = make_provider(
        "openai",
        lookup=lambda _h: None,
        options={"base_url": fake_llm.openai_base_url, "api_key": PLANTED_KEY, "timeout": 5},
    )
    assert isinstance(p, OpenAIProvider)
    assert p.timeout == 5
    [response] = complete(p, ask())
    assert response.error is None
    with pytest.raises(ConfigError, match="unknown option"):
        make_provider("openai", lookup=lambda _h: None, options={"base_ur": "x"})


def test_provider_survives_a_new_event_loop(fake_llm: FakeLLMServer) -> None:
    p = provider(fake_llm)
    first = asyncio.run(p.complete(ask()))
    # A second asyncio.run: the client of the finished loop is replaced, not reused.
    second = run(p, lambda p: p.complete(ask("Compute 1 + 1.")))
    assert first.error is None
    assert second.error is None


@pytest.mark.parametrize(
    "text",
    [
        f"Incorrect API key provided: {PLANTED_KEY}.",
        "Authorization: Bearer abcdefghijklmnop",
        "headers={'x-api-key': 'sk-ant-api03-secretsecret'}",
        'api_key="AZUREKEY123456789"',
        "sk-proj-AbC_123-xyz and sk-svcacct-ZZZZZZZZ",
    ],
)
def test_redact_removes_keys(text: str) -> None:
    from harness.providers.redact import REDACTED, redact

    cleaned = redact(text, secrets=(PLANTED_KEY,))
    assert REDACTED in cleaned
    for secret in (PLANTED_KEY, "abcdefghijklmnop", "secretsecret", "AZUREKEY", "AbC_123", "ZZZZ"):
        assert secret not in cleaned


def test_redact_keeps_ordinary_text_and_clips_long_errors() -> None:
    from harness.providers.redact import safe_error

    assert safe_error("max_tokens is too large: 99999 > 4096") == (
        "max_tokens is too large: 99999 > 4096"
    )
    long = safe_error("x" * 5000)
    assert len(long) == 1000
    assert long.endswith("[truncated]")


def test_is_remote() -> None:
    from harness.providers import is_remote

    assert not is_remote("sim")
    assert not is_remote("replay")
    assert is_remote("openai")
    assert is_remote("anthropic")
