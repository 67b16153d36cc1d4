"""The stream walk under a semantic cache sweep: candidates, then every threshold at once.

:func:`nearest_earlier` finds, for each query, its most similar earlier
queries that could be entries (same namespace, fresh under the TTL);
:func:`walk_thresholds` runs every threshold of a grid through the stream
together from those candidates, optionally with a verifier's ``accept``.
Both are the exact rules of :class:`~harness.strategies.semantic_cache.SemanticIndex`
for an unbounded cache; :mod:`harness.analysis.cache_sweep` builds its reports
on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt

from harness.analysis.cache_traffic import Stream
from harness.strategies.semantic_cache import SIMILARITY_TOLERANCE

__all__ = ["Accept", "Candidates", "nearest_earlier", "threshold_grid", "walk_thresholds"]

Candidates = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]]
"""``(index, similarity, count)`` from :func:`nearest_earlier`."""

_BLOCK = 512
"""Queries compared with their earlier candidates in one matrix product."""


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


def nearest_earlier(
    stream: Stream,
    vectors: npt.NDArray[np.float64],
    *,
    ttl: float | None,
    by_version: bool,
    k: int,
    repeats_hit: bool = True,
) -> Candidates:
    """For each query, its ``k`` most similar valid earlier queries, best first.

    ``repeats_hit``: a repeated question always hits, so without a TTL only
    first occurrences can be entries and the others are left out of the
    search. Not so behind a verifier (it may reject a repeat's best entry, and
    the repeat is then stored): pass False.

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
        if ttl is None and repeats_hit:
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


def threshold_grid(thresholds: Iterable[float]) -> npt.NDArray[np.float64]:
    """The sorted distinct thresholds as an array.

    Raises:
        ValueError: no threshold, or one outside [-1, 1].
    """
    grid = np.array(sorted({float(t) for t in thresholds}), dtype=np.float64)
    if not len(grid):
        raise ValueError("sweep needs at least one threshold.")
    if ((grid < -1) | (grid > 1)).any():
        raise ValueError(f"thresholds must be cosine similarities in [-1, 1], got {grid}.")
    return grid


Accept = Callable[[int, int], bool]
"""``accept(entry, query)``: may the answer of stream position ``entry`` be served to ``query``?"""


def walk_thresholds(
    stream: Stream,
    vectors: npt.NDArray[np.float64],
    grid: npt.NDArray[np.float64],
    found: Candidates,
    *,
    ttl: float | None,
    by_version: bool,
    accept: Accept | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Run every threshold through the stream at once.

    Returns ``(matched, checked)``, each of shape (thresholds, queries): the
    position whose answer each query was served (-1: a miss), and the candidate
    at or above the threshold that was checked (-1: none; equal to ``matched``
    without ``accept``). A candidate ``accept`` rejects is a miss: the query
    becomes an entry.
    """
    idx, sim, count = found
    queries = stream.queries
    n = len(queries)
    k = idx.shape[1]
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
        if accept is not None and hit.any():
            at = np.flatnonzero(hit)
            verdict = {int(j): accept(int(j), i) for j in np.unique(matched[at, i])}
            turned = at[[not verdict[int(j)] for j in matched[at, i]]]
            hit[turned] = False
        inserted[~hit, i] = True
    if accept is None:
        return matched, matched
    checked = matched.copy()
    matched[inserted] = -1
    return matched, checked


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
