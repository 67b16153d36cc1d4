"""Send requests through the providers' batch APIs (half price, answers within 24 h).

:func:`run_batches` submits requests as OpenAI Batch jobs (a JSONL file of Chat
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.errors import ProviderError, UnknownComponent
from harness.providers.batch_backends import (
    BatchBackend,
    Progress,
    error_responses,
    make_backend,
)
from harness.types import Request, Response

BATCH_PROVIDERS = ("openai", "anthropic")
"""Providers with a batch API."""
MAX_REQUESTS = {"openai": 50_000, "anthropic": 100_000}
"""Most requests one batch may hold."""


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


async def run_batch(
    provider_prefix: str,
    requests: Sequence[Request],
    *,
    client_options: Mapping[str, Any] | None = None,
    store: BatchStore,
    poll_interval: float = 5.0,
    progress: Progress | None = None,
    timeout: float | None = None,
) -> dict[str, Response]:
    """Answer ``requests`` through ``provider_prefix``'s batch API; responses by request hash.

    :func:`run_batches` for one provider.

    Args:
        provider_prefix: ``openai`` or ``anthropic``; every request's model must
            start with it.
        requests: What to send; duplicates (same hash) are sent once.
        client_options: The provider's options (``base_url``, ``api_key``,
            ``timeout``, ``max_retries`` ...), as for the provider itself.
        store: Remembers submitted batches, so an interrupted run resumes them.
        poll_interval: Seconds between status checks of a batch.
        progress: Called with one line of text at each step.
        timeout: Seconds to wait for the batches (None: until they end).

    Raises:
        UnknownComponent: a provider without a batch API.
        ProviderError: a request for another provider, or no API key.
    """
    return await run_batches(
        {provider_prefix: requests},
        client_options={provider_prefix: client_options or {}},
        store=store,
        poll_interval=poll_interval,
        progress=progress,
        timeout=timeout,
    )


async def run_batches(
    requests: Mapping[str, Sequence[Request]],
    *,
    client_options: Mapping[str, Mapping[str, Any] | None] | None = None,
    store: BatchStore,
    poll_interval: float = 5.0,
    progress: Progress | None = None,
    timeout: float | None = None,
) -> dict[str, Response]:
    """Answer every provider's requests through its batch API, all at once.

    Every provider's batches are submitted (or resumed from ``store``) first, in
    the same round, and only then polled, concurrently: the providers' queues run
    side by side, and a run killed while waiting has submitted everything.

    Args:
        requests: Requests by provider prefix (``openai``, ``anthropic``).
        client_options: Each provider's options, by prefix.
        store: Remembers submitted batches, so an interrupted run resumes them.
        poll_interval: Seconds between status checks of a batch.
        progress: Called with one line of text at each step.
        timeout: Seconds to wait for the batches once submitted (None: until they
            end). A batch still pending then is left pending in ``store`` (the next
            run resumes it, paying nothing twice); its requests get error responses
            saying so.

    Raises:
        UnknownComponent: a provider without a batch API.
        ProviderError: a request for another provider, or no API key.
    """
    say = progress or (lambda _line: None)
    options = client_options or {}
    wanted: dict[str, dict[str, Request]] = {}
    for prefix, batch in requests.items():
        if prefix not in BATCH_PROVIDERS:
            raise UnknownComponent("batch provider", prefix, BATCH_PROVIDERS)
        wanted[prefix] = _by_hash(prefix, batch)
    backends: dict[str, BatchBackend[Any]] = {}
    results: dict[str, Response] = {}
    try:
        for prefix, by_hash in wanted.items():
            if by_hash:
                backends[prefix] = make_backend(
                    prefix, dict(options.get(prefix) or {}), say, poll_interval
                )
        submitted = await asyncio.gather(
            *(_submit(backend, wanted[prefix], store, say) for prefix, backend in backends.items())
        )
        jobs: list[tuple[BatchBackend[Any], str, dict[str, Request]]] = []
        for backend, (prefix_jobs, failed) in zip(backends.values(), submitted, strict=True):
            results.update(failed)
            jobs.extend((backend, batch_id, group) for batch_id, group in prefix_jobs)

        async def follow(
            backend: BatchBackend[Any], batch_id: str, group: dict[str, Request]
        ) -> dict[str, Response]:
            outcome = await backend.collect(batch_id, group)
            if outcome.done:
                store.finish(batch_id)
            return outcome.responses

        tasks = [asyncio.ensure_future(follow(*job)) for job in jobs]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        for task, (backend, batch_id, group) in zip(tasks, jobs, strict=True):
            if task.done():
                results.update(task.result())
                continue
            task.cancel()
            message = (
                f"batch {batch_id} still pending after the {timeout:g} s batch timeout "
                "(--cost-eval-batch-timeout); it stays pending and the next run resumes it"
            )
            say(f"{backend.prefix} {message}")
            results.update(error_responses(group, message))
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for backend in backends.values():
            await backend.aclose()
    out: dict[str, Response] = {}
    for by_hash in wanted.values():
        missing = {h: r for h, r in by_hash.items() if h not in results}
        results.update(
            error_responses(missing, "batch: the provider returned no result for this request")
        )
        out.update({h: results[h] for h in by_hash})
    return out


def _by_hash(prefix: str, requests: Sequence[Request]) -> dict[str, Request]:
    """``requests`` by hash (duplicates once), all of them for ``prefix``."""
    by_hash: dict[str, Request] = {}
    for request in requests:
        if request.model.partition(":")[0] != prefix:
            raise ProviderError(
                f"run_batch({prefix!r}): request for case {request.case_id!r} "
                f"is for {request.model!r}, another provider."
            )
        by_hash.setdefault(request.hash(), request)
    return by_hash


async def _submit(
    backend: BatchBackend[Any], by_hash: Mapping[str, Request], store: BatchStore, say: Progress
) -> tuple[list[tuple[str, dict[str, Request]]], dict[str, Response]]:
    """One provider's batches resumed or submitted: (batch id, its requests), and the
    error responses of the requests whose submission failed."""
    prefix = backend.prefix
    jobs: list[tuple[str, dict[str, Request]]] = []
    covered: set[str] = set()
    for batch_id, hashes in store.pending(prefix):
        mine = {h: by_hash[h] for h in hashes if h in by_hash}
        if mine:
            say(f"{prefix} batch {batch_id}: resuming ({len(mine)} requests)")
            jobs.append((batch_id, mine))
            covered.update(mine)
    failed: dict[str, Response] = {}
    todo = [h for h in by_hash if h not in covered]
    for group in _groups(todo, by_hash, MAX_REQUESTS[prefix]):
        try:
            batch_id = await backend.submit(group)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = f"batch submission failed: {backend.describe(exc)}"
            say(f"{prefix} batch: {error}")
            failed.update(error_responses(group, error))
            continue
        store.save(prefix, batch_id, list(group))
        say(f"{prefix} batch {batch_id}: submitted {len(group)} requests")
        jobs.append((batch_id, group))
    return jobs, failed


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


__all__ = ["BATCH_PROVIDERS", "BatchStore", "MemoryBatchStore", "run_batch", "run_batches"]
