"""`pytest --cost-eval` against OpenAI and Anthropic through their real SDKs.

The fake server on 127.0.0.1 stands in for the APIs; the SDKs talk real HTTP
to it. Goldens are recorded once; a rerun in record mode ``none`` must make no
request at all and give the same verdicts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes.llm_server import PLANTED_KEY, FakeLLMServer
from tests.helpers import LATEST_RUN, set_pyproject

PROJECT = """\
[tool.cost-eval]
baseline = "openai:gpt-4o"
volume = "10k/day"

[tool.cost-eval.providers.openai]
base_url = "{openai}"
max_concurrency = 8

[tool.cost-eval.providers.anthropic]
base_url = "{anthropic}"

[[tool.cost-eval.configs]]
name = "mini"
model = "openai:gpt-4o-mini"

[[tool.cost-eval.configs]]
name = "haiku-batch"
model = "anthropic:claude-3-5-haiku-latest"
batch = true
"""


@pytest.fixture
def provider_project(
    mini_project: pytest.Pytester, fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    set_pyproject(
        mini_project,
        PROJECT.format(openai=fake_llm.openai_base_url, anthropic=fake_llm.anthropic_base_url),
    )
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", PLANTED_KEY)
    monkeypatch.delenv("CI", raising=False)
    return mini_project


def summaries(pytester: pytest.Pytester) -> list[dict[str, object]]:
    import duckdb

    db = pytester.path / "results" / "cost_eval.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT suite, config, n, quality, delta, ci_low, ci_high, verdict, "
            f"cost_per_query FROM summaries WHERE run_id = {LATEST_RUN} "
            "ORDER BY suite, config"
        ).fetchall()
    return [
        dict(
            zip(
                (
                    "suite",
                    "config",
                    "n",
                    "quality",
                    "delta",
                    "ci_low",
                    "ci_high",
                    "verdict",
                    "cost",
                ),
                row,
                strict=True,
            )
        )
        for row in rows
    ]


def test_record_then_replay_makes_no_requests(
    provider_project: pytest.Pytester, fake_llm: FakeLLMServer
) -> None:
    first = provider_project.runpytest(
        "--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider"
    )
    first.assert_outcomes(passed=2)
    # 10 goldens from gpt-4o, 10 answers from gpt-4o-mini, 10 from haiku.
    assert fake_llm.stats.routes["chat.completions"] == 20
    assert fake_llm.stats.routes["messages"] == 10
    recorded = summaries(provider_project)
    golden = provider_project.path / "goldens" / "mini" / "openai_gpt-4o.jsonl"
    assert len(golden.read_text().splitlines()) == 10

    fake_llm.reset()
    second = provider_project.runpytest(
        "--cost-eval", "--cost-eval-record-mode=none", "-p", "no:cacheprovider"
    )
    second.assert_outcomes(passed=2)
    assert fake_llm.stats.total == 0
    second.stdout.fnmatch_lines(["*; 0 provider call(s), 0 of them to paid APIs (spent $0);*"])
    assert summaries(provider_project) == recorded


def test_usage_is_priced_by_genai_prices_and_batch_halves(
    provider_project: pytest.Pytester,
) -> None:
    provider_project.runpytest(
        "--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider"
    )
    import duckdb

    db = provider_project.path / "results" / "cost_eval.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        prices = json.loads(con.execute("SELECT prices_json FROM runs").fetchone()[0])
        haiku = con.execute(
            "SELECT sum(input_tokens), sum(output_tokens), sum(cost_usd) FROM results "
            "WHERE config = 'haiku-batch'"
        ).fetchone()
    assert prices["openai:gpt-4o"]["input"] == "2.5"
    assert prices["anthropic:claude-3-5-haiku-latest"]["output"] == "4"
    tokens_in, tokens_out, cost = haiku
    full = (tokens_in * 0.8 + tokens_out * 4) / 1_000_000
    assert float(cost) == pytest.approx(full / 2)


def test_missing_response_in_record_mode_none_names_the_fix(
    provider_project: pytest.Pytester, fake_llm: FakeLLMServer
) -> None:
    provider_project.runpytest(
        "--cost-eval", "--cost-eval-update-goldens", "-k", "not haiku", "-p", "no:cacheprovider"
    )
    fake_llm.reset()
    result = provider_project.runpytest(
        "--cost-eval", "--cost-eval-record-mode=none", "-p", "no:cacheprovider"
    )
    assert fake_llm.stats.total == 0
    out = result.stdout.str()
    assert "haiku-batch" in out and "not recorded" in out
    assert "--cost-eval-record-mode=new" in out


def test_ci_defaults_to_record_mode_none(
    provider_project: pytest.Pytester, fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    result = provider_project.runpytest("--cost-eval", "-p", "no:cacheprovider")
    assert fake_llm.stats.total == 0
    assert "not recorded" in result.stdout.str() or "no golden" in result.stdout.str()


def test_planted_key_is_written_nowhere(
    provider_project: pytest.Pytester, fake_llm: FakeLLMServer
) -> None:
    provider_project.runpytest(
        "--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider"
    )
    assert fake_llm.seen_secret(PLANTED_KEY)  # the key really was sent
    written = [p for p in Path(provider_project.path).rglob("*") if p.is_file()]
    assert any(p.suffix == ".duckdb" for p in written)
    for path in written:
        data = path.read_bytes()
        assert PLANTED_KEY.encode() not in data, f"the API key leaked into {path}"


SEMANTIC = """\
[tool.cost-eval]
baseline = "sim:frontier"

[tool.cost-eval.prices."sim:frontier"]
input = 5.0
output = 15.0

[[tool.cost-eval.configs]]
name = "semcache"
model = "sim:frontier"

[tool.cost-eval.configs.cache]
kind = "semantic"
threshold = 0.9
embedder = {{ name = "openai", base_url = "{openai}" }}
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_paid_embedder_is_recorded_and_replayed(
    mini_project: pytest.Pytester,
    fake_llm: FakeLLMServer,
    monkeypatch: pytest.MonkeyPatch,
    workers: list[str],
) -> None:
    """Embeddings are kept in the results database: a rerun in CI embeds nothing."""
    set_pyproject(mini_project, SEMANTIC.format(openai=fake_llm.openai_base_url))
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    monkeypatch.delenv("CI", raising=False)
    first = mini_project.runpytest(
        "--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider", *workers
    )
    first.assert_outcomes(passed=1)
    assert fake_llm.stats.routes["embeddings"] >= 1
    recorded = summaries(mini_project)
    fake_llm.reset()
    monkeypatch.setenv("CI", "true")  # record mode 'none'
    second = mini_project.runpytest("--cost-eval", "-p", "no:cacheprovider", *workers)
    second.assert_outcomes(passed=1)
    assert fake_llm.stats.total == 0
    assert summaries(mini_project) == recorded
