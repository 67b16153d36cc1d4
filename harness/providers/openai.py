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

Failures (error responses, never exceptions): HTTP errors after the SDK's
retries, connection errors, timeouts, a body that is not a chat completion, no
choices, ``finish_reason == "content_filter"``, a refusal. A ``length`` finish
(``max_tokens`` reached) is a normal, truncated answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import MissingDependency
from ..types import Message, Request, Usage
from .remote import Answer, CallFailed, RemoteProvider, model_name

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
    from openai.types.completion_usage import CompletionUsage


class OpenAIProvider(RemoteProvider["AsyncOpenAI"]):
    """OpenAI Chat Completions (``openai:<model>``); options as :class:`.RemoteProvider`."""

    name = "openai"
    env_key = "OPENAI_API_KEY"
    env_base_url = "OPENAI_BASE_URL"

    def _check_sdk(self) -> None:
        try:
            import openai  # noqa: F401
        except ImportError:
            raise MissingDependency("The openai: provider", ["openai"]) from None

    def _make_client(self) -> AsyncOpenAI:
        from openai import AsyncOpenAI

        return AsyncOpenAI(
            api_key=self._api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )

    async def _call(self, client: AsyncOpenAI, request: Request) -> Answer:
        raw = await client.chat.completions.with_raw_response.create(
            model=model_name(request.model),
            messages=[to_openai_message(m) for m in request.messages],
            extra_body=body_params(request.params) or None,
        )
        attempts = raw.retries_taken + 1
        try:
            completion = raw.parse()
        except ValueError as exc:
            raise CallFailed(
                "InvalidResponse",
                f"the provider's response is not a chat completion ({type(exc).__name__}: {exc})",
                attempts=attempts,
            ) from None
        return answer_from_completion(completion, attempts=attempts)


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


def to_usage(usage: CompletionUsage | None) -> Usage:
    """The harness usage of a Chat Completions ``usage`` object (None: nothing reported)."""
    if usage is None:
        return Usage()
    prompt = usage.prompt_tokens or 0
    details = usage.prompt_tokens_details
    cached = (details.cached_tokens or 0) if details is not None else 0
    written = (getattr(details, "cache_write_tokens", None) or 0) if details is not None else 0
    cached = min(cached, prompt)
    written = min(written, prompt - cached)
    output_details = usage.completion_tokens_details
    reasoning = (output_details.reasoning_tokens or 0) if output_details is not None else 0
    return Usage(
        input_tokens=prompt - cached - written,
        cached_input_tokens=cached,
        cache_write_tokens=written,
        output_tokens=usage.completion_tokens or 0,
        reasoning_tokens=reasoning,
    )


def answer_from_completion(completion: ChatCompletion, *, attempts: int = 1) -> Answer:
    """Text and usage of a chat completion.

    Raises:
        CallFailed: no choices, content filtered, refused, or no text.
    """
    if not completion.choices:
        raise CallFailed("EmptyResponse", "the provider returned no choices", attempts=attempts)
    choice = completion.choices[0]
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
    if text is None:
        raise CallFailed(
            "EmptyResponse",
            f"the answer has no text (finish_reason={choice.finish_reason})",
            attempts=attempts,
        )
    return Answer(text=text, usage=to_usage(completion.usage))


__all__ = [
    "OpenAIProvider",
    "answer_from_completion",
    "body_params",
    "to_openai_message",
    "to_usage",
]
