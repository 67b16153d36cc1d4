"""Send requests through the providers' batch APIs (half price, answers within 24 h).

:func:`run_batch` submits requests as OpenAI Batch jobs (a JSONL file of Chat
Completions requests) or Anthropic Message Batches, polls until they end, and
returns one :class:`~harness.types.Response` per request hash, flagged
``batch=True`` so it is priced at batch rates. Each request's ``custom_id`` is
its hash, so results map back whatever order they come in.

Batches outlive processes: every submitted batch is written to a
:class:`BatchStore` before it is polled, and a later :func:`run_batch` for the
same requests resumes the pending batch instead of paying for a second one.
A batch is marked finished in the store only once its results are read.

Failures never raise: a batch that cannot be submitted, failed, expired, or a
request inside it that errored, gives error responses for the requests
concerned. A batch that cannot be polled (network down) stays pending in the
store, and its requests get error responses saying so.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from harness.errors import ProviderError, UnknownComponent
from harness.providers.anthropic import AnthropicProvider, answer_from_message, message_params
from harness.providers.openai import (
    OpenAIProvider,
    answer_from_completion,
    body_params,
    to_openai_message,
)
from harness.providers.remote import CallFailed, RemoteProvider, model_name
from harness.types import Request, Response

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic
    from openai import AsyncOpenAI

BATCH_PROVIDERS = ("openai", "anthropic")
"""Providers with a batch API."""
MAX_REQUESTS = {"openai": 50_000, "anthropic": 100_000}
"""Most requests one batch may hold."""
MAX_POLL_FAILURES = 5
"""Consecutive failed polls (after the SDK's own retries) before giving up for this run."""

Progress = Callable[[str], None]


class BatchStore(Protocol):
    """Where submitted batches are remembered until their results are read."""

    def pending(self, provider: str) -> list[tuple[str, list[str]]]:
        """``(batch_id, request hashes)`` of every unfinished batch of ``provider``."""
        ...

    def save(self, provider: str, batch_id: str, hashes: Sequence[str]) -> None:
        """Remember a just-submitted batch and the request hashes it holds."""
        ...

    def finish(self, batch_id: str) -> None:
        """Forget a batch whose results were read (or that can never give any)."""
        ...


@dataclass
class MemoryBatchStore:
    """A :class:`BatchStore` in memory (tests; one process)."""

    batches: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    """Pending batch id -> (provider, request hashes)."""
    finished: list[str] = field(default_factory=list)
    """Ids of finished batches, in finishing order."""

    def pending(self, provider: str) -> list[tuple[str, list[str]]]:
        return [(bid, list(h)) for bid, (p, h) in self.batches.items() if p == provider]

    def save(self, provider: str, batch_id: str, hashes: Sequence[str]) -> None:
        self.batches[batch_id] = (provider, list(hashes))

    def finish(self, batch_id: str) -> None:
        if self.batches.pop(batch_id, None) is not None:
            self.finished.append(batch_id)


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What one batch gave: responses by hash, and whether it can be forgotten."""

    responses: dict[str, Response]
    done: bool


async def run_batch(
    provider_prefix: str,
    requests: Sequence[Request],
    *,
    client_options: Mapping[str, Any] | None = None,
    store: BatchStore,
    poll_interval: float = 5.0,
    progress: Progress | None = None,
) -> dict[str, Response]:
    """Answer ``requests`` through ``provider_prefix``'s batch API; responses by request hash.

    Args:
        provider_prefix: ``openai`` or ``anthropic``; every request's model must
            start with it.
        requests: What to send; duplicates (same hash) are sent once.
        client_options: The provider's options (``base_url``, ``api_key``,
            ``timeout``, ``max_retries`` ...), as for the provider itself.
        store: Remembers submitted batches, so an interrupted run resumes them.
        poll_interval: Seconds between status checks of a batch.
        progress: Called with one line of text at each step.

    Raises:
        UnknownComponent: a provider without a batch API.
        ProviderError: a request for another provider, or no API key.
    """
    if provider_prefix not in BATCH_PROVIDERS:
        raise UnknownComponent("batch provider", provider_prefix, BATCH_PROVIDERS)
    by_hash: dict[str, Request] = {}
    for request in requests:
        prefix = request.model.partition(":")[0]
        if prefix != provider_prefix:
            raise ProviderError(
                f"run_batch({provider_prefix!r}): request for case {request.case_id!r} "
                f"is for {request.model!r}, another provider."
            )
        by_hash.setdefault(request.hash(), request)
    if not by_hash:
        return {}
    say = progress or (lambda _line: None)
    backend = _backend(provider_prefix, dict(client_options or {}), say, poll_interval)
    try:
        jobs: list[tuple[str, dict[str, Request]]] = []
        covered: set[str] = set()
        for batch_id, hashes in store.pending(provider_prefix):
            mine = {h: by_hash[h] for h in hashes if h in by_hash}
            if mine:
                say(f"{provider_prefix} batch {batch_id}: resuming ({len(mine)} requests)")
                jobs.append((batch_id, mine))
                covered.update(mine)
        results: dict[str, Response] = {}
        todo = [h for h in by_hash if h not in covered]
        for group in _groups(todo, by_hash, MAX_REQUESTS[provider_prefix]):
            try:
                batch_id = await backend.submit(group)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = f"batch submission failed: {backend.describe(exc)}"
                say(f"{provider_prefix} batch: {error}")
                results.update(_errors(group, error))
                continue
            store.save(provider_prefix, batch_id, list(group))
            say(f"{provider_prefix} batch {batch_id}: submitted {len(group)} requests")
            jobs.append((batch_id, group))

        async def follow(batch_id: str, group: dict[str, Request]) -> dict[str, Response]:
            outcome = await backend.collect(batch_id, group)
            if outcome.done:
                store.finish(batch_id)
            return outcome.responses

        for found in await asyncio.gather(*(follow(b, g) for b, g in jobs)):
            results.update(found)
    finally:
        await backend.aclose()
    missing = {h: r for h, r in by_hash.items() if h not in results}
    results.update(_errors(missing, "batch: the provider returned no result for this request"))
    return {h: results[h] for h in by_hash}


def _groups(
    hashes: Sequence[str], by_hash: Mapping[str, Request], limit: int
) -> list[dict[str, Request]]:
    """Requests split into batches: one model per batch, at most ``limit`` requests each."""
    by_model: dict[str, list[str]] = {}
    for h in hashes:
        by_model.setdefault(by_hash[h].model, []).append(h)
    groups = []
    for model_hashes in by_model.values():
        for start in range(0, len(model_hashes), limit):
            groups.append({h: by_hash[h] for h in model_hashes[start : start + limit]})
    return groups


def _errors(requests: Mapping[str, Request], error: str) -> dict[str, Response]:
    return {
        h: Response(text="", model=r.model, error=error, batch=True) for h, r in requests.items()
    }


def _backend(
    prefix: str, options: dict[str, Any], say: Progress, poll_interval: float
) -> _Backend[Any]:
    if prefix == "openai":
        return _OpenAIBatches(OpenAIProvider(**options), say, poll_interval)
    return _AnthropicBatches(AnthropicProvider(**options), say, poll_interval)


ProviderT = TypeVar("ProviderT", bound=RemoteProvider[Any])


class _Backend(Generic[ProviderT]):
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

    async def collect(self, batch_id: str, group: Mapping[str, Request]) -> _Outcome:
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
                    return _Outcome(_errors(group, message), done=False)
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
            return _Outcome(_errors(group, message), done=False)
        return _Outcome(responses, done=True)


class _OpenAIBatches(_Backend[OpenAIProvider]):
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
        from openai.types.chat import ChatCompletion

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
                out[request.hash()] = self._response(
                    row, request, latency_ms, ChatCompletion, answer_from_completion
                )
        if batch.status != "completed":
            reason = f"batch {batch_id} ended with status {batch.status!r}"
            errors = getattr(batch, "errors", None)
            details = [e.message for e in (getattr(errors, "data", None) or []) if e.message]
            if details:
                reason += f": {'; '.join(details)}"
            missing = {h: r for h, r in group.items() if h not in out}
            out.update(_errors(missing, self.describe(CallFailed("BatchFailed", reason))))
        return out

    def _response(
        self,
        row: Mapping[str, Any],
        request: Request,
        latency_ms: float,
        completion_type: Any,
        to_answer: Any,
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
            answer = to_answer(completion_type.model_validate(body), purpose=request.purpose)
        except Exception as exc:
            return _error_response(request, self.describe(exc))
        return Response(
            text=answer.text,
            model=request.model,
            usage=answer.usage,
            latency_ms=latency_ms,
            batch=True,
        )


class _AnthropicBatches(_Backend[AnthropicProvider]):
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


__all__ = ["BATCH_PROVIDERS", "BatchStore", "MemoryBatchStore", "run_batch"]
