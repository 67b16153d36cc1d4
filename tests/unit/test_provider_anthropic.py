"""The anthropic: provider, through the real SDK over HTTP to the fake server."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import sys
from typing import Any

import pytest

from harness.errors import ConfigError, MissingDependency, ProviderError
from harness.providers import make_provider
from harness.providers.anthropic import DEFAULT_MAX_TOKENS, AnthropicProvider, split_system
from harness.providers.sim import answer
from harness.types import Message, Request, Response
from tests.fakes import MALFORMED_JSON, PLANTED_KEY, FakeLLMServer, Reply

pytest_plugins = ["tests.fakes.fixtures"]

QUESTION = "Compute (5 + 9) * (3 - 1) + 7."
SYSTEM = "You are a careful assistant."


def ask(
    text: str = QUESTION, *, model: str = "anthropic:claude-sonnet-4-5", **params: Any
) -> Request:
    return Request(
        model=model,
        messages=(Message(role="system", content=SYSTEM), Message(role="user", content=text)),
        params=tuple(sorted(params.items())),
        case_id="c-1",
    )


def provider(fake: FakeLLMServer, **options: Any) -> AnthropicProvider:
    return AnthropicProvider(base_url=fake.anthropic_base_url, api_key=PLANTED_KEY, **options)


def complete(p: AnthropicProvider, *requests: Request) -> list[Response]:
    async def go() -> list[Response]:
        try:
            return list(await asyncio.gather(*(p.complete(r) for r in requests)))
        finally:
            await p.aclose()

    return asyncio.run(go())


def tokens(text: str) -> int:
    return math.ceil(len(text) / 4) + 4


def test_answers_with_system_prompt_in_system_param(fake_llm: FakeLLMServer) -> None:
    request = ask()
    [response] = complete(provider(fake_llm), request)
    assert response.error is None
    assert response.text == answer("sim:frontier", request.messages)
    assert response.model == "anthropic:claude-sonnet-4-5"
    assert response.usage.input_tokens == tokens(SYSTEM) + tokens(QUESTION)
    assert response.usage.output_tokens == math.ceil(len(response.text) / 4) + 1
    body = fake_llm.stats.bodies["messages"][0]
    assert body["model"] == "claude-sonnet-4-5"
    assert body["system"] == [{"type": "text", "text": SYSTEM}]
    assert body["messages"] == [{"role": "user", "content": QUESTION}]
    assert body["max_tokens"] == DEFAULT_MAX_TOKENS
    assert fake_llm.seen_secret(PLANTED_KEY)


def test_haiku_gets_the_small_simulation(fake_llm: FakeLLMServer) -> None:
    request = ask(model="anthropic:claude-3-5-haiku")
    [response] = complete(provider(fake_llm), request)
    assert response.text == answer("sim:small", request.messages)


def test_params_mapping(fake_llm: FakeLLMServer) -> None:
    request = ask(temperature=0.0, top_p=0.5, seed=3, max_tokens=200, stop="END", top_k=5)
    [response] = complete(provider(fake_llm), request)
    assert response.error is None
    body = fake_llm.stats.bodies["messages"][0]
    assert body["max_tokens"] == 200
    assert body["temperature"] == 0.0
    assert body["top_p"] == 0.5
    assert body["top_k"] == 5
    assert body["stop_sequences"] == ["END"]
    assert "seed" not in body  # the Messages API has none
    assert "stop" not in body


def test_consecutive_turns_of_one_role_are_joined() -> None:
    system, turns = split_system(
        (
            Message(role="system", content="A"),
            Message(role="user", content="one"),
            Message(role="user", content="two"),
            Message(role="assistant", content="ok"),
            Message(role="system", content="B"),
            Message(role="user", content="three"),
        )
    )
    assert system == "A\n\nB"
    assert turns == [
        {"role": "user", "content": "one\n\ntwo"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "three"},
    ]


def test_prompt_cache_writes_then_reads(fake_llm: FakeLLMServer) -> None:
    fake_llm.cache_min_tokens = 100
    policy = "Refunds take five business days. " * 40
    first = Request(
        model="anthropic:claude-sonnet-4-5",
        messages=(Message(role="system", content=policy), Message(role="user", content="Hi.")),
    )
    second = first.with_messages(
        (first.messages[0], Message(role="user", content="Compute 2 + 2."))
    )
    p = provider(fake_llm, cache_system_prompt=True)

    async def go() -> list[Response]:
        try:
            return [await p.complete(first), await p.complete(second)]
        finally:
            await p.aclose()

    cold, warm = asyncio.run(go())
    body = fake_llm.stats.bodies["messages"][0]
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert cold.usage.cache_write_tokens == tokens(policy)
    assert cold.usage.cached_input_tokens == 0
    assert cold.usage.input_tokens == tokens("Hi.")
    assert warm.usage.cache_write_tokens == 0
    assert warm.usage.cached_input_tokens == tokens(policy)
    assert warm.usage.input_tokens == tokens("Compute 2 + 2.")


def test_thinking_tokens_become_reasoning_tokens(fake_llm: FakeLLMServer) -> None:
    request = ask(thinking={"type": "enabled", "budget_tokens": 1024}, max_tokens=2048)
    [response] = complete(provider(fake_llm), request)
    assert response.error is None
    assert response.text == answer("sim:frontier", request.messages)  # thinking block skipped
    visible = math.ceil(len(response.text) / 4) + 1
    assert response.usage.reasoning_tokens == 3 * visible
    assert response.usage.output_tokens == 4 * visible


def test_max_tokens_stop_of_an_answer_is_an_error_row(fake_llm: FakeLLMServer) -> None:
    request = ask(max_tokens=4)
    [response] = complete(provider(fake_llm), request)
    assert response.text == ""
    assert response.error is not None
    assert response.error.startswith("Truncated: the answer was cut off at the max_tokens limit")
    assert "stop_reason=max_tokens" in response.error
    assert response.usage.output_tokens == 4  # paid for: the error row keeps the cost


def test_max_tokens_stop_of_a_helper_call_keeps_the_text(fake_llm: FakeLLMServer) -> None:
    request = dataclasses.replace(ask(max_tokens=4), purpose="summarize")
    [response] = complete(provider(fake_llm), request)
    assert response.error is None
    assert response.usage.output_tokens == 4
    assert answer("sim:frontier", request.messages).startswith(response.text)


def test_529_overloaded_then_success(fake_llm: FakeLLMServer) -> None:
    fake_llm.script("messages", Reply(529, retry_after=0.001))
    request = ask()
    [response] = complete(provider(fake_llm), request)
    assert response.error is None
    assert response.text == answer("sim:frontier", request.messages)
    assert fake_llm.stats["messages"] == 2


def test_429_with_retry_after_then_success(fake_llm: FakeLLMServer) -> None:
    fake_llm.script("messages", Reply(429, retry_after=0.001))
    [response] = complete(provider(fake_llm), ask())
    assert response.error is None
    assert fake_llm.stats["messages"] == 2


def test_retries_exhausted(fake_llm: FakeLLMServer) -> None:
    fake_llm.script("messages", *[Reply(529, retry_after=0.001)] * 2)
    [response] = complete(provider(fake_llm, max_retries=1), ask())
    assert response.error is not None
    assert response.error.startswith("OverloadedError (HTTP 529): Scripted HTTP 529")
    assert response.error.endswith("(after 2 attempts)")
    assert fake_llm.stats["messages"] == 2


def test_400_gives_the_status(fake_llm: FakeLLMServer) -> None:
    fake_llm.script("messages", Reply(400, message="messages: roles must alternate"))
    [response] = complete(provider(fake_llm), ask())
    assert response.error == (
        "BadRequestError (HTTP 400): messages: roles must alternate (after 1 attempt)"
    )
    assert fake_llm.stats["messages"] == 1


def test_timeout_is_an_error_response(fake_llm: FakeLLMServer) -> None:
    fake_llm.script("messages", Reply(delay_ms=2000))
    [response] = complete(provider(fake_llm, timeout=0.2, max_retries=0), ask())
    assert response.error is not None
    assert response.error.startswith("APITimeoutError: ")
    assert response.error.endswith("(after 1 attempt)")


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (MALFORMED_JSON, "InvalidResponse: "),
        (Reply(finish_reason="refusal"), "Refusal: the model declined to answer"),
        (Reply(patch={"content": []}), "EmptyResponse: the answer has no text"),
    ],
)
def test_unusable_answers_are_error_responses(
    fake_llm: FakeLLMServer, reply: Reply, expected: str
) -> None:
    fake_llm.script("messages", reply)
    [response] = complete(provider(fake_llm), ask())
    assert response.text == ""
    assert response.error is not None
    assert response.error.startswith(expected)


def test_concurrency_limit_is_respected(fake_llm: FakeLLMServer) -> None:
    fake_llm.latency_ms = 40
    responses = complete(
        provider(fake_llm, max_concurrency=2), *(ask(f"Compute {i} + 2.") for i in range(8))
    )
    assert all(r.error is None for r in responses)
    assert fake_llm.stats.max_in_flight == 2


@pytest.mark.parametrize(
    "reply",
    [
        Reply(401, message=f"invalid x-api-key: {PLANTED_KEY}"),
        Reply(500, body=f"proxy error: x-api-key={PLANTED_KEY}"),
        Reply(200, body=f'{{"type": "message", "id": "{PLANTED_KEY}'),
    ],
)
def test_api_key_never_appears_in_errors(fake_llm: FakeLLMServer, reply: Reply) -> None:
    fake_llm.script("messages", reply)
    p = provider(fake_llm, max_retries=0)
    [response] = complete(p, ask())
    assert response.error is not None
    assert PLANTED_KEY not in response.error
    assert "sk-test" not in response.error
    assert PLANTED_KEY not in repr(p)
    assert fake_llm.seen_secret(PLANTED_KEY)


def test_missing_key_is_a_setup_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    with pytest.raises(ProviderError, match="ANTHROPIC_API_KEY") as info:
        AnthropicProvider()
    assert "sim:" in str(info.value)


def test_environment_variables_are_honoured(fake_llm_env: FakeLLMServer) -> None:
    [response] = complete(AnthropicProvider(), ask())
    assert response.error is None
    assert fake_llm_env.seen_secret(PLANTED_KEY)


def test_missing_sdk_is_a_missing_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "anthropic", None)
    with pytest.raises(MissingDependency, match="pip install anthropic"):
        AnthropicProvider(api_key=PLANTED_KEY)


def test_make_provider_passes_options(fake_llm: FakeLLMServer) -> None:
    p = make_provider(
        "anthropic",
        lookup=lambda _h: None,
        options={
            "base_url": fake_llm.anthropic_base_url,
            "api_key": PLANTED_KEY,
            "max_concurrency": 3,
            "cache_system_prompt": True,
        },
    )
    assert isinstance(p, AnthropicProvider)
    assert p.max_concurrency == 3
    assert p.cache_system_prompt
    [response] = complete(p, ask())
    assert response.error is None
    with pytest.raises(ConfigError, match="unknown option"):
        make_provider("anthropic", lookup=lambda _h: None, options={"seed": 1})
