"""A semantic cache's threshold sweep with its verifier stage: the verdicts asked, then arithmetic.

:func:`sweep_with_verifier` asks the cache's verifier
(:mod:`harness.strategies.cache_verifier`) about each (query, candidate) pair
the sweep needs, once (:func:`harness.analysis.cache_sweep.sweep_verdicts`),
through the ``send`` it is given: the run's or ``harness cache``'s
:class:`~harness.engine.executor.Executor`, so a judge's calls are deduplicated,
kept in the response store and replayed (a rerun asks nothing). Each pair's
calls are priced; the sweep then reports every threshold without and with
verification from those verdicts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from harness.analysis.cache_sweep import (
    DEFAULT_THRESHOLDS,
    PairVerdict,
    Sweep,
    VerifyPair,
    sweep_cache_thresholds,
    sweep_verdicts,
)
from harness.analysis.cache_traffic import Stream
from harness.config.prices import PriceTable
from harness.strategies.cache_verifier import FunctionVerifier, JudgeVerifier, Send

__all__ = ["SWEEP_CASE_ID", "first_verifier_error", "sweep_with_verifier"]

SWEEP_CASE_ID = "cache-sweep"
"""``Request.case_id`` of a sweep's verifier requests (a pair is not one case)."""


async def sweep_with_verifier(
    stream: Stream,
    embeddings: Any,
    verifier: JudgeVerifier | FunctionVerifier,
    send: Send,
    prices: PriceTable,
    *,
    answers: bool = True,
    thresholds: Iterable[float] = DEFAULT_THRESHOLDS,
    ttl: float | None = None,
    by_version: bool = True,
    **options: Any,
) -> Sweep:
    """The sweep without and with ``verifier``, each pair it needs decided once.

    Args:
        answers: Show the verifier the stored answers (False for labelled
            question pairs, whose answers are labels).
        options: The rest of :func:`~harness.analysis.cache_sweep.sweep_cache_thresholds`'s
            options (``check``, ``judge``, ``target``, ``confidence`` ...).

    Returns:
        The sweep, with how many pairs were decided and the first failed check.
    """
    grid = tuple(thresholds)

    async def ask(pairs: Sequence[VerifyPair]) -> dict[VerifyPair, PairVerdict]:
        checks = await asyncio.gather(
            *(
                verifier.check(new, stored, answer, send, case_id=SWEEP_CASE_ID)
                for new, stored, answer in pairs
            )
        )
        return {
            pair: PairVerdict(
                accepted=check.accepted and check.error is None,
                cost_usd=sum(
                    (
                        prices.cost(request.model, response.usage, batch=request.batch)
                        for request, response in check.calls
                    ),
                    Decimal(0),
                ),
                error=check.error,
            )
            for pair, check in zip(pairs, checks, strict=True)
        }

    verdicts = await sweep_verdicts(
        stream,
        embeddings,
        ask,
        thresholds=grid,
        ttl=ttl,
        by_version=by_version,
        answers=answers,
    )
    sweep = sweep_cache_thresholds(
        stream,
        embeddings,
        thresholds=grid,
        ttl=ttl,
        by_version=by_version,
        verdicts=verdicts,
        verify_answers=answers,
        verifier=verifier.name,
        **options,
    )
    return replace(
        sweep, verified_pairs=len(verdicts), verifier_error=first_verifier_error(verdicts)
    )


def first_verifier_error(verdicts: Mapping[VerifyPair, PairVerdict]) -> str | None:
    """The first failed check's message with how many failed, or None when none did."""
    errors = [v.error for v in verdicts.values() if v.error is not None]
    if not errors:
        return None
    more = f" ({len(errors)} of {len(verdicts)} checks failed; they count as rejected)"
    return f"{errors[0]}{more}"
