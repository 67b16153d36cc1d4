"""Each provider's batch API: submit a group of requests, poll it, read its results.

:mod:`harness.providers.batch` decides what goes in which batch and waits for them
all; a :class:`BatchBackend` speaks one provider's API (OpenAI Batch: a JSONL file
of Chat Completions requests; Anthropic Message Batches), over the provider's own
SDK client (keys, base URL, retries as for its synchronous calls).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from harness.providers.anthropic import AnthropicProvider, answer_from_message, message_params
from harness.providers.openai import (
    OpenAIProvider,
    answer_from_completion,
    body_params,
    to_openai_message,
)
from harness.providers.remote import CallFailed, RemoteProvider, model_name, parse_answer
from harness.types import Request, Response

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic
    from openai import AsyncOpenAI

MAX_POLL_FAILURES = 5
"""Consecutive failed polls (after the SDK's own retries) before giving up for this run."""

Progress = Callable[[str], None]
"""Called with one line of text at each step."""


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What one batch gave: responses by hash, and whether it can be forgotten."""

    responses: dict[str, Response]
    done: bool


def error_responses(requests: Mapping[str, Request], error: str) -> dict[str, Response]:
    """The same error response for every request, flagged ``batch``, by request hash."""
    return {
        h: Response(text="", model=r.model, error=error, batch=True) for h, r in requests.items()
    }


def make_backend(
    prefix: str, options: dict[str, Any], say: Progress, poll_interval: float
) -> BatchBackend[Any]:
    """The batch API of provider ``prefix`` (``openai`` or ``anthropic``)."""
    if prefix == "openai":
        return _OpenAIBatches(OpenAIProvider(**options), say, poll_interval)
    return _AnthropicBatches(AnthropicProvider(**options), say, poll_interval)


ProviderT = TypeVar("ProviderT", bound=RemoteProvider[Any])


class BatchBackend(Generic[ProviderT]):
    """One provider's batch API: submit a group, collect its results."""

    prefix = ""

    def __init__(self, provider: ProviderT, say: Progress, poll_interval: float) -> None:
        self.provider = provider
        self.say = say
        self.poll_interval = max(0.0, poll_interval)

    def describe(self, exc: BaseException) -> str:
        return self.provider.describe(exc)

    async def submit(self, group: Mapping[str, Request]) -> str:
        raise NotImplementedError

    async def poll(self, batch_id: str) -> tuple[str, bool, float | None]:
        """(status line, ended, batch wall time in seconds when known)."""
        raise NotImplementedError

    async def results(
        self, batch_id: str, group: Mapping[str, Request], latency_ms: float
    ) -> dict[str, Response]:
        raise NotImplementedError

    async def aclose(self) -> None:
        await self.provider.aclose()

    async def collect(self, batch_id: str, group: Mapping[str, Request]) -> BatchOutcome:
        """Poll ``batch_id`` until it ends, then read its results."""
        started = time.monotonic()
        failures = 0
        last_status = ""
        while True:
            try:
                status, ended, seconds = await self.poll(batch_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                error = self.describe(exc)
                if failures >= MAX_POLL_FAILURES:
                    message = (
                        f"batch {batch_id} could not be polled ({error}); it stays pending "
                        "and the next run resumes it"
                    )
                    self.say(f"{self.prefix} {message}")
                    return BatchOutcome(error_responses(group, message), done=False)
                await asyncio.sleep(self.poll_interval)
                continue
            failures = 0
            if status != last_status:
                self.say(f"{self.prefix} batch {batch_id}: {status}")
                last_status = status
            if ended:
                break
            await asyncio.sleep(self.poll_interval)
        wall = seconds if seconds is not None else time.monotonic() - started
        try:
            responses = await self.results(batch_id, group, wall * 1000)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            message = (
                f"batch {batch_id} results could not be read ({self.describe(exc)}); it stays "
                "pending and the next run resumes it"
            )
            self.say(f"{self.prefix} {message}")
            return BatchOutcome(error_responses(group, message), done=False)
        return BatchOutcome(responses, done=True)


class _OpenAIBatches(BatchBackend[OpenAIProvider]):
    prefix = "openai"
    TERMINAL = ("completed", "failed", "expired", "cancelled")

    def __init__(self, provider: OpenAIProvider, say: Progress, poll_interval: float) -> None:
        super().__init__(provider, say, poll_interval)
        self._status: dict[str, Any] = {}

    async def client(self) -> AsyncOpenAI:
        return await self.provider.get_client()

    async def submit(self, group: Mapping[str, Request]) -> str:
        lines = []
        for request_hash, request in group.items():
            body = {
                "model": model_name(request.model),
                "messages": [to_openai_message(m) for m in request.messages],
                **body_params(request.params),
            }
            line = {
                "custom_id": request_hash,
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": body,
            }
            lines.append(json.dumps(line, ensure_ascii=False))
        content = ("\n".join(lines) + "\n").encode("utf-8")
        client = await self.client()
        uploaded = await client.files.create(
            file=("cost-eval-batch.jsonl", content, "application/jsonl"), purpose="batch"
        )
        batch = await client.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            metadata={"source": "cost-eval-harness"},
        )
        return batch.id

    async def poll(self, batch_id: str) -> tuple[str, bool, float | None]:
        client = await self.client()
        batch = await client.batches.retrieve(batch_id)
        self._status[batch_id] = batch
        counts = batch.request_counts
        done = f" ({counts.completed + counts.failed}/{counts.total} done)" if counts else ""
        seconds = None
        end = batch.completed_at or batch.failed_at or batch.expired_at or batch.cancelled_at
        if end and batch.created_at:
            seconds = float(end - batch.created_at)
        return f"{batch.status}{done}", batch.status in self.TERMINAL, seconds

    async def results(
        self, batch_id: str, group: Mapping[str, Request], latency_ms: float
    ) -> dict[str, Response]:
        batch = self._status[batch_id]
        client = await self.client()
        out: dict[str, Response] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            content = await client.files.content(file_id)
            for line in content.text.splitlines():
                if not line.strip():
                    continue
                row = json.loads(line)
                request = group.get(str(row.get("custom_id")))
                if request is None:
                    continue
                out[request.hash()] = self._response(row, request, latency_ms)
        if batch.status != "completed":
            reason = f"batch {batch_id} ended with status {batch.status!r}"
            errors = getattr(batch, "errors", None)
            details = [e.message for e in (getattr(errors, "data", None) or []) if e.message]
            if details:
                reason += f": {'; '.join(details)}"
            missing = {h: r for h, r in group.items() if h not in out}
            out.update(error_responses(missing, self.describe(CallFailed("BatchFailed", reason))))
        return out

    def _response(
        self,
        row: Mapping[str, Any],
        request: Request,
        latency_ms: float,
    ) -> Response:
        error = row.get("error")
        response = row.get("response") or {}
        status = response.get("status_code")
        body = response.get("body")
        if error or status != 200 or not isinstance(body, Mapping):
            message = _message(error) or _message(body) or "no response body"
            failure = CallFailed(f"BatchRequestFailed (HTTP {status})", message)
            return _error_response(request, self.describe(failure))
        try:
            answer = parse_answer(
                lambda: answer_from_completion(body, purpose=request.purpose),
                what="a chat completion",
                attempts=1,
            )
        except Exception as exc:
            return _error_response(request, self.describe(exc))
        return Response(
            text=answer.text,
            model=request.model,
            usage=answer.usage,
            latency_ms=latency_ms,
            batch=True,
        )


class _AnthropicBatches(BatchBackend[AnthropicProvider]):
    prefix = "anthropic"

    async def client(self) -> AsyncAnthropic:
        return await self.provider.get_client()

    async def submit(self, group: Mapping[str, Request]) -> str:
        items: list[Any] = []
        for request_hash, request in group.items():
            params = message_params(request, cache_system_prompt=self.provider.cache_system_prompt)
            items.append({"custom_id": request_hash, "params": params})
        client = await self.client()
        batch = await client.messages.batches.create(requests=items)
        return batch.id

    async def poll(self, batch_id: str) -> tuple[str, bool, float | None]:
        client = await self.client()
        batch = await client.messages.batches.retrieve(batch_id)
        counts = batch.request_counts
        finished = counts.succeeded + counts.errored + counts.canceled + counts.expired
        seconds = None
        if batch.ended_at is not None:
            seconds = (batch.ended_at - batch.created_at).total_seconds()
        status = f"{batch.processing_status} ({finished}/{finished + counts.processing} done)"
        return status, batch.processing_status == "ended", seconds

    async def results(
        self, batch_id: str, group: Mapping[str, Request], latency_ms: float
    ) -> dict[str, Response]:
        client = await self.client()
        out: dict[str, Response] = {}
        async for item in await client.messages.batches.results(batch_id):
            request = group.get(item.custom_id)
            if request is None:
                continue
            result = item.result
            if result.type == "succeeded":
                try:
                    answer = answer_from_message(result.message, purpose=request.purpose)
                except Exception as exc:
                    out[request.hash()] = _error_response(request, self.describe(exc))
                    continue
                out[request.hash()] = Response(
                    text=answer.text,
                    model=request.model,
                    usage=answer.usage,
                    latency_ms=latency_ms,
                    batch=True,
                )
            elif result.type == "errored":
                inner = getattr(result.error, "error", None)
                message = getattr(inner, "message", None) or "the request errored"
                kind = getattr(inner, "type", None) or "error"
                failure = CallFailed(f"BatchRequestFailed ({kind})", str(message))
                out[request.hash()] = _error_response(request, self.describe(failure))
            else:
                failure = CallFailed(
                    "BatchRequestFailed", f"the request was {result.type} before it ran"
                )
                out[request.hash()] = _error_response(request, self.describe(failure))
        return out


def _error_response(request: Request, error: str) -> Response:
    return Response(text="", model=request.model, error=error, batch=True)


def _message(obj: Any) -> str | None:
    if isinstance(obj, Mapping):
        for key in ("message", "error"):
            value = obj.get(key)
            if isinstance(value, str) and value:
                return value
            nested = _message(value)
            if nested:
                return nested
    return None


__all__ = [
    "MAX_POLL_FAILURES",
    "BatchBackend",
    "BatchOutcome",
    "Progress",
    "error_responses",
    "make_backend",
]
