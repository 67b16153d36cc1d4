"""Cache and compression figures stored with each summary (harness.engine.lever_metrics)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest

from harness.engine.prepare import load_suites, prepare
from harness.engine.run import run
from harness.report.render import render_html
from tests.fakes import FakeLLMServer
from tests.unit.test_report import sample_run
from tests.unit.tiny_project import FAQ, make_settings

pytest_plugins = ["tests.fakes.fixtures"]


SUPPORT = """\
suite: support
scorer: {name: fuzzy}
reference: golden
cases:
  - id: s1
    prompt: "What is my order number?"
    history:
      - {role: user, content: "My order number is 4471."}
      - {role: assistant, content: "Thanks."}
      - {role: user, content: "Can you hurry?"}
      - {role: assistant, content: "Sure."}
      - {role: user, content: "Thanks!"}
      - {role: assistant, content: "You are welcome."}
"""


def evaluate(tmp_path: Path, suite_text: str, config: dict[str, object]):  # type: ignore[no-untyped-def]
    (tmp_path / "suites").mkdir(exist_ok=True)
    path = tmp_path / "suites" / "s.yaml"
    path.write_text(suite_text)
    settings = make_settings(tmp_path, [config])
    plan = prepare(settings)
    suites = load_suites([path], settings)
    (name,) = suites
    outcome = run(plan, suites, [(name, str(config["name"]))], update_goldens="new")
    assert outcome.problems == {}
    (summary,) = outcome.summaries
    return summary


def test_exact_cache_hits_and_version_namespacing(tmp_path: Path) -> None:
    summary = evaluate(
        tmp_path, FAQ, {"name": "c", "model": "sim:frontier", "cache": {"kind": "exact"}}
    )
    cache = summary.extras["cache"]
    # f2 repeats f1 (case and punctuation aside); f4 repeats it too, but under a new
    # knowledge version, so it must not be served the old answer.
    assert cache["hits"]["k"] == 1 and cache["hits"]["n"] == 4
    assert cache["false_hits"]["k"] == 0 and cache["stale_hits"]["k"] == 0
    low, high = cache["hits"]["ci"]
    assert 0 < low < 0.25 < high < 1
    assert float(cache["saved_usd"]) > 0
    assert cache["latency_saved_ms"] > 0  # the hit's recorded model latency, minus the lookup


def test_semantic_cache_false_hit_is_counted_with_a_sweep(tmp_path: Path) -> None:
    summary = evaluate(
        tmp_path,
        FAQ,
        {
            "name": "s",
            "model": "sim:frontier",
            "cache": {"kind": "semantic", "embedder": "static", "threshold": 0.3},
        },
    )
    cache = summary.extras["cache"]
    # At a threshold this low the near-miss (a sale item) is served the plain answer.
    assert "f3" in cache["false_hit_cases"]
    assert cache["false_hits"]["k"] >= 1
    sweep = summary.extras["cache_sweep"]
    thresholds = [p["threshold"] for p in sweep["points"]]
    assert thresholds == sorted(thresholds) and len(thresholds) > 10
    assert sweep["target"] == pytest.approx(0.01)


def test_compression_reports_tokens_saved(tmp_path: Path) -> None:
    summary = evaluate(
        tmp_path,
        SUPPORT,
        {"name": "k", "model": "sim:frontier", "compress": {"kind": "keep_last", "turns": 1}},
    )
    compression = summary.extras["compression"]
    assert compression["kind"] == "keep_last"
    assert 0 < compression["input_tokens"] < compression["baseline_input_tokens"]
    saved = 1 - compression["input_tokens"] / compression["baseline_input_tokens"]
    assert compression["saved_pct"] == pytest.approx(saved * 100)
    # The fact sat in a dropped turn: the quality drop shows beside the saving.
    assert summary.delta < 0


LONG = " ".join(f"Note {i}: the parcel went through depot {i} on its way north." for i in range(12))
SUMMARIZED = f"""\
suite: support
scorer: {{name: fuzzy}}
reference: golden
cases:
  - id: s1
    prompt: "What is my order number?"
    history:
      - {{role: user, content: "My order number is 4471. {LONG}"}}
      - {{role: assistant, content: "Thanks."}}
      - {{role: user, content: "{LONG}"}}
      - {{role: assistant, content: "Sure."}}
      - {{role: user, content: "Thanks!"}}
      - {{role: assistant, content: "You are welcome."}}
"""


def test_a_summarizer_spends_tokens_apart_from_those_it_saves(tmp_path: Path) -> None:
    # The summary is written by the cheap model; the answer by the frontier one (#21).
    summary = evaluate(
        tmp_path,
        SUMMARIZED,
        {
            "name": "z",
            "model": "sim:frontier",
            "compress": {"kind": "summarize", "model": "sim:small", "keep_last": 1},
        },
    )
    compression = summary.extras["compression"]
    spent = compression["compressor"]
    assert spent["calls"] == 1 and spent["models"] == ["sim:small"]
    assert spent["input_tokens"] > 0 and Decimal(spent["usd"]) > 0
    # The answering model's tokens alone: the summarizer's input is not added to them.
    assert 0 < compression["input_tokens"] < compression["baseline_input_tokens"]
    assert compression["saved_pct"] > 0
    # The net cost change counts both: the answering calls and the summarizer's.
    answer, baseline = Decimal(compression["answer_usd"]), Decimal(compression["baseline_usd"])
    net = (answer + Decimal(spent["usd"])) / baseline - 1
    assert compression["net_cost_change_pct"] == pytest.approx(float(net) * 100)
    # No target to reach: none requested; what it kept, by its own count.
    assert compression["requested_rate"] is None
    assert 0 < compression["achieved_rate"] < 1
    # The report shows what it spent apart from what it saved, and the net change.
    stored = sample_run()
    page = render_html(dataclasses.replace(stored, summaries=(*stored.summaries, summary)))
    row = page[page.index('<section id="levers">') :]
    row = row[row.index("<code>z</code>") : row.index("</tr>", row.index("<code>z</code>"))]
    tokens = f"{spent['input_tokens']:,} in + {spent['output_tokens']:,} out"
    assert f"compressor spent {tokens} on <code>sim:small</code> (1 calls" in row
    assert f"net cost {compression['net_cost_change_pct']:+.1f}%" in row
    assert f"{compression['input_tokens']} of {compression['baseline_input_tokens']} on the" in row


def test_plain_configuration_has_no_lever_figures(tmp_path: Path) -> None:
    summary = evaluate(tmp_path, FAQ, {"name": "p", "model": "sim:small"})
    assert summary.extras == {}


def page_with_a_cache_sweep(tmp_path: Path) -> str:
    """The sample report with a semantic cache's configuration (and its sweep) added."""
    import dataclasses

    from harness.report.render import render_html
    from tests.unit.test_report import sample_run

    summary = evaluate(
        tmp_path,
        FAQ,
        {
            "name": "s",
            "model": "sim:frontier",
            "cache": {"kind": "semantic", "embedder": "static", "threshold": 0.3},
        },
    )
    stored = sample_run()
    return render_html(
        dataclasses.replace(stored, summaries=(*stored.summaries, summary)), max_cases=10
    )


def test_the_report_draws_the_sweep_and_shows_a_short_table(tmp_path: Path) -> None:
    import re

    page = page_with_a_cache_sweep(tmp_path)
    section = page[page.index("Similarity threshold sweep: faq") :]
    section = section[: section.index("</section>")]
    assert section.count("<svg") == 1 and 'id="k0-' in section  # ids prefixed per chart
    short, full = section.split("<details>")
    thresholds = re.findall(r'<td class="num">(0\.\d\d)</td>', short)
    assert thresholds[:3] == ["0.30", "0.35", "0.40"] and len(thresholds) == 14
    assert len(re.findall(r'<td class="num">(0\.\d\d)</td>', full)) == 70
    assert "harness cache --suite faq" in section


def test_a_paid_embedder_is_priced_and_counted_in_the_cost(
    tmp_path: Path, fake_llm: FakeLLMServer
) -> None:
    """The openai embedder through the real SDK: its tokens are spent, so they cost."""
    embedder = {"name": "openai", "base_url": fake_llm.openai_base_url}
    config = {
        "name": "s",
        "model": "sim:frontier",
        "cache": {"kind": "semantic", "embedder": embedder, "threshold": 0.95},
    }
    summary = evaluate(tmp_path, FAQ, config)
    cache = summary.extras["cache"]
    assert cache["embedder"] == "openai:text-embedding-3-small"
    assert cache["embedding_tokens"] > 0
    spent = Decimal(cache["embedding_usd"])
    # genai-prices' rate for text-embedding-3-small: $0.02 per million tokens.
    assert spent == cache["embedding_tokens"] * Decimal("0.02") / 1_000_000
    assert Decimal(cache["net_saved_usd"]) == Decimal(cache["saved_usd"]) - spent
    # The same configuration with the free static embedder serves the same hits
    # (exact repeats only at 0.95), so the cost differs by the embeddings alone.
    (tmp_path / "static").mkdir()
    free = evaluate(
        tmp_path / "static",
        FAQ,
        {**config, "cache": {"kind": "semantic", "embedder": "static", "threshold": 0.95}},
    )
    assert free.extras["cache"]["hits"] == cache["hits"]
    assert free.extras["cache"]["embedding_usd"] == "0"
    assert (summary.cost_per_query - free.cost_per_query) * 4 == spent


def test_the_report_shows_savings_net_of_embeddings() -> None:
    import dataclasses

    from harness.report.render import render_html
    from tests.unit.test_report import sample_run

    stored = sample_run()
    cached = dataclasses.replace(
        stored.summaries[0],
        extras={
            "cache": {
                "kind": "semantic",
                "threshold": 0.9,
                "hits": {"k": 3, "n": 10, "rate": 0.3, "ci": [0.07, 0.65]},
                "false_hits": {"k": 0, "n": 3, "rate": 0.0, "ci": [0.0, 0.71]},
                "stale_hits": {"k": 0, "n": 3, "rate": 0.0, "ci": [0.0, 0.71]},
                "false_hit_cases": [],
                "saved_usd": "0.0300",
                "embedder": "openai:text-embedding-3-small",
                "embedding_tokens": 12000,
                "embedding_usd": "0.00024",
                "net_saved_usd": "0.02976",
            }
        },
    )
    page = render_html(dataclasses.replace(stored, summaries=(cached,)), max_cases=5)
    assert "$0.02976" in page and "net of $0.00024 for 12,000 embedding tokens" in page
    unpriced = dataclasses.replace(
        cached,
        extras={"cache": {**cached.extras["cache"], "embedding_usd": None, "net_saved_usd": None}},
    )
    page = render_html(dataclasses.replace(stored, summaries=(unpriced,)), max_cases=5)
    assert "$0.03" in page
    note = "embeddings not priced: add a price for <code>openai:text-embedding-3-small</code>"
    assert note in page
