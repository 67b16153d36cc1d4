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

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harness.errors import MissingDependency, ProviderError
from harness.providers.remote import (
    Answer,
    CallFailed,
    RemoteProvider,
    clean_text,
    deadline_http_client,
    model_name,
    parse_answer,
    token_count,
    truncated_answer,
)
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
        raw = await client.chat.completions.with_raw_response.create(
            model=model_name(request.model),
            messages=[to_openai_message(m) for m in request.messages],
            extra_body=body_params(request.params) or None,
        )
        attempts = raw.retries_taken + 1
        # parse() builds the model without validating it: a body of another
        # shape fails on first use, inside answer_from_completion.
        return parse_answer(
            lambda: answer_from_completion(raw.parse(), attempts=attempts, purpose=request.purpose),
            what="a chat completion",
            attempts=attempts,
        )


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


def usage_from_completion(usage: CompletionUsage | None) -> Usage:
    """The harness usage of a Chat Completions ``usage`` object (None: nothing reported).

    Raises:
        CallFailed: a count that is not a whole number >= 0 (``InvalidResponse``).
    """
    if usage is None:
        return Usage()
    prompt = token_count(usage.prompt_tokens, "prompt_tokens")
    details = usage.prompt_tokens_details
    cached = token_count(getattr(details, "cached_tokens", None), "cached_tokens")
    written = token_count(getattr(details, "cache_write_tokens", None), "cache_write_tokens")
    cached = min(cached, prompt)
    written = min(written, prompt - cached)
    output_details = usage.completion_tokens_details
    reasoning = token_count(getattr(output_details, "reasoning_tokens", None), "reasoning_tokens")
    return Usage(
        input_tokens=prompt - cached - written,
        cached_input_tokens=cached,
        cache_write_tokens=written,
        output_tokens=token_count(usage.completion_tokens, "completion_tokens"),
        reasoning_tokens=reasoning,
    )


def answer_from_completion(
    completion: ChatCompletion, *, attempts: int = 1, purpose: str = "answer"
) -> Answer:
    """Text and usage of a chat completion.

    Args:
        purpose: The request's ``purpose``: a case's ``answer`` cut at
            ``max_tokens`` is an error; a helper call's is kept.

    Raises:
        CallFailed: no choices, content filtered, refused, cut at ``max_tokens``,
            no text, or malformed usage.
    """
    choices = completion.choices
    if not choices:
        raise CallFailed("EmptyResponse", "the provider returned no choices", attempts=attempts)
    if not isinstance(choices, list):
        raise CallFailed(
            "InvalidResponse",
            f"the provider's response is not a chat completion (choices = {choices!r})",
            attempts=attempts,
        )
    choice = choices[0]
    if choice.finish_reason == "content_filter":
        raise CallFailed(
            "ContentFilter",
            "the provider withheld the answer (finish_reason=content_filter)",
            attempts=attempts,
        )
    refusal = getattr(choice.message, "refusal", None)
    if refusal:
        raise CallFailed("Refusal", f"the model refused: {refusal}", attempts=attempts)
    text = choice.message.content
    usage = usage_from_completion(completion.usage)
    if choice.finish_reason == "length":
        failure = truncated_answer("finish_reason=length", purpose, attempts=attempts, usage=usage)
        if failure is not None:
            raise failure
    if text is None:
        raise CallFailed(
            "EmptyResponse",
            f"the answer has no text (finish_reason={choice.finish_reason})",
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
    "to_openai_message",
    "usage_from_completion",
]
