"""`harness import recordings`: a suite, goldens and the response store from JSONL traffic."""

from __future__ import annotations

import json

import duckdb
import pytest

from harness.cli import main


def test_import_recordings_then_replay(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = []
    for i in range(3):
        prompt = f"Compute {i} + 2."
        for model, answer in (("openai:gpt-4o", i + 2), ("openai:gpt-4o-mini", i + 2 + (i == 2))):
            lines.append(
                {
                    "case_id": f"r-{i}",
                    "model": model,
                    "prompt": prompt,
                    "response": f"The answer is {answer}.",
                    "expected": str(i + 2),
                    "usage": {"input_tokens": 10, "output_tokens": 5},
                }
            )
    (pytester.path / "traffic.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    monkeypatch.chdir(pytester.path)
    assert (
        main(
            [
                "import",
                "recordings",
                "traffic.jsonl",
                "--suite",
                "traffic",
                "--baseline",
                "openai:gpt-4o",
                "--scorer",
                "numeric",
                "--out",
                ".",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "imported suite 'traffic': 3 cases from 6 rows" in out
    assert "(6 responses)" in out
    with duckdb.connect("results/cost_eval.duckdb", read_only=True) as con:
        assert con.execute("SELECT count(*) FROM responses").fetchone() == (6,)
    result = pytester.runpytest(
        "--cost-eval",
        "--cost-eval-config",
        "cost-eval.toml",
        "--cost-eval-record-mode=none",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=1)
    text = result.stdout.str()
    assert "0 of them to paid APIs" in text
    assert "traffic :: gpt-4o-mini-only (report-only: inconclusive): quality 0.667" in text
