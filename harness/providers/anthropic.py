"""The ``anthropic:`` provider: the Messages API through the official async SDK.

``anthropic:claude-sonnet-4-5`` sends ``model="claude-sonnet-4-5"``. The key
comes from ``api_key`` or ``ANTHROPIC_API_KEY``; the endpoint from
``base_url`` or ``ANTHROPIC_BASE_URL``.

Request mapping
    System messages (all of them, joined by a blank line) go in the ``system``
    parameter; the other messages keep their order, consecutive messages of
    the same role being joined (the API wants turns to alternate).
    ``max_tokens`` is required by the API: :data:`DEFAULT_MAX_TOKENS` unless
    the request sets it. ``stop`` becomes ``stop_sequences``; ``seed``, which
    the API does not have, is dropped; other params go in the body unchanged.
    With ``cache_system_prompt=True`` the system prompt carries
    ``cache_control`` so the API caches it (billed as cache writes, then reads).

Usage mapping
    ``input_tokens`` = ``input_tokens`` (the API already excludes cache reads
    and writes); ``cached_input_tokens`` = ``cache_read_input_tokens``;
    ``cache_write_tokens`` = ``cache_creation_input_tokens``;
    ``output_tokens`` = ``output_tokens``; ``reasoning_tokens`` =
    ``output_tokens_details.thinking_tokens`` when reported.

Failures (error responses, never exceptions): HTTP errors after the SDK's
retries (429, 500, 529 overloaded ...), connection errors and resets,
timeouts, a body that is not a message (malformed JSON, wrong shape, malformed
usage), ``stop_reason == "refusal"``, no text, and a ``max_tokens`` stop of a
case's answer (kind ``Truncated``: a cut answer is not scored as a wrong one).
A helper call (a summarizer's, a judge's) cut at its own ``max_tokens`` keeps
its text.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harness.errors import MissingDependency
from harness.providers.remote import (
    Answer,
    CallFailed,
    RemoteProvider,
    attempts_of_response,
    clean_text,
    json_body,
    json_field,
    model_name,
    parse_answer,
    token_count,
    truncated_answer,
)
from harness.providers.sdk_http import deadline_http_client, http_response_type
from harness.types import Message, Request, Usage

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic
    from anthropic.types import Message as AnthropicMessage
    from anthropic.types import MessageParam
    from anthropic.types import Usage as AnthropicUsage

DEFAULT_MAX_TOKENS = 1024
"""``max_tokens`` sent when the request sets none (the API requires one)."""

DROPPED_PARAMS = frozenset({"seed"})
"""Request params the Messages API does not accept; left out of the call."""


class AnthropicProvider(RemoteProvider["AsyncAnthropic"]):
    """Anthropic Messages (``anthropic:<model>``); options as :class:`.RemoteProvider`.

    Args:
        cache_system_prompt: Mark the system prompt for prompt caching.
    """

    name = "anthropic"
    env_key = "ANTHROPIC_API_KEY"
    env_base_url = "ANTHROPIC_BASE_URL"
    default_max_tokens = DEFAULT_MAX_TOKENS

    def __init__(self, *, cache_system_prompt: bool = False, **options: Any) -> None:
        super().__init__(**options)
        self.cache_system_prompt = cache_system_prompt

    def _check_sdk(self) -> None:
        try:
            import anthropic  # noqa: F401
        except ImportError:
            raise MissingDependency("The anthropic: provider", ["anthropic"]) from None

    def _make_client(self) -> AsyncAnthropic:
        from anthropic import AsyncAnthropic, DefaultAsyncHttpxClient

        return AsyncAnthropic(
            api_key=self._api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
            http_client=deadline_http_client(DefaultAsyncHttpxClient, self.timeout),
        )

    async def _call(self, client: AsyncAnthropic, request: Request) -> Answer:
        # The SDK's generic POST (documented for undocumented endpoints), not
        # messages.create(): create() emits a DeprecationWarning for retiring
        # models, which a pytest run with warnings as errors turns into a failed
        # call for every request. The raw HTTP response also tells the attempts.
        response = await client.post(
            "/v1/messages",
            cast_to=_http_response_type(),
            body=message_params(request, cache_system_prompt=self.cache_system_prompt),
        )
        attempts = attempts_of_response(response)
        data = json_body(response, what="a message", attempts=attempts)
        if data.get("type") != "message":
            raise CallFailed(
                "InvalidResponse",
                "the provider's response is not a message",
                attempts=attempts,
            )
        return parse_answer(
            lambda: answer_from_message(data, attempts=attempts, purpose=request.purpose),
            what="a message",
            attempts=attempts,
        )


@functools.cache
def _http_response_type() -> Any:
    from anthropic import DefaultAsyncHttpxClient

    return http_response_type(DefaultAsyncHttpxClient)


def message_params(request: Request, *, cache_system_prompt: bool = False) -> dict[str, Any]:
    """The Messages API body for ``request`` (also a batch request's ``params``)."""
    params = dict(request.params)
    max_tokens = params.pop("max_tokens", None)
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens <= 0:
        max_tokens = DEFAULT_MAX_TOKENS
    if "stop" in params and "stop_sequences" not in params:
        stop = params.pop("stop")
        params["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop or [])
    system, messages = split_system(request.messages)
    out: dict[str, Any] = {
        "model": model_name(request.model),
        "max_tokens": max_tokens,
        "messages": messages,
    }
    if system:
        block: dict[str, Any] = {"type": "text", "text": system}
        if cache_system_prompt:
            block["cache_control"] = {"type": "ephemeral"}
        out["system"] = [block]
    for key, value in params.items():
        if key not in DROPPED_PARAMS:
            out.setdefault(key, value)
    return out


def split_system(messages: tuple[Message, ...]) -> tuple[str, list[MessageParam]]:
    """(system prompt, alternating user/assistant turns) of a harness conversation."""
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    turns: list[MessageParam] = []
    for message in messages:
        if message.role == "system":
            continue
        role: Any = "assistant" if message.role == "assistant" else "user"
        if turns and turns[-1]["role"] == role:
            previous = turns[-1]["content"]
            assert isinstance(previous, str)
            turns[-1] = {"role": role, "content": f"{previous}\n\n{message.content}"}
        else:
            turns.append({"role": role, "content": message.content})
    return system, turns


def usage_from_message(usage: AnthropicUsage | Mapping[str, Any] | None) -> Usage:
    """The harness usage of a Messages API ``usage`` (SDK object or JSON).

    Raises:
        CallFailed: a count that is not a whole number >= 0 (``InvalidResponse``).
    """
    if usage is None:
        return Usage()
    thinking = json_field(json_field(usage, "output_tokens_details"), "thinking_tokens")
    return Usage(
        input_tokens=token_count(json_field(usage, "input_tokens"), "input_tokens"),
        cached_input_tokens=token_count(
            json_field(usage, "cache_read_input_tokens"), "cache_read_input_tokens"
        ),
        cache_write_tokens=token_count(
            json_field(usage, "cache_creation_input_tokens"), "cache_creation_input_tokens"
        ),
        output_tokens=token_count(json_field(usage, "output_tokens"), "output_tokens"),
        reasoning_tokens=token_count(thinking, "thinking_tokens"),
    )


def answer_from_message(
    message: AnthropicMessage | Mapping[str, Any], *, attempts: int = 1, purpose: str = "answer"
) -> Answer:
    """Text and usage of a Messages API response (SDK object or JSON).

    Args:
        purpose: The request's ``purpose``: a case's ``answer`` cut at
            ``max_tokens`` is an error; a helper call's is kept.

    Raises:
        CallFailed: refused, cut at ``max_tokens``, no text block, or a body of
            another shape.
    """
    stop_reason = json_field(message, "stop_reason")
    if stop_reason == "refusal":
        raise CallFailed(
            "Refusal",
            "the model declined to answer (stop_reason=refusal)",
            attempts=attempts,
        )
    content = json_field(message, "content") or ()
    if isinstance(content, str | bytes | Mapping) or not isinstance(content, list | tuple):
        raise CallFailed(
            "InvalidResponse",
            f"the provider's response is not a message (content = {content!r:.80})",
            attempts=attempts,
        )
    usage = usage_from_message(json_field(message, "usage"))
    if stop_reason == "max_tokens":
        failure = truncated_answer(
            "stop_reason=max_tokens", purpose, attempts=attempts, usage=usage
        )
        if failure is not None:
            raise failure
    texts = [json_field(block, "text") for block in content if json_field(block, "type") == "text"]
    if not texts:
        raise CallFailed(
            "EmptyResponse",
            f"the answer has no text (stop_reason={stop_reason})",
            attempts=attempts,
            usage=usage,
        )
    if not all(isinstance(text, str) for text in texts):
        raise CallFailed(
            "InvalidResponse", "a text block of the answer holds no text", attempts=attempts
        )
    return Answer(text=clean_text("".join(texts)), usage=usage)


__all__ = [
    "DEFAULT_MAX_TOKENS",
    "AnthropicProvider",
    "answer_from_message",
    "message_params",
    "split_system",
    "usage_from_message",
]
