"""Evaluate a semantic cache over a stream of queries, offline, from one embedding per query.

The inputs are what a suite already has: cases (ids, ``paraphrase_of``,
category, ``knowledge_version``), the correct answer of each, a way to decide
whether a cached answer is right for a new query (a scorer), and one embedding
per case. Optionally a traffic file replays the cases as real traffic, with
repeats, timestamps and knowledge changes.

:func:`simulate` runs the cache rules of
:class:`~harness.strategies.semantic_cache.SemanticIndex` (the same code the
``semantic`` cache strategy runs) at one threshold, bounded or not.
:func:`sweep` evaluates every threshold of a grid at once from the similarity
matrix, vectorized over thresholds, and recommends the threshold with the most
hits whose wrong-hit rate stays provably under a target.

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

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from harness.errors import CostEvalError, SuiteError
from harness.scoring.base import Scorer
from harness.strategies.semantic_cache import SIMILARITY_TOLERANCE, SemanticIndex
from harness.types import Case

__all__ = [
    "CacheReport",
    "CaseJudge",
    "CategoryCounts",
    "Outcome",
    "Query",
    "Stream",
    "Sweep",
    "SweepPoint",
    "TrafficRow",
    "binomial_interval",
    "clopper_pearson",
    "embed_stream",
    "exact_match",
    "is_shown",
    "load_traffic",
    "scorer_check",
    "simulate",
    "stream_from_cases",
    "sweep",
    "wilson_interval",
]

AnswerCheck = Callable[[str, str], bool]
"""``check(cached_answer, correct_answer) -> bool``: is the cached answer right here?"""

CaseJudge = Callable[[str, str], bool | None]
"""``judge(served_case_id, query_case_id)``: True (correct), False (false hit) or
None (the labels cannot tell: the hit is counted apart as *unjudged*). Given by
labelled suites (see :meth:`harness.importers.paraphrase_pairs.CacheSuite.judge`); when set it
replaces the answer check."""

Interval = Literal["exact", "wilson"]


# ------------------------------------------------------------------ intervals


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``k / n`` (``(0, 1)`` when n = 0)."""
    _check_counts(k, n, confidence)
    if n == 0:
        return 0.0, 1.0
    z = _normal_quantile(0.5 + confidence / 2)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided interval for ``k / n`` (``(0, 1)`` when n = 0).

    Found by bisection on the binomial tail probabilities, computed in log space
    with :func:`math.lgamma`, so it needs no scipy and is exact to 1e-12.
    """
    _check_counts(k, n, confidence)
    if n == 0:
        return 0.0, 1.0
    alpha = 1.0 - confidence
    low = 0.0 if k == 0 else _bisect(lambda p: _binom_sf(k, n, p) - alpha / 2)
    high = 1.0 if k == n else _bisect(lambda p: alpha / 2 - _binom_cdf(k, n, p))
    return low, high


def binomial_interval(
    k: int, n: int, confidence: float = 0.95, method: Interval = "exact"
) -> tuple[float, float]:
    """The interval of ``method``: ``exact`` (Clopper-Pearson) or ``wilson``."""
    if method == "exact":
        return clopper_pearson(k, n, confidence)
    if method == "wilson":
        return wilson_interval(k, n, confidence)
    raise ValueError(f"interval method must be 'exact' or 'wilson', got {method!r}.")


def _check_counts(k: int, n: int, confidence: float) -> None:
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k!r}, n={n!r}.")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}.")


@cache
def _log_factorials(n: int) -> npt.NDArray[np.float64]:
    """``log(i!)`` for i = 0..n, as a cumulative sum of logs."""
    out = np.zeros(n + 1, dtype=np.float64)
    out[1:] = np.cumsum(np.log(np.arange(1, n + 1, dtype=np.float64)))
    return out


def _log_pmf(i: npt.NDArray[np.float64], n: int, p: float) -> npt.NDArray[np.float64]:
    lf = _log_factorials(n)
    k = i.astype(np.int64)
    return np.asarray(
        lf[n] - lf[k] - lf[n - k] + i * math.log(p) + (n - i) * math.log1p(-p), dtype=np.float64
    )


def _binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), 0 < p < 1."""
    return float(np.exp(_log_pmf(np.arange(0, k + 1, dtype=np.float64), n, p)).sum())


def _binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), 0 < p < 1."""
    return float(np.exp(_log_pmf(np.arange(k, n + 1, dtype=np.float64), n, p)).sum())


def _bisect(f: Callable[[float], float]) -> float:
    """The root in (0, 1) of an increasing ``f``."""
    lo, hi = 1e-15, 1.0 - 1e-15
    for _ in range(100):
        mid = (lo + hi) / 2
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-13:
            break
    return (lo + hi) / 2


def _normal_quantile(q: float) -> float:
    """Inverse of the standard normal CDF (Acklam's approximation, |error| < 1.2e-9)."""
    a = (-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2,
         1.383577518672690e2, -3.066479806614716e1, 2.506628277459239)  # fmt: skip
    b = (-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2,
         6.680131188771972e1, -1.328068155288572e1)  # fmt: skip
    c = (-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838,
         -2.549732539343734, 4.374664141464968, 2.938163982698783)  # fmt: skip
    d = (7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416)
    if q < 0.02425:
        t = math.sqrt(-2 * math.log(q))
        num = ((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5]
        return num / ((((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1)
    if q > 1 - 0.02425:
        return -_normal_quantile(1 - q)
    r = q - 0.5
    s = r * r
    num = (((((a[0] * s + a[1]) * s + a[2]) * s + a[3]) * s + a[4]) * s + a[5]) * r
    return num / (((((b[0] * s + b[1]) * s + b[2]) * s + b[3]) * s + b[4]) * s + 1)


# --------------------------------------------------------------------- stream


@dataclass(frozen=True, slots=True, kw_only=True)
class Query:
    """One arrival of a case in the stream."""

    case_id: str
    row: int
    """Row of this case's embedding in the embeddings matrix."""
    answer: str
    """The answer that is correct for this query (the golden)."""
    category: str = "default"
    paraphrase_of: str | None = None
    knowledge_version: str | None = None
    timestamp: float = 0.0
    """Seconds; the stream position when no traffic timestamps were given."""
    context: str = ""
    """Hash of everything but the question: only equal contexts can share answers."""
    cost_usd: Decimal = Decimal(0)
    """What answering this query with a model costs (saved by a hit)."""
    latency_ms: float = 0.0
    """How long the model takes on it (saved by a hit)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TrafficRow:
    """One line of a traffic file: a case arriving, maybe again, maybe after a knowledge change."""

    case_id: str
    timestamp: float | None = None
    knowledge_version: str | None = None
    """Overrides the case's version (the facts changed since the suite was written)."""
    answer: str | None = None
    """Overrides the case's correct answer (the new answer after a knowledge change)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Stream:
    """Queries in arrival order and the distinct cases whose embeddings they use."""

    queries: tuple[Query, ...]
    case_ids: tuple[str, ...]
    """One per embedding row, in row order."""
    texts: tuple[str, ...]
    """The question of each case (what gets embedded), in row order."""

    def __len__(self) -> int:
        return len(self.queries)


def load_traffic(path: str | Path) -> list[TrafficRow]:
    """Read a JSON Lines traffic file: one ``{"case_id": ..., "timestamp": ...}`` per arrival.

    ``timestamp`` is seconds or an ISO-8601 time; ``knowledge_version`` and
    ``answer`` are optional overrides. Lines may repeat a case.

    Raises:
        SuiteError: unreadable file, bad JSON, or a row without ``case_id``.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SuiteError(f"{path}: cannot read the traffic file: {exc.strerror}.") from None
    rows: list[TrafficRow] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{where}: not valid JSON: {exc.msg}.") from None
        if not isinstance(raw, Mapping) or not isinstance(raw.get("case_id"), str):
            raise SuiteError(f"{where}: each line needs a 'case_id' string, got {line[:80]!r}.")
        unknown = set(raw) - {"case_id", "timestamp", "knowledge_version", "answer"}
        if unknown:
            raise SuiteError(
                f"{where}: unknown key {sorted(unknown)[0]!r}; valid keys: case_id, "
                "timestamp, knowledge_version, answer."
            )
        rows.append(
            TrafficRow(
                case_id=raw["case_id"],
                timestamp=_timestamp(raw.get("timestamp"), where=where),
                knowledge_version=_optional_str(raw, "knowledge_version", where),
                answer=_optional_str(raw, "answer", where),
            )
        )
    return rows


def _optional_str(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise SuiteError(f"{where}: {key!r} must be a string, got {value!r}.")
    return value


def _timestamp(value: Any, *, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    raise SuiteError(
        f"{where}: 'timestamp' must be seconds or an ISO-8601 time "
        f"('2026-11-26T10:00:00Z'), got {value!r}."
    )


def _context_hash(case: Case) -> str:
    digest = hashlib.sha256()
    for message in case.messages()[:-1]:
        digest.update(f"{message.role}\x1f{message.content}\x1e".encode())
    return digest.hexdigest()[:16]


def stream_from_cases(
    cases: Sequence[Case],
    answers: Mapping[str, str] | None = None,
    *,
    traffic: Sequence[TrafficRow] | None = None,
    costs: Mapping[str, Decimal] | None = None,
    latencies: Mapping[str, float] | None = None,
    namespace: Callable[[Case], str] | None = None,
) -> Stream:
    """The stream of queries: the cases in order, or as the traffic replays them.

    Args:
        cases: The suite's cases.
        answers: The correct answer of each case (goldens); default: each
            case's ``expected``.
        traffic: Arrivals in order (repeats allowed); default: each case once,
            at times 1, 2, 3 ...
        costs: What a model call costs for each case (saved by a hit).
        latencies: How long a model call takes for each case, in ms.
        namespace: Overrides the context each case is matched in (default: a
            hash of its messages but the question). Only queries with equal
            namespaces can share answers; e.g. one namespace per paraphrase
            family measures separation from hard negatives alone.

    Raises:
        SuiteError: a case without an answer, or traffic naming an unknown case.
    """
    by_id = {case.id: case for case in cases}
    rows = {case.id: i for i, case in enumerate(cases)}
    answer_of: dict[str, str] = {}
    for case in cases:
        answer = answers.get(case.id) if answers is not None else case.expected
        if answer is None:
            raise SuiteError(
                f"case {case.id!r} has no correct answer: give it an 'expected' or a golden."
            )
        answer_of[case.id] = answer
    arrivals = traffic if traffic is not None else [TrafficRow(case_id=c.id) for c in cases]
    queries: list[Query] = []
    for position, arrival in enumerate(arrivals, start=1):
        found = by_id.get(arrival.case_id)
        if found is None:
            raise SuiteError(
                f"traffic row #{position} names case {arrival.case_id!r}, not in the suite."
            )
        case = found
        queries.append(
            Query(
                case_id=case.id,
                row=rows[case.id],
                answer=arrival.answer if arrival.answer is not None else answer_of[case.id],
                category=case.category,
                paraphrase_of=case.paraphrase_of,
                knowledge_version=arrival.knowledge_version or case.knowledge_version,
                timestamp=arrival.timestamp if arrival.timestamp is not None else float(position),
                context=namespace(case) if namespace is not None else _context_hash(case),
                cost_usd=(costs or {}).get(case.id, Decimal(0)),
                latency_ms=(latencies or {}).get(case.id, 0.0),
            )
        )
    return Stream(
        queries=tuple(queries),
        case_ids=tuple(c.id for c in cases),
        texts=tuple(c.prompt for c in cases),
    )


# --------------------------------------------------------------------- scorers


def exact_match(cached: str, correct: str) -> bool:
    """The default check: the cached answer is the correct answer, character for character."""
    return cached == correct


def scorer_check(scorer: Scorer, *, pass_score: float = 1.0) -> AnswerCheck:
    """A check from a harness scorer: right when ``score(cached, correct) >= pass_score``."""

    def check(cached: str, correct: str) -> bool:
        return scorer.score(cached, correct).value >= pass_score

    return check


class _Verdicts:
    """Decides each hit: stale, else the judge or the (memoized) answer check."""

    def __init__(
        self, check: AnswerCheck, judge: CaseJudge | None, stale_after: float | None
    ) -> None:
        self.check = check
        self.judge = judge
        self.stale_after = stale_after
        self.memo: dict[tuple[str, str], bool] = {}

    def __call__(self, entry: Query, query: Query) -> int:
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
        """Model cost saved minus what the embeddings cost."""
        return self.gross_saved_usd - self.embedding_cost_usd

    def to_json(self) -> dict[str, Any]:
        """The counts and rates as a JSON-ready object (no per-query outcomes)."""
        return {
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
        from harness.formatting import money

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


# ------------------------------------------------------------------ evaluation


def _check_embeddings(stream: Stream, embeddings: Any) -> npt.NDArray[np.float64]:
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


def _answerable(
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


def _report(
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
) -> CacheReport:
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
    )


_MISS, _CORRECT, _FALSE, _STALE, _UNJUDGED = 0, 1, 2, 3, 4
_VERDICTS: tuple[Literal["miss", "correct", "false", "stale", "unjudged"], ...] = (
    "miss",
    "correct",
    "false",
    "stale",
    "unjudged",
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
    vectors = _check_embeddings(stream, embeddings)
    decide = _Verdicts(check, judge, stale_after)
    index: SemanticIndex[int] = SemanticIndex(ttl=ttl, max_entries=max_entries)
    n = len(stream.queries)
    matched = np.full(n, -1, dtype=np.int64)
    verdicts = np.zeros(n, dtype=np.int8)
    answerable = _answerable(stream, ttl=ttl, stale_after=stale_after)
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
    return _report(
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


_BLOCK = 512

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


def sweep(
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

    Exact for an unbounded cache (no ``max_entries``; use :func:`simulate` for
    a bounded one): each query is compared with its ``candidates`` most
    similar earlier queries, and all thresholds advance together through the
    stream (a hit inserts nothing, so which entries exist depends on the
    threshold). When a query's candidates are all used up at some threshold
    the full comparison is made for it, so the result equals :func:`simulate`
    at every threshold.

    Returns:
        The points by increasing threshold and the recommendation: the most
        hits whose wrong-hit rate's upper CI bound is at most ``target``.
    """
    vectors = _check_embeddings(stream, embeddings)
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
    decide = _Verdicts(check, judge, stale_after)
    answerable = _answerable(stream, ttl=ttl, stale_after=stale_after)
    points: list[CacheReport] = []
    for t, threshold in enumerate(grid):
        verdicts = np.zeros(n, dtype=np.int8)
        for hit_index in np.flatnonzero(matched[t] >= 0):
            verdicts[hit_index] = decide(queries[matched[t, hit_index]], queries[hit_index])
        points.append(
            _report(
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


async def embed_stream(stream: Stream, embedder: Any) -> npt.NDArray[np.float32]:
    """One embedding per case of ``stream``, checked (see :mod:`harness.embedders`)."""
    from harness.embedders import check_embeddings

    raw = await embedder.embed(list(stream.texts))
    return check_embeddings(raw, stream.texts, name=str(getattr(embedder, "name", "embedder")))
