"""Costs as billed: recorded ``cost_usd`` first, then prices on usage, then an offline estimate.

Recordings are imported with ``harness import recordings`` and replayed with
``pytest --cost-eval`` as a user would; figures are read back from the DuckDB
file and from ``harness summary --json``.
"""

from __future__ import annotations

import csv
import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from harness.cli import main
from harness.config.prices import PriceTable
from harness.config.volume import parse_volume
from harness.errors import ConfigError
from harness.tokens import count_message_tokens, count_tokens
from harness.types import Message
from tests.helpers import LATEST_RUN, SHARED_DATA

BIG, SMALL = "acme:big-v3", "acme:small-v1"
"""Models genai-prices has never heard of (checked in the test)."""
CASES = 1000
MISSING = 10
"""Cases the small model has no recorded answer for: error rows, never savings."""
VOLUME = "100k/day"


def write_config(root: Path, models: list[str], baseline: str) -> None:
    """A cost-eval.toml replaying every model against ``baseline`` (no price table)."""
    lines = [
        "[tool.cost-eval]",
        'suites = "suites"',
        'goldens = "goldens"',
        'db = "results/cost_eval.duckdb"',
        'report = "results/report.html"',
        f'baseline = "replay:{baseline}"',
        f'volume = "{VOLUME}"',
        "",
    ]
    for model in models:
        if model != baseline:
            lines += [
                "[[tool.cost-eval.configs]]",
                f'name = "{model.partition(":")[2]}-only"',
                f'model = "replay:{model}"',
                "",
            ]
    (root / "cost-eval.toml").write_text("\n".join(lines), encoding="utf-8")


def import_and_run(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    rows: list[dict[str, Any]],
    baseline: str,
) -> pytest.RunResult:
    """Import ``rows`` with the real CLI, then run the replayed suite with the plugin."""
    monkeypatch.chdir(pytester.path)
    path = pytester.path / "traffic.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    write_config(pytester.path, sorted({row["model"] for row in rows}), baseline)
    argv = ["import", "recordings", str(path), "--suite", "traffic", "--baseline", baseline]
    assert main([*argv, "--scorer", "numeric", "--out", "."]) == 0
    return pytester.runpytest(
        "--cost-eval",
        "--cost-eval-config",
        "cost-eval.toml",
        "--cost-eval-record-mode=none",
        "-p",
        "no:cacheprovider",
    )


def summary_json(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    """``harness summary --json`` of the latest run, by configuration."""
    capsys.readouterr()
    assert main(["summary", "--json"]) == 0
    objects = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return {o["config"]: o for o in objects}


def stored_summary(config: str) -> dict[str, Any]:
    """The ``summaries`` row of ``config`` in the latest run, money as Decimal."""
    with duckdb.connect("results/cost_eval.duckdb", read_only=True) as con:
        cursor = con.execute(
            f"SELECT * FROM summaries WHERE config = ? AND run_id = {LATEST_RUN}",
            [config],
        )
        names = [d[0] for d in cursor.description]
        row = cursor.fetchone()
    assert row is not None
    return dict(zip(names, row, strict=True))


def test_recorded_costs_of_unpriced_models_are_the_bill(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for model in (BIG, SMALL):
        with pytest.raises(ConfigError, match="genai-prices does not know it"):
            PriceTable({}).price_of(model)
    rng = random.Random(14)
    rows: list[dict[str, Any]] = []
    billed: dict[str, dict[str, Decimal]] = {BIG: {}, SMALL: {}}
    for i in range(CASES):
        case_id = f"q-{i:04d}"
        for model, low, high in ((BIG, 8_000, 20_000), (SMALL, 400, 1_600)):
            if model == SMALL and i < MISSING:
                continue  # no answer recorded: an error row when replayed
            cost = Decimal(rng.randint(low, high)) / Decimal(1_000_000)  # $0.0004 .. $0.02
            billed[model][case_id] = cost
            rows.append(
                {
                    "case_id": case_id,
                    "model": model,
                    "prompt": f"Compute {i} + {i % 7}.",
                    "response": f"The answer is {i + i % 7}.",
                    "expected": str(i + i % 7),
                    # Usage is recorded too: the billed cost wins over any price of it.
                    "usage": {"input_tokens": 40, "output_tokens": 8},
                    "cost_usd": float(cost),
                }
            )
    result = import_and_run(pytester, monkeypatch, rows, BIG)
    text = result.stdout.str()
    assert "No price for model" not in text and "Traceback" not in text
    result.assert_outcomes(passed=1)

    answered = [c for c in billed[BIG] if c in billed[SMALL]]
    assert len(answered) == CASES - MISSING
    small_total = sum(billed[SMALL].values(), Decimal(0))
    big_total = sum((billed[BIG][c] for c in answered), Decimal(0))
    per_query = small_total / len(answered)
    baseline_per_query = big_total / len(answered)
    monthly_volume = Decimal(str(parse_volume(VOLUME)))

    row = stored_summary("small-v1-only")
    assert (row["n"], row["errors"]) == (CASES - MISSING, MISSING)
    # The bill to the cent over every answered case; per query to the store's 12 decimals.
    assert abs(row["cost_per_query"] * len(answered) - small_total) < Decimal("0.005")
    assert abs(row["cost_per_query"] - per_query) < Decimal("1e-11")
    assert abs(row["baseline_cost_per_query"] - baseline_per_query) < Decimal("1e-11")
    assert abs(row["monthly_cost"] - per_query * monthly_volume) < Decimal("0.01")
    assert abs(row["baseline_monthly_cost"] - baseline_per_query * monthly_volume) < Decimal("0.01")
    savings = float((1 - small_total / big_total) * 100)
    assert row["savings_pct"] == pytest.approx(savings, abs=1e-9)
    assert row["cost_source"] == "recorded"
    # Counting the 10 errors as free answers would have lowered the cost per query.
    assert row["cost_per_query"] > small_total / CASES + Decimal("1e-9")

    obj = summary_json(capsys)["small-v1-only"]
    assert obj["cost_per_query"] == pytest.approx(float(per_query), rel=1e-9)
    assert obj["savings_pct"] == pytest.approx(savings, abs=1e-9)
    assert obj["monthly_cost"] == pytest.approx(float(per_query * monthly_volume), abs=0.005)
    assert (obj["cost_source"], obj["baseline_cost_source"]) == ("recorded", "recorded")
    assert (obj["recorded_cost_cases"], obj["estimated_cost_cases"]) == (CASES - MISSING, 0)
    assert obj["errors"] == MISSING
    assert "small-v1-only (report-only)" in text and "(recorded cost, -" in text
    # The error share beside the figures, which are over the answered cases (#17).
    assert "10 of 1000 case(s) errored (figures over the 990 answered)" in text
    assert main(["summary"]) == 0
    assert "10 of 1000 case(s) errored (figures over the 990 answered)" in capsys.readouterr().out
    with duckdb.connect("results/cost_eval.duckdb", read_only=True) as con:
        sources = con.execute(
            "SELECT cost_source, count(*) FROM results WHERE error IS NULL GROUP BY ALL"
        ).fetchall()
        stored_costs = con.execute(
            "SELECT count(*), count(cost_usd) FROM responses WHERE model = ?", [SMALL]
        ).fetchone()
    assert sources == [("recorded", CASES - MISSING)]
    assert stored_costs == (CASES - MISSING, CASES - MISSING)
    assert "recorded cost" in (pytester.path / "results" / "summary.md").read_text()
    assert "recorded cost" in (pytester.path / "results" / "report.html").read_text()


def test_an_answer_with_neither_cost_nor_price_fails_clearly(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [
        {
            "case_id": f"q-{i}",
            "model": model,
            "prompt": f"Compute {i} + 1.",
            "response": str(i + 1),
            "usage": {"input_tokens": 12, "output_tokens": 2},
            **({"cost_usd": 0.001} if model == SMALL else {}),  # the baseline's lack one
        }
        for i in range(3)
        for model in (BIG, SMALL)
    ]
    result = import_and_run(pytester, monkeypatch, rows, BIG)
    text = result.stdout.str()
    assert result.ret != 0
    assert "Traceback" not in text
    assert "carries no recorded cost (`cost_usd`)" in text
    assert "No price for model 'replay:acme:big-v3'" in text
    assert '[tool.cost-eval.prices."acme:big-v3"]' in text
    assert "suites/traffic.yaml: case 'q-0'" in text


GSM8K_CSV = SHARED_DATA / "routellm" / "gsm8k_responses.csv"
STRONG, WEAK = "openai:gpt-4-1106-preview", "mistral:open-mixtral-8x7b"


@pytest.mark.skipif(
    not GSM8K_CSV.is_file(), reason="../shared/data/routellm (RouteLLM's GSM8K answers) is absent"
)
def test_recordings_without_usage_or_cost_are_estimated_never_free(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Real answers of two real models, recorded with text only: no usage, no cost.
    with GSM8K_CSV.open(encoding="utf-8", newline="") as handle:
        records = list(csv.DictReader(handle))[:60]
    columns = {STRONG: "gpt-4-1106-preview", WEAK: "mistralai/Mixtral-8x7B-Instruct-v0.1"}
    rows = [
        {
            "case_id": f"gsm8k-{i}",
            "model": model,
            "prompt": record["prompt"],
            "response": record[f"{column}_response"],
        }
        for i, record in enumerate(records)
        for model, column in columns.items()
    ]
    result = import_and_run(pytester, monkeypatch, rows, STRONG)
    result.assert_outcomes(passed=1)
    text = result.stdout.str()
    assert "$0/query" not in text and "same cost" not in text
    assert "open-mixtral-8x7b-only (report-only: fail)" in text and "(estimated cost, -" in text

    # The estimate: each prompt and answer counted with the offline tokenizer, priced by
    # genai-prices (never $0).
    prices = PriceTable({})

    def estimate(model: str) -> Decimal:
        total = Decimal(0)
        for record in records:
            prompt = count_message_tokens([Message(role="user", content=record["prompt"])])
            output = count_tokens(record[f"{columns[model]}_response"])
            price = prices.price_of(model)
            total += (prompt * price.input + output * price.output) / Decimal(1_000_000)
        return total / len(records)

    obj = summary_json(capsys)["open-mixtral-8x7b-only"]
    assert obj["n"] == len(records) and obj["errors"] == 0
    assert obj["cost_per_query"] == pytest.approx(float(estimate(WEAK)), rel=1e-9)
    assert obj["baseline_cost_per_query"] == pytest.approx(float(estimate(STRONG)), rel=1e-9)
    assert obj["cost_per_query"] > 0 and obj["baseline_cost_per_query"] > 0
    assert (obj["cost_source"], obj["baseline_cost_source"]) == ("estimated", "estimated")
    assert obj["estimated_cost_cases"] == len(records)
    assert 0 < obj["savings_pct"] < 100
    assert "estimated cost" in (pytester.path / "results" / "report.html").read_text()
