"""The ``semantic`` cache strategy: hits, near-misses, TTL, knowledge versions, eviction, errors."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from harness.embedders import SharedEmbeddings
from harness.errors import ConfigError, CostEvalError
from harness.strategies.base import caches
from harness.strategies.semantic_cache import (
    SemanticCache,
    SemanticIndex,
    parse_duration,
    semantic_cache,
)
from harness.types import Message, Request, Response, Usage


class Table:
    """An embedder reading vectors from a table (unknown texts: an orthogonal axis each)."""

    name = "table"
    usage_tokens = 0

    def __init__(self, vectors: Mapping[str, Sequence[float]], dim: int = 8) -> None:
        self.vectors = vectors
        self.dim = dim
        self.unknown: dict[str, int] = {}

    async def embed(self, texts: Sequence[str]) -> Any:
        rows = []
        for text in texts:
            if text in self.vectors:
                rows.append(list(self.vectors[text]))
            else:
                axis = self.unknown.setdefault(text, 4 + len(self.unknown))
                rows.append([1.0 if i == axis else 0.0 for i in range(self.dim)])
        return np.array(rows, dtype=np.float64)


class Model:
    """A provider answering ``answer to <question>`` and counting its calls."""

    def __init__(self) -> None:
        self.seen: list[Request] = []

    async def __call__(self, request: Request) -> Response:
        self.seen.append(request)
        question = request.messages[-1].content
        return Response(
            text=f"answer to {question}",
            model=request.model,
            usage=Usage(input_tokens=10, output_tokens=5),
            latency_ms=500.0,
        )


def request(
    question: str,
    *,
    case_id: str = "",
    version: str | None = None,
    at: float | None = None,
    system: str | None = None,
) -> Request:
    messages = ((Message(role="system", content=system),) if system else ()) + (
        Message(role="user", content=question),
    )
    return Request(
        model="sim:frontier",
        messages=messages,
        case_id=case_id or question,
        knowledge_version=version,
        timestamp=at,
    )


def cache(embedder: Any = None, **options: Any) -> SemanticCache:
    embeddings = SharedEmbeddings(embedder or Table({}))
    return SemanticCache(embeddings=embeddings, threshold=options.pop("threshold", 0.9), **options)


def send(
    strategy: SemanticCache, requests: list[Request], model: Model | None = None
) -> list[Response]:
    model = model or Model()

    async def run() -> list[Response]:
        return [await strategy(r, model) for r in requests]

    return asyncio.run(run())


# Unit vectors with chosen cosines: q1.q2 = 0.95 (paraphrase), q1.q3 = 0.6 (near-miss).
ANGLES: dict[str, Sequence[float]] = {
    "What are your store hours?": [1.0, 0.0, 0.0, 0.0, 0, 0, 0, 0],
    "When are your shops open?": [0.95, np.sqrt(1 - 0.95**2), 0, 0, 0, 0, 0, 0],
    "What are your Sunday hours?": [0.6, 0.0, 0.8, 0.0, 0, 0, 0, 0],
}
HOURS, SHOPS, SUNDAY = ANGLES


def test_paraphrase_hits_near_miss_misses() -> None:
    strategy = cache(Table(ANGLES), threshold=0.9)
    model = Model()
    first, para, near = send(
        strategy, [request(HOURS, case_id="c1"), request(SHOPS), request(SUNDAY)], model
    )
    assert not first.cache_hit and not near.cache_hit
    assert para.cache_hit
    # The hit serves the earlier answer, from the earlier model, for free.
    assert (para.text, para.model) == (first.text, first.model)
    assert para.usage == Usage() and para.latency_ms == 1.0
    assert [r.messages[-1].content for r in model.seen] == [HOURS, SUNDAY]
    hit = strategy.events[1]
    assert hit.hit and hit.matched_case_id == "c1" and hit.similarity == pytest.approx(0.95)
    near_event = strategy.events[2]
    assert not near_event.hit and near_event.similarity == pytest.approx(0.6)


def test_threshold_is_inclusive_and_sweepable() -> None:
    assert send(cache(Table(ANGLES), threshold=0.95), [request(HOURS), request(SHOPS)])[1].cache_hit
    assert not send(cache(Table(ANGLES), threshold=0.951), [request(HOURS), request(SHOPS)])[
        1
    ].cache_hit
    # An identical text reaches threshold 1.0 despite float rounding.
    assert send(cache(threshold=1.0), [request("x y"), request("x y")])[1].cache_hit


def test_static_embedder_end_to_end() -> None:
    strategy = build({"threshold": 0.6, "embedder": "static"}, "config 'sem'.cache")
    assert caches.get("semantic") is not None
    out = send(
        strategy,
        [
            request("How much does standard shipping cost?"),
            request("how much does standard shipping cost"),
            request("How much does standard shipping cost to Canada?"),
            request("Can I return something with a receipt?"),
            request("Can I return something without a receipt?"),
        ],
    )
    assert [r.cache_hit for r in out] == [False, True, False, False, False]


def test_the_default_embedder_is_minilm_static_joined_with_static() -> None:
    strategy = build({"threshold": 0.8}, "config 'sem'.cache")
    assert strategy.embeddings.name == "minilm_static+static:0.3"
    out = send(
        strategy,
        [
            request("How much does standard shipping cost?"),
            request("how much does standard shipping cost"),
            request("How much does standard shipping cost to Canada?"),
            # A paraphrase with other words: cosine 0.84 here, 0.64 under static.
            request("What does shipping to Canada cost?"),
            request("Can I return something with a receipt?"),
            request("Can I return something without a receipt?"),  # 0.74: kept apart
        ],
    )
    assert [r.cache_hit for r in out] == [False, True, False, True, False, False]


def test_knowledge_version_change_is_never_served() -> None:
    strategy = cache(Table(ANGLES))
    out = send(
        strategy,
        [request(HOURS, version="v1"), request(SHOPS, version="v2"), request(SHOPS, version="v1")],
    )
    assert [r.cache_hit for r in out] == [False, False, True]
    assert not any(e.stale for e in strategy.events)


def test_without_version_namespaces_a_crossing_hit_is_recorded_stale() -> None:
    strategy = cache(Table(ANGLES), by_version=False)
    out = send(strategy, [request(HOURS, version="v1"), request(SHOPS, version="v2")])
    assert out[1].cache_hit
    event = strategy.events[1]
    assert event.stale and (event.matched_version, event.knowledge_version) == ("v1", "v2")


def test_ttl_expires_entries() -> None:
    strategy = cache(Table(ANGLES), ttl=parse_duration("1h"))
    out = send(
        strategy,
        [
            request(HOURS, at=0.0),
            request(SHOPS, at=3600.0),  # exactly the TTL: still served
            request(SHOPS, at=3601.0),  # expired: a miss, stored anew
            request(HOURS, at=3700.0),  # served from the new entry
        ],
    )
    assert [r.cache_hit for r in out] == [False, True, False, True]
    assert strategy.events[1].age_s == 3600.0 and strategy.events[3].age_s == 99.0
    assert strategy.index.expirations == 1


def test_ttl_without_timestamps_counts_requests() -> None:
    strategy = cache(ttl=2.0, threshold=1.0)
    out = send(strategy, [request("a"), request("a"), request("b"), request("a")])
    assert [r.cache_hit for r in out] == [False, True, False, False]


def test_lru_eviction() -> None:
    strategy = cache(max_entries=2, threshold=1.0)
    out = send(strategy, [request(q) for q in ("a", "b", "a", "c", "b", "a")])
    # a, b stored; a hits (so b is now least recently used); c evicts b; b misses and
    # evicts a (used before c was stored); a misses and evicts c.
    assert [r.cache_hit for r in out] == [False, False, True, False, False, False]
    assert strategy.index.evictions == 3
    assert len(strategy.index) == 2


def test_context_must_match() -> None:
    strategy = cache(threshold=1.0)
    out = send(
        strategy,
        [
            request("q", system="Docs A"),
            request("q", system="Docs B"),
            request("q", system="Docs A"),
        ],
    )
    assert [r.cache_hit for r in out] == [False, False, True]


def test_errors_are_not_cached() -> None:
    strategy = cache(threshold=1.0)

    async def failing(request: Request) -> Response:
        return Response(text="", model=request.model, error="timeout")

    async def run() -> list[Response]:
        return [await strategy(request("q"), failing), await strategy(request("q"), Model())]

    first, second = asyncio.run(run())
    assert first.error == "timeout" and not second.cache_hit


def test_requests_without_a_question_go_straight_on() -> None:
    strategy = cache(threshold=0.0)
    empty = Request(model="m", messages=(Message(role="system", content="hi"),))
    send(strategy, [empty, empty])
    assert all(e.skipped and not e.hit for e in strategy.events)


def test_auxiliary_requests_are_not_cached() -> None:
    if "purpose" not in {f.name for f in dataclasses.fields(Request)}:
        pytest.skip("Request has no 'purpose' field yet")
    strategy = cache(threshold=0.0)
    aux = dataclasses.replace(request("Summarize it."), purpose="summarize")  # type: ignore[call-arg]
    send(strategy, [aux, aux])
    assert all(e.skipped for e in strategy.events)


# ------------------------------------------------------------------ embedder errors


class Broken:
    name = "broken"
    usage_tokens = 0

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.calls = 0

    async def embed(self, texts: Sequence[str]) -> Any:
        self.calls += 1
        if self.kind == "nan":
            return np.full((len(texts), 4), np.nan)
        if self.kind == "count":
            return np.ones((len(texts) + 1, 4))
        return np.ones((len(texts), 4 + self.calls))  # "dim": grows every call


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("nan", r"embedder 'broken' returned NaN or infinity for text #1 \('q1'\)"),
        ("count", r"returned 2 vector\(s\) for 1 text\(s\)"),
        ("dim", r"returned vectors of dimension 6, but earlier ones had dimension 5"),
    ],
)
def test_embedder_errors_raise(kind: str, message: str) -> None:
    strategy = cache(Broken(kind))
    with pytest.raises(CostEvalError, match=message):
        send(strategy, [request("q0"), request("q1")] if kind == "dim" else [request("q1")])


# ------------------------------------------------------------------ options


def build(options: dict[str, Any], where: str) -> SemanticCache:
    built = semantic_cache()(options, where)
    assert isinstance(built, SemanticCache)
    return built


def test_factory_options() -> None:
    built = build(
        {"threshold": 0.8, "ttl": "7d", "max_entries": 100, "by_version": False}, "config 'c'.cache"
    )
    assert (built.threshold, built.ttl, built.index.max_entries, built.by_version) == (
        0.8,
        7 * 86400,
        100,
        False,
    )
    assert build({"threshold": -1}, "w").threshold == -1.0
    # Two caches with one embedder spec share the vectors: a sweep embeds once.
    assert build({"threshold": 0.5}, "w").embeddings is build({"threshold": 0.9}, "w").embeddings


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, r"'threshold' is required"),
        (
            {"threshold": 1.5},
            r"'threshold' must be between -1 and 1 \(a cosine similarity\), got 1.5",
        ),
        ({"threshold": -1.01}, r"between -1 and 1"),
        ({"threshold": float("nan")}, r"must be a cosine similarity between -1 and 1, got nan"),
        ({"threshold": True}, r"got True"),
        ({"threshold": 0.9, "ttl": "soon"}, r"'ttl' must be a positive duration .* got 'soon'"),
        ({"threshold": 0.9, "ttl": 0}, r"'ttl' must be a positive duration"),
        ({"threshold": 0.9, "max_entries": 0}, r"'max_entries' must be a whole number >= 1"),
        ({"threshold": 0.9, "by_version": "yes"}, r"'by_version' must be true or false"),
        (
            {"threshold": 0.9, "embeder": "static"},
            r"unknown key 'embeder'. Did you mean 'embedder'",
        ),
        ({"threshold": 0.9, "embedder": "nope"}, r"Unknown embedder 'nope'"),
    ],
)
def test_factory_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises((ConfigError, CostEvalError), match=message):
        semantic_cache()(options, "config 'c'.cache")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("90m", 5400), ("12h", 43200), ("7d", 604800), ("2w", 1209600), (45, 45)],
)
def test_parse_duration(text: Any, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_index_ties_go_to_the_earliest_entry() -> None:
    index: SemanticIndex[str] = SemanticIndex()
    index.insert(np.array([1.0, 0.0]), "first", namespace="", now=0)
    index.insert(np.array([1.0, 0.0]), "second", namespace="", now=1)
    match = index.lookup(np.array([1.0, 0.0]), namespace="", now=2)
    assert match is not None and match.payload == "first"
    assert index.lookup(np.array([1.0, 0.0]), namespace="other", now=2) is None
