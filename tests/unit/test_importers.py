"""Tests for harness.importers.recordings and the ``recorded`` scorer (harness.scoring.recorded)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.analysis.router_input import sweep_input_from_labels
from harness.config.suites import load_goldens, load_suite
from harness.errors import ConfigError, CostEvalError, GoldenError, SuiteError
from harness.importers.recordings import import_recordings
from harness.importers.routellm import ROUTELLM_STRONG, ROUTELLM_WEAK, import_routellm
from harness.scoring import build_scorer
from harness.scoring.recorded import RecordedQuality, RecordedScorer

STRONG = "openai:gpt-4o"
WEAK = "openai:gpt-4o-mini"

RECORDS: list[dict[str, Any]] = [
    {
        "case_id": "q1",
        "model": STRONG,
        "prompt": "What is 2 + 2?",
        "response": "4",
        "expected": "4",
        "category": "math",
        "usage": {"input_tokens": 12, "output_tokens": 1},
        "cost_usd": 0.00004,
        "latency_ms": 310,
        "quality": 1.0,
    },
    {
        "case_id": "q1",
        "model": WEAK,
        "prompt": "What is 2 + 2?",
        "response": "5",
        "expected": "4",
        "category": "math",
        "usage": {"input_tokens": 12, "output_tokens": 1},
        "cost_usd": 0.000002,
        "quality": False,
    },
    {
        "case_id": "q2",
        "model": STRONG,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Name a prime."},
            {"role": "assistant", "content": "7"},
            {"role": "user", "content": "Another one?"},
        ],
        "response": "11",
        "quality": 1,
    },
    {
        "case_id": "q2",
        "model": WEAK,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Name a prime."},
            {"role": "assistant", "content": "7"},
            {"role": "user", "content": "Another one?"},
        ],
        "response": "9",
        "quality": 0.0,
    },
    {
        "case_id": 3,
        "model": STRONG,
        "prompt": "Capital of France?",
        "response": "Paris",
        "quality": 1.0,
    },
]


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_recordings_round_trip(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "log.jsonl", RECORDS)
    out = tmp_path / "project"
    params = {"temperature": 0, "max_tokens": 64}
    result = import_recordings([source], suite="qa", baseline=STRONG, out_dir=out, params=params)
    assert result.cases == 3
    assert result.models == {STRONG: 3, WEAK: 2}
    assert result.suite_path == out / "suites" / "qa.yaml"
    assert result.goldens_path == out / "goldens" / "qa" / "openai_gpt-4o.jsonl"
    assert result.recorded_path == out / "recorded" / "qa.jsonl"

    suite = load_suite(result.suite_path)
    assert suite.scorer == "recorded"  # every line has a quality label
    assert suite.reference == "golden"  # not every case has an expected answer
    assert [c.id for c in suite.cases] == ["q1", "q2", "3"]
    q2 = suite.cases[1]
    assert q2.system == "Be brief." and q2.prompt == "Another one?"
    assert [m.content for m in q2.history] == ["Name a prime.", "7"]
    assert suite.cases[0].category == "math" and suite.cases[0].expected == "4"

    # Goldens carry the hashes a run computes, so they are current.
    goldens = load_goldens(out / "goldens", "qa", STRONG)
    for case in suite.cases:
        assert goldens[case.id].request_hash == suite.request(case, STRONG).hash()
    assert goldens["q1"].text == "4" and goldens["q1"].usage.input_tokens == 12
    assert goldens["q1"].latency_ms == 310

    # Store entries: replay:<model> finds them by the hash of the same request.
    by_id = {c.id: c for c in suite.cases}
    assert len(result.responses) == 5
    for request, response in result.responses:
        assert request.hash() == suite.request(by_id[request.case_id], request.model).hash()
        assert response.model == request.model
    texts = {(r.case_id, r.model): s.text for r, s in result.responses}
    assert texts["q2", WEAK] == "9"

    store = RecordedQuality.load(result.recorded_path)
    assert store.lookup("q1", STRONG) == 1.0
    assert store.lookup("q1", WEAK) == 0.0  # a bool label
    assert store.lookup("q1", f"replay:{WEAK}") == 0.0
    assert store.lookup("3", WEAK) is None
    label = store.record("q1", STRONG)
    assert label is not None
    assert (label.cost_usd, label.category) == (0.00004, "math")
    assert label.request_hash == goldens["q1"].request_hash
    assert not list(out.rglob("*.tmp"))


def test_recordings_without_labels_use_exact_and_expected(tmp_path: Path) -> None:
    rows = [
        {"case_id": "a", "model": STRONG, "prompt": "1+1?", "response": "2", "expected": "2"},
        {"case_id": "b", "model": STRONG, "prompt": "2+2?", "response": "4", "expected": "4"},
    ]
    result = import_recordings(
        [write_jsonl(tmp_path / "x.jsonl", rows)], suite="s", baseline=STRONG, out_dir=tmp_path
    )
    suite = load_suite(result.suite_path)
    assert (suite.scorer, suite.reference) == ("exact", "expected")


def test_expected_on_a_later_line_is_merged(tmp_path: Path) -> None:
    rows = [
        {"case_id": "a", "model": STRONG, "prompt": "1+1?", "response": "2"},
        {"case_id": "a", "model": WEAK, "prompt": "1+1?", "response": "3", "expected": "2"},
    ]
    result = import_recordings(
        [write_jsonl(tmp_path / "x.jsonl", rows)], suite="s", baseline=STRONG, out_dir=tmp_path
    )
    assert load_suite(result.suite_path).cases[0].expected == "2"


GOOD = {"case_id": "a", "model": STRONG, "prompt": "Hi?", "response": "Hello"}


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ("{not json", "line 2 is not valid JSON"),
        ([1, 2], "line 2: each line must be a JSON object"),
        ({**GOOD, "case_id": "b", "score": 1}, "line 2: unknown key 'score'"),
        ({**GOOD, "case_id": "b", "quality": 1.5}, "line 2: 'quality' must be between 0 and 1"),
        ({**GOOD, "model": WEAK, "prompt": "Bye?"}, "line 2: case 'a' asks a different question"),
        (GOOD, "line 2: case 'a' already has a response of 'openai:gpt-4o'"),
        # A bare name ("gpt-4o") imports (issue 14); a replay of a model does not.
        ({**GOOD, "model": "replay:gpt-4o"}, "line 2: 'model' must name the model that"),
        ({**GOOD, "case_id": "b", "model": " "}, "line 2: 'model' must be the name"),
        ({"case_id": "b", "model": STRONG, "response": "x"}, "exactly one of 'prompt'"),
        ({**GOOD, "case_id": "b", "usage": {"tokens": 3}}, "unknown usage key 'tokens'"),
        ({**GOOD, "case_id": "b", "response": 4}, "'response' must be text"),
        (
            {**GOOD, "case_id": "b", "prompt": None, "messages": [{"role": "user"}]},
            "exactly one of",
        ),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path: Path, bad: Any, fragment: str) -> None:
    path = tmp_path / "log.jsonl"
    second = bad if isinstance(bad, str) else json.dumps(bad)
    path.write_text(json.dumps(GOOD) + "\n" + second + "\n", encoding="utf-8")
    with pytest.raises(SuiteError) as info:
        import_recordings([path], suite="s", baseline=STRONG, out_dir=tmp_path / "out")
    assert "log.jsonl" in str(info.value)
    assert fragment in str(info.value)
    # Nothing half-written is left behind.
    assert not list((tmp_path / "out").rglob("*.tmp"))
    assert not (tmp_path / "out" / "suites" / "s.yaml").exists()


def test_messages_must_end_with_the_user(tmp_path: Path) -> None:
    row = {
        "case_id": "a",
        "model": STRONG,
        "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}],
        "response": "x",
    }
    with pytest.raises(SuiteError, match="line 1 \\(case 'a'\\): the last message must be"):
        import_recordings(
            [write_jsonl(tmp_path / "m.jsonl", [row])], suite="s", baseline=STRONG, out_dir=tmp_path
        )


def test_every_case_needs_the_baseline(tmp_path: Path) -> None:
    rows = [GOOD, {**GOOD, "case_id": "b", "model": WEAK}]
    with pytest.raises(
        SuiteError, match=r"baseline 'openai:gpt-4o' has no response for case\(s\) 'b'"
    ):
        import_recordings(
            [write_jsonl(tmp_path / "x.jsonl", rows)], suite="s", baseline=STRONG, out_dir=tmp_path
        )


def test_bad_suite_name_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="simple name"):
        import_recordings([], suite="a/b", baseline=STRONG, out_dir=tmp_path)
    with pytest.raises(SuiteError, match="cannot read the file"):
        import_recordings([tmp_path / "nope.jsonl"], suite="s", baseline=STRONG, out_dir=tmp_path)


# --------------------------------------------------------------------------- RouteLLM layout


def test_routellm_csv_layout(tmp_path: Path) -> None:
    csv_text = (
        "prompt,mistralai/Mixtral-8x7B-Instruct-v0.1,gpt-4-1106-preview,"
        "mistralai/Mixtral-8x7B-Instruct-v0.1_response,gpt-4-1106-preview_response\n"
        '"How many legs, in total?",False,True,"It has\n3 legs.\n#### 3","#### 4"\n'
        "Contaminated question,True,True,#### 1,#### 1\n"
        "2 + 2?,True,True,#### 4,The answer is 4\n"
    )
    path = tmp_path / "gsm8k_responses.csv"
    path.write_text(csv_text, encoding="utf-8")
    contaminated = write_jsonl(
        tmp_path / "cont.jsonl", [{"eval_prompt": "Contaminated question", "train_prompt": "x"}]
    )
    answers = write_jsonl(
        tmp_path / "test.jsonl",
        [
            {"question": "How many legs, in total?", "answer": "Count.\n#### 4"},
            {"question": "2 + 2?", "answer": "#### 4"},
        ],
    )
    result = import_routellm(
        path,
        suite="gsm8k",
        out_dir=tmp_path / "out",
        contaminated=contaminated,
        gsm8k_answers=answers,
    )
    assert (result.cases, result.dropped) == (2, 1)
    suite = load_suite(result.suite_path)
    assert [c.id for c in suite.cases] == ["gsm8k-0000", "gsm8k-0002"]
    assert suite.cases[0].expected == "4"
    assert suite.reference == "expected" and suite.scorer == "recorded"
    store = RecordedQuality.load(result.recorded_path)
    assert store.lookup("gsm8k-0000", ROUTELLM_WEAK) == 0.0
    assert store.lookup("gsm8k-0000", ROUTELLM_STRONG) == 1.0
    texts = {(r.case_id, r.model): s.text for r, s in result.responses}
    assert texts["gsm8k-0000", ROUTELLM_WEAK] == "It has\n3 legs.\n#### 3"
    goldens = load_goldens(tmp_path / "out" / "goldens", "gsm8k", ROUTELLM_STRONG)
    assert goldens["gsm8k-0002"].text == "The answer is 4"
    assert (
        goldens["gsm8k-0002"].request_hash == suite.request(suite.cases[1], ROUTELLM_STRONG).hash()
    )
    inp = sweep_input_from_labels(store, strong=ROUTELLM_STRONG, weak=ROUTELLM_WEAK)
    assert inp.case_ids == ("gsm8k-0000", "gsm8k-0002")
    assert inp.strong_cost[0] > inp.weak_cost[0] > 0


def test_routellm_mmlu_has_no_text(tmp_path: Path) -> None:
    path = tmp_path / "mmlu.csv"
    path.write_text(
        "domain,prompt,mistralai/Mixtral-8x7B-Instruct-v0.1,gpt-4-1106-preview\n"
        "anatomy,Q1?,True,False\nanatomy,Q2?,False,True\nvirology,Q1?,True,True\n",
        encoding="utf-8",
    )
    result = import_routellm(path, suite="mmlu", out_dir=tmp_path, benchmark="mmlu")
    suite = load_suite(result.suite_path)
    assert [(c.id, c.category) for c in suite.cases] == [
        ("mmlu-anatomy-000", "anatomy"),
        ("mmlu-anatomy-001", "anatomy"),
        ("mmlu-virology-000", "virology"),
    ]
    # "Q1?" twice: one store entry per request hash, labels per case.
    assert len(result.responses) == 4
    store = RecordedQuality.load(result.recorded_path)
    assert store.lookup("mmlu-anatomy-000", ROUTELLM_STRONG) == 0.0
    assert store.lookup("mmlu-virology-000", ROUTELLM_STRONG) == 1.0
    golden = load_goldens(tmp_path / "goldens", "mmlu", ROUTELLM_STRONG)["mmlu-anatomy-000"]
    assert golden.text == "[RouteLLM recorded no text: incorrect]"


def test_routellm_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("prompt,gpt-4-1106-preview\nQ,True\n", encoding="utf-8")
    with pytest.raises(SuiteError, match="missing column"):
        import_routellm(path, suite="x", out_dir=tmp_path, benchmark="mmlu")
    path.write_text(
        "domain,prompt,mistralai/Mixtral-8x7B-Instruct-v0.1,gpt-4-1106-preview\nd,Q,maybe,True\n",
        encoding="utf-8",
    )
    with pytest.raises(SuiteError, match=r"x\.csv: record 1 \(line 2\): column"):
        import_routellm(path, suite="x", out_dir=tmp_path, benchmark="mmlu")


# --------------------------------------------------------------------------- recorded scorer


def test_recorded_scorer(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "log.jsonl", RECORDS)
    result = import_recordings([source], suite="qa", baseline=STRONG, out_dir=tmp_path)
    scorer = build_scorer("recorded", where="suites/qa.yaml: scorer")
    assert isinstance(scorer, RecordedScorer)
    with pytest.raises(CostEvalError, match="needs the case and the model"):
        scorer.score("4", "4")
    with pytest.raises(CostEvalError, match="no labels loaded"):
        scorer.score_case("q1", STRONG)
    path = scorer.sidecar_path(tmp_path / "suites", "qa")
    assert path == result.recorded_path
    scorer.bind(RecordedQuality.load(path))
    assert scorer.score_case("q1", STRONG).value == 1.0
    assert scorer.score_case("q1", f"replay:{WEAK}").value == 0.0
    with pytest.raises(GoldenError, match="no recorded quality for case '3' answered by"):
        scorer.score_case("3", WEAK)
    custom = build_scorer({"name": "recorded", "path": "labels/x.jsonl"}, where="w")
    assert isinstance(custom, RecordedScorer)
    assert custom.sidecar_path(tmp_path / "suites", "qa", root=tmp_path) == (
        tmp_path / "labels" / "x.jsonl"
    )
    with pytest.raises(ConfigError, match="has no option 'file'"):
        build_scorer({"name": "recorded", "file": "x"}, where="w")


def test_recorded_store_errors(tmp_path: Path) -> None:
    with pytest.raises(GoldenError, match="no recorded quality labels"):
        RecordedQuality.load(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"case_id": "a", "model": "m:x", "quality": 0.5}\n{"model": "m:x"}\n')
    with pytest.raises(GoldenError, match=r"bad\.jsonl: line 2 is not a valid recorded label"):
        RecordedQuality.load(bad)
    bad.write_text('{"case_id": "a", "model": "m:x", "quality": 2}\n')
    with pytest.raises(GoldenError, match=r"line 1: quality 2\.0 is outside"):
        RecordedQuality.load(bad)


def test_sweep_input_from_labels_needs_both_models(tmp_path: Path) -> None:
    result = import_recordings(
        [write_jsonl(tmp_path / "log.jsonl", RECORDS)],
        suite="qa",
        baseline=STRONG,
        out_dir=tmp_path,
    )
    store = RecordedQuality.load(result.recorded_path)
    inp = sweep_input_from_labels(store, strong=STRONG, weak=WEAK, cost=lambda model, usage: 0.0)
    assert inp.case_ids == ("q1", "q2")  # case 3 has no weak answer
    assert inp.strong_score.tolist() == [1.0, 1.0]
    assert inp.weak_score.tolist() == [0.0, 0.0]
    assert inp.categories == ("math", "default")
    assert inp.strong_cost.tolist() == [0.00004, 0.0]  # recorded, then the cost function
    with pytest.raises(CostEvalError, match="no recorded cost_usd"):
        sweep_input_from_labels(store, strong=STRONG, weak=WEAK)
    with pytest.raises(CostEvalError, match="case '3' has no label for model"):
        sweep_input_from_labels(store, strong=STRONG, weak=WEAK, case_ids=["3"])
