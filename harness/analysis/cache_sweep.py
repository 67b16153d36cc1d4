"""Sweep a semantic cache's similarity threshold: every threshold of a grid at once.

:func:`sweep_cache_thresholds` evaluates every threshold of a grid (default
:data:`DEFAULT_THRESHOLDS`, 0.30 to 0.99) from one embedding per case,
vectorized over thresholds: each query is compared with its most similar
earlier queries only (the candidate search), and the result equals
:func:`harness.analysis.cache_replay.simulate` at every threshold of an
unbounded cache. It recommends the threshold with the most correct hits whose
wrong-hit rate stays provably under a target (see :class:`Sweep`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from harness.analysis.cache_replay import (
    AnswerCheck,
    CacheReport,
    CaseJudge,
    HitVerdicts,
    answerable_mask,
    build_cache_report,
    exact_match,
    unit_embeddings,
)
from harness.analysis.cache_traffic import Stream
from harness.formatting import money
from harness.stats.binomial import Interval
from harness.strategies.semantic_cache import SIMILARITY_TOLERANCE

__all__ = [
    "DEFAULT_THRESHOLDS",
    "SHOWN_STEP",
    "Sweep",
    "SweepPoint",
    "is_shown",
    "sweep_cache_thresholds",
]


SHOWN_STEP = 0.05
"""Short sweep tables (terminal, report) show thresholds on this step and the recommended one."""


def is_shown(threshold: float, recommended: float | None, every: float = SHOWN_STEP) -> bool:
    """Whether a short table shows ``threshold``: on the step ``every``, or the recommended one."""
    steps = threshold / every
    return abs(steps - round(steps)) < 1e-6 or threshold == recommended


SweepPoint = CacheReport
"""One threshold of a sweep (a :class:`CacheReport` without per-query outcomes)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Sweep:
    """Every threshold of a grid, and the recommended one."""

    points: tuple[SweepPoint, ...]
    """By increasing threshold."""
    target: float
    """Largest acceptable upper CI bound of the wrong-hit rate."""
    confidence: float
    recommended: SweepPoint | None
    """Most correct hits among points whose wrong-hit CI upper bound is <= target
    (ties: the higher threshold); None when no threshold with a hit qualifies."""

    def table(self, *, every: float | None = SHOWN_STEP) -> str:
        """A plain-text table of the sweep.

        Args:
            every: Show the thresholds on this step and the recommended one
                (None: every threshold). Unjudged hits and the model cost the
                hits saved get a column when there are any.
        """
        rec = self.recommended.threshold if self.recommended is not None else None
        shown = [p for p in self.points if every is None or is_shown(p.threshold, rec, every)]
        unjudged = any(p.unjudged_hits for p in self.points)
        priced = any(p.gross_saved_usd for p in self.points)
        lines = [
            f"{'threshold':>9} {'hit rate':>8} {'recall':>7} {'correct':>7} {'false':>6} "
            f"{'stale':>6}"
            + (f" {'unjudged':>8}" if unjudged else "")
            + f" {'wrong %':>8} {'wrong CI high %':>15}"
            + (f" {'saved':>10}" if priced else "")
        ]
        for p in shown:
            lines.append(
                f"{p.threshold:>9.2f} {p.hit_rate:>8.1%} {p.recall:>7.1%} {p.correct_hits:>7d} "
                f"{p.false_hits:>6d} {p.stale_hits:>6d}"
                + (f" {p.unjudged_hits:>8d}" if unjudged else "")
                + f" {100 * p.wrong_hit_rate:>8.2f} {100 * p.wrong_hit_ci[1]:>15.2f}"
                + (f" {money(p.gross_saved_usd):>10}" if priced else "")
                + ("  <- recommended" if p is self.recommended else "")
            )
        return "\n".join(lines)


_BLOCK = 512
"""Queries compared with their earlier candidates in one matrix product."""

DEFAULT_THRESHOLDS = tuple(round(0.30 + 0.01 * i, 2) for i in range(70))
"""0.30, 0.31, ... 0.99: the default sweep grid."""


def _namespaces(stream: Stream, *, by_version: bool) -> npt.NDArray[np.int64]:
    """A namespace number per query: only queries of one namespace can share answers."""
    spaces: dict[tuple[str | None, str], int] = {}
    return np.array(
        [
            spaces.setdefault((q.knowledge_version if by_version else None, q.context), len(spaces))
            for q in stream.queries
        ],
        dtype=np.int64,
    )


def _groups(space: npt.NDArray[np.int64]) -> list[npt.NDArray[np.int64]]:
    """The query positions of each namespace, in stream order."""
    order = np.argsort(space, kind="stable")
    bounds = np.flatnonzero(np.diff(space[order])) + 1
    return [g.astype(np.int64) for g in np.split(order, bounds)]


def _candidates(
    stream: Stream,
    vectors: npt.NDArray[np.float64],
    *,
    ttl: float | None,
    by_version: bool,
    k: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """For each query, its ``k`` most similar valid earlier queries, best first.

    Returns ``(index, similarity, count)``: arrays of shape (n, k) padded with
    -1 / -inf, and the number of valid earlier queries (to know whether the
    list was cut).
    """
    queries = stream.queries
    n = len(queries)
    rows = np.array([q.row for q in queries], dtype=np.int64)
    times = np.array([q.timestamp for q in queries], dtype=np.float64)
    space = _namespaces(stream, by_version=by_version)
    idx = np.full((n, k), -1, dtype=np.int64)
    sim = np.full((n, k), -np.inf, dtype=np.float64)
    count = np.zeros(n, dtype=np.int64)
    # Candidates are picked in float32 (twice as fast), with a margin, then
    # re-scored in float64 exactly as the cache computes them.
    fast = vectors.astype(np.float32)
    wide = k + 8
    for group in _groups(space):
        # Without a TTL only the first query of each case in a namespace can ever
        # be an entry: a repeat always hits (the first, or what the first hit,
        # or a better entry since), so it is never stored. Comparing with first
        # occurrences only makes replayed traffic with repeats linear in its
        # distinct questions instead of quadratic in its length.
        if ttl is None:
            _, first_at = np.unique(rows[group], return_index=True)
            pool_at = np.sort(first_at)  # group offsets of first occurrences
        else:
            pool_at = np.arange(len(group))
        pool = group[pool_at]
        for start in range(1, len(group), _BLOCK):
            members = group[start : start + _BLOCK]
            end = int(np.searchsorted(pool_at, start + len(members)))
            # Similarities of these queries with every earlier candidate of the group.
            block = fast[rows[members]] @ fast[rows[pool[:end]]].T
            for offset, i in enumerate(members):
                before = int(np.searchsorted(pool_at, start + offset))
                earlier = pool[:before]
                s32 = block[offset, :before]
                if ttl is not None:
                    fresh = times[i] - times[earlier] <= ttl
                    earlier, s32 = earlier[fresh], s32[fresh]
                count[i] = len(earlier)
                if not len(earlier):
                    continue
                if len(earlier) > wide:
                    top = np.argpartition(-s32, wide - 1)[:wide]
                    earlier = earlier[top]
                exact = np.minimum(1.0, vectors[rows[earlier]] @ vectors[rows[i]])
                order = np.lexsort((earlier, -exact))[:k]  # best first; ties: earliest
                idx[i, : len(order)] = earlier[order]
                sim[i, : len(order)] = exact[order]
    return idx, sim, count


def sweep_cache_thresholds(
    stream: Stream,
    embeddings: Any,
    *,
    thresholds: Iterable[float] = DEFAULT_THRESHOLDS,
    ttl: float | None = None,
    by_version: bool = True,
    check: AnswerCheck = exact_match,
    judge: CaseJudge | None = None,
    stale_after: float | None = None,
    target: float = 0.01,
    confidence: float = 0.95,
    interval: Interval = "exact",
    embedding_cost_usd: Decimal = Decimal(0),
    embedding_latency_ms: float = 0.0,
    hit_latency_ms: float = 1.0,
    candidates: int = 32,
) -> Sweep:
    """Evaluate every threshold at once from one embedding per case.

    Exact for an unbounded cache (no ``max_entries``; use
    :func:`~harness.analysis.cache_replay.simulate` for a bounded one): each
    query is compared with its ``candidates`` most similar earlier queries,
    and all thresholds advance together through the stream (a hit inserts
    nothing, so which entries exist depends on the threshold). When a query's
    candidates are all used up at some threshold the full comparison is made
    for it, so the result equals
    :func:`~harness.analysis.cache_replay.simulate` at every threshold.

    Returns:
        The points by increasing threshold and the recommendation: the most
        hits whose wrong-hit rate's upper CI bound is at most ``target``.
    """
    vectors = unit_embeddings(stream, embeddings)
    grid = np.array(sorted({float(t) for t in thresholds}), dtype=np.float64)
    if not len(grid):
        raise ValueError("sweep needs at least one threshold.")
    if ((grid < -1) | (grid > 1)).any():
        raise ValueError(f"thresholds must be cosine similarities in [-1, 1], got {grid}.")
    if not 0.0 <= target <= 1.0:
        raise ValueError(f"target must be a rate in [0, 1], got {target!r}.")
    queries = stream.queries
    n = len(queries)
    k = max(1, min(candidates, n))
    idx, sim, count = _candidates(stream, vectors, ttl=ttl, by_version=by_version, k=k)
    reach = grid[:, None] - SIMILARITY_TOLERANCE  # (T, 1)
    inserted = np.zeros((len(grid), n), dtype=bool)
    matched = np.full((len(grid), n), -1, dtype=np.int64)
    rows = np.array([q.row for q in queries], dtype=np.int64)
    times = np.array([q.timestamp for q in queries], dtype=np.float64)
    space = _namespaces(stream, by_version=by_version)
    for i in range(n):
        c = idx[i]
        valid = c >= 0
        if not valid.any():
            inserted[:, i] = True
            continue
        cs = sim[i]
        ok = inserted[:, np.where(valid, c, 0)] & valid & (cs >= reach)  # (T, k)
        hit = ok.any(axis=1)
        matched[hit, i] = c[ok[hit].argmax(axis=1)]
        # Thresholds at which none of the top-k candidates is an entry (they
        # were hits) while a less similar one may still reach: compare with
        # every earlier entry.
        unresolved: npt.NDArray[np.intp] = np.zeros(0, dtype=np.intp)
        if count[i] > k:
            unresolved = np.flatnonzero(~hit & (cs[-1] >= reach[:, 0]))
        if len(unresolved):
            same = space[:i] == space[i]
            if ttl is not None:
                same &= times[i] - times[:i] <= ttl
            for point in unresolved:
                j = _full_match(vectors, rows, inserted[point, :i] & same, i, grid[point])
                if j >= 0:
                    matched[point, i] = j
                    hit[point] = True
        inserted[~hit, i] = True
    decide = HitVerdicts(check, judge, stale_after)
    answerable = answerable_mask(stream, ttl=ttl, stale_after=stale_after)
    points: list[CacheReport] = []
    for t, threshold in enumerate(grid):
        verdicts = np.zeros(n, dtype=np.int8)
        for hit_index in np.flatnonzero(matched[t] >= 0):
            verdicts[hit_index] = decide(queries[matched[t, hit_index]], queries[hit_index])
        points.append(
            build_cache_report(
                stream,
                float(threshold),
                matched[t],
                verdicts,
                answerable,
                confidence=confidence,
                interval=interval,
                embedding_cost_usd=embedding_cost_usd,
                embedding_latency_ms=embedding_latency_ms,
                hit_latency_ms=hit_latency_ms,
            )
        )
    eligible = [p for p in points if p.judged_hits > 0 and p.wrong_hit_ci[1] <= target]
    recommended = max(eligible, key=lambda p: (p.correct_hits, p.threshold)) if eligible else None
    return Sweep(
        points=tuple(points), target=target, confidence=confidence, recommended=recommended
    )


def _full_match(
    vectors: npt.NDArray[np.float64],
    rows: npt.NDArray[np.int64],
    valid: npt.NDArray[np.bool_],
    i: int,
    threshold: float,
) -> int:
    """The entry query ``i`` hits at ``threshold`` (best similarity, earliest on ties), or -1.

    ``valid`` marks the earlier queries that are live entries of query ``i``'s
    namespace at that threshold.
    """
    earlier = np.flatnonzero(valid)
    if not len(earlier):
        return -1
    sims = np.minimum(1.0, vectors[rows[earlier]] @ vectors[rows[i]])
    best = int(np.argmax(sims))
    return int(earlier[best]) if sims[best] >= threshold - SIMILARITY_TOLERANCE else -1
