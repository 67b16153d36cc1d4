"""Send requests: recorded answers first, each distinct request at most once.

Every configuration of a run sends its requests through one :class:`Executor`.
A request whose hash matches a golden or an earlier response is answered from
that record; identical requests in flight at the same time share one call.
This is what keeps a router sweep over K thresholds at two calls per case, not
K, and a rerun with nothing changed at zero calls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from typing import Any, Protocol

from harness.config.record_mode import RecordMode
from harness.errors import ConfigError
from harness.providers import ImportedSource, Provider, is_remote, make_provider
from harness.providers.redact import AnswerRedactor, configured_keys
from harness.types import Request, Response

DEFAULT_CONCURRENCY = 512
"""A ceiling on calls in flight across all providers; each provider applies its own
``max_concurrency`` and rate limits below it."""


class LeaseClaim(Protocol):
    """A request's lease, held by this process until :meth:`release`."""

    answer: Response | None
    """What another process paid for (this process is not to call); None: call."""

    def settle(self, key: str, request: Request, response: Response) -> None:
        """Leave the answer in the lease for the next process that wants it."""

    def release(self) -> None:
        """Let go of the lease."""


class RequestLeases(Protocol):
    """Coordinates paid requests between processes sharing one response store.

    The pytest session gives :class:`harness.store.leases.FileLeases`.
    """

    async def claim(self, key: str, *, fresh: bool = False) -> LeaseClaim:
        """Wait for the lease of ``key``; ``fresh``: ignore answers older than the run."""
        ...


class Executor:
    """Deduplicating, bounded sender of requests.

    Args:
        recorded: Responses already known, by request hash (goldens, the store).
        concurrency: Most provider calls in flight at once.
        provider_factory: Builds the provider for a model-spec prefix.
        record_mode: When remote providers may be called (local ones, like
            ``sim:``, cost nothing and are always called).
        imported: Where a model's imported answers are (None: not imported), for
            ``replay:``'s message when an answer is missing.
        leases: Shared with other processes on the same store (another run, the
            other xdist workers): each distinct paid request is sent by one of them.
    """

    def __init__(
        self,
        recorded: Mapping[str, Response],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        provider_factory: Callable[[str], Provider] | None = None,
        record_mode: RecordMode = "new",
        provider_options: Mapping[str, Mapping[str, Any]] | None = None,
        on_response: Callable[[str, Request, Response], None] | None = None,
        batch_pending: dict[str, Request] | None = None,
        batch_errors: Mapping[str, str] | None = None,
        answered: Collection[str] = (),
        unpriced: Mapping[str, str] | None = None,
        imported: ImportedSource | None = None,
        leases: RequestLeases | None = None,
    ) -> None:
        self.leases = leases
        """When set: other processes on the same store take a lease per paid request,
        so each distinct request is paid once across them (see :class:`RequestLeases`)."""
        self.shared = 0
        """Paid answers another process obtained while this one waited for them."""
        self.unpriced = dict(unpriced or {})
        """Models with no price -> the fix: answered from records only, never called
        (a paid answer the run could not put a price on)."""
        self.answered = frozenset(answered)
        """Hashes answered earlier in this run: never asked again, even when fresh."""
        self.on_response = on_response
        self.batch_pending = batch_pending
        """When set (``--cost-eval-batch``): unrecorded paid requests are collected
        here for the batch API instead of being sent."""
        self.batch_errors = dict(batch_errors or {})
        """Requests whose batch failed: answered with that error, not collected again."""
        self.record_mode = record_mode
        options = provider_options or {}
        self.recorded = dict(recorded)
        self._inflight: dict[str, asyncio.Future[Response]] = {}
        self._providers: dict[str, Provider] = {}
        self._factory = provider_factory or (
            lambda prefix: make_provider(
                prefix, lookup=self.recorded.get, options=options.get(prefix), imported=imported
            )
        )
        self._semaphore: asyncio.Semaphore | None = None
        self._redacted: set[str] = set()  # recorded answers already checked for keys
        self._concurrency = concurrency
        self.calls = 0
        """Provider calls made (requests not answered from records), local ones included."""
        self.remote_calls = 0
        """Of ``calls``, those to paid APIs (not ``sim:`` or ``replay:``)."""
        self.in_flight = 0
        """Provider calls under way now (for the progress display)."""
        self.errors = 0
        """Provider calls that ended in an error."""
        self.cases_done = 0
        """Cases whose configuration chain has finished (for the progress display)."""
        self.new_responses: dict[str, tuple[Request, Response]] = {}
        """Responses obtained from providers in this run, by request hash."""
        self.redactor = AnswerRedactor(configured_keys(options))
        """Keeps configured keys and key shapes out of every answer this executor
        returns, records or journals (``redactor.count``: how many it replaced)."""

    def providers_in_use(self) -> list[Provider]:
        """The providers built so far."""
        return list(self._providers.values())

    def provider(self, model: str) -> Provider:
        """The provider serving ``model`` (one instance per prefix)."""
        prefix = model.partition(":")[0]
        provider = self._providers.get(prefix)
        if provider is None:
            provider = self._providers[prefix] = self._factory(prefix)
        return provider

    async def send(self, request: Request, *, fresh: bool = False) -> Response:
        """The response to ``request``: recorded if known, else from its provider.

        Args:
            fresh: Ignore records and call the provider (re-recording goldens).
        """
        key = request.hash()
        # Decided from the prefix alone: building a paid provider needs its API
        # key, which a run answered from recordings must not require.
        remote = is_remote(request.model.partition(":")[0])
        if remote and self.record_mode == "all" and key not in self.new_responses:
            fresh = True
        if key in self.answered:
            fresh = False
        if not fresh:
            recorded = self.recorded.get(key)
            if recorded is not None:
                # An answer recorded before keys were redacted is cleaned once.
                clean = recorded
                if key not in self._redacted:
                    clean = self.redactor.response(recorded)
                    self._redacted.add(key)
                    if clean is not recorded:
                        self.recorded[key] = clean
                # Answered by this run's batch (--cost-eval-batch): priced at batch rates.
                return _as_sent(clean, request, batched=key in self.answered)
        if remote and self.record_mode != "none" and request.model in self.unpriced:
            raise ConfigError(
                f"case {request.case_id!r}: {request.model!r} has no recorded answer to "
                f"this request ({key}) and no price, so calling it would cost what the run "
                f"cannot report. {self.unpriced[request.model]}"
            )
        if remote and self.batch_pending is not None:
            error = self.batch_errors.get(key)
            if error is None:
                self.batch_pending.setdefault(key, request)
                error = "pending: sent to the provider's batch API"
            return Response(text="", model=request.model, error=error)
        if remote and self.record_mode == "none":
            return Response(
                text="",
                model=request.model,
                error=(
                    f"not recorded: no stored response of {request.model!r} for case "
                    f"{request.case_id!r} (request {key}), and record mode 'none' forbids "
                    "calling the provider. Record it with `pytest --cost-eval "
                    "--cost-eval-record-mode=new` (API keys set), then commit or cache "
                    "the results database."
                ),
            )
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._inflight[key] = future
            try:
                response, paid_elsewhere = await self._answer(key, request, remote, fresh)
            except BaseException as exc:
                future.set_exception(exc)
                # Retrieve it so an unawaited future does not warn; callers re-raise.
                future.exception()
                del self._inflight[key]
                raise
            future.set_result(response)
            del self._inflight[key]
            if response.error is not None:
                self.errors += 1
            else:
                self.recorded[key] = response
                # Another process's answer is stored by that process; a replayed one
                # is in the store already.
                if not paid_elsewhere and not request.model.startswith("replay:"):
                    self.new_responses[key] = (request, response)
        return _as_sent(await future, request)

    async def _answer(
        self, key: str, request: Request, remote: bool, fresh: bool
    ) -> tuple[Response, bool]:
        """Call the provider, under the request's lease when it is paid.

        Returns the response and whether another process paid for it (its
        answer was waiting in the lease). A paid answer is journaled
        (``on_response``) as it arrives, before the lease is settled and let go,
        so it is on disk wherever it is read from.
        """
        if not remote:
            return self.redactor.response(await self._call(request)), False
        claim = None if self.leases is None else await self.leases.claim(key, fresh=fresh)
        try:
            if claim is not None and claim.answer is not None:
                self.shared += 1
                return self.redactor.response(claim.answer), True
            response = self.redactor.response(await self._call(request))
            if response.error is None:
                if self.on_response is not None:
                    self.on_response(key, request, response)
                if claim is not None:
                    claim.settle(key, request, response)
            return response, False
        finally:
            if claim is not None:
                claim.release()

    async def _call(self, request: Request) -> Response:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self._concurrency)
        async with self._semaphore:
            self.calls += 1
            self.in_flight += 1
            if is_remote(request.model.partition(":")[0]):
                self.remote_calls += 1
            started = time.perf_counter()
            try:
                return await self.provider(request.model).complete(request)
            except Exception as exc:
                # A provider must return errors, but a bug in one must not end the run:
                # the case becomes an error row.
                return Response(
                    text="",
                    model=request.model,
                    latency_ms=(time.perf_counter() - started) * 1000,
                    error=f"{type(exc).__name__}: {exc}",
                )
            finally:
                self.in_flight -= 1

    # --- the embedding recorder (see harness.embedders.EmbeddingRecorder) -------

    def recorded_response(self, key: str) -> Response | None:
        """The response recorded under ``key`` (a stored embedding, for one), or None."""
        return self.recorded.get(key)

    def record_response(self, key: str, request: Request, response: Response) -> None:
        """Keep a paid answer obtained outside :meth:`send` (an embedding), as send does."""
        response = self.redactor.response(response)
        self.recorded[key] = response
        self.new_responses[key] = (request, response)
        if self.on_response is not None:
            self.on_response(key, request, response)

    def count_remote_call(self) -> None:
        """Count one call to a paid API made outside :meth:`send` (an embedding batch)."""
        self.calls += 1
        self.remote_calls += 1


async def close_providers(executor: Executor) -> None:
    """Close the providers' HTTP clients (those that have any)."""
    for provider in executor.providers_in_use():
        close = getattr(provider, "aclose", None)
        if close is not None:
            await close()


def _as_sent(response: Response, request: Request, *, batched: bool = False) -> Response:
    """The response as this request sees it: flagged batch when it was sent as batch, or
    when this run's batch answered it (``batched``)."""
    batch = request.batch or (batched and response.batch)
    if response.batch == batch:
        return response
    return replace(response, batch=batch)
