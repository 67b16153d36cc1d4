"""Acceptance: the ``static`` embedder on GPTCache's paraphrase pairs with hard negatives.

Reads ``../shared/data/gptcache/mock_data.json`` (999 ``{origin, similar}``
pairs) where it lies, adds generated negatives (swapped numbers, names,
negations; seed 0) and sweeps the ``static`` embedder's threshold. The figures
and the commands that reproduce them are in docs/caching.md.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt
import pytest

from harness.analysis.cache_sweep import Sweep, sweep_cache_thresholds
from harness.analysis.cache_traffic import Stream, stream_from_cases
from harness.embedders.static import StaticEmbedder
from harness.importers.paraphrase_pairs import CacheSuite, build_cache_suite, load_pairs
from tests.helpers import SHARED_DATA

PAIRS = SHARED_DATA / "gptcache" / "mock_data.json"
EMBEDDER = StaticEmbedder()

pytestmark = pytest.mark.skipif(
    not PAIRS.is_file(),
    reason=f"GPTCache pairs not found at {PAIRS} (the shared data folder is beside the repo in CI)",
)


@cache
def suite() -> CacheSuite:
    return build_cache_suite(load_pairs(PAIRS), seed=0)


@cache
def embeddings() -> npt.NDArray[np.float32]:
    """One vector per case, computed once for every sweep below."""
    return EMBEDDER.embed_sync([c.prompt for c in suite().cases])


@cache
def run(isolated: bool, target: float) -> Sweep:
    s = suite()
    stream: Stream = stream_from_cases(s.cases, namespace=s.family if isolated else None)
    return sweep_cache_thresholds(stream, embeddings(), judge=s.judge, target=target)


def test_the_suite_has_every_pair_and_hard_negatives() -> None:
    s = suite()
    assert s.pairs == 999
    assert sum(c.category == "paraphrase" for c in s.cases) == 999
    assert s.negatives["negation"] > 700 and s.negatives["entity"] > 700
    assert s.negatives["number"] > 50


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recommended_threshold_keeps_80_percent_of_paraphrase_hits(seed: int) -> None:
    """At the default target: wrong-hit rate's upper CI bound at most 1 %.

    Each paraphrase family (origin, paraphrase, its negatives) in its own
    namespace: this measures separation of paraphrases from their own hard
    negatives. Three seeds give three different sets of negatives and orders.
    """
    s = suite() if seed == 0 else build_cache_suite(load_pairs(PAIRS), seed=seed)
    vectors = embeddings() if seed == 0 else EMBEDDER.embed_sync([c.prompt for c in s.cases])
    result = sweep_cache_thresholds(
        stream_from_cases(s.cases, namespace=s.family), vectors, judge=s.judge
    )
    chosen = result.recommended
    assert chosen is not None
    assert chosen.wrong_hit_ci[1] <= 0.01
    paraphrases = chosen.by_category["paraphrase"]
    assert paraphrases.answerable == 999
    assert paraphrases.recall >= 0.80
    # Negatives are almost never served: under 0.5 % of them.
    negatives = [v for k, v in chosen.by_category.items() if k.startswith("negative:")]
    hit = sum(v.hits for v in negatives)
    assert hit / sum(v.queries for v in negatives) < 0.005


def test_mixed_stream() -> None:
    """All pairs in one stream: unrelated pairs compete too (hits between pairs are unjudged)."""
    result = run(False, 0.01)
    chosen = result.recommended
    assert chosen is not None and chosen.wrong_hit_ci[1] <= 0.01
    assert chosen.by_category["paraphrase"].recall >= 0.6
    # Hits between different pairs are many, and counted apart, never as correct.
    assert 0.2 < chosen.unjudged_hits / chosen.hits < 0.5
    assert chosen.correct_hits + chosen.false_hits + chosen.unjudged_hits == chosen.hits
