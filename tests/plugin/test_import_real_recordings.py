"""RouteLLM's real recordings imported as a user's own logs: plain answers, and judge scores.

Issue 14. The recordings are written into the test's folder from the shared
files (never copied into the repository), the way a user's logs look: bare model
names (``gpt-4-1106-preview``), no quality labels for GSM8K (the scorer reads the
answers with the ``last_number`` extractor), GPT-4 judge scores on 1-10 for
MT-Bench (``--quality-scale 1,10``).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from harness.cli import main
from harness.config.settings import load_settings
from harness.engine.prepare import load_suites, prepare
from harness.engine.run import run
from harness.store.responses import load_responses
from tests.helpers import SHARED_DATA

ROUTELLM = SHARED_DATA / "routellm"
GSM8K = SHARED_DATA / "gsm8k" / "test.jsonl"
STRONG = "gpt-4-1106-preview"
WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"
WEAK_PRICE = f'\n[tool.cost-eval.prices."{WEAK}"]\ninput = 0.6\noutput = 0.6\n'
"""Mixtral at Together AI; genai-prices does not list it, and these answers carry no cost."""

pytestmark = pytest.mark.skipif(
    not (ROUTELLM / "gsm8k_responses.csv").is_file()
    or not (ROUTELLM / "mt_bench_strong_weak_pairs.jsonl").is_file()
    or not GSM8K.is_file(),
    reason="../shared/data (RouteLLM and GSM8K recordings) is not on this machine",
)


def banned_prompts(name: str) -> set[str]:
    """RouteLLM's contaminated prompts of one benchmark (dropped, as RouteLLM does)."""
    path = ROUTELLM / f"{name}_contaminated_prompts.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    return {json.loads(line)["eval_prompt"] for line in lines if line.strip()}


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def import_project(project: Path, flags: list[str]) -> None:
    """``harness import recordings`` into ``project``, then the price Mixtral needs."""
    assert main(["import", "recordings", *flags, "--out", str(project)]) == 0
    with (project / "cost-eval.toml").open("a", encoding="utf-8") as config:
        config.write(WEAK_PRICE)


# --------------------------------------------------------------------------- GSM8K, plain


def gsm8k_recordings(path: Path) -> list[dict[str, str]]:
    """Both models' answers as plain recordings; returns the kept CSV rows (with labels)."""
    answers = {}
    for line in GSM8K.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        answers[row["question"]] = row["answer"].rsplit("####", 1)[1].strip()
    banned = banned_prompts("gsm8k")
    kept, records = [], []
    with (ROUTELLM / "gsm8k_responses.csv").open(encoding="utf-8", newline="") as handle:
        for index, row in enumerate(csv.DictReader(handle)):
            if row["prompt"] in banned:
                continue
            kept.append({"case_id": f"gsm8k-{index:04d}", **row})
            for model in (STRONG, WEAK):
                records.append(
                    {
                        "case_id": f"gsm8k-{index:04d}",
                        "model": model,
                        "prompt": row["prompt"],
                        "response": row[f"{model}_response"],
                        "expected": answers[row["prompt"]],
                    }
                )
    write_jsonl(path, records)
    return kept


def test_gsm8k_plain_answers_with_the_last_number_reproduce_routellm(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = pytester.path
    rows = gsm8k_recordings(project / "gsm8k.jsonl")
    assert len(rows) == 1307  # after decontamination
    import_project(
        project,
        ["gsm8k.jsonl", "--suite", "gsm8k", "--baseline", STRONG, "--extract", "last_number"],
    )
    monkeypatch.chdir(project)
    result = pytester.runpytest(
        "--cost-eval", "--cost-eval-config", "cost-eval.toml", "--cost-eval-record-mode=none"
    )
    result.assert_outcomes(passed=1)  # the weak-only configuration is report-only
    assert "0 of them to paid APIs" in result.stdout.str()
    capsys.readouterr()
    assert main(["summary", "--json", "--settings", "cost-eval.toml"]) == 0
    (summary,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert summary["n"] == 1307 and summary["errors"] == 0
    # Mixtral: RouteLLM's 63.73 %.
    assert abs(100 * summary["quality"] - 63.73) <= 0.3

    # GPT-4: RouteLLM's labels take the last *integer* of an answer, so "$20.00"
    # reads as 0 and a right answer counts as wrong; the extractor reads 20.
    # Counting those answers as RouteLLM does gives its 85.77 %.
    strong = stored_baseline_scores(project)
    assert len(strong) == 1307
    labels = {row["case_id"]: row[STRONG] == "True" for row in rows}
    texts = {row["case_id"]: row[f"{STRONG}_response"] for row in rows}
    misread = [c for c, score in strong.items() if score == 1.0 and not labels[c]]
    assert misread and all(re.search(r"\d\.\d+\D*$", texts[c]) for c in misread)
    routellm_way = (sum(s or 0.0 for s in strong.values()) - len(misread)) / len(strong)
    assert abs(100 * routellm_way - 85.77) <= 0.3
    assert 100 * summary["baseline_quality"] > 85.77 + 0.3  # the extractor reads cents right


def stored_baseline_scores(project: Path) -> dict[str, float | None]:
    """Case id -> the baseline's score in the project's (one) stored run."""
    with duckdb.connect(str(project / "results" / "cost_eval.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT case_id, baseline_score FROM results").fetchall()
    return {case_id: score for case_id, score in rows}


# --------------------------------------------------------------------------- MT-Bench, 1-10


def mt_bench_recordings(path: Path, *, unparsed: tuple[int, str] | None = None) -> int:
    """Each (question, turn) a case; the judge's 1-10 score as ``quality``.

    ``unparsed``: (row, "strong"/"weak") whose score becomes -1, the judge's
    "could not parse". Returns the number of cases.

    The second turn's history differs per model (each saw its own first
    answer), which one case cannot hold; the recorded scores do not depend on
    it, so the case's prompt is the turn's own question.
    """
    banned = banned_prompts("mt_bench")
    lines = (ROUTELLM / "mt_bench_strong_weak_pairs.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in lines.splitlines() if line.strip()]
    first_turn = {r["question_id"]: r["user_turn"] for r in rows if r["turn"] == 1}
    kept = [r for r in rows if first_turn[r["question_id"]] not in banned]
    records = []
    for index, row in enumerate(kept):
        for side in ("strong", "weak"):
            score = row[f"{side}_score"]
            if unparsed == (index, side):
                score = -1
            records.append(
                {
                    "case_id": f"mt-{row['question_id']}-turn{row['turn']}",
                    "model": row[f"{side}_model"],
                    "prompt": row["user_turn"],
                    "category": row["category"],
                    "response": row[f"{side}_answer"],
                    "quality": score,
                }
            )
    write_jsonl(path, records)
    return len(kept)


MT_FLAGS = ("--suite", "mt", "--baseline", STRONG, "--quality-scale", "1,10")


def run_project(project: Path, suite: str) -> Any:
    settings = load_settings(project, "cost-eval.toml")
    plan = prepare(settings)
    suites = load_suites([project / "suites" / f"{suite}.yaml"], settings)
    return run(
        plan,
        suites,
        [(suite, next(iter(plan.configs)))],
        record_mode="none",
        recorded=load_responses(settings.db),
    )


def test_mt_bench_judge_scores_on_one_to_ten_reproduce_routellm(tmp_path: Path) -> None:
    cases = mt_bench_recordings(tmp_path / "mt.jsonl")
    assert cases == 144  # 72 uncontaminated questions, two turns each
    import_project(
        tmp_path,
        [str(tmp_path / "mt.jsonl"), *MT_FLAGS],
    )
    outcome = run_project(tmp_path, "mt")
    (summary,) = outcome.summaries
    assert (summary.n, summary.errors) == (144, 0)
    # Compared on the judge's scale: the mean mapped score, mapped back.
    assert 1 + 9 * summary.baseline_quality == pytest.approx(9.212, abs=5e-4)
    assert 1 + 9 * summary.quality == pytest.approx(8.281, abs=5e-4)


def test_mt_bench_row_scored_minus_one_imports_as_an_error_row(tmp_path: Path) -> None:
    mt_bench_recordings(tmp_path / "mt.jsonl", unparsed=(0, "weak"))
    import_project(
        tmp_path,
        [str(tmp_path / "mt.jsonl"), *MT_FLAGS],
    )
    outcome = run_project(tmp_path, "mt")
    (summary,) = outcome.summaries
    assert (summary.n, summary.errors) == (143, 1)
    (errored,) = [r for r in outcome.results if r.error]
    assert errored.score is None
    assert f"answered by {WEAK!r}" in (errored.error or "")
    assert "recorded quality -1 is outside the scale 1-10" in (errored.error or "")
