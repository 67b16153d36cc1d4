"""Sweep a semantic cache's similarity threshold: every threshold of a grid at once.

:func:`sweep_cache_thresholds` evaluates every threshold of a grid (default
:data:`DEFAULT_THRESHOLDS`, 0.30 to 0.99) from one embedding per case,
vectorized over thresholds: each query is compared with its most similar
earlier queries only (the candidate search), and the result equals
:func:`harness.analysis.cache_replay.simulate` at every threshold of an
unbounded cache. It recommends the threshold with the most correct hits whose
wrong-hit rate stays provably under a target (see :class:`Sweep`).

With a verifier stage (:mod:`harness.strategies.cache_verifier`), every
threshold is also evaluated *with* verification: each candidate hit is served
only when its (query, candidate) pair was accepted; a rejected one is a miss
and the query becomes an entry, as in the cache. :func:`sweep_verdicts` asks
for each pair's verdict once (in rounds: which pairs arise depends on earlier
verdicts), and :func:`sweep_cache_thresholds` turns those verdicts into the
with-verification figures by arithmetic alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
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
    VerifierCounts,
    answerable_mask,
    build_cache_report,
    exact_match,
    unit_embeddings,
)
from harness.analysis.cache_traffic import Stream
from harness.analysis.cache_walk import nearest_earlier, threshold_grid, walk_thresholds
from harness.errors import CostEvalError
from harness.formatting import money
from harness.stats.binomial import Interval

__all__ = [
    "DEFAULT_THRESHOLDS",
    "SHOWN_STEP",
    "AskVerdicts",
    "PairVerdict",
    "Sweep",
    "SweepPoint",
    "VerifyPair",
    "is_shown",
    "sweep_cache_thresholds",
    "sweep_verdicts",
]


SHOWN_STEP = 0.05
"""Short sweep tables (terminal, report) show thresholds on this step and the recommended one."""


def is_shown(threshold: float, recommended: float | None, every: float = SHOWN_STEP) -> bool:
    """Whether a short table shows ``threshold``: on the step ``every``, or the recommended one."""
    steps = threshold / every
    return abs(steps - round(steps)) < 1e-6 or threshold == recommended


SweepPoint = CacheReport
"""One threshold of a sweep (a :class:`CacheReport` without per-query outcomes)."""

VerifyPair = tuple[str, str, str]
"""What a verifier is asked about one candidate hit: (new question, stored question,
stored answer); the stored answer is ``""`` when the answers are only labels."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PairVerdict:
    """A verifier's decision on one (query, candidate) pair, made once for the whole sweep."""

    accepted: bool
    cost_usd: Decimal = Decimal(0)
    """What asking cost (a judge's calls; 0 for a function)."""
    error: str | None = None
    """Why no decision was made (then ``accepted`` is False: nothing unchecked is served)."""


AskVerdicts = Callable[[Sequence[VerifyPair]], Awaitable[Mapping[VerifyPair, PairVerdict]]]
"""Decides a batch of pairs (the engine's verifier, through its executor)."""


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
    verified: tuple[SweepPoint, ...] = ()
    """With a verifier: the same thresholds with every candidate hit checked first
    (each point's :attr:`~CacheReport.verifier` says what the checks did); else empty."""
    verified_recommended: SweepPoint | None = None
    """The recommendation among :attr:`verified`."""
    verifier: str | None = None
    """The verifier's name, when there is one."""
    verified_pairs: int = 0
    """Distinct (query, candidate) pairs the verifier decided, each once."""
    verifier_error: str | None = None
    """The first failed check and how many failed (they count as rejected), or None."""

    def verification_json(self) -> dict[str, Any]:
        """The verifier's part of the sweep as JSON (``harness cache --json``, the report)."""
        return {
            "verifier": self.verifier,
            "verified_pairs": self.verified_pairs,
            "verifier_error": self.verifier_error,
            "verified_points": [p.to_json() for p in self.verified],
            "verified_recommended": (
                self.verified_recommended.to_json() if self.verified_recommended else None
            ),
        }

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

    def verified_table(self, *, every: float | None = SHOWN_STEP) -> str:
        """Hits, wrong hits and their bound without and with the verifier, per threshold.

        ``caught``: wrong hits the verifier turned away; ``lost``: correct hits it
        turned away; ``cost``: what its checks cost. Empty without a verifier.
        """
        if not self.verified:
            return ""
        marks = {
            p.threshold for p in (self.recommended, self.verified_recommended) if p is not None
        }
        lines = [
            f"{'':>9} {'without verifier':^29} | "
            + f"{'with verifier ' + (self.verifier or ''):^61}".rstrip(),
            f"{'threshold':>9} {'hits':>6} {'wrong':>6} {'wrong CI high %':>15} | "
            f"{'hits':>6} {'wrong':>6} {'wrong CI high %':>15} {'caught':>6} {'lost':>6} "
            f"{'errors':>6} {'cost':>10}",
        ]
        for plain, checked in zip(self.points, self.verified, strict=True):
            if every is not None and not (
                is_shown(plain.threshold, None, every) or plain.threshold in marks
            ):
                continue
            counts = checked.verifier or VerifierCounts(
                checks=0, rejected=0, rejected_correct=0, rejected_wrong=0
            )
            note = [
                label
                for label, rec in (
                    ("without", self.recommended),
                    ("with", self.verified_recommended),
                )
                if rec is not None and rec.threshold == plain.threshold
            ]
            lines.append(
                f"{plain.threshold:>9.2f} {plain.hits:>6d} "
                f"{plain.false_hits + plain.stale_hits:>6d} {100 * plain.wrong_hit_ci[1]:>15.2f} | "
                f"{checked.hits:>6d} {checked.false_hits + checked.stale_hits:>6d} "
                f"{100 * checked.wrong_hit_ci[1]:>15.2f} {counts.rejected_wrong:>6d} "
                f"{counts.rejected_correct:>6d} {counts.errors:>6d} {money(counts.cost_usd):>10}"
                + (f"  <- recommended {' and '.join(note)}" if note else "")
            )
        return "\n".join(lines)


DEFAULT_THRESHOLDS = tuple(round(0.30 + 0.01 * i, 2) for i in range(70))
"""0.30, 0.31, ... 0.99: the default sweep grid."""


def _pair_key(stream: Stream, entry: int, query: int, *, answers: bool) -> VerifyPair:
    stored = stream.queries[entry]
    return (
        stream.texts[stream.queries[query].row],
        stream.texts[stored.row],
        stored.answer if answers else "",
    )


async def sweep_verdicts(
    stream: Stream,
    embeddings: Any,
    ask: AskVerdicts,
    *,
    thresholds: Iterable[float] = DEFAULT_THRESHOLDS,
    ttl: float | None = None,
    by_version: bool = True,
    answers: bool = True,
    candidates: int = 32,
    known: Mapping[VerifyPair, PairVerdict] | None = None,
) -> dict[VerifyPair, PairVerdict]:
    """Every verdict the with-verification sweep needs, each pair asked once.

    Which pairs come up depends on earlier verdicts (a rejected candidate's
    query becomes an entry), so pairs are asked in rounds: the first round
    asks for every candidate hit of the sweep without verification; each
    next round replays the stream with the verdicts so far (an unknown pair
    taken as accepted) and asks for the pairs that were missing, until none
    is. ``ask`` gets each round's pairs at once (to decide them concurrently).

    Args:
        answers: Show the verifier the stored answers (False: the stream's
            answers are labels, not texts; the verifier sees ``""``).
        known: Verdicts already made (not asked again).

    Raises:
        CostEvalError: ``ask`` returned no verdict for a pair it was given.
    """
    vectors = unit_embeddings(stream, embeddings)
    grid = threshold_grid(thresholds)
    k = max(1, min(candidates, len(stream.queries)))
    found = nearest_earlier(stream, vectors, ttl=ttl, by_version=by_version, k=k, repeats_hit=False)
    verdicts: dict[VerifyPair, PairVerdict] = dict(known or {})
    missing: dict[VerifyPair, None] = {}

    def accept(entry: int, query: int) -> bool:
        key = _pair_key(stream, entry, query, answers=answers)
        decided = verdicts.get(key)
        if decided is None:
            missing.setdefault(key)
            return True
        return decided.accepted

    while True:
        missing.clear()
        walk_thresholds(stream, vectors, grid, found, ttl=ttl, by_version=by_version, accept=accept)
        if not missing:
            return verdicts
        asked = list(missing)
        got = await ask(asked)
        absent = [pair for pair in asked if pair not in got]
        if absent:
            raise CostEvalError(
                f"the verifier returned no verdict for {len(absent)} of {len(asked)} pairs, "
                f"e.g. {absent[0][0]!r} against {absent[0][1]!r}."
            )
        verdicts.update((pair, got[pair]) for pair in asked)


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
    verdicts: Mapping[VerifyPair, PairVerdict] | None = None,
    verify_answers: bool = True,
    verifier: str | None = None,
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

    Args:
        verdicts: A verifier's decisions (from :func:`sweep_verdicts`, with the
            same stream, embeddings, thresholds, ``ttl``, ``by_version`` and
            ``verify_answers``): every threshold is then also evaluated with
            verification (:attr:`Sweep.verified`).
        verify_answers: Whether the pairs hold the stored answers (as in
            :func:`sweep_verdicts`'s ``answers``).
        verifier: The verifier's name, for the tables.

    Returns:
        The points by increasing threshold and the recommendation: the most
        hits whose wrong-hit rate's upper CI bound is at most ``target``.

    Raises:
        CostEvalError: ``verdicts`` lacks a pair the sweep needs.
    """
    vectors = unit_embeddings(stream, embeddings)
    grid = threshold_grid(thresholds)
    if not 0.0 <= target <= 1.0:
        raise ValueError(f"target must be a rate in [0, 1], got {target!r}.")
    queries = stream.queries
    n = len(queries)
    k = max(1, min(candidates, n))
    found = nearest_earlier(stream, vectors, ttl=ttl, by_version=by_version, k=k)
    matched, _ = walk_thresholds(stream, vectors, grid, found, ttl=ttl, by_version=by_version)
    decide = HitVerdicts(check, judge, stale_after)
    answerable = answerable_mask(stream, ttl=ttl, stale_after=stale_after)

    def codes(served: npt.NDArray[np.int64]) -> npt.NDArray[np.int8]:
        out = np.zeros(n, dtype=np.int8)
        for hit_index in np.flatnonzero(served >= 0):
            out[hit_index] = decide(queries[served[hit_index]], queries[hit_index])
        return out

    def report(
        threshold: float, served: npt.NDArray[np.int64], counts: VerifierCounts | None = None
    ) -> CacheReport:
        return build_cache_report(
            stream,
            threshold,
            served,
            codes(served),
            answerable,
            confidence=confidence,
            interval=interval,
            embedding_cost_usd=embedding_cost_usd,
            embedding_latency_ms=embedding_latency_ms,
            hit_latency_ms=hit_latency_ms,
            verifier=counts,
        )

    points = [report(float(threshold), matched[t]) for t, threshold in enumerate(grid)]
    verified: list[CacheReport] = []
    if verdicts is not None:
        decided = verdicts

        def verdict_of(entry: int, query: int) -> PairVerdict:
            key = _pair_key(stream, entry, query, answers=verify_answers)
            found_verdict = decided.get(key)
            if found_verdict is None:
                raise CostEvalError(
                    f"no verifier verdict for {key[0]!r} against {key[1]!r}: collect the "
                    "verdicts with sweep_verdicts() on the same stream and options."
                )
            return found_verdict

        served, checked = walk_thresholds(
            stream,
            vectors,
            grid,
            nearest_earlier(
                stream, vectors, ttl=ttl, by_version=by_version, k=k, repeats_hit=False
            ),
            ttl=ttl,
            by_version=by_version,
            accept=lambda entry, query: verdict_of(entry, query).accepted,
        )
        for t, threshold in enumerate(grid):
            at = np.flatnonzero(checked[t] >= 0)
            pairs = [verdict_of(int(checked[t, i]), int(i)) for i in at]
            turned = at[served[t, at] < 0]
            would_be = codes(np.where(served[t] < 0, checked[t], -1))[turned]
            counts = VerifierCounts(
                checks=len(at),
                rejected=len(turned),
                rejected_correct=int((would_be == 1).sum()),
                rejected_wrong=int(((would_be == 2) | (would_be == 3)).sum()),
                rejected_unjudged=int((would_be == 4).sum()),
                errors=sum(1 for pair in pairs if pair.error is not None),
                cost_usd=sum((pair.cost_usd for pair in pairs), Decimal(0)),
            )
            verified.append(report(float(threshold), served[t], counts))
    return Sweep(
        points=tuple(points),
        target=target,
        confidence=confidence,
        recommended=_recommend(points, target),
        verified=tuple(verified),
        verified_recommended=_recommend(verified, target),
        verifier=verifier,
    )


def _recommend(points: Sequence[CacheReport], target: float) -> CacheReport | None:
    """The most correct hits among points whose wrong-hit bound is <= target (ties: higher)."""
    eligible = [p for p in points if p.judged_hits > 0 and p.wrong_hit_ci[1] <= target]
    return max(eligible, key=lambda p: (p.correct_hits, p.threshold)) if eligible else None
