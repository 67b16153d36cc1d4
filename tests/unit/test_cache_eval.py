"""Offline cache evaluation: intervals, simulate, the sweep, traffic files, the suite builder."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from harness.analysis.cache_replay import scorer_check, simulate
from harness.analysis.cache_sweep import sweep_cache_thresholds
from harness.analysis.cache_traffic import TrafficRow, load_traffic, stream_from_cases
from harness.errors import CostEvalError, SuiteError
from harness.importers.paraphrase_pairs import build_cache_suite, negate, swap_entity, swap_number
from harness.scoring.similarity import FuzzyScorer
from harness.stats.binomial import clopper_pearson, wilson_interval
from harness.types import Case

# ------------------------------------------------------------------ intervals


def test_clopper_pearson_matches_reference_values() -> None:
    # Reference values from scipy.stats.beta.ppf (alpha = 0.05).
    assert clopper_pearson(0, 10) == pytest.approx((0.0, 0.30849710781876), abs=1e-9)
    assert clopper_pearson(3, 10) == pytest.approx((0.06673951117773, 0.65245285005999), abs=1e-9)
    assert clopper_pearson(2, 800) == pytest.approx((0.00030290512152, 0.00900141800507), abs=1e-9)
    assert clopper_pearson(10, 10) == pytest.approx((0.69150289218124, 1.0), abs=1e-9)
    assert clopper_pearson(0, 0) == (0.0, 1.0)


def test_wilson_interval() -> None:
    low, high = wilson_interval(3, 10)
    assert (low, high) == pytest.approx((0.10779127, 0.60322185), abs=1e-7)
    assert wilson_interval(0, 10)[0] == 0.0
    with pytest.raises(ValueError, match="0 <= k <= n"):
        wilson_interval(11, 10)


# --------------------------------------------------------------------- helpers


def case(cid: str, prompt: str, answer: str, **kw: object) -> Case:
    return Case(id=cid, suite="s", prompt=prompt, expected=answer, **kw)  # type: ignore[arg-type]


def unit(*xs: float) -> list[float]:
    v = np.array(xs, dtype=float)
    return list(v / np.linalg.norm(v))


CASES = [
    case("hours", "What are your store hours?", "9 to 8"),
    case("shops", "When are your shops open?", "9 to 8", paraphrase_of="hours", category="para"),
    case("sunday", "What are your Sunday hours?", "10 to 6", category="near"),
]
EMB = np.array([unit(1, 0, 0), unit(0.95, 0.31, 0), unit(0.6, 0, 0.8)])


def test_simulate_counts_hits_and_savings() -> None:
    stream = stream_from_cases(
        CASES,
        costs={"shops": Decimal("0.01"), "sunday": Decimal("0.02")},
        latencies={"shops": 800.0},
    )
    report = simulate(
        stream,
        EMB,
        threshold=0.9,
        embedding_cost_usd=Decimal("0.0001"),
        embedding_latency_ms=5.0,
    )
    assert (report.hits, report.correct_hits, report.false_hits, report.answerable) == (1, 1, 0, 1)
    assert report.hit_rate == pytest.approx(1 / 3) and report.recall == 1.0
    assert report.gross_saved_usd == Decimal("0.01")
    assert report.net_saved_usd == Decimal("0.01") - 3 * Decimal("0.0001")
    assert report.latency_saved_ms == 800.0 - 1.0 - 3 * 5.0
    assert [o.verdict for o in report.outcomes] == ["miss", "correct", "miss"]
    # Low enough, the near-miss hits too: a false hit.
    low = simulate(stream, EMB, threshold=0.5)
    assert (low.hits, low.false_hits) == (2, 1)
    assert low.outcomes[2].matched_case_id == "hours"
    assert low.by_category["near"].false == 1


def test_a_version_change_is_never_a_correct_hit() -> None:
    traffic = [
        TrafficRow(case_id="hours", timestamp=0, knowledge_version="v1"),
        TrafficRow(case_id="shops", timestamp=10, knowledge_version="v2", answer="9 to 9"),
        TrafficRow(case_id="shops", timestamp=20, knowledge_version="v1"),
    ]
    stream = stream_from_cases(CASES, traffic=traffic)
    namespaced = simulate(stream, EMB, threshold=0.9)
    assert [o.verdict for o in namespaced.outcomes] == ["miss", "miss", "correct"]
    crossing = simulate(stream, EMB, threshold=0.9, by_version=False)
    assert [o.verdict for o in crossing.outcomes] == ["miss", "stale", "correct"]
    assert crossing.stale_hits == 1 and crossing.wrong_hit_rate == 0.5


def test_stale_after_and_ttl() -> None:
    traffic = [TrafficRow(case_id="hours", timestamp=0), TrafficRow(case_id="shops", timestamp=100)]
    stream = stream_from_cases(CASES, traffic=traffic)
    # Served, but the facts are considered outdated after 50 s: stale, even if the text passes.
    stale = simulate(stream, EMB, threshold=0.9, stale_after=50)
    assert stale.outcomes[1].verdict == "stale" and stale.answerable == 0
    # A TTL shorter than the gap: not served at all.
    assert simulate(stream, EMB, threshold=0.9, ttl=50).hits == 0


def test_scorer_check() -> None:
    stream = stream_from_cases(
        [case("a", "q1", "Stores open at 9."), case("b", "q2", "stores open at 9")]
    )
    emb = np.array([unit(1, 0), unit(1, 0)])
    assert simulate(stream, emb, threshold=0.9).false_hits == 1
    fuzzy = scorer_check(FuzzyScorer(threshold=0.9))
    assert simulate(stream, emb, threshold=0.9, check=fuzzy).correct_hits == 1


def test_judge_can_abstain() -> None:
    stream = stream_from_cases(CASES)
    report = simulate(stream, EMB, threshold=0.5, judge=lambda served, query: None)
    assert (report.hits, report.unjudged_hits, report.judged_hits) == (2, 2, 0)
    assert report.false_hit_rate == 0.0 and report.false_hit_ci == (0.0, 1.0)


# ------------------------------------------------------------------ the sweep


def random_stream(seed: int, n_cases: int = 40, n_queries: int = 120):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    topics = np_rng.normal(size=(8, 6))
    cases, vectors = [], []
    for i in range(n_cases):
        topic = i % 8
        vectors.append(topics[topic] + np_rng.normal(scale=0.6, size=6))
        cases.append(case(f"c{i}", f"q{i}", f"a{topic}", category=f"t{topic % 3}"))
    traffic = []
    t = 0.0
    for _ in range(n_queries):
        t += rng.expovariate(1.0)
        cid = f"c{rng.randrange(n_cases)}"
        traffic.append(
            TrafficRow(
                case_id=cid,
                timestamp=t,
                knowledge_version="v1" if t < n_queries / 2 else "v2",
            )
        )
    return stream_from_cases(cases, traffic=traffic), np.array(vectors)


@pytest.mark.parametrize(
    ("seed", "ttl", "by_version", "candidates", "n_queries"),
    [
        (1, None, True, 32, 120),
        (2, 15.0, True, 4, 120),
        (3, None, False, 2, 120),
        (4, 8.0, False, 1, 120),
        # Traffic with many repeats (the path that compares with first occurrences).
        (5, None, True, 1, 600),
        (6, None, False, 3, 600),
    ],
)
def test_sweep_equals_simulate_at_every_threshold(
    seed: int, ttl: float | None, by_version: bool, candidates: int, n_queries: int
) -> None:
    stream, emb = random_stream(seed, n_queries=n_queries)
    grid = [round(x, 2) for x in np.arange(-0.2, 1.0001, 0.05)]
    result = sweep_cache_thresholds(
        stream, emb, thresholds=grid, ttl=ttl, by_version=by_version, candidates=candidates
    )
    assert [p.threshold for p in result.points] == sorted(grid)
    for point in result.points:
        exact = simulate(stream, emb, threshold=point.threshold, ttl=ttl, by_version=by_version)
        got = (point.hits, point.correct_hits, point.false_hits, point.stale_hits)
        want = (exact.hits, exact.correct_hits, exact.false_hits, exact.stale_hits)
        assert got == want, point.threshold
        assert point.by_category == exact.by_category


def test_sweep_recommends_most_correct_hits_under_the_target() -> None:
    stream, emb = random_stream(5, n_queries=300)
    result = sweep_cache_thresholds(stream, emb, target=0.2)
    chosen = result.recommended
    assert chosen is not None and chosen.wrong_hit_ci[1] <= 0.2
    eligible = [p for p in result.points if p.judged_hits and p.wrong_hit_ci[1] <= 0.2]
    assert chosen.correct_hits == max(p.correct_hits for p in eligible)
    assert "<- recommended" in result.table()
    assert sweep_cache_thresholds(stream, emb, target=0.0).recommended is None


def test_embedding_checks() -> None:
    stream = stream_from_cases(CASES)
    with pytest.raises(CostEvalError, match=r"one embedding row per case \(3\)"):
        simulate(stream, EMB[:2], threshold=0.9)
    bad = EMB.copy()
    bad[1, 0] = np.nan
    with pytest.raises(CostEvalError, match="NaN"):
        sweep_cache_thresholds(stream, bad)
    with pytest.raises(ValueError, match=r"cosine similarities in \[-1, 1\]"):
        sweep_cache_thresholds(stream, EMB, thresholds=[1.5])


# -------------------------------------------------------------------- traffic


def test_load_traffic(tmp_path: Path) -> None:
    path = tmp_path / "traffic.jsonl"
    rows = [
        {"case_id": "hours", "timestamp": "2026-11-26T10:00:00Z"},
        {"case_id": "hours", "timestamp": 1_790_000_000.5, "knowledge_version": "v2"},
        {"case_id": "shops"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    traffic = load_traffic(path)
    assert traffic[0].timestamp == 1795687200.0
    assert traffic[1].knowledge_version == "v2" and traffic[2].timestamp is None
    stream = stream_from_cases(CASES, traffic=traffic)
    assert [q.case_id for q in stream.queries] == ["hours", "hours", "shops"]
    assert stream.queries[2].timestamp == 3.0  # no timestamp: the stream position


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{bad", r"traffic.jsonl:1: not valid JSON"),
        ('{"id": "x"}', r"needs a 'case_id' string"),
        ('{"case_id": "x", "when": 1}', r"unknown key 'when'"),
        ('{"case_id": "x", "timestamp": "noon"}', r"'timestamp' must be seconds or an ISO-8601"),
    ],
)
def test_load_traffic_errors(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "traffic.jsonl"
    path.write_text(line)
    with pytest.raises(SuiteError, match=message):
        load_traffic(path)


def test_stream_errors() -> None:
    with pytest.raises(SuiteError, match=r"names case 'nope', not in the suite"):
        stream_from_cases(CASES, traffic=[TrafficRow(case_id="nope")])
    with pytest.raises(SuiteError, match=r"case 'x' has no correct answer"):
        stream_from_cases([Case(id="x", suite="s", prompt="q")])


# ----------------------------------------------------------------- the suite

PAIRS = [
    ("No, it doesn't exist in version 2.10.0.", "Version 2.10.0 does not have it."),
    ("Gradio is a tool to build demos with Python.", "Gradio lets you build demos in Python."),
    ("The `map` method applies a function to every row.", "`map` runs a function on each row."),
    ("Gradio is a tool to build demos with Python.", "With Gradio, Python demos are easy."),
]


def test_negatives() -> None:
    rng = random.Random(0)
    assert swap_number("Released in 2016 with 3 colors.", rng) != "Released in 2016 with 3 colors."
    assert swap_number("No numbers here.", rng) is None
    assert negate("It is a tool.") == "It is not a tool."
    assert negate("You can load it.") == "You cannot load it."
    assert negate("No, it doesn’t exist.") == "Yes, it does exist."
    assert negate("Nothing to negate here.") is None
    assert swap_entity("Use `map` here.", ["`map`", "`filter`"], rng) == "Use `filter` here."
    assert swap_entity("Use PyTorch.", ["`map`"], rng) is None


def test_build_cache_suite_is_seeded_and_labelled() -> None:
    suite = build_cache_suite(PAIRS, seed=3)
    assert suite == build_cache_suite(PAIRS, seed=3)
    assert [c.id for c in suite.cases] != [c.id for c in build_cache_suite(PAIRS, seed=4).cases]
    by_id = {c.id: c for c in suite.cases}
    positions = {c.id: i for i, c in enumerate(suite.cases)}
    for c in suite.cases:
        if c.paraphrase_of:
            assert positions[c.paraphrase_of] < positions[c.id]
    assert by_id["p0001-n-number"].category == "negative:number"
    assert by_id["p0001-n-negation"].prompt == "Yes, it does exist in version 2.10.0."
    # Pairs 2 and 4 share an origin: one answer for all four texts.
    assert by_id["p0004-p"].expected == by_id["p0002-o"].expected == PAIRS[1][0]
    assert suite.judge("p0002-o", "p0004-p") is True
    assert suite.judge("p0001-o", "p0001-n-number") is False
    assert suite.judge("p0001-n-number", "p0001-n-negation") is False
    assert suite.judge("p0001-o", "p0003-p") is None  # different pairs: the data cannot tell
    # A negative of one pair may say what another pair says: the labels cannot tell either.
    assert suite.judge("p0001-n-number", "p0003-o") is None
    assert suite.judge("p0003-p", "p0001-n-negation") is None
    assert suite.to_suite()["cases"][0]["id"] == suite.cases[0].id
    with pytest.raises(SuiteError, match="unknown negative kind 'typo'"):
        build_cache_suite(PAIRS, negatives=("typo",))
