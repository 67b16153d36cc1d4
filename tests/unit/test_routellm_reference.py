"""Acceptance: RouteLLM's published recordings reproduce RouteLLM's reference numbers.

Reads ``../shared/data/routellm`` (relative to the repository root) in place;
skipped when that folder is absent (a fresh machine), always present in CI.
The expected values are those of ``reference_numbers_computed.json`` and the
data README (after decontamination).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.analysis.router_curves import ORACLE_GRID, apgr, oracle_curve
from harness.analysis.router_input import SweepInput, sweep_input_from_labels
from harness.analysis.router_points import curve
from harness.analysis.router_sweep import sweep_router_thresholds
from harness.config.suites import load_goldens, load_suite
from harness.importers.recordings import ImportResult
from harness.importers.routellm import ROUTELLM_STRONG, ROUTELLM_WEAK, import_routellm
from harness.scoring import build_scorer
from harness.scoring.recorded import RecordedQuality
from harness.stats.bootstrap import derive_seed
from harness.stats.gates import GateSpec
from harness.strategies.trained_router import kfold_scores, labels_from_scores
from tests.helpers import SHARED_DATA

ROUTELLM = SHARED_DATA / "routellm"
GSM8K_TEST = SHARED_DATA / "gsm8k" / "test.jsonl"

pytestmark = pytest.mark.skipif(
    not (ROUTELLM / "reference_numbers_computed.json").is_file(),
    reason=f"RouteLLM reference data not found at {ROUTELLM} (it lives beside the repository "
    "in ../shared/data; CI has it)",
)


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (ROUTELLM / "reference_numbers_computed.json").read_text(encoding="utf-8")
    )
    return data


@pytest.fixture(scope="module")
def gsm8k(tmp_path_factory: pytest.TempPathFactory) -> ImportResult:
    return import_routellm(
        ROUTELLM / "gsm8k_responses.csv",
        suite="routellm-gsm8k",
        out_dir=tmp_path_factory.mktemp("gsm8k"),
        benchmark="gsm8k",
        contaminated=ROUTELLM / "gsm8k_contaminated_prompts.jsonl",
        gsm8k_answers=GSM8K_TEST,
    )


@pytest.fixture(scope="module")
def mmlu(tmp_path_factory: pytest.TempPathFactory) -> ImportResult:
    return import_routellm(
        ROUTELLM / "mmlu_responses_all_domains.csv",
        suite="routellm-mmlu",
        out_dir=tmp_path_factory.mktemp("mmlu"),
        benchmark="mmlu",
        contaminated=ROUTELLM / "mmlu_contaminated_prompts.jsonl",
    )


def sweep_input(result: ImportResult, router_score: Any = None) -> SweepInput:
    store = RecordedQuality.load(result.recorded_path)
    return sweep_input_from_labels(
        store, strong=ROUTELLM_STRONG, weak=ROUTELLM_WEAK, router_score=router_score
    )


def random_router_apgr(inp: SweepInput, seeds: int = 20) -> float:
    """Mean APGR of a uniform random router over ``seeds`` seeds, on RouteLLM's 10 quantiles."""
    values = []
    for seed in range(seeds):
        scores = np.random.default_rng(derive_seed("random-router", seed)).random(inp.n)
        c = curve(inp.with_router_score(scores), n_quantiles=10)
        value = apgr(
            c.strong_share,
            c.quality,
            weak=float(inp.weak_score.mean()),
            strong=float(inp.strong_score.mean()),
        )
        assert value is not None
        values.append(value)
    return float(np.mean(values))


def check_benchmark(result: ImportResult, expected: dict[str, Any]) -> SweepInput:
    assert result.cases == expected["rows_after_decontamination"]
    assert result.cases + result.dropped == expected["rows_raw"]
    inp = sweep_input(result)
    assert inp.n == expected["rows_after_decontamination"]
    assert inp.strong_score.mean() * 100 == pytest.approx(expected["strong_acc_pct"], abs=1e-9)
    assert inp.weak_score.mean() * 100 == pytest.approx(expected["weak_acc_pct"], abs=1e-9)
    s, w = inp.strong_score, inp.weak_score
    confusion = expected["confusion"]
    assert int(((s == 1) & (w == 1)).sum()) == confusion["both_correct"]
    assert int(((s == 1) & (w == 0)).sum()) == confusion["only_strong_correct"]
    assert int(((s == 0) & (w == 1)).sum()) == confusion["only_weak_correct"]
    assert int(((s == 0) & (w == 0)).sum()) == confusion["neither"]
    oracle = oracle_curve(inp)
    curve_pct = expected["optimal_curve_pct_strong_vs_acc"]
    assert [pct / 100 for pct, _ in curve_pct] == pytest.approx(list(ORACLE_GRID))
    assert (oracle * 100).tolist() == pytest.approx([acc for _, acc in curve_pct], abs=1e-9)
    # The sweep reports the oracle too (a random router: CIs are not the point here).
    result_sweep = sweep_router_thresholds(
        inp.with_router_score(np.random.default_rng(0).random(inp.n)),
        n_quantiles=10,
        gate=GateSpec(),
        seed=0,
    )
    assert result_sweep.oracle_apgr == pytest.approx(expected["optimal_APGR"], abs=1e-9)
    for level in ("20", "50", "80"):
        cpt = result_sweep.oracle_cpt[level]
        assert cpt is not None
        assert cpt * 100 == pytest.approx(expected["optimal_CPT"][f"{level}%"], abs=1e-9)
    return inp


def test_gsm8k_reference_numbers(gsm8k: ImportResult, reference: dict[str, Any]) -> None:
    inp = check_benchmark(gsm8k, reference["gsm8k"])
    assert inp.n == 1307
    assert inp.strong_score.mean() * 100 == pytest.approx(85.77, abs=0.005)
    assert inp.weak_score.mean() * 100 == pytest.approx(63.73, abs=0.005)
    s = sweep_router_thresholds(inp.with_router_score(np.full(inp.n, 0.5)), gate=GateSpec(), seed=0)
    assert s.oracle_apgr == pytest.approx(1.131, abs=5e-4)
    assert s.oracle_cpt["50"] == pytest.approx(0.110, abs=0.001)


def test_mmlu_reference_numbers(mmlu: ImportResult, reference: dict[str, Any]) -> None:
    inp = check_benchmark(mmlu, reference["mmlu"])
    assert inp.n == 14037
    assert len(set(inp.categories)) == 57  # the MMLU domains


@pytest.mark.parametrize("dataset", ["gsm8k", "mmlu"])
def test_random_router_recovers_half_the_gap(
    dataset: str, request: pytest.FixtureRequest, reference: dict[str, Any]
) -> None:
    inp = sweep_input(request.getfixturevalue(dataset))
    expected = reference[dataset]["random_router_expected_APGR"]
    assert random_router_apgr(inp) == pytest.approx(expected, abs=0.03)


def test_imported_goldens_are_current(gsm8k: ImportResult, mmlu: ImportResult) -> None:
    for result in (gsm8k, mmlu):
        suite = load_suite(result.suite_path)
        assert len(suite.cases) == result.cases
        goldens = load_goldens(result.goldens_path.parent.parent, suite.name, ROUTELLM_STRONG)
        for case in suite.cases:
            assert goldens[case.id].request_hash == suite.request(case, ROUTELLM_STRONG).hash()


def test_numeric_scorer_reproduces_gsm8k_weak_accuracy(gsm8k: ImportResult) -> None:
    """The numeric scorer on Mixtral's answers against GSM8K's '#### ' answers."""
    suite = load_suite(gsm8k.suite_path)
    texts = {(r.case_id, r.model): s.text for r, s in gsm8k.responses}
    scorer = build_scorer("numeric", where="test")
    values = []
    for case in suite.cases:
        assert case.expected is not None  # from gsm8k/test.jsonl
        values.append(scorer.score(texts[case.id, ROUTELLM_WEAK], case.expected).value)
    assert len(values) == 1307
    assert float(np.mean(values)) * 100 == pytest.approx(63.73, abs=1.0)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def mt_bench_pairs() -> list[dict[str, Any]]:
    contaminated = {
        row["eval_prompt"] for row in read_jsonl(ROUTELLM / "mt_bench_contaminated_prompts.jsonl")
    }
    questions = read_jsonl(ROUTELLM / "mt_bench_question.jsonl")
    # As RouteLLM: drop a question when either of its turns is contaminated.
    kept = {q["question_id"] for q in questions if not set(q["turns"]) & contaminated}
    assert len(questions) == 80 and len(kept) == 72
    rows = read_jsonl(ROUTELLM / "mt_bench_strong_weak_pairs.jsonl")
    assert all((r["question_id"] in kept) == (not r["contaminated"]) for r in rows)
    return [r for r in rows if r["question_id"] in kept]


def test_mt_bench_judge_scores(reference: dict[str, Any]) -> None:
    rows = mt_bench_pairs()
    assert len(rows) == 72 * 2  # per turn
    inp = SweepInput.build(
        case_ids=[f"mt-{r['question_id']}-t{r['turn']}" for r in rows],
        strong_score=[r["strong_score"] / 10 for r in rows],
        weak_score=[r["weak_score"] / 10 for r in rows],
        strong_cost=1.0,
        weak_cost=0.05,
        categories=[r["category"] for r in rows],
        router_score=np.random.default_rng(1).random(len(rows)),
    )
    expected = reference["mt_bench"]
    assert inp.strong_score.mean() * 10 == pytest.approx(expected["strong_score"], abs=1e-9)
    assert inp.weak_score.mean() * 10 == pytest.approx(expected["weak_score"], abs=1e-9)
    assert inp.strong_score.mean() * 10 == pytest.approx(9.212, abs=5e-4)
    assert inp.weak_score.mean() * 10 == pytest.approx(8.281, abs=5e-4)
    result = sweep_router_thresholds(inp, gate=GateSpec(), seed=0)
    assert result.apgr is not None and result.oracle_apgr is not None
    assert result.oracle_apgr > 1.0 > result.apgr
    assert result.points[-1].quality == pytest.approx(expected["strong_score"] / 10)


def test_trained_router_beats_random_on_gsm8k(gsm8k: ImportResult) -> None:
    suite = load_suite(gsm8k.suite_path)
    inp = sweep_input(gsm8k)
    assert inp.case_ids == tuple(c.id for c in suite.cases)
    labels = labels_from_scores(inp.strong_score, inp.weak_score)
    scores = kfold_scores([c.prompt for c in suite.cases], labels, k=5, seed=0)
    result = sweep_router_thresholds(
        inp.with_router_score(scores), n_quantiles=10, gate=GateSpec(), seed=0
    )
    assert result.apgr is not None and result.apgr > 0.55  # measured 0.59; random: 0.5


def test_data_paths_are_outside_the_repository() -> None:
    repo = Path(__file__).resolve().parents[2]
    assert not ROUTELLM.resolve().is_relative_to(repo)
