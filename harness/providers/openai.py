"""The ``openai:`` provider: Chat Completions through the official async SDK.

``openai:gpt-4o`` sends ``model="gpt-4o"``. Works with any OpenAI-compatible
endpoint through ``base_url`` (or ``OPENAI_BASE_URL``); the key comes from
``api_key`` or ``OPENAI_API_KEY``.

Request mapping
    Messages go as they are. Request params go in the JSON body unchanged
    (``temperature``, ``top_p``, ``seed``, ``stop``, ``reasoning_effort`` ...),
    except ``max_tokens``, sent as ``max_completion_tokens`` (the only form
    reasoning models accept).

Usage mapping
    ``input_tokens`` = ``prompt_tokens`` - ``cached_tokens`` - cache writes;
    ``cached_input_tokens`` = ``prompt_tokens_details.cached_tokens``;
    ``cache_write_tokens`` = ``prompt_tokens_details.cache_write_tokens`` when
    reported; ``output_tokens`` = ``completion_tokens`` (reasoning included);
    ``reasoning_tokens`` = ``completion_tokens_details.reasoning_tokens``.

HTTP transport (``http_client``)
    ``"httpx"`` (the default) is the SDK's own client. ``"aiohttp"`` passes
    ``openai.DefaultAioHttpClient()``, the SDK's aiohttp transport (needs
    ``aiohttp``, the SDK's ``aiohttp`` extra): the same requests and answers for
    about a third less client CPU per call, which is what bounds a run's
    throughput on a small machine (``benchmarks/bench_throughput.py``).

Failures (error responses, never exceptions): HTTP errors after the SDK's
retries (429, 5xx), connection errors and resets, timeouts, a body that is not
a chat completion (malformed JSON, wrong shape, malformed usage), no choices,
``finish_reason == "content_filter"``, a refusal, and a ``length`` finish
(``max_tokens`` reached) of a case's answer (kind ``Truncated``: a cut answer is
not scored as a wrong one). A helper call (a summarizer's, a judge's) cut at its
own ``max_tokens`` keeps its text.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harness.errors import MissingDependency, ProviderError
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
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
    from openai.types.completion_usage import CompletionUsage


HTTP_CLIENTS = ("httpx", "aiohttp")
"""Values of the ``http_client`` option."""


class OpenAIProvider(RemoteProvider["AsyncOpenAI"]):
    """OpenAI Chat Completions (``openai:<model>``).

    Args:
        http_client: ``"httpx"`` (the SDK's default transport) or ``"aiohttp"``
            (``openai.DefaultAioHttpClient``: less CPU per call).
        **options: As :class:`.RemoteProvider`.

    Raises:
        ProviderError: an unknown ``http_client``.
        MissingDependency: ``http_client = "aiohttp"`` without ``aiohttp`` installed.
    """

    name = "openai"
    env_key = "OPENAI_API_KEY"
    env_base_url = "OPENAI_BASE_URL"

    def __init__(self, *, http_client: str = "httpx", **options: Any) -> None:
        if http_client not in HTTP_CLIENTS:
            raise ProviderError(
                f"openai: http_client must be one of {', '.join(map(repr, HTTP_CLIENTS))}, "
                f"got {http_client!r}."
            )
        if http_client == "aiohttp":
            try:
                import aiohttp  # noqa: F401
            except ImportError:
                raise MissingDependency(
                    'The openai: provider\'s http_client = "aiohttp"', ["aiohttp"]
                ) from None
        self.http_client = http_client
        super().__init__(**options)

    def _check_sdk(self) -> None:
        try:
            import openai  # noqa: F401
        except ImportError:
            raise MissingDependency("The openai: provider", ["openai"]) from None

    def _make_client(self) -> AsyncOpenAI:
        from openai import AsyncOpenAI, DefaultAioHttpClient, DefaultAsyncHttpxClient

        transport = (
            DefaultAioHttpClient if self.http_client == "aiohttp" else DefaultAsyncHttpxClient
        )
        return AsyncOpenAI(
            api_key=self._api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
            http_client=deadline_http_client(transport, self.timeout),
        )

    async def _call(self, client: AsyncOpenAI, request: Request) -> Answer:
        # The SDK's generic POST (documented for endpoints it has no method for),
        # not chat.completions.create(): create() runs its typed-params transform
        # over the body and builds a ChatCompletion model from the answer, 0.3 ms
        # of CPU per call that bounds a run's throughput on a small machine, for
        # fields the harness reads once. Same URL, body, headers, retries and
        # errors; the raw HTTP response also tells the attempts.
        response = await client.post(
            "/chat/completions",
            cast_to=_http_response_type(),
            body=completion_body(request),
        )
        attempts = attempts_of_response(response)
        data = json_body(response, what="a chat completion", attempts=attempts)
        return parse_answer(
            lambda: answer_from_completion(data, attempts=attempts, purpose=request.purpose),
            what="a chat completion",
            attempts=attempts,
        )


@functools.cache
def _http_response_type() -> Any:
    # The aiohttp transport answers with the same httpx Response class.
    from openai import DefaultAsyncHttpxClient

    return http_response_type(DefaultAsyncHttpxClient)


def completion_body(request: Request) -> dict[str, Any]:
    """The Chat Completions body for ``request``: model, messages, then its params."""
    return {
        "model": model_name(request.model),
        "messages": [to_openai_message(m) for m in request.messages],
        **body_params(request.params),
    }


def to_openai_message(message: Message) -> ChatCompletionMessageParam:
    """One harness message as a Chat Completions message."""
    if message.role == "system":
        return {"role": "system", "content": message.content}
    if message.role == "assistant":
        return {"role": "assistant", "content": message.content}
    return {"role": "user", "content": message.content}


def body_params(params: tuple[tuple[str, Any], ...] | Mapping[str, Any]) -> dict[str, Any]:
    """Request params as Chat Completions body fields (``max_tokens`` renamed)."""
    out = dict(params)
    if "max_tokens" in out and "max_completion_tokens" not in out:
        out["max_completion_tokens"] = out.pop("max_tokens")
    return out


def usage_from_completion(usage: CompletionUsage | Mapping[str, Any] | None) -> Usage:
    """The harness usage of a Chat Completions ``usage`` (SDK object or JSON; None:
    nothing reported).

    Raises:
        CallFailed: a count that is not a whole number >= 0 (``InvalidResponse``).
    """
    if usage is None:
        return Usage()
    prompt = token_count(json_field(usage, "prompt_tokens"), "prompt_tokens")
    details = json_field(usage, "prompt_tokens_details")
    cached = token_count(json_field(details, "cached_tokens"), "cached_tokens")
    written = token_count(json_field(details, "cache_write_tokens"), "cache_write_tokens")
    cached = min(cached, prompt)
    written = min(written, prompt - cached)
    output_details = json_field(usage, "completion_tokens_details")
    reasoning = token_count(json_field(output_details, "reasoning_tokens"), "reasoning_tokens")
    return Usage(
        input_tokens=prompt - cached - written,
        cached_input_tokens=cached,
        cache_write_tokens=written,
        output_tokens=token_count(json_field(usage, "completion_tokens"), "completion_tokens"),
        reasoning_tokens=reasoning,
    )


def answer_from_completion(
    completion: ChatCompletion | Mapping[str, Any], *, attempts: int = 1, purpose: str = "answer"
) -> Answer:
    """Text and usage of a chat completion (SDK object or JSON).

    Args:
        purpose: The request's ``purpose``: a case's ``answer`` cut at
            ``max_tokens`` is an error; a helper call's is kept.

    Raises:
        CallFailed: no choices, content filtered, refused, cut at ``max_tokens``,
            no text, malformed usage, or a body of another shape.
    """
    choices = json_field(completion, "choices")
    if not choices:
        raise CallFailed("EmptyResponse", "the provider returned no choices", attempts=attempts)
    if not isinstance(choices, list):
        raise CallFailed(
            "InvalidResponse",
            f"the provider's response is not a chat completion (choices = {choices!r:.80})",
            attempts=attempts,
        )
    choice = choices[0]
    message = json_field(choice, "message")
    if isinstance(choice, str | bytes) or isinstance(message, str | bytes):
        raise CallFailed(
            "InvalidResponse",
            f"the provider's response is not a chat completion (choice = {choice!r:.80})",
            attempts=attempts,
        )
    finish_reason = json_field(choice, "finish_reason")
    if finish_reason == "content_filter":
        raise CallFailed(
            "ContentFilter",
            "the provider withheld the answer (finish_reason=content_filter)",
            attempts=attempts,
        )
    refusal = json_field(message, "refusal")
    if refusal:
        raise CallFailed("Refusal", f"the model refused: {refusal}", attempts=attempts)
    text = json_field(message, "content")
    usage = usage_from_completion(json_field(completion, "usage"))
    if finish_reason == "length":
        failure = truncated_answer("finish_reason=length", purpose, attempts=attempts, usage=usage)
        if failure is not None:
            raise failure
    if text is None:
        raise CallFailed(
            "EmptyResponse",
            f"the answer has no text (finish_reason={finish_reason})",
            attempts=attempts,
            usage=usage,
        )
    if not isinstance(text, str):
        raise CallFailed(
            "InvalidResponse",
            f"the answer's content is not text (got {type(text).__name__})",
            attempts=attempts,
        )
    return Answer(text=clean_text(text), usage=usage)


__all__ = [
    "HTTP_CLIENTS",
    "OpenAIProvider",
    "answer_from_completion",
    "body_params",
    "completion_body",
    "to_openai_message",
    "usage_from_completion",
]
