"""What each lever did, beyond the quality delta: cache hits, false and stale hits, tokens saved.

Computed per (suite, configuration) from its case results and its chain's
strategies, and stored with the summary (``summaries.extras_json``) for the
report:

- ``cache``: hit rate, false hits (a hit whose served answer scores below the
  baseline for the new question) and stale hits (served across a
  knowledge-version change), each with an exact binomial interval, and the
  cost the hits saved;
- ``cache_sweep`` (semantic caches): hit and wrong-hit rates at every
  similarity threshold from one embedding per query, and the recommended
  threshold (most correct hits with the wrong-hit rate's upper bound under 1 %);
  with a verifier stage, the same thresholds with every candidate hit checked
  (``verified_points``: hits, wrong hits, what the verifier caught and cost),
  each (query, candidate) pair asked once through the run's executor;
- ``compression``: input tokens the answering model was sent against the baseline's
  and the share saved; apart from them, the tokens the compressor itself spent (a
  summarizer's calls, on its own model and price); the net cost change; and the
  rate asked for beside the rate reached, for compressors that take one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from harness.analysis.cache_replay import embed_stream, scorer_check
from harness.analysis.cache_sweep import sweep_cache_thresholds
from harness.analysis.cache_traffic import stream_from_cases
from harness.config.prices import PriceTable
from harness.config.suites import Suite
from harness.engine.cache_verify import sweep_with_verifier
from harness.engine.run_data import PreparedSuite
from harness.errors import ConfigError, ProviderError
from harness.importers.paraphrase_pairs import describe_suite_negatives
from harness.stats.binomial import binomial_interval
from harness.stats.gates import GateSpec
from harness.strategies.cache_verifier import Send
from harness.strategies.chain import Chain
from harness.types import CaseResult, Golden, Request, Response, Usage

WRONG_HIT_TARGET = 0.01
"""Upper bound of the wrong-hit rate a recommended cache threshold must stay under."""

COMPRESSOR_PURPOSES = frozenset({"summarize"})
"""``Request.purpose`` of the calls a compressor makes itself (a summarizer's): tokens
the compressor spends, counted apart from the answering model's."""

Calls = Mapping[str, Sequence[tuple[Request, Response]]]
"""Each case's model calls, by case id."""


def _rate(k: int, n: int, confidence: float) -> dict[str, Any]:
    low, high = binomial_interval(k, n, confidence) if n else (0.0, 1.0)
    return {"k": k, "n": n, "rate": k / n if n else 0.0, "ci": [low, high]}


def cache_metrics(
    chain: Chain,
    results: Sequence[CaseResult],
    *,
    confidence: float,
    prices: PriceTable | None = None,
    goldens: Mapping[str, Golden] | None = None,
) -> dict[str, Any] | None:
    """Hits, false hits and stale hits of the configuration's cache, or None without one.

    With ``prices``, the tokens the embedder billed are priced (``embedding_usd``;
    None when the embedding model has no known price) and netted out of the
    savings (``net_saved_usd``, net of a verifier's checks too: ``verifier``). With
    ``goldens``, the model latency the hits avoided (each hit's recorded baseline
    latency minus the lookup) is ``latency_saved_ms``.
    """
    cache = next((s for s in chain.strategies if getattr(s, "lever", None) == "cache"), None)
    if cache is None:
        return None
    hits = [r for r in results if r.cache_hit]
    judged = [r for r in hits if r.delta is not None]
    false_hits = [r for r in judged if r.delta is not None and r.delta < 0]
    events = getattr(cache, "events", [])
    stale = sum(1 for event in events if getattr(event, "stale", False))
    saved = sum((r.baseline_cost_usd for r in hits), Decimal(0))
    tokens = sum(int(getattr(event, "embed_tokens", 0) or 0) for event in events)
    embeddings = getattr(cache, "embeddings", None)
    model = str(getattr(embeddings, "name", "") or "")
    spent = prices.embedding_cost(model, tokens) if prices is not None else Decimal(0)
    latency_saved = sum(
        max(0.0, goldens[r.case_id].latency_ms - r.latency_ms)
        for r in hits
        if goldens is not None and r.case_id in goldens
    )
    verifier = _verifier_metrics(cache, events, prices)
    # The verifier's calls are in the cases' costs already; the savings are net of them.
    checking = Decimal(verifier["usd"]) if verifier is not None else Decimal(0)
    record = {
        "kind": cache.name,
        "threshold": getattr(cache, "threshold", None),
        "hits": _rate(len(hits), len(results), confidence),
        "false_hits": _rate(len(false_hits), len(judged), confidence),
        "stale_hits": _rate(stale, len(judged), confidence),
        "false_hit_cases": [r.case_id for r in false_hits][:20],
        "saved_usd": str(saved),
        "embedder": model or None,
        "embedding_tokens": tokens,
        "embedding_usd": None if spent is None else str(spent),
        "net_saved_usd": None if spent is None else str(saved - spent - checking),
        "latency_saved_ms": latency_saved,
    }
    if verifier is not None:
        record["verifier"] = verifier
    return record


def _verifier_metrics(
    cache: Any, events: Sequence[Any], prices: PriceTable | None
) -> dict[str, Any] | None:
    """What the cache's verifier did in the run: checks, rejections, errors, its cost.

    Its calls are already in each case's cost (they went through the chain);
    ``usd`` says how much of the configuration's cost they were.
    """
    verifier = getattr(cache, "verifier", None)
    if verifier is None:
        return None
    said = [getattr(event, "verify", None) for event in events]
    usage = sum((getattr(event, "verify_usage", Usage()) for event in events), Usage())
    models = tuple(getattr(verifier, "models", ()))
    usd = prices.cost(models[0], usage) if prices is not None and models else Decimal(0)
    return {
        "name": verifier.name,
        "checks": sum(1 for s in said if s is not None),
        "rejected": said.count("rejected"),
        "errors": said.count("error"),
        "input_tokens": usage.total_input_tokens,
        "output_tokens": usage.output_tokens,
        "usd": str(usd),
    }


def compression_metrics(
    chain: Chain,
    results: Sequence[CaseResult],
    goldens: Mapping[str, Golden],
    *,
    calls: Calls | None = None,
    prices: PriceTable | None = None,
) -> dict[str, Any] | None:
    """What the compressor saved and spent, or None without a compressor.

    Token figures are what the providers reported (the achieved ratio, not the
    requested one). With ``calls`` (each case's model calls), the compressor's own
    calls (:data:`COMPRESSOR_PURPOSES`) are counted apart from the answering
    model's: ``input_tokens`` and ``saved_pct`` are the answering model's alone,
    ``compressor`` holds what the compressor spent, and with ``prices`` the costs
    and ``net_cost_change_pct`` (answering plus compressor against the baseline).
    """
    compressor = next(
        (s for s in chain.strategies if getattr(s, "lever", None) == "compress"), None
    )
    if compressor is None:
        return None
    answered = [r for r in results if not r.cache_hit]
    baseline = sum(
        goldens[r.case_id].usage.total_input_tokens for r in answered if r.case_id in goldens
    )
    sent = 0
    spent = Usage()
    spent_calls = 0
    models: dict[str, None] = {}
    answer_usd: Decimal | None = Decimal(0)
    spent_usd: Decimal | None = Decimal(0)
    for result in answered:
        if calls is None or result.case_id not in calls:
            sent += result.usage.total_input_tokens
            answer_usd = None  # not split by call: no cost figures
            continue
        for request, response in calls[result.case_id]:
            cost = _priced(prices, request, response)
            if request.purpose in COMPRESSOR_PURPOSES:
                spent = spent + response.usage
                spent_calls += 1
                models[request.model] = None
                spent_usd = None if spent_usd is None or cost is None else spent_usd + cost
            else:
                sent += response.usage.total_input_tokens
                answer_usd = None if answer_usd is None or cost is None else answer_usd + cost
    out: dict[str, Any] = {
        "kind": getattr(compressor, "name", type(compressor).__name__),
        "input_tokens": sent,
        "baseline_input_tokens": baseline,
        "saved_pct": (1 - sent / baseline) * 100 if baseline else 0.0,
        "compressor": {
            "calls": spent_calls,
            "models": list(models),
            "input_tokens": spent.total_input_tokens,
            "output_tokens": spent.output_tokens,
            "usd": None if spent_usd is None or prices is None else str(spent_usd),
        },
    }
    baseline_usd = sum((r.baseline_cost_usd for r in answered), Decimal(0))
    if prices is not None and answer_usd is not None and spent_usd is not None and baseline_usd:
        out["answer_usd"] = str(answer_usd)
        out["baseline_usd"] = str(baseline_usd)
        out["net_cost_change_pct"] = float((answer_usd + spent_usd) / baseline_usd - 1) * 100
    # The compressor's own count (offline tokenizer) of what it kept, beside its target.
    stats = list(getattr(compressor, "stats", ()) or ())
    before = sum(record.before for record in stats)
    out["requested_rate"] = getattr(compressor, "requested_ratio", None)
    out["achieved_rate"] = sum(record.after for record in stats) / before if before else None
    return out


def _priced(prices: PriceTable | None, request: Request, response: Response) -> Decimal | None:
    """What one call cost at the price table's rates; None without a price."""
    if prices is None:
        return None
    if response.cost_usd is not None:
        return response.cost_usd
    try:
        return prices.cost(request.model, response.usage, batch=request.batch or response.batch)
    except ConfigError:
        return None


async def semantic_cache_sweep(
    chain: Chain,
    suite: Suite,
    goldens: Mapping[str, Golden],
    scorer: Any,
    *,
    confidence: float,
    send: Send | None = None,
    prices: PriceTable | None = None,
) -> dict[str, Any] | None:
    """The threshold sweep of the configuration's semantic cache over the suite's stream.

    With a verifier on the cache, ``send`` (the run's executor) and ``prices``, the
    sweep is also made with verification (see :mod:`harness.engine.cache_verify`).
    """
    cache = next((s for s in chain.strategies if s.name == "semantic"), None)
    if cache is None:
        return None
    stream = stream_from_cases(
        suite.cases, {case_id: golden.text for case_id, golden in goldens.items()}
    )
    try:
        embeddings = await embed_stream(stream, cache.embeddings)  # type: ignore[attr-defined]
    except ProviderError as exc:  # not recorded, or the embedder's API failed
        return {"target": WRONG_HIT_TARGET, "points": [], "recommended": None, "error": str(exc)}
    verifier = getattr(cache, "verifier", None)
    check = scorer_check(scorer, pass_score=0.9)
    if verifier is not None and send is not None and prices is not None:
        result = await sweep_with_verifier(
            stream,
            embeddings,
            verifier,
            send,
            prices,
            check=check,
            target=WRONG_HIT_TARGET,
            confidence=confidence,
        )
        return {
            "target": WRONG_HIT_TARGET,
            "points": [p.to_json() for p in result.points],
            "recommended": result.recommended.to_json() if result.recommended else None,
            **result.verification_json(),
        }
    result = sweep_cache_thresholds(
        stream, embeddings, check=check, target=WRONG_HIT_TARGET, confidence=confidence
    )
    return {
        "target": WRONG_HIT_TARGET,
        "points": [p.to_json() for p in result.points],
        "recommended": result.recommended.to_json() if result.recommended is not None else None,
    }


async def lever_metrics(
    chain: Chain,
    item: PreparedSuite,
    results: Sequence[CaseResult],
    gate: GateSpec,
    prices: PriceTable | None = None,
    send: Send | None = None,
    calls: Calls | None = None,
) -> dict[str, Any]:
    """Cache and compression figures of a configuration (:mod:`harness.engine.lever_metrics`).

    ``send`` (the run's executor): where a cache verifier's sweep asks its questions.
    ``calls``: each case's model calls, by case id (the compressor's own counted apart).
    """
    extras: dict[str, Any] = {}
    cache = cache_metrics(
        chain, results, confidence=gate.confidence, prices=prices, goldens=item.goldens
    )
    if cache is not None:
        extras["cache"] = cache
        cache_sweep = await semantic_cache_sweep(
            chain,
            item.suite,
            item.goldens,
            item.scorer,
            confidence=gate.confidence,
            send=send,
            prices=prices,
        )
        if cache_sweep is not None:
            # A suite written from pairs says which negatives it holds (generated
            # ones are made up), so its sweep is not mistaken for real traffic.
            negatives = describe_suite_negatives(item.suite.cases)
            if negatives is not None:
                cache_sweep["negatives"] = negatives
            extras["cache_sweep"] = cache_sweep
    compression = compression_metrics(chain, results, item.goldens, calls=calls, prices=prices)
    if compression is not None:
        extras["compression"] = compression
    return extras
