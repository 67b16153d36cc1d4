"""`harness import routellm` then `pytest --cost-eval` on the imported suite.

RouteLLM recorded GPT-4 and Mixtral answering GSM8K. After decontamination
(1,307 questions) Mixtral is right on 63.73 % of them by RouteLLM's own labels;
a numeric scorer against GSM8K's answers must land within one point of that.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from tests.helpers import SHARED_DATA

ROUTELLM = SHARED_DATA / "routellm"
GSM8K = SHARED_DATA / "gsm8k" / "test.jsonl"

pytestmark = pytest.mark.skipif(
    not (ROUTELLM / "gsm8k_responses.csv").is_file() or not GSM8K.is_file(),
    reason="../shared/data (RouteLLM and GSM8K recordings) is not on this machine",
)


def import_and_run(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    scorer: str,
) -> dict[str, object]:
    monkeypatch.chdir(pytester.path)
    code = main(
        [
            "import",
            "routellm",
            str(ROUTELLM / "gsm8k_responses.csv"),
            "--suite",
            "gsm8k",
            "--contaminated",
            str(ROUTELLM / "gsm8k_contaminated_prompts.jsonl"),
            "--answers",
            str(GSM8K),
            "--scorer",
            scorer,
            "--out",
            ".",
        ]
    )
    assert code == 0
    result = pytester.runpytest(
        "--cost-eval",
        "--cost-eval-config",
        "cost-eval.toml",
        "--cost-eval-record-mode=none",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=1)  # the weak-only configuration is report-only
    assert "0 of them to paid APIs" in result.stdout.str()
    capsys.readouterr()
    assert main(["summary", "--json", "--settings", "cost-eval.toml"]) == 0
    (only,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return only


def test_recorded_labels_give_routellm_numbers(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = import_and_run(pytester, monkeypatch, capsys, "recorded")
    assert summary["config"] == "mixtral-8x7b-instruct-v0.1-only"
    assert summary["n"] == 1307
    assert summary["quality"] == pytest.approx(0.637337, abs=1e-5)  # 63.73 %
    assert summary["baseline_quality"] == pytest.approx(0.857689, abs=1e-5)  # 85.77 %
    assert summary["verdict"] == "fail"


def test_numeric_scorer_lands_within_a_point(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = import_and_run(pytester, monkeypatch, capsys, "numeric")
    assert summary["n"] == 1307
    assert abs(float(summary["quality"]) - 0.6373) <= 0.01  # type: ignore[arg-type]


def test_imported_goldens_are_not_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The golden hashes the importer writes are the ones a run computes."""
    monkeypatch.chdir(tmp_path)
    assert (
        main(
            [
                "import",
                "routellm",
                str(ROUTELLM / "gsm8k_responses.csv"),
                "--suite",
                "g",
                "--out",
                ".",
            ]
        )
        == 0
    )
    from harness.config.settings import load_settings
    from harness.engine.prepare import load_suites, prepare
    from harness.engine.run import run

    settings = load_settings(tmp_path, "cost-eval.toml")
    plan = prepare(settings)
    suites = load_suites([tmp_path / "suites" / "g.yaml"], settings)
    from harness.store.responses import load_responses

    outcome = run(
        plan,
        suites,
        [("g", next(iter(plan.configs)))],
        record_mode="none",
        recorded=load_responses(settings.db),
    )
    assert outcome.problems == {}
    assert outcome.remote_calls == 0
    assert outcome.summaries[0].n == 1319
