"""Replay a semantic cache over a stream of queries, offline, from one embedding per query.

The inputs are what a suite already has: the stream of queries
(:mod:`harness.analysis.cache_traffic`: cases with their correct answers,
optionally replayed as real traffic), a way to decide whether a cached answer
is right for a new query (:func:`exact_match`, :func:`scorer_check`, or a
labelled suite's :data:`CaseJudge`), and one embedding per case
(:func:`embed_stream`).

:func:`simulate` runs the cache rules of
:class:`~harness.strategies.semantic_cache.SemanticIndex` (the same code the
``semantic`` cache strategy runs) at one threshold, bounded or not. The
threshold sweep (:mod:`harness.analysis.cache_sweep`) builds its reports with
the same pieces.

Every hit is exactly one of:

- **correct**: the cached answer passes the scorer against the new query's
  correct answer;
- **false**: it does not (a near-miss served a wrong answer);
- **stale**: served across a knowledge-version change, or older than
  ``stale_after``: never counted as correct, whatever the text.

Rates are per hit (``false_hit_rate = false / hits``: the share of served
cached answers that are wrong) with an exact Clopper-Pearson (default) or
Wilson interval. ``recall`` is correct hits over *answerable* queries: those
for which an earlier query with the same correct answer, knowledge version and
context was still fresh, i.e. the hits a perfect cache would have made.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from harness.analysis.cache_traffic import Query, Stream
from harness.embedders import check_embeddings
from harness.errors import CostEvalError
from harness.scoring.base import Scorer
from harness.stats.binomial import Interval, binomial_interval
from harness.strategies.semantic_cache import SIMILARITY_TOLERANCE, SemanticIndex

__all__ = [
    "AnswerCheck",
    "CacheReport",
    "CaseJudge",
    "CategoryCounts",
    "HitVerdicts",
    "Outcome",
    "VerifierCounts",
    "answerable_mask",
    "build_cache_report",
    "embed_stream",
    "exact_match",
    "scorer_check",
    "simulate",
    "unit_embeddings",
]

AnswerCheck = Callable[[str, str], bool]
"""``check(cached_answer, correct_answer) -> bool``: is the cached answer right here?"""

CaseJudge = Callable[[str, str], bool | None]
"""``judge(served_case_id, query_case_id)``: True (correct), False (false hit) or
None (the labels cannot tell: the hit is counted apart as *unjudged*). Given by
labelled suites (see :meth:`harness.importers.paraphrase_pairs.CacheSuite.judge`); when set it
replaces the answer check."""


# ---------------------------------------------------------------- answer checks


def exact_match(cached: str, correct: str) -> bool:
    """The default check: the cached answer is the correct answer, character for character."""
    return cached == correct


def scorer_check(scorer: Scorer, *, pass_score: float = 1.0) -> AnswerCheck:
    """A check from a harness scorer: right when ``score(cached, correct) >= pass_score``."""

    def check(cached: str, correct: str) -> bool:
        return scorer.score(cached, correct).value >= pass_score

    return check


_MISS, _CORRECT, _FALSE, _STALE, _UNJUDGED = 0, 1, 2, 3, 4
_VERDICTS: tuple[Literal["miss", "correct", "false", "stale", "unjudged"], ...] = (
    "miss",
    "correct",
    "false",
    "stale",
    "unjudged",
)


class HitVerdicts:
    """Decides each hit: stale, else the judge or the (memoized) answer check.

    Calling it with the served entry and the query gives a verdict code, an
    index into the verdict names (1 correct, 2 false, 3 stale, 4 unjudged).
    """

    def __init__(
        self, check: AnswerCheck, judge: CaseJudge | None, stale_after: float | None
    ) -> None:
        self.check = check
        self.judge = judge
        self.stale_after = stale_after
        self.memo: dict[tuple[str, str], bool] = {}

    def __call__(self, entry: Query, query: Query) -> int:
        """The verdict code of serving ``entry``'s answer to ``query``."""
        if entry.knowledge_version != query.knowledge_version or (
            self.stale_after is not None and query.timestamp - entry.timestamp > self.stale_after
        ):
            return _STALE
        if self.judge is not None:
            judged = self.judge(entry.case_id, query.case_id)
            return _UNJUDGED if judged is None else _CORRECT if judged else _FALSE
        if self.check is exact_match:
            return _CORRECT if entry.answer == query.answer else _FALSE
        key = (entry.answer, query.answer)
        if key not in self.memo:
            self.memo[key] = bool(self.check(*key))
        return _CORRECT if self.memo[key] else _FALSE


# --------------------------------------------------------------------- reports


@dataclass(frozen=True, slots=True, kw_only=True)
class CategoryCounts:
    """Hits by outcome for the queries of one category."""

    queries: int = 0
    answerable: int = 0
    hits: int = 0
    correct: int = 0
    false: int = 0
    stale: int = 0
    unjudged: int = 0

    @property
    def recall(self) -> float:
        """Correct hits over answerable queries (1.0 when none was answerable)."""
        return self.correct / self.answerable if self.answerable else 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What happened to one query."""

    case_id: str
    hit: bool
    matched_case_id: str | None
    similarity: float | None
    verdict: Literal["miss", "correct", "false", "stale", "unjudged"]
    answerable: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifierCounts:
    """What a verifier stage did at one threshold (see :mod:`harness.strategies.cache_verifier`).

    Every candidate hit at or above the threshold is a check; a rejected one is
    a miss. ``rejected_*`` say what the rejected candidates would have been had
    they been served: a rejected wrong hit is one the verifier caught, a
    rejected correct hit one it cost.
    """

    checks: int
    rejected: int
    rejected_correct: int
    """Correct hits turned away (recall the verifier cost)."""
    rejected_wrong: int
    """False or stale hits turned away (what the verifier bought)."""
    rejected_unjudged: int = 0
    errors: int = 0
    """Checks that failed (counted as rejected: nothing unchecked is served)."""
    cost_usd: Decimal = Decimal(0)
    """What the checks cost (a judge's calls; 0 for a function)."""

    def to_json(self) -> dict[str, Any]:
        """The counts as a JSON-ready object."""
        return {
            "checks": self.checks,
            "rejected": self.rejected,
            "rejected_correct": self.rejected_correct,
            "rejected_wrong": self.rejected_wrong,
            "rejected_unjudged": self.rejected_unjudged,
            "errors": self.errors,
            "cost_usd": str(self.cost_usd),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheReport:
    """One cache configuration over one stream."""

    threshold: float
    queries: int
    hits: int
    correct_hits: int
    false_hits: int
    stale_hits: int
    unjudged_hits: int
    """Hits the labels cannot judge (see :data:`CaseJudge`); left out of the rates."""
    answerable: int
    """Queries a perfect cache would have answered correctly."""
    false_hit_ci: tuple[float, float]
    """CI of :attr:`false_hit_rate`."""
    wrong_hit_ci: tuple[float, float]
    """CI of :attr:`wrong_hit_rate`."""
    gross_saved_usd: Decimal = Decimal(0)
    """Model cost of the queries answered from the cache."""
    embedding_cost_usd: Decimal = Decimal(0)
    """Embedding cost of every query (hit or miss: all are embedded)."""
    latency_saved_ms: float = 0.0
    """Model latency of the hits, minus the hit lookups and every query's embedding time."""
    by_category: Mapping[str, CategoryCounts] = field(default_factory=dict)
    outcomes: tuple[Outcome, ...] = ()
    """One per query (only from :func:`simulate`)."""
    evictions: int = 0
    verifier: VerifierCounts | None = None
    """What the verifier stage did, for a sweep with verification; None without one."""

    @property
    def hit_rate(self) -> float:
        """Hits over queries."""
        return self.hits / self.queries if self.queries else 0.0

    @property
    def judged_hits(self) -> int:
        """Hits judged correct, false or stale (all hits unless a judge abstained)."""
        return self.hits - self.unjudged_hits

    @property
    def false_hit_rate(self) -> float:
        """False hits over judged hits: the share of served cached answers that are wrong."""
        return self.false_hits / self.judged_hits if self.judged_hits else 0.0

    @property
    def stale_hit_rate(self) -> float:
        """Stale hits over judged hits."""
        return self.stale_hits / self.judged_hits if self.judged_hits else 0.0

    @property
    def wrong_hit_rate(self) -> float:
        """False or stale hits over judged hits."""
        wrong = self.false_hits + self.stale_hits
        return wrong / self.judged_hits if self.judged_hits else 0.0

    @property
    def recall(self) -> float:
        """Correct hits over answerable queries."""
        return self.correct_hits / self.answerable if self.answerable else 1.0

    @property
    def net_saved_usd(self) -> Decimal:
        """Model cost saved minus what the embeddings (and a verifier) cost."""
        verifying = self.verifier.cost_usd if self.verifier is not None else Decimal(0)
        return self.gross_saved_usd - self.embedding_cost_usd - verifying

    def to_json(self) -> dict[str, Any]:
        """The counts and rates as a JSON-ready object (no per-query outcomes)."""
        out: dict[str, Any] = {
            "threshold": self.threshold,
            "hit_rate": self.hit_rate,
            "recall": self.recall,
            "hits": self.hits,
            "correct_hits": self.correct_hits,
            "false_hits": self.false_hits,
            "stale_hits": self.stale_hits,
            "unjudged_hits": self.unjudged_hits,
            "wrong_hit_rate": self.wrong_hit_rate,
            "wrong_hit_ci": list(self.wrong_hit_ci),
            "wrong_hit_ci_high": self.wrong_hit_ci[1],
            "saved_usd": str(self.gross_saved_usd),
            "latency_saved_ms": self.latency_saved_ms,
        }
        if self.verifier is not None:
            out["verifier"] = self.verifier.to_json()
        return out


# -------------------------------------------------------------------- the replay


def unit_embeddings(stream: Stream, embeddings: Any) -> npt.NDArray[np.float64]:
    """The embeddings of ``stream``'s cases as float64 rows of norm 1.

    Raises:
        CostEvalError: not one finite, non-zero row per case.
    """
    arr = np.asarray(embeddings, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != len(stream.case_ids):
        raise CostEvalError(
            f"need one embedding row per case ({len(stream.case_ids)}), got an array of "
            f"shape {arr.shape}."
        )
    if not np.isfinite(arr).all():
        raise CostEvalError("the embeddings contain NaN or infinity.")
    norms = np.linalg.norm(arr, axis=1)
    if (norms == 0).any():
        raise CostEvalError(
            f"case {stream.case_ids[int(np.argmin(norms))]!r} has an all-zero embedding."
        )
    unit: npt.NDArray[np.float64] = arr / norms[:, None]
    return unit


def answerable_mask(
    stream: Stream, *, ttl: float | None, stale_after: float | None
) -> npt.NDArray[np.bool_]:
    """Whether an earlier query with the same answer, version and context was still fresh."""
    limit = min(x for x in (ttl, stale_after, math.inf) if x is not None)
    last_seen: dict[tuple[str, str | None, str], float] = {}
    out = np.zeros(len(stream.queries), dtype=bool)
    for i, q in enumerate(stream.queries):
        key = (q.answer, q.knowledge_version, q.context)
        seen = last_seen.get(key)
        out[i] = seen is not None and q.timestamp - seen <= limit
        last_seen[key] = q.timestamp
    return out


def _categories(stream: Stream) -> tuple[list[str], npt.NDArray[np.int64]]:
    """The sorted category names and each query's index into them."""
    names = sorted({q.category for q in stream.queries})
    number = {name: i for i, name in enumerate(names)}
    return names, np.array([number[q.category] for q in stream.queries], dtype=np.int64)


def build_cache_report(
    stream: Stream,
    threshold: float,
    matched: npt.NDArray[np.int64],
    verdicts: npt.NDArray[np.int8],
    answerable: npt.NDArray[np.bool_],
    *,
    confidence: float,
    interval: Interval,
    embedding_cost_usd: Decimal,
    embedding_latency_ms: float,
    hit_latency_ms: float,
    outcomes: tuple[Outcome, ...] = (),
    evictions: int = 0,
    verifier: VerifierCounts | None = None,
) -> CacheReport:
    """The counts, rates and savings of one threshold's hits over ``stream``.

    ``matched[i]`` is the position of the query whose answer query ``i`` was
    served (-1: a miss), ``verdicts[i]`` its :class:`HitVerdicts` code.
    """
    hits_mask = matched >= 0
    hits = int(hits_mask.sum())
    correct = int((verdicts == _CORRECT).sum())
    false = int((verdicts == _FALSE).sum())
    stale = int((verdicts == _STALE).sum())
    unjudged = int((verdicts == _UNJUDGED).sum())
    judged = hits - unjudged
    names, which = _categories(stream)
    size = len(names)

    def per_category(mask: npt.NDArray[np.bool_]) -> list[int]:
        return [int(x) for x in np.bincount(which[mask], minlength=size)]

    columns: dict[str, list[int]] = {
        "queries": per_category(np.ones(len(which), dtype=bool)),
        "answerable": per_category(answerable),
        "hits": per_category(hits_mask),
        **{_VERDICTS[v]: per_category(verdicts == v) for v in range(1, len(_VERDICTS))},
    }
    by_category = {
        name: CategoryCounts(**{key: values[c] for key, values in columns.items()})
        for c, name in enumerate(names)
    }
    hit_positions = np.flatnonzero(hits_mask)
    saved = sum((stream.queries[i].cost_usd for i in hit_positions), Decimal(0))
    latency = float(sum(stream.queries[i].latency_ms for i in hit_positions))
    n = len(stream.queries)
    return CacheReport(
        threshold=threshold,
        queries=n,
        hits=hits,
        correct_hits=correct,
        false_hits=false,
        stale_hits=stale,
        unjudged_hits=unjudged,
        answerable=int(answerable.sum()),
        false_hit_ci=binomial_interval(false, judged, confidence, interval),
        wrong_hit_ci=binomial_interval(false + stale, judged, confidence, interval),
        gross_saved_usd=saved,
        embedding_cost_usd=embedding_cost_usd * n,
        latency_saved_ms=latency - hits * hit_latency_ms - n * embedding_latency_ms,
        by_category=by_category,
        outcomes=outcomes,
        evictions=evictions,
        verifier=verifier,
    )


def simulate(
    stream: Stream,
    embeddings: Any,
    *,
    threshold: float,
    ttl: float | None = None,
    max_entries: int | None = None,
    by_version: bool = True,
    check: AnswerCheck = exact_match,
    judge: CaseJudge | None = None,
    stale_after: float | None = None,
    confidence: float = 0.95,
    interval: Interval = "exact",
    embedding_cost_usd: Decimal = Decimal(0),
    embedding_latency_ms: float = 0.0,
    hit_latency_ms: float = 1.0,
) -> CacheReport:
    """Run the semantic cache's rules over the stream at one threshold.

    Args:
        stream: The queries (see :func:`stream_from_cases`).
        embeddings: One row per case of ``stream.case_ids``.
        threshold: Cosine similarity needed for a hit.
        ttl: Seconds an entry may be served (None: forever).
        max_entries: LRU capacity (None: unbounded).
        by_version: Namespace entries by knowledge version (never serve across).
        check: Whether a cached answer is right for a query's correct answer.
        judge: Decides hits from case labels instead of ``check`` (may abstain).
        stale_after: Seconds after which a served answer counts as stale even
            within its version (the facts drift); None: never.
        confidence: Level of the false-hit intervals.
        interval: ``exact`` (Clopper-Pearson) or ``wilson``.
        embedding_cost_usd: Embedding cost per query.
        embedding_latency_ms: Embedding time per query.
        hit_latency_ms: Time of a cache lookup.
    """
    vectors = unit_embeddings(stream, embeddings)
    decide = HitVerdicts(check, judge, stale_after)
    index: SemanticIndex[int] = SemanticIndex(ttl=ttl, max_entries=max_entries)
    n = len(stream.queries)
    matched = np.full(n, -1, dtype=np.int64)
    verdicts = np.zeros(n, dtype=np.int8)
    answerable = answerable_mask(stream, ttl=ttl, stale_after=stale_after)
    outcomes: list[Outcome] = []
    for i, q in enumerate(stream.queries):
        namespace = f"{q.knowledge_version if by_version else ''}\x1f{q.context}"
        match = index.lookup(vectors[q.row], namespace=namespace, now=q.timestamp)
        similarity = None if match is None else match.similarity
        if match is not None and match.similarity >= threshold - SIMILARITY_TOLERANCE:
            index.touch(match.slot)
            j = match.payload
            matched[i] = j
            verdicts[i] = decide(stream.queries[j], q)
        else:
            index.insert(vectors[q.row], i, namespace=namespace, now=q.timestamp)
        outcomes.append(
            Outcome(
                case_id=q.case_id,
                hit=bool(matched[i] >= 0),
                matched_case_id=stream.queries[matched[i]].case_id if matched[i] >= 0 else None,
                similarity=similarity,
                verdict=_VERDICTS[int(verdicts[i])],
                answerable=bool(answerable[i]),
            )
        )
    return build_cache_report(
        stream,
        threshold,
        matched,
        verdicts,
        answerable,
        confidence=confidence,
        interval=interval,
        embedding_cost_usd=embedding_cost_usd,
        embedding_latency_ms=embedding_latency_ms,
        hit_latency_ms=hit_latency_ms,
        outcomes=tuple(outcomes),
        evictions=index.evictions,
    )


async def embed_stream(stream: Stream, embedder: Any) -> npt.NDArray[np.float32]:
    """One embedding per case of ``stream``, checked (see :mod:`harness.embedders`)."""
    raw = await embedder.embed(list(stream.texts))
    return check_embeddings(raw, stream.texts, name=str(getattr(embedder, "name", "embedder")))
