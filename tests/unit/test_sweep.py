"""harness.analysis.router_* (threshold sweeps, APGR, CPT, oracle, cascade), trained router."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.analysis.router_bootstrap import GROUPED_MAX_VALUES
from harness.analysis.router_curves import (
    ORACLE_GRID,
    apgr,
    calibrate_threshold,
    cpt,
    held_out_share,
    oracle_curve,
    pareto_front,
)
from harness.analysis.router_input import SweepInput
from harness.analysis.router_points import curve
from harness.analysis.router_sweep import cascade, sweep_router_thresholds
from harness.errors import CostEvalError, MissingDependency
from harness.stats.bootstrap import derive_seed, paired_bootstrap_ci
from harness.stats.gates import GateSpec
from harness.strategies.trained_router import (
    TfidfLogisticRouter,
    kfold_scores,
    labels_from_scores,
    tokenize,
)
from harness.types import Message, Request

GATE = GateSpec()

# --------------------------------------------------------------------------- curve metrics


def test_apgr_and_cpt_of_a_hand_made_curve() -> None:
    shares, quality = [0.0, 0.5, 1.0], [0.5, 0.9, 1.0]
    # Trapezoids: 0.5 * (0.5 + 0.9) / 2 + 0.5 * (0.9 + 1.0) / 2 = 0.825.
    assert apgr(shares, quality, weak=0.5, strong=1.0) == pytest.approx((0.825 - 0.5) / 0.5)
    # Target 0.75 lies between (0, 0.5) and (0.5, 0.9).
    assert cpt(shares, quality, 0.5, weak=0.5, strong=1.0) == pytest.approx(0.25 * 0.5 / 0.4)
    assert cpt(shares, quality, 0.8, weak=0.5, strong=1.0) == pytest.approx(0.5)
    assert cpt(shares, quality, 1.0, weak=0.5, strong=1.0) == pytest.approx(1.0)
    assert cpt(shares, quality, 0.0, weak=0.5, strong=1.0) == 0.0


def test_apgr_of_the_straight_line_is_one_half() -> None:
    shares = np.linspace(0, 1, 11)
    assert apgr(shares, 0.6 + 0.2 * shares, weak=0.6, strong=0.8) == pytest.approx(0.5)


def test_apgr_uses_the_range_the_points_cover_and_sorts_them() -> None:
    # RouteLLM normalizes by the x range of the points; order does not matter.
    assert apgr([1.0, 0.0], [1.0, 0.0], weak=0.0, strong=1.0) == pytest.approx(0.5)
    assert apgr([0.2, 0.6], [0.5, 0.5], weak=0.0, strong=1.0) == pytest.approx(0.5)


def test_metrics_are_undefined_without_a_gap() -> None:
    assert apgr([0, 1], [0.7, 0.7], weak=0.7, strong=0.7) is None
    assert cpt([0, 1], [0.7, 0.7], 0.5, weak=0.7, strong=0.7) is None
    # The weak model better: no gap to close.
    assert cpt([0, 1], [0.8, 0.7], 0.5, weak=0.8, strong=0.7) is None


def test_cpt_on_a_non_monotone_curve_takes_the_first_crossing() -> None:
    shares = [0.0, 0.25, 0.5, 0.75, 1.0]
    quality = [0.5, 0.8, 0.6, 0.9, 1.0]
    # Target 0.75 is first reached between 0 and 0.25 (later dips do not matter).
    assert cpt(shares, quality, 0.5, weak=0.5, strong=1.0) == pytest.approx(0.25 * 0.25 / 0.3)
    # Target 0.9 is reached at 0.75, after the dip: interpolated from (0.5, 0.6).
    assert cpt(shares, quality, 0.8, weak=0.5, strong=1.0) == pytest.approx(0.75)
    assert cpt(shares, quality, 0.9, weak=0.5, strong=1.0) == pytest.approx(0.875)
    assert apgr(shares, quality, weak=0.5, strong=1.0) == pytest.approx((0.7625 - 0.5) / 0.5)
    # A target the curve never reaches.
    assert cpt(shares, [0.5, 0.6, 0.6, 0.6, 0.6], 0.5, weak=0.5, strong=1.0) is None


def bad_router_input() -> SweepInput:
    """Four cases routed worst-first: the curve dips below the weak model."""
    return SweepInput.build(
        case_ids=["a", "b", "c", "d"],
        strong_score=[1, 0, 1, 1],
        weak_score=[0, 1, 0, 1],
        strong_cost=1.0,
        weak_cost=0.1,
        # b (where the weak model is better) goes strong first, then a, c, d.
        router_score=[0.7, 0.9, 0.5, 0.3],
    )


def test_sweep_of_a_non_monotone_curve() -> None:
    result = sweep_router_thresholds(bad_router_input(), n_quantiles=4, gate=GATE, seed=1)
    assert [p.strong_share for p in result.points] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [p.quality for p in result.points] == [0.5, 0.25, 0.5, 0.75, 0.75]
    assert (result.weak_quality, result.strong_quality) == (0.5, 0.75)
    # Trapezoid area 0.53125 over [0, 1]; (0.53125 - 0.5) / 0.25.
    assert result.apgr == pytest.approx(0.125)
    # Target 0.625: first reached between 0.5 (0.5) and 0.75 (0.75), after the dip.
    assert result.cpt["50"] == pytest.approx(0.625)
    assert result.cpt["80"] == pytest.approx(0.7)


def test_thresholds_route_score_at_or_above_to_strong() -> None:
    inp = bad_router_input()
    c = curve(inp, thresholds=[0.7, 0.71], n_quantiles=1)
    by_threshold = dict(zip(c.threshold.tolist(), c.strong_calls.tolist(), strict=True))
    assert by_threshold[0.7] == 2  # a (0.7) and b (0.9)
    assert by_threshold[0.71] == 1
    # Quantile endpoints: everything strong, nothing strong.
    assert c.strong_calls[0] == 0 and c.strong_calls[-1] == 4


def test_points_are_deduplicated_by_routing_preferring_user_thresholds() -> None:
    inp = bad_router_input()
    c = curve(inp, thresholds=[0.6, 0.65, 0.2], n_quantiles=4)
    assert c.strong_calls.tolist() == [0, 1, 2, 3, 4]
    # 0.6 and 0.65 both send a and b; the lower user threshold represents them.
    assert 0.6 in c.threshold.tolist() and 0.65 not in c.threshold.tolist()
    assert 0.2 in c.threshold.tolist()  # everything strong: the user's threshold wins


def test_oracle_curve_and_apgr() -> None:
    inp = bad_router_input()
    # Two cases where only the strong model is right: quality = 0.5 + min(share, 0.5).
    oracle = oracle_curve(inp)
    assert oracle.tolist() == pytest.approx([0.5 + min(s, 0.5) for s in ORACLE_GRID])
    result = sweep_router_thresholds(inp, gate=GATE, seed=1)
    # PGR = 4 * min(share, 0.5): area 0.5 + 1.0.
    assert result.oracle_apgr == pytest.approx(1.5)
    assert result.oracle_cpt["50"] == pytest.approx(0.125)


def test_oracle_with_continuous_scores_takes_the_largest_gains_first() -> None:
    inp = SweepInput.build(
        strong_score=[0.9, 0.8, 0.5, 0.6],
        weak_score=[0.1, 0.7, 0.6, 0.6],
        strong_cost=1,
        weak_cost=0,
        router_score=[0.5] * 4,
    )
    got = oracle_curve(inp, shares=[0.0, 0.25, 0.375, 0.5, 1.0])
    weak = 2.0 / 4
    assert got.tolist() == pytest.approx(
        [weak, weak + 0.8 / 4, weak + (0.8 + 0.05) / 4, weak + 0.9 / 4, weak + 0.9 / 4]
    )


def test_pareto_front() -> None:
    cost = [1.0, 2.0, 2.0, 3.0, 4.0, 0.5]
    quality = [0.5, 0.7, 0.6, 0.65, 0.9, 0.5]
    # 0.5@0.5 dominates 0.5@1.0; 0.6@2 and 0.65@3 are dominated by 0.7@2.
    assert pareto_front(cost, quality) == (5, 1, 4)


# --------------------------------------------------------------------------- verdicts


def half_easy_input(n: int = 400) -> SweepInput:
    """Half the cases the weak model gets right too; a perfect router."""
    half = n // 2
    return SweepInput.build(
        strong_score=[1.0] * n,
        weak_score=[1.0] * half + [0.0] * (n - half),
        strong_cost=1.0,
        weak_cost=0.1,
        router_score=[0.1] * half + [0.9] * (n - half),
    )


def test_recommended_is_the_cheapest_passing_point() -> None:
    result = sweep_router_thresholds(
        half_easy_input(), thresholds=[0.95, 0.5, 0.05], gate=GATE, seed=3
    )
    rec = result.recommended
    assert rec is not None and rec.verdict == "pass"
    assert rec.strong_share == 0.5
    assert rec.threshold == 0.5
    assert rec.cost_per_query == pytest.approx((200 * 1.0 + 200 * 0.1) / 400)
    assert (rec.delta, rec.ci_low, rec.ci_high) == (0.0, 0.0, 0.0)
    cheaper = [p for p in result.points if p.cost_per_query < rec.cost_per_query]
    assert cheaper and all(p.verdict != "pass" for p in cheaper)
    assert all(p.verdict == "pass" for p in result.points if p.strong_share >= 0.5)
    assert "cheapest point that passes" in result.recommendation_reason


def test_no_recommendation_when_nothing_passes() -> None:
    n = 200
    inp = SweepInput.build(
        strong_score=[0.0] * n,
        weak_score=[0.0] * n,
        baseline_score=[1.0] * n,
        strong_cost=1.0,
        weak_cost=0.1,
        router_score=np.linspace(0, 1, n),
    )
    result = sweep_router_thresholds(inp, gate=GATE, seed=3)
    assert result.recommended is None
    assert result.to_json()["recommended"] is None
    assert result.recommendation_reason.startswith("no point passes the gate")
    assert "fail" in result.recommendation_reason


def test_category_drops_are_part_of_the_verdict() -> None:
    n = 400
    # Quality overall fine, but one category collapses on the weak model.
    strong = np.ones(n)
    weak = np.ones(n)
    weak[:40] = 0.0
    categories = ["fragile"] * 40 + ["robust"] * (n - 40)
    inp = SweepInput.build(
        strong_score=strong,
        weak_score=weak,
        strong_cost=1.0,
        weak_cost=0.1,
        router_score=np.full(n, 0.5),
        categories=categories,
    )
    gate = GateSpec(max_quality_drop=0.15)
    weak_only = sweep_router_thresholds(inp, gate=gate, seed=1).points[0]
    assert weak_only.strong_share == 0.0
    assert weak_only.ci_low is not None and weak_only.ci_low >= -0.15  # overall: within margin
    assert weak_only.verdict == "fail"
    assert any("category 'fragile'" in r for r in weak_only.reasons)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [(math.nan, "router score nan is NaN"), (1.5, "router score 1.5 is outside [0, 1]")],
)
def test_bad_router_scores_name_the_case(value: float, fragment: str) -> None:
    with pytest.raises(CostEvalError, match=r"case 'c2'") as info:
        SweepInput.build(
            case_ids=["c1", "c2"],
            strong_score=[1, 1],
            weak_score=[0, 1],
            strong_cost=1,
            weak_cost=0,
            router_score=[0.5, value],
        )
    assert fragment in str(info.value)


def test_input_validation() -> None:
    with pytest.raises(CostEvalError, match="empty"):
        SweepInput.build(strong_score=[], weak_score=[], strong_cost=1, weak_cost=0)
    with pytest.raises(CostEvalError, match="weak_score has 1 values but there are 2 cases"):
        SweepInput.build(strong_score=[1, 0], weak_score=[1], strong_cost=1, weak_cost=0)
    with pytest.raises(CostEvalError, match=r"case '#2': strong_score 7\.0 is not a quality"):
        SweepInput.build(strong_score=[1, 7], weak_score=[1, 0], strong_cost=1, weak_cost=0)
    with pytest.raises(CostEvalError, match=r"weak_cost -1\.0 is not a cost"):
        SweepInput.build(strong_score=[1], weak_score=[1], strong_cost=1, weak_cost=-1)
    with pytest.raises(CostEvalError, match="'x' appears twice"):
        SweepInput.build(
            case_ids=["x", "x"], strong_score=[1, 1], weak_score=[1, 1], strong_cost=1, weak_cost=0
        )
    no_router = SweepInput.build(strong_score=[1], weak_score=[1], strong_cost=1, weak_cost=0)
    with pytest.raises(CostEvalError, match="no router scores"):
        sweep_router_thresholds(no_router, gate=GATE, seed=0)
    with pytest.raises(CostEvalError, match="n_quantiles"):
        sweep_router_thresholds(bad_router_input(), n_quantiles=0, gate=GATE, seed=0)
    with pytest.raises(CostEvalError, match="not a finite number"):
        sweep_router_thresholds(bad_router_input(), thresholds=[math.inf], gate=GATE, seed=0)


# --------------------------------------------------------------------------- cascade


def test_cascade_pays_both_calls_for_escalated_cases() -> None:
    inp = SweepInput.build(
        strong_score=[1, 1, 1, 1],
        weak_score=[1, 0, 1, 0],
        strong_cost=1.0,
        weak_cost=0.1,
    )
    confidence = [0.9, 0.2, 0.6, 0.4]
    result = cascade(inp, confidence, [0.5], gate=GATE, seed=0)
    point = next(p for p in result.points if p.threshold == 0.5)
    assert point.strong_calls == 2 and point.strong_share == 0.5  # 0.2 and 0.4 escalate
    assert point.cost_per_query == pytest.approx((4 * 0.1 + 2 * 1.0) / 4)
    assert point.quality == 1.0
    everything = result.points[-1]
    assert everything.strong_share == 1.0
    assert everything.cost_per_query == pytest.approx(1.1)  # more than the strong model alone
    assert result.points[0].strong_share == 0.0
    assert result.points[0].cost_per_query == pytest.approx(0.1)
    with pytest.raises(CostEvalError, match="case '#3': confidence"):
        cascade(inp, [0.9, 0.2, math.nan, 0.4], gate=GATE, seed=0)


# --------------------------------------------------------------------------- calibration


def test_calibrate_threshold_is_the_quantile() -> None:
    scores = np.linspace(0, 1, 101)
    assert calibrate_threshold(scores, 0.3) == pytest.approx(np.quantile(scores, 0.7))
    assert np.mean(scores >= calibrate_threshold(scores, 1.0)) == 1.0
    assert np.mean(scores >= calibrate_threshold(scores, 0.0)) == 0.0
    with pytest.raises(CostEvalError, match="strong share"):
        calibrate_threshold(scores, 1.2)


def test_held_out_share() -> None:
    rng = np.random.default_rng(7)
    train, test = rng.random(5000), rng.random(5000)
    assert held_out_share(train, test, 0.3) == pytest.approx(0.3, abs=0.02)
    # Calibrated on easier questions, deployed on harder ones: more strong calls.
    shifted = np.clip(test + 0.1, 0, 1)
    assert held_out_share(train, shifted, 0.3) == pytest.approx(0.4, abs=0.02)
    exact = float(np.mean(test >= np.quantile(train, 0.7)))
    assert held_out_share(train, test, 0.3) == exact


# --------------------------------------------------------------------------- bootstrap


def test_grouped_bootstrap_agrees_with_paired_bootstrap() -> None:
    rng = np.random.default_rng(11)
    n = 600
    strong = (rng.random(n) < 0.8).astype(float)
    weak = (rng.random(n) < 0.65).astype(float)
    inp = SweepInput.build(
        strong_score=strong, weak_score=weak, strong_cost=1, weak_cost=0, router_score=rng.random(n)
    )
    result = sweep_router_thresholds(inp, n_quantiles=4, gate=GATE, seed=5)
    order = np.argsort(-np.asarray(inp.router_score), kind="stable")
    for p in result.points:
        assert p.ci_method == "grouped"
        routed = weak.copy()
        routed[order[: p.strong_calls]] = strong[order[: p.strong_calls]]
        mean, low, high = paired_bootstrap_ci(
            routed - strong, seed=derive_seed(9, repr(p.threshold))
        )
        assert p.delta == pytest.approx(mean, abs=1e-12)
        # Same estimator, different random stream: bounds agree to Monte Carlo error.
        assert p.ci_low == pytest.approx(low, abs=0.006)
        assert p.ci_high == pytest.approx(high, abs=0.006)


def test_many_distinct_deltas_use_paired_bootstrap_ci_itself() -> None:
    rng = np.random.default_rng(2)
    n = 120
    strong = rng.random(n)
    weak = rng.random(n)
    inp = SweepInput.build(
        strong_score=strong, weak_score=weak, strong_cost=1, weak_cost=0, router_score=rng.random(n)
    )
    assert 2 * n > GROUPED_MAX_VALUES
    result = sweep_router_thresholds(inp, n_quantiles=2, gate=GATE, seed=5)
    order = np.argsort(-np.asarray(inp.router_score), kind="stable")
    p = result.points[1]
    assert p.ci_method == "cases"
    routed = weak.copy()
    routed[order[: p.strong_calls]] = strong[order[: p.strong_calls]]
    seed = derive_seed(5, "router", repr(p.threshold))
    _, low, high = paired_bootstrap_ci(routed - strong, seed=seed)
    assert (p.ci_low, p.ci_high) == (low, high)


def test_many_points_get_cis_only_where_they_matter() -> None:
    rng = np.random.default_rng(4)
    n = 3000
    strong = (rng.random(n) < 0.85).astype(float)
    weak = np.where(rng.random(n) < 0.8, strong, 1 - strong)
    score = np.clip(0.5 * rng.random(n) + 0.5 * (strong > weak), 0, 1)
    inp = SweepInput.build(
        strong_score=strong, weak_score=weak, strong_cost=1, weak_cost=0.05, router_score=score
    )
    thresholds = np.quantile(score, np.linspace(0, 1, 400))
    full = sweep_router_thresholds(
        inp, thresholds=thresholds, gate=GATE, seed=8, max_ci_points=10_000
    )
    partial = sweep_router_thresholds(inp, thresholds=thresholds, gate=GATE, seed=8)
    assert len(partial.points) > 200
    assert "Pareto points" in partial.ci_policy
    assert all(p.verdict is not None for p in full.points)
    judged = [p for p in partial.points if p.verdict is not None]
    assert 0 < len(judged) < 20
    assert all(partial.points[i].ci_low is not None for i in partial.pareto)
    # Same per-threshold seeds: the same recommendation and the same CIs.
    assert partial.recommended is not None
    assert partial.recommended == full.recommended
    for a, b in zip(partial.points, full.points, strict=True):
        if a.ci_low is not None:
            assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
        if a.verdict is not None:
            assert a.verdict == b.verdict


# --------------------------------------------------------------------------- JSON


def test_to_json_has_exactly_the_documented_keys() -> None:
    data = sweep_router_thresholds(half_easy_input(), gate=GATE, seed=1).to_json()
    assert list(data) == [
        "strong_quality",
        "weak_quality",
        "points",
        "apgr",
        "cpt",
        "oracle_apgr",
        "recommended",
    ]
    assert set(data["cpt"]) == {"20", "50", "80"}
    point_keys = {
        "threshold",
        "strong_share",
        "cost_per_query",
        "quality",
        "delta",
        "ci_low",
        "ci_high",
        "verdict",
    }
    assert all(set(p) == point_keys for p in data["points"])
    assert set(data["recommended"]) == point_keys - {"verdict"}
    json.dumps(data, allow_nan=False)  # plain JSON, no NaN


def test_same_seed_same_json() -> None:
    rng = np.random.default_rng(0)
    n = 300
    inp = SweepInput.build(
        strong_score=rng.integers(0, 11, n) / 10,
        weak_score=rng.integers(0, 11, n) / 10,
        strong_cost=rng.random(n),
        weak_cost=rng.random(n) / 10,
        router_score=rng.random(n),
        categories=[f"c{i % 3}" for i in range(n)],
    )
    first = json.dumps(sweep_router_thresholds(inp, thresholds=[0.3], gate=GATE, seed=42).to_json())
    second = json.dumps(
        sweep_router_thresholds(inp, thresholds=[0.3], gate=GATE, seed=42).to_json()
    )
    other = json.dumps(sweep_router_thresholds(inp, thresholds=[0.3], gate=GATE, seed=43).to_json())
    assert first == second
    assert first != other  # the seed drives the bootstrap


# --------------------------------------------------------------------------- trained router


def test_tokenize_gives_unigrams_bigrams_and_number_tokens() -> None:
    assert tokenize("Add 12 apples!") == ["add", "<num>", "apples", "add <num>", "<num> apples"]


def synthetic_questions(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    hard = rng.random(n) < 0.4
    filler = ["please", "answer", "the", "question", "about", "this", "topic"]
    texts = []
    for i in range(n):
        words = list(rng.choice(filler, size=6))
        words.append("integral calculus proof" if hard[i] else "capital city name")
        texts.append(" ".join(words))
    # Labels follow the topic 90 % of the time.
    labels = np.where(rng.random(n) < 0.9, hard, ~hard)
    return texts, labels


def test_kfold_scores_are_out_of_fold_and_learn_the_signal() -> None:
    texts, labels = synthetic_questions(200, seed=1)
    scores = kfold_scores(texts, labels, k=5, seed=3)
    assert scores.shape == (200,)
    assert ((scores >= 0) & (scores <= 1)).all()
    hard = np.array(["integral" in t for t in texts])
    assert scores[hard].mean() > scores[~hard].mean() + 0.3
    assert np.array_equal(scores, kfold_scores(texts, labels, k=5, seed=3))


def test_router_fit_predict_and_round_trip(tmp_path: Path) -> None:
    texts, labels = synthetic_questions(120, seed=2)
    router = TfidfLogisticRouter().fit(texts, labels)
    probe = ["integral calculus proof please", "capital city name please"]
    hard, easy = router.predict(probe)
    assert hard > 0.5 > easy
    request = Request(model="sim:small", messages=(Message(role="user", content=probe[0]),))
    assert router.score_function()(request) == pytest.approx(hard)
    path = tmp_path / "router.json"
    router.save(path)
    again = TfidfLogisticRouter.load(path)
    assert np.allclose(again.predict(probe), router.predict(probe))


def test_trained_router_without_scikit_learn_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts, labels = synthetic_questions(40, seed=3)
    monkeypatch.setitem(sys.modules, "sklearn.linear_model", None)  # import raises ImportError
    with pytest.raises(MissingDependency, match="pip install scikit-learn"):
        TfidfLogisticRouter().fit(texts, labels)


def test_kfold_needs_both_outcomes() -> None:
    texts, labels = synthetic_questions(40, seed=3)
    with pytest.raises(CostEvalError, match="needs at least 10 cases with both outcomes; has 8"):
        kfold_scores(texts[:8], labels[:8], k=5)
    with pytest.raises(CostEvalError, match="0 where the weak model scored below"):
        kfold_scores(texts, np.zeros(40, dtype=bool), k=5)


def test_labels_from_scores() -> None:
    assert labels_from_scores([1, 1, 0.5], [0, 1, 0.7]).tolist() == [True, False, False]


def test_errored_cases_count_against_the_gate() -> None:
    result = sweep_router_thresholds(half_easy_input(), gate=GATE, seed=3, errors=100)
    assert result.recommended is None
    assert all(p.verdict == "fail" for p in result.points)
    assert any("100 of 500 cases errored" in r for r in result.points[-1].reasons)
