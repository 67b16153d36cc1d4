"""Cache and compression figures stored with each summary (harness.strategy_metrics)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.pipeline import load_suites, prepare, run
from tests.unit.tiny_project import make_settings

FAQ = """\
suite: faq
scorer: {name: fuzzy}
reference: golden
cases:
  - {id: f1, prompt: "How many days do I have to return an item?", knowledge_version: v1}
  - {id: f2, prompt: "how many days do I have to return an item", knowledge_version: v1}
  - {id: f3, prompt: "How many days do I have to return a sale item?", knowledge_version: v1}
  - {id: f4, prompt: "How many days do I have to return an item?", knowledge_version: v2}
"""

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


def test_plain_configuration_has_no_lever_figures(tmp_path: Path) -> None:
    summary = evaluate(tmp_path, FAQ, {"name": "p", "model": "sim:small"})
    assert summary.extras == {}


def test_the_report_draws_the_sweep_and_shows_a_short_table(tmp_path: Path) -> None:
    import dataclasses
    import re

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
    page = render_html(
        dataclasses.replace(stored, summaries=(*stored.summaries, summary)), max_cases=10
    )
    section = page[page.index("Similarity threshold sweep: faq") :]
    section = section[: section.index("</section>")]
    assert section.count("<svg") == 1 and 'id="c0-' in section  # ids prefixed per chart
    short, full = section.split("<details>")
    thresholds = re.findall(r'<td class="num">(0\.\d\d)</td>', short)
    assert thresholds[:3] == ["0.30", "0.35", "0.40"] and len(thresholds) == 14
    assert len(re.findall(r'<td class="num">(0\.\d\d)</td>', full)) == 70
    assert "harness cache --suite faq" in section
