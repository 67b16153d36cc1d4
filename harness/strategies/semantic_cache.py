"""The ``semantic`` cache: serve an earlier answer to a question that means the same.

A request's question (its last user message) is embedded; when an earlier
question's vector has cosine similarity >= ``threshold`` with it, the earlier
answer is served without calling a model. Options::

    cache = { kind = "semantic", threshold = 0.8,
              ttl = "7d", max_entries = 10000, by_version = true }

- ``embedder``: a name (``static``, the zero-dependency fallback; ``minilm_static``;
  ``openai``; ``minilm``), an import path, or a table ``{name = "openai", model = "..."}``.
  Default: :data:`~harness.embedders.DEFAULT_EMBEDDER`,
  ``{name = "minilm_static", static_share = 0.3}`` (offline).
- ``threshold``: cosine similarity in [-1, 1] needed for a hit (required; a
  list sweeps it, and the sweep embeds each question once).
- ``ttl``: entries older than this are never served: ``"12h"``, ``"7d"``,
  ``"90m"``, ``"30s"`` or seconds. Ages come from ``Request.timestamp``; without
  timestamps each request counts as one second after the previous.
- ``max_entries``: keep at most this many entries, evicting the least recently
  used (a hit counts as a use).
- ``by_version`` (default true): entries are namespaced by the request's
  ``knowledge_version``, so an answer is never served across a knowledge
  change. Turn it off to measure what that costs: hits across versions are
  then served and recorded as stale.
- ``verify``: a second stage that checks each candidate hit before it is
  served (an LLM judge, or a function); a rejected candidate is a miss. See
  :mod:`harness.strategies.cache_verifier`.

The rest of the conversation (system prompt, context documents, history) must
match exactly for a hit: the same question about other documents is another
question.

Every request appends a :class:`CacheEvent` to :attr:`SemanticCache.events`
(hit or miss, the best similarity, the matched case, staleness, embedding
tokens, what a verifier said), which is what :mod:`harness.analysis.cache_replay`
and reports read.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from harness.embedders import DEFAULT_EMBEDDER, SharedEmbeddings, shared_embeddings
from harness.errors import ConfigError, ProviderError
from harness.strategies.base import CallNext, caches
from harness.strategies.cache_verifier import FunctionVerifier, JudgeVerifier, build_verifier
from harness.strategies.options import positive_int, read_options
from harness.types import Message, Request, Response, Usage

__all__ = [
    "SIMILARITY_TOLERANCE",
    "CacheEvent",
    "IndexMatch",
    "SemanticCache",
    "SemanticIndex",
    "parse_duration",
    "question_and_context",
]

SIMILARITY_TOLERANCE = 1e-6
"""A similarity within this of the threshold reaches it (float rounding: a text
compared with itself gives 0.9999999, which must hit at threshold 1.0)."""

HIT_LATENCY_MS = 1.0
"""Latency reported for a hit: a local lookup (the embedding is counted apart)."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}

P = TypeVar("P")


def parse_duration(value: Any, *, key: str = "ttl", where: str = "") -> float:
    """Seconds from ``"12h"``, ``"7d"``, ``"90m"``, ``"30s"``, ``"2w"`` or a number of seconds.

    Raises:
        ConfigError: not a positive duration in one of those forms.
    """
    prefix = f"{where}: " if where else ""
    if isinstance(value, bool):
        seconds = -1.0
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNIT_SECONDS[(match.group(2) or "").lower()]
    else:
        seconds = -1.0
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(
            f"{prefix}{key!r} must be a positive duration such as '12h', '7d', '90m', "
            f"'30s' or a number of seconds, got {value!r}."
        )
    return seconds


def question_and_context(request: Request) -> tuple[str, str]:
    """The question (last user message) and a hash of every other message.

    Two requests can share an answer only when their context hashes are equal.
    """
    messages = request.messages
    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    question = messages[last].content if last >= 0 else ""
    rest: tuple[Message, ...] = messages[:last] + messages[last + 1 :] if last >= 0 else messages
    digest = hashlib.sha256()
    for message in rest:
        digest.update(f"{message.role}\x1f{message.content}\x1e".encode())
    return question, digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class IndexMatch(Generic[P]):
    """The best live entry for a lookup."""

    slot: int
    """The entry's position in the index (stable until compaction)."""
    similarity: float
    payload: P
    created: float
    """When the entry was inserted (the request's time)."""


class SemanticIndex(Generic[P]):
    """Vectors with payloads, namespaces, a TTL and LRU eviction.

    The core of :class:`SemanticCache`, shared with :func:`harness.analysis.cache_replay.simulate`
    so an offline evaluation follows exactly the rules the cache applies.
    Similarities are computed in float64; ties go to the earliest entry.

    Args:
        ttl: Seconds an entry may be served after its insertion; None: forever.
        max_entries: Live entries kept; the least recently used is evicted
            when one more is inserted. None: unbounded.
    """

    def __init__(self, *, ttl: float | None = None, max_entries: int | None = None) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._vectors = np.zeros((0, 0), dtype=np.float64)
        self._namespace = np.zeros(0, dtype=np.int64)
        self._created = np.zeros(0, dtype=np.float64)
        self._used = np.zeros(0, dtype=np.int64)
        self._alive = np.zeros(0, dtype=bool)
        self._payloads: list[P | None] = []
        self._size = 0
        self._namespaces: dict[str, int] = {}
        self._clock = 0
        self.evictions = 0
        """Entries evicted to respect ``max_entries``."""
        self.expirations = 0
        """Entries dropped because their TTL ran out."""

    def __len__(self) -> int:
        return int(self._alive[: self._size].sum())

    def lookup(
        self, vector: npt.NDArray[Any], *, namespace: str, now: float
    ) -> IndexMatch[P] | None:
        """The most similar live entry of ``namespace`` (expired entries are dropped first)."""
        ns = self._namespaces.get(namespace)
        if ns is None or self._size == 0:
            return None
        size = self._size
        self._expire(now)
        mask = self._alive[:size] & (self._namespace[:size] == ns)
        if not mask.any():
            return None
        sims = self._vectors[:size] @ np.asarray(vector, dtype=np.float64)
        sims = np.where(mask, sims, -np.inf)
        slot = int(np.argmax(sims))
        payload = self._payloads[slot]
        assert payload is not None
        return IndexMatch(
            slot=slot,
            similarity=float(min(1.0, max(-1.0, sims[slot]))),
            payload=payload,
            created=float(self._created[slot]),
        )

    def touch(self, slot: int) -> None:
        """Mark an entry as just used (a hit), for LRU eviction."""
        self._clock += 1
        self._used[slot] = self._clock

    def insert(self, vector: npt.NDArray[Any], payload: P, *, namespace: str, now: float) -> None:
        """Add an entry, evicting the least recently used one if the index is full."""
        self._expire(now)
        if self.max_entries is not None:
            while len(self) >= self.max_entries:
                live = np.flatnonzero(self._alive[: self._size])
                oldest = int(live[np.argmin(self._used[live])])
                self._kill(oldest)
                self.evictions += 1
        vec = np.asarray(vector, dtype=np.float64)
        if self._size == len(self._alive):
            self._grow(vec.shape[0])
        slot = self._size
        self._vectors[slot] = vec
        self._namespace[slot] = self._namespaces.setdefault(namespace, len(self._namespaces))
        self._created[slot] = now
        self._alive[slot] = True
        self._payloads.append(payload)
        self._size += 1
        self.touch(slot)

    def _kill(self, slot: int) -> None:
        self._alive[slot] = False
        self._payloads[slot] = None

    def _expire(self, now: float) -> None:
        if self.ttl is None or self._size == 0:
            return
        expired = self._alive[: self._size] & (now - self._created[: self._size] > self.ttl)
        for slot in np.flatnonzero(expired):
            self._kill(int(slot))
            self.expirations += 1

    def _grow(self, dim: int) -> None:
        # Compact first: dead slots are reused (order kept, so ties still go
        # to the earliest entry); then double the capacity if still full.
        live = np.flatnonzero(self._alive[: self._size])
        capacity = max(16, 2 * len(live) + 1)
        vectors = np.zeros((capacity, dim), dtype=np.float64)
        if len(live):
            vectors[: len(live)] = self._vectors[live]
        self._vectors = vectors
        self._namespace = _resized(self._namespace[live], capacity)
        self._created = _resized(self._created[live], capacity)
        self._used = _resized(self._used[live], capacity)
        self._alive = _resized(self._alive[live], capacity)
        self._payloads = [self._payloads[int(i)] for i in live]
        self._size = len(live)


def _resized(array: npt.NDArray[Any], capacity: int) -> npt.NDArray[Any]:
    out = np.zeros(capacity, dtype=array.dtype)
    out[: len(array)] = array
    return out


@dataclass(frozen=True, slots=True)
class _Entry:
    case_id: str
    text: str
    model: str
    knowledge_version: str | None
    question: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheEvent:
    """What the cache did with one request."""

    case_id: str
    hit: bool
    knowledge_version: str | None
    """The request's knowledge version."""
    similarity: float | None = None
    """Similarity of the nearest live entry (hit or not); None when the cache had none
    (or is not a similarity cache)."""
    matched_case_id: str | None = None
    """The case whose answer was served (hits only, when the cache knows it)."""
    matched_version: str | None = None
    """The served entry's knowledge version (hits only)."""
    age_s: float | None = None
    """Seconds between the served entry's insertion and this request (hits only)."""
    stale: bool = False
    """A hit served across a knowledge-version change (possible with ``by_version = false``)."""
    embed_tokens: int = 0
    """Tokens the embedder billed for this request's question."""
    skipped: bool = False
    """The request was not cacheable (no question, or an auxiliary call) and went straight on."""
    verify: Literal["accepted", "rejected", "error"] | None = None
    """What the verifier said of the candidate at or above the threshold (None: no
    verifier, or no candidate reached the threshold). A rejected one is a miss."""
    candidate_case_id: str | None = None
    """The case whose answer the verifier was asked about (accepted or not)."""
    verify_usage: Usage = field(default_factory=Usage)
    """Tokens the verifier's model calls used for this request (a judge's)."""


class SemanticCache:
    """Serve the answer of an earlier, similar-enough question.

    Args:
        embeddings: The (shared, memoized) embedder.
        threshold: Cosine similarity needed for a hit, in [-1, 1].
        ttl: Seconds an entry may be served; None: forever.
        max_entries: LRU capacity; None: unbounded.
        by_version: Never serve across knowledge versions.
        verifier: Checks each candidate hit before it is served; None: serve
            whatever reaches the threshold.
    """

    name = "semantic"
    lever = "cache"
    """Marks the chain's cache, whose hits and events the report counts."""
    stateful = True

    def __init__(
        self,
        *,
        embeddings: SharedEmbeddings,
        threshold: float,
        ttl: float | None = None,
        max_entries: int | None = None,
        by_version: bool = True,
        verifier: JudgeVerifier | FunctionVerifier | None = None,
    ) -> None:
        self.embeddings = embeddings
        self.threshold = threshold
        self.by_version = by_version
        self.verifier = verifier
        self.models: tuple[str, ...] = verifier.models if verifier is not None else ()
        """Models the cache itself calls (a judge verifier's), checked and priced before a run."""
        self.index: SemanticIndex[_Entry] = SemanticIndex(ttl=ttl, max_entries=max_entries)
        self.events: list[CacheEvent] = []
        self._tick = 0.0

    @property
    def ttl(self) -> float | None:
        """Seconds an entry may be served (None: forever)."""
        return self.index.ttl

    def _now(self, request: Request) -> float:
        timestamp = getattr(request, "timestamp", None)
        self._tick += 1.0
        return float(timestamp) if timestamp is not None else self._tick

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        version = getattr(request, "knowledge_version", None)
        question, context = question_and_context(request)
        if not question.strip() or request.purpose != "answer":
            self.events.append(
                CacheEvent(
                    case_id=request.case_id, hit=False, knowledge_version=version, skipped=True
                )
            )
            return await call_next(request)
        now = self._now(request)
        try:
            vector = (await self.embeddings.embed([question]))[0]
        except ProviderError as exc:
            # A paid embedder that failed after its retries, or may not be called
            # (record mode 'none'): an error row for this case, like a failed model
            # call; never a miss that hides it. A broken embedder (NaN, a wrong
            # dimension) still raises: that is a bug to fix, not a case to score.
            return Response(text="", model=request.model, error=f"semantic cache: {exc}")
        tokens = self.embeddings.tokens(question)
        namespace = f"{version if self.by_version else ''}\x1f{context}"
        match = self.index.lookup(vector, namespace=namespace, now=now)
        verdict: Literal["accepted", "rejected", "error"] | None = None
        candidate: str | None = None
        verify_usage = Usage()
        verify_ms = 0.0
        if match is not None and match.similarity >= self.threshold - SIMILARITY_TOLERANCE:
            entry = match.payload
            candidate = entry.case_id
            if self.verifier is not None:
                check = await self.verifier.check(
                    question, entry.question, entry.text, call_next, case_id=request.case_id
                )
                for _request, call in check.calls:
                    verify_usage = verify_usage + call.usage
                    verify_ms += call.latency_ms
                verdict = "error" if check.error else "accepted" if check.accepted else "rejected"
                if check.error is not None:
                    # Never serve what could not be checked, and never hide it as a miss.
                    self.events.append(
                        CacheEvent(
                            case_id=request.case_id,
                            hit=False,
                            similarity=match.similarity,
                            knowledge_version=version,
                            embed_tokens=tokens,
                            verify=verdict,
                            candidate_case_id=candidate,
                            verify_usage=verify_usage,
                        )
                    )
                    return Response(
                        text="",
                        model=request.model,
                        latency_ms=verify_ms,
                        error=f"semantic cache: {check.error}",
                    )
            if verdict in (None, "accepted"):
                self.index.touch(match.slot)
                self.events.append(
                    CacheEvent(
                        case_id=request.case_id,
                        hit=True,
                        similarity=match.similarity,
                        matched_case_id=entry.case_id,
                        knowledge_version=version,
                        matched_version=entry.knowledge_version,
                        age_s=now - match.created,
                        stale=entry.knowledge_version != version,
                        embed_tokens=tokens,
                        verify=verdict,
                        candidate_case_id=candidate if verdict else None,
                        verify_usage=verify_usage,
                    )
                )
                return Response(
                    text=entry.text,
                    model=entry.model,
                    usage=Usage(),
                    latency_ms=HIT_LATENCY_MS + verify_ms,
                    cache_hit=True,
                )
        response = await call_next(request)
        if response.error is None:
            self.index.insert(
                vector,
                _Entry(request.case_id, response.text, response.model, version, question),
                namespace=namespace,
                now=now,
            )
        self.events.append(
            CacheEvent(
                case_id=request.case_id,
                hit=False,
                similarity=None if match is None else match.similarity,
                matched_case_id=None,
                knowledge_version=version,
                embed_tokens=tokens,
                verify=verdict,
                candidate_case_id=candidate if verdict else None,
                verify_usage=verify_usage,
            )
        )
        return response


def cosine_threshold(value: Any, *, where: str) -> float:
    """A cosine similarity threshold in [-1, 1].

    Raises:
        ConfigError: not a number, NaN, or outside [-1, 1].
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ConfigError(
            f"{where}: 'threshold' must be a cosine similarity between -1 and 1, got {value!r}."
        )
    if not -1.0 <= float(value) <= 1.0:
        raise ConfigError(
            f"{where}: 'threshold' must be between -1 and 1 (a cosine similarity), got "
            f"{value!r}. Typical values are 0.7-0.95; see docs/caching.md for how to pick one."
        )
    return float(value)


OPTIONS = ("embedder", "threshold", "ttl", "max_entries", "by_version", "verify")


@caches.register("semantic")
def semantic_cache() -> Callable[[Mapping[str, Any], str], SemanticCache]:
    """Factory of the ``semantic`` cache (options: see the module documentation)."""

    def build(options: Mapping[str, Any], where: str) -> SemanticCache:
        opts = read_options(
            options,
            kind="semantic",
            required=("threshold",),
            optional=tuple(o for o in OPTIONS if o != "threshold"),
            where=where,
        )
        where = f"{where} (semantic)"
        threshold = cosine_threshold(opts["threshold"], where=where)
        ttl = parse_duration(opts["ttl"], where=where) if opts.get("ttl") is not None else None
        max_entries = opts.get("max_entries")
        if max_entries is not None:
            max_entries = positive_int(max_entries, key="max_entries", where=where, minimum=1)
        by_version = opts.get("by_version", True)
        if not isinstance(by_version, bool):
            raise ConfigError(f"{where}: 'by_version' must be true or false, got {by_version!r}.")
        spec = opts.get("embedder", DEFAULT_EMBEDDER)
        verify = opts.get("verify")
        return SemanticCache(
            embeddings=shared_embeddings(spec, where=where),
            threshold=threshold,
            ttl=ttl,
            max_entries=max_entries,
            by_version=by_version,
            verifier=(
                build_verifier(verify, where=f"{where} 'verify'") if verify is not None else None
            ),
        )

    return build
