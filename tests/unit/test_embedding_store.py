"""A paid embedder's vectors are kept in the response store: a rerun embeds nothing.

The openai embedder runs through the real SDK against the fake server; the
pipeline records its vectors with the run's new responses, as it records
model answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.embedders import decode_vector, embedding_request, encode_vector, is_embedding
from harness.engine.prepare import load_suites, prepare
from harness.engine.run import run
from harness.engine.run_data import RunOutcome
from harness.types import Response
from tests.fakes import FakeLLMServer, Reply
from tests.unit.tiny_project import make_settings

pytest_plugins = ["tests.fakes.fixtures"]

FAQ = """\
suite: faq
scorer: {name: fuzzy}
reference: golden
cases:
  - {id: f1, prompt: "How many days do I have to return an item?"}
  - {id: f2, prompt: "how many days do I have to return an item"}
  - {id: f3, prompt: "Do you ship to Canada?"}
  - {id: f4, prompt: "How many days do I have to return an item?"}
"""


def evaluate(
    root: Path,
    fake: FakeLLMServer,
    recorded: dict[str, Response],
    record_mode: Any,
    **embedder_options: Any,
) -> RunOutcome:
    (root / "suites").mkdir(exist_ok=True)
    path = root / "suites" / "faq.yaml"
    path.write_text(FAQ)
    embedder = {"name": "openai", "base_url": fake.openai_base_url, **embedder_options}
    config = {
        "name": "semcache",
        "model": "sim:frontier",
        "cache": {"kind": "semantic", "embedder": embedder, "threshold": 0.9},
    }
    settings = make_settings(root, [config])
    plan = prepare(settings)
    suites = load_suites([path], settings)
    return run(
        plan,
        suites,
        [("faq", "semcache")],
        update_goldens="new",
        recorded=recorded,
        record_mode=record_mode,
    )


def stored(outcome: RunOutcome) -> dict[str, Response]:
    return {key: response for key, (_request, response) in outcome.new_responses.items()}


def test_a_rerun_replays_the_vectors_and_costs_the_same(
    tmp_path: Path, fake_llm: FakeLLMServer
) -> None:
    first = evaluate(tmp_path, fake_llm, {}, "new")
    requests = fake_llm.stats.routes["embeddings"]
    assert requests >= 1
    embeddings = [req for req, _ in first.new_responses.values() if is_embedding(req)]
    # Three distinct questions (f1 and f4 are the same text).
    assert sorted(r.messages[-1].content for r in embeddings) == sorted(
        {
            "How many days do I have to return an item?",
            "how many days do I have to return an item",
            "Do you ship to Canada?",
        }
    )
    assert first.remote_calls == requests  # each embedding request counted as a paid call
    # Record mode 'none' (CI): everything from the store, no request at all.
    second = evaluate(tmp_path, fake_llm, stored(first), "none")
    assert fake_llm.stats.routes["embeddings"] == requests
    assert second.remote_calls == 0 and second.new_responses == {}
    assert second.summaries[0].extras["cache"] == first.summaries[0].extras["cache"]
    # Replayed vectors carry the tokens they were billed: the cost is the same.
    assert second.summaries[0].cost_per_query == first.summaries[0].cost_per_query
    assert first.summaries[0].extras["cache"]["embedding_tokens"] > 0


def test_record_mode_none_without_vectors_says_how_to_record(
    tmp_path: Path, fake_llm: FakeLLMServer
) -> None:
    outcome = evaluate(tmp_path, fake_llm, {}, "none")
    assert fake_llm.stats.routes["embeddings"] == 0
    errors = {r.error for r in outcome.results if r.error}
    message = " ".join(errors) + " ".join(outcome.problems.values())
    assert "no recorded embedding" in message
    assert "--cost-eval-record-mode=new" in message
    assert all(r.error for r in outcome.results)  # error rows, never misses or answers
    # The report says why there is no threshold sweep.
    import dataclasses

    from harness.report.render import render_html
    from tests.unit.test_report import sample_run

    (summary,) = outcome.summaries
    assert "no recorded embedding" in summary.extras["cache_sweep"]["error"]
    sample = sample_run()
    page = render_html(dataclasses.replace(sample, summaries=(summary,)), max_cases=5)
    assert "No sweep: embedder &#39;openai:text-embedding-3-small&#39;" in page


def test_vectors_survive_the_text_encoding() -> None:
    vector = np.array([0.25, -1.5, 3.0e-8, 1.0], dtype=np.float32)
    decoded = decode_vector(encode_vector(vector))
    assert decoded is not None and decoded.dtype == np.float32
    np.testing.assert_array_equal(decoded, vector)
    assert decode_vector("an ordinary answer") is None
    assert decode_vector("f32:not base64!") is None
    request = embedding_request("openai:text-embedding-3-small", "q")
    assert is_embedding(request)
    # The key depends on the model and the text only.
    assert request.hash() == embedding_request("openai:text-embedding-3-small", "q").hash()
    assert request.hash() != embedding_request("openai:text-embedding-3-large", "q").hash()


def test_an_embedding_api_failure_is_an_error_row_not_a_crash(
    tmp_path: Path, fake_llm: FakeLLMServer
) -> None:
    for _ in range(20):
        fake_llm.script("embeddings", Reply(500, message="upstream down"))
    outcome = evaluate(tmp_path, fake_llm, {}, "new", max_retries=0)
    assert outcome.results and all(r.error for r in outcome.results)
    assert all("semantic cache: " in (r.error or "") for r in outcome.results)
    assert all(r.score is None for r in outcome.results)  # errors, never wrong answers
    assert outcome.summaries[0].errors == len(outcome.results)
