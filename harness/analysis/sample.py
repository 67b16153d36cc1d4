"""A stratified sample of production queries, as the cases of a new suite.

Candidates are the most recent stored prompts (at most ``pool`` of them, so
memory stays bounded), with PII-shaped strings redacted first
(:mod:`harness.analysis.pii`). Exact repeats (after case, spacing and
punctuation are normalized) are dropped; the rest fall into strata by the model
that answered (its tier), the prompt's length bucket, its topic (k-means over the
shipped offline embedder's vectors, :func:`topic_labels`) and whether it is
*novel*: unlike every case of the existing suites by a cheap fuzzy similarity
(rapidfuzz's ``token_set_ratio`` below ``novelty``). Strata are drawn from in turn, novel ones
first (equal allocation: a rare tier or length is not crowded out by the common
one), and a query too similar to one already drawn (``token_sort_ratio`` at or
above ``similarity``) is skipped as a near-duplicate.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.analysis.pii import redact_pii
from harness.embedders import build_embedder

__all__ = [
    "LENGTH_BUCKETS",
    "Candidate",
    "SampleResult",
    "SampledCase",
    "draw_sample",
    "length_bucket",
    "suite_document",
    "topic_labels",
]

LENGTH_BUCKETS = ((64, "short"), (512, "medium"))
"""Prompt tokens below each bound name the bucket; longer prompts are ``long``."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One stored production query."""

    prompt: str
    model: str
    tokens: int
    """Prompt tokens the call was billed for (system prompt and history included)."""


@dataclass(frozen=True, slots=True)
class SampledCase:
    """A query drawn into the sample (its prompt already redacted)."""

    prompt: str
    model: str
    length: str
    novel: bool
    similarity: float
    """Highest similarity (0-100) to an existing suite case."""
    topic: int = 0
    """Its topic cluster (0 when not clustered)."""


@dataclass(frozen=True, slots=True)
class SampleResult:
    """What :func:`draw_sample` drew and why the rest were left."""

    cases: tuple[SampledCase, ...]
    seen: int
    """Candidates read."""
    repeats: int
    """Exact repeats dropped (after normalizing)."""
    near_duplicates: int
    """Skipped as too similar to a query already drawn."""
    strata: Mapping[str, int] = field(default_factory=dict)
    """Cases drawn per stratum (``model / length / topic N / novel|familiar``)."""


def length_bucket(tokens: int) -> str:
    """``short``, ``medium`` or ``long`` (see :data:`LENGTH_BUCKETS`)."""
    for bound, name in LENGTH_BUCKETS:
        if tokens < bound:
            return name
    return "long"


def draw_sample(
    candidates: Iterable[Candidate],
    existing: Sequence[str],
    *,
    n: int,
    seed: int = 0,
    pool: int = 20_000,
    similarity: float = 90.0,
    novelty: float = 60.0,
    topics: int = 0,
) -> SampleResult:
    """Draw up to ``n`` queries, stratified (module docs); deterministic for a ``seed``."""
    from rapidfuzz import fuzz, process, utils

    known = [utils.default_process(text) for text in existing]
    seen = repeats = 0
    unique: dict[str, Candidate] = {}
    for candidate in candidates:
        if seen >= pool:
            break
        seen += 1
        prompt = redact_pii(candidate.prompt).strip()
        key = utils.default_process(prompt)
        if not key:
            continue
        if key in unique:
            repeats += 1
            continue
        unique[key] = Candidate(prompt, candidate.model, candidate.tokens)
    labels = topic_labels([c.prompt for c in unique.values()], topics, seed)
    strata: dict[tuple[bool, str, str, int], list[tuple[str, float]]] = {}
    for (key, candidate), topic in zip(unique.items(), labels, strict=True):
        best = process.extractOne(key, known, scorer=fuzz.token_set_ratio, processor=None)
        score = float(best[1]) if best else 0.0
        stratum = (score < novelty, candidate.model, length_bucket(candidate.tokens), topic)
        strata.setdefault(stratum, []).append((key, score))
    rng = random.Random(seed)
    # Novel strata first, then by model and length, each shuffled: stable for a seed.
    order = sorted(strata, key=lambda s: (not s[0], s[1], s[2], s[3]))
    queues = {s: rng.sample(strata[s], len(strata[s])) for s in order}
    drawn: list[SampledCase] = []
    drawn_keys: list[str] = []
    counts: dict[str, int] = {}
    near = 0
    while len(drawn) < n and any(queues.values()):
        for stratum in order:
            if len(drawn) >= n or not queues[stratum]:
                continue
            key, score = queues[stratum].pop()
            twin = process.extractOne(
                key,
                drawn_keys,
                scorer=fuzz.token_sort_ratio,
                processor=None,
                score_cutoff=similarity,
            )
            if twin is not None:
                near += 1
                continue
            novel, model, length, topic = stratum
            candidate = unique[key]
            drawn.append(SampledCase(candidate.prompt, model, length, novel, score, topic))
            drawn_keys.append(key)
            name = f"{model} / {length} / topic {topic} / {'novel' if novel else 'familiar'}"
            counts[name] = counts.get(name, 0) + 1
    return SampleResult(
        cases=tuple(drawn), seen=seen, repeats=repeats, near_duplicates=near, strata=counts
    )


def suite_document(result: SampleResult, suite: str, *, description: str) -> dict[str, Any]:
    """The suite file's content: golden references (the baseline's answers), fuzzy scorer."""
    width = max(3, len(str(len(result.cases))))
    return {
        "suite": suite,
        "description": description,
        "scorer": {"name": "fuzzy"},
        "reference": "golden",
        "cases": [
            {
                "id": f"{suite}-{index:0{width}d}",
                "prompt": case.prompt,
                "category": case.length,
                "tags": [
                    f"model:{case.model}",
                    f"topic:{case.topic}",
                    "novel" if case.novel else "familiar",
                ],
            }
            for index, case in enumerate(result.cases, start=1)
        ],
    }


def topic_labels(texts: Sequence[str], k: int, seed: int = 0) -> list[int]:
    """A topic cluster per text: k-means (scipy's ``kmeans2``, k-means++ seeding) over
    the shipped offline embedder's vectors (``minilm_static``: no download, no key).

    Fewer texts than ``k + 1``, or ``k`` below 2: every text is topic 0.
    """
    if k < 2 or len(texts) <= k:
        return [0] * len(texts)
    import numpy as np
    from scipy.cluster.vq import kmeans2

    embedder = build_embedder("minilm_static", where="harness sample --topics")
    vectors = asyncio.run(embedder.embed(list(texts)))
    _, labels = kmeans2(np.asarray(vectors, dtype=np.float64), k, seed=seed, minit="++")
    return [int(label) for label in labels]
