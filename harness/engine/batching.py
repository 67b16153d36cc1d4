"""``--cost-eval-batch``: a whole run answered through the providers' batch APIs.

A run is evaluated in rounds. Each round runs every configuration with the
answers known so far; paid requests nobody has answered yet are not sent but
collected. They go to the batch APIs together (OpenAI Batch, Anthropic Message
Batches: half price): every provider's batches are submitted in the same round,
then polled concurrently, so the run waits once, not once per provider. The next
round runs with their answers, priced at batch rates (each configuration's cost
per query too, with ``Summary.extras["batch"]`` saying how many of its cases were
answered by a batch). A request
can depend on an earlier answer (a summarizing compressor's summary), hence
rounds; most runs need one batch round and a final pass that sends nothing.

Batch ids are kept by the caller's batch store (DuckDB for the pytest session) from the
moment they are submitted: a run killed while its batches are pending resumes
them when run again, without submitting them a second time. ``batch_timeout``
bounds the wait: batches still pending then are left pending (the next run resumes
them), and their cases become error rows saying so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from harness.config.suites import Suite
from harness.embedders import is_embedding
from harness.engine.run import run
from harness.engine.run_data import Plan, RunOutcome
from harness.errors import ConfigError
from harness.providers.batch import BatchStore, run_batches
from harness.providers.redact import AnswerRedactor, configured_keys
from harness.types import Request, Response

MAX_ROUNDS = 4
"""Batch rounds before giving up on requests that keep depending on new answers."""


def run_with_batches(
    plan: Plan,
    suites: Mapping[str, Suite],
    selected: Sequence[tuple[str, str]],
    *,
    recorded: Mapping[str, Response],
    batch_store: BatchStore,
    progress: Callable[[str], None] | None = None,
    on_response: Callable[[str, Request, Response], None] | None = None,
    poll_interval: float = 30.0,
    batch_timeout: float | None = None,
    **options: Any,
) -> RunOutcome:
    """:func:`harness.engine.run.run`, with every paid request answered by a batch API.

    ``batch_store`` remembers the batches submitted (the caller's: the pytest
    session gives :class:`harness.store.batches.DuckBatchStore`, the run's
    database), so a run killed while they are pending resumes them. ``batch_timeout``:
    seconds to wait for each round's batches (None: until they end).

    Raises:
        ConfigError: ``batch_timeout`` is not a positive number of seconds.
    """
    if batch_timeout is not None and not batch_timeout > 0:
        raise ConfigError(
            f"--cost-eval-batch-timeout must be a positive number of seconds, got "
            f"{batch_timeout!r}; leave it out to wait until the batches end."
        )
    known = dict(recorded)
    fetched: dict[str, tuple[Request, Response]] = {}
    embedded: dict[str, tuple[Request, Response]] = {}
    embed_calls = 0  # paid calls made outside batches in earlier rounds (embeddings)
    failed: dict[str, str] = {}
    spend = Decimal(0)  # batch answers, at batch rates
    say = progress or (lambda _message: None)
    redactor = AnswerRedactor(configured_keys(plan.settings.providers))
    for round_number in range(1, MAX_ROUNDS + 1):
        pending: dict[str, Request] = {}
        outcome = run(
            plan,
            suites,
            selected,
            recorded=known,
            progress=progress,
            on_response=on_response,
            batch_pending=pending,
            batch_errors=failed,
            # Answers fetched in earlier rounds are final, even for record mode "all"
            # or re-recorded goldens: "all" means once per run, not once per round.
            answered=set(fetched),
            **options,
        )
        if not pending or round_number == MAX_ROUNDS:
            outcome.new_responses.update(fetched)
            outcome.new_responses.update(embedded)
            # Requests answered by a batch are provider calls, paid ones: count them in
            # both totals (the final round answered them from what the batches gave).
            outcome.calls += len(fetched) + embed_calls
            outcome.remote_calls += len(fetched) + embed_calls
            outcome.spend_usd += spend
            outcome.redacted += redactor.count
            return outcome
        # A paid embedder's vectors are not batched: they were fetched this round.
        # Keep them for the next rounds (and the store), so no round pays twice.
        for key, (request, response) in outcome.new_responses.items():
            if is_embedding(request) and key not in embedded:
                known[key] = response
                embedded[key] = (request, response)
        embed_calls += outcome.remote_calls
        spend += outcome.spend_usd
        by_provider: dict[str, list[Request]] = {}
        for request in pending.values():
            by_provider.setdefault(request.model.partition(":")[0], []).append(request)
        for prefix, requests in sorted(by_provider.items()):
            say(f"batch round {round_number}: {len(requests)} request(s) to {prefix}")
        # Every provider at once: submitted in the same round, polled concurrently.
        answers = asyncio.run(
            run_batches(
                dict(sorted(by_provider.items())),
                client_options={p: plan.settings.providers.get(p) for p in by_provider},
                store=batch_store,
                poll_interval=poll_interval,
                progress=say,
                timeout=batch_timeout,
            )
        )
        for key, answer in answers.items():
            request = pending[key]
            response = redactor.response(answer)
            if response.error is None:
                known[key] = response
                fetched[key] = (request, response)
                spend += plan.prices.cost(request.model, response.usage, batch=True)
                if on_response is not None:
                    on_response(key, request, response)
            else:
                failed[key] = f"batch: {response.error}"
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns
