"""``harness cache``: a semantic cache's threshold sweep on a project suite or paraphrase pairs."""

from __future__ import annotations

import importlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.config.settings import ConfigSpec, load_settings
from tests.fakes import PLANTED_KEY, FakeLLMServer
from tests.unit.tiny_project import evaluate

# The module, not the registry function of the same name in harness.embedders.
WEIGHTS_MODULE = importlib.import_module("harness.embedders.minilm_static")

pytest_plugins = ["tests.fakes.fixtures"]

CONFIG = ConfigSpec(name="frontier", family="frontier", model="sim:frontier")

PROJECT = """\
[tool.cost-eval]
baseline = "sim:frontier"

[tool.cost-eval.prices."sim:frontier"]
input = 5.0
output = 15.0
"""

# Exact repeats (re-typed), and near-misses that change a number: the sim model
# answers each correctly, so a near-miss served a cached answer is a false hit.
SUITE = """\
suite: calc
version: 1
scorer: numeric
reference: golden
cases:
  - {id: c1, prompt: "Compute 3 + 4.", knowledge_version: v1}
  - {id: c2, prompt: "Compute 6 * 7.", knowledge_version: v1}
  - {id: c3, prompt: "compute 3 + 4", knowledge_version: v1}
  - {id: c4, prompt: "Compute 3 + 5.", knowledge_version: v1}
  - {id: c5, prompt: "Compute  6 * 7.", knowledge_version: v1}
  - {id: c6, prompt: "Compute 6 * 8.", knowledge_version: v1}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "calc.yaml").write_text(SUITE)
    monkeypatch.chdir(tmp_path)
    # Record the baseline's goldens, as `pytest --cost-eval --cost-eval-update-goldens` does.
    settings = load_settings(tmp_path)
    evaluate(replace(settings, configs=(CONFIG,)), update_goldens="new")
    assert (tmp_path / "goldens" / "calc" / "sim_frontier.jsonl").is_file()
    return tmp_path


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["cache", *args, "--json"]) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def point(result: dict[str, Any], threshold: float) -> dict[str, Any]:
    return next(p for p in result["points"] if abs(p["threshold"] - threshold) < 1e-9)


def test_repeats_hit_and_near_misses_do_not(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_json(capsys, "--suite", "calc")
    # The default embedder: minilm_static with static joined on (issue 15).
    assert (result["queries"], result["cases"]) == (6, 6)
    assert result["embedder"] == "minilm_static+static:0.3"
    at = point(result, 0.8)
    # c3 re-types c1 and c5 re-types c2: two correct hits; c4 and c6 change a number.
    assert (at["hits"], at["correct_hits"], at["false_hits"]) == (2, 2, 0)
    # Its scale is higher than static's: questions differing only in numbers have
    # cosine 0.72-0.78, so at 0.5 near-misses are served (static kept them apart there).
    assert point(result, 0.5)["false_hits"] == 4
    assert float(at["saved_usd"]) > 0  # the hits' model calls, priced from the goldens
    # Two hits cannot show a wrong-hit rate under 1 %: no recommendation at the default.
    assert result["recommended"] is None
    relaxed = run_json(capsys, "--suite", "calc", "--target", "0.9")
    assert relaxed["recommended"]["correct_hits"] == 2


def test_missing_default_weights_name_the_file_and_the_static_fallback(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A broken install: the default embedder's shipped weights are gone.
    gone = project / "gone" / "minilm_static.npz"
    monkeypatch.setattr(WEIGHTS_MODULE, "DEFAULT_WEIGHTS", gone)
    assert main(["cache", "--suite", "calc"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"harness: The minilm_static weights at {gone} cannot be used: ")
    assert "there is no such file" in err and "--embedder static" in err
    assert "Traceback" not in err
    # The fallback it names works without them.
    assert run_json(capsys, "--suite", "calc", "--embedder", "static")["embedder"] == "static"


def test_the_text_output_explains_a_missing_recommendation(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cache", "--suite", "calc"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("suite 'calc': 6 queries over 6 cases (suite order)")
    assert "no recommendation: no threshold keeps the wrong-hit rate's upper 95% bound" in out
    rows = [line.split()[0] for line in out.splitlines() if line[:9].strip()[:2] == "0."]
    assert rows[:3] == ["0.30", "0.35", "0.40"]  # every 0.05 of the grid


def test_traffic_replays_repeats_and_stale_answers_are_never_correct(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    traffic = project / "traffic.jsonl"
    rows = [
        {"case_id": "c1", "timestamp": "2026-11-01T10:00:00Z"},
        {"case_id": "c1", "timestamp": "2026-11-01T11:00:00Z"},  # a fresh repeat
        {"case_id": "c1", "timestamp": "2026-11-20T10:00:00Z"},  # weeks later
        {"case_id": "c1", "timestamp": "2026-11-21T10:00:00Z", "knowledge_version": "v2"},
    ]
    traffic.write_text("".join(json.dumps(r) + "\n" for r in rows))
    fresh = run_json(capsys, "--suite", "calc", "--traffic", str(traffic), "--stale-after", "7d")
    at = point(fresh, 0.9)
    assert fresh["queries"] == 4
    # The hour-old repeat is correct; the weeks-old one is stale; the new version misses.
    assert (at["hits"], at["correct_hits"], at["stale_hits"]) == (2, 1, 1)
    across = run_json(
        capsys, "--suite", "calc", "--traffic", str(traffic), "--stale-after", "7d",
        "--across-versions",
    )  # fmt: skip
    at = point(across, 0.9)
    # Served across the version change too: one more hit, stale, never correct.
    assert (at["hits"], at["correct_hits"], at["stale_hits"]) == (3, 1, 2)


def test_pairs_are_judged_by_their_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pairs = [
        {"origin": "You can load a dataset with `load_dataset`.",
         "similar": "A dataset can be loaded with `load_dataset`."},
        {"origin": "Datasets is a library for sharing data, version 2.10.0.",
         "similar": "Datasets, version 2.10.0, is a library for sharing data."},
    ]  # fmt: skip
    path = tmp_path / "pairs.json"
    path.write_text(json.dumps(pairs))
    # The mechanism, on the static embedder's scale (its guard keeps "2.10.0" apart).
    result = run_json(capsys, "--pairs", str(path), "--isolated", "--embedder", "static")
    assert result["cases"] == result["queries"] > 4  # origins, paraphrases, negatives
    at = point(result, 0.5)
    assert at["correct_hits"] == 2 and at["false_hits"] == 0  # negatives stay apart
    # The old entry point is the same command.
    from harness.cache_eval import run_cache_eval as cache_eval_main

    assert cache_eval_main([str(path), "--isolated", "--embedder", "static", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == result


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--suite", "calc", "--embedder", "{nope"], "--embedder is not valid JSON"),
        (["--suite", "calc", "--embedder", "word2vec"], "word2vec"),
        (["--suite", "calc", "--target", "5"], "--target must be a rate in [0, 1], got 5.0"),
        (["--suite", "calc", "--ttl", "soon"], "'--ttl' must be a positive duration"),
        (["--suite", "nope"], "no suite named 'nope'"),
        (["--suite", "calc", "--traffic", "missing.jsonl"], "missing.jsonl"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["cache", *args]) == 2
    err = capsys.readouterr().err
    # One prefix: "harness:", or the command's own ("harness cache: ...").
    assert err.startswith(("harness: ", "harness cache: ")) and message in err
    assert "harness: harness" not in err
    assert "Traceback" not in err


def test_traffic_naming_an_unknown_case(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "traffic.jsonl").write_text(json.dumps({"case_id": "zz"}) + "\n")
    assert main(["cache", "--suite", "calc", "--traffic", "traffic.jsonl"]) == 2
    assert "traffic row #1 names case 'zz', not in the suite" in capsys.readouterr().err


def test_help_lists_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "cache" in capsys.readouterr().out


def test_missing_goldens_say_how_to_record_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "calc.yaml").write_text(SUITE)
    monkeypatch.chdir(tmp_path)
    assert main(["cache", "--suite", "calc"]) == 2
    err = capsys.readouterr().err
    assert "6 case(s) have no golden" in err
    assert "pytest --cost-eval --cost-eval-update-goldens" in err


def test_openai_embedder_over_http_bills_its_tokens(
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fake_llm: FakeLLMServer,
) -> None:
    """The real SDK against the fake server: one request per batch, tokens reported."""
    monkeypatch.setenv("CACHE_TEST_KEY", PLANTED_KEY)
    spec = json.dumps(
        {"name": "openai", "base_url": fake_llm.openai_base_url, "api_key_env": "CACHE_TEST_KEY"}
    )
    # Explicit: under $CI the default record mode is 'none' (no paid call).
    result = run_json(capsys, "--suite", "calc", "--embedder", spec, "--record-mode", "new")
    assert result["embedder"] == "openai:text-embedding-3-small"
    assert result["embedding_tokens"] > 0
    embedded = [t for body in fake_llm.stats.bodies["embeddings"] for t in body["input"]]
    assert sorted(embedded) == sorted(
        ["Compute 3 + 4.", "Compute 6 * 7.", "compute 3 + 4", "Compute 3 + 5.",
         "Compute  6 * 7.", "Compute 6 * 8."]
    )  # fmt: skip
    # The vectors are now in the project's response store: a rerun embeds nothing,
    # and in record mode 'none' (CI) it needs no key and no server.
    requests = fake_llm.stats.routes["embeddings"]
    again = run_json(capsys, "--suite", "calc", "--embedder", spec, "--record-mode", "none")
    assert fake_llm.stats.routes["embeddings"] == requests
    assert again["embedding_tokens"] == 0  # nothing billed this time
    assert again["points"] == result["points"]
    fresh = run_json(capsys, "--suite", "calc", "--embedder", spec, "--record-mode", "all")
    assert fake_llm.stats.routes["embeddings"] > requests and fresh["embedding_tokens"] > 0
    assert main(["cache", "--suite", "calc", "--embedder", spec, "--record-mode", "all"]) == 0
    assert "the embedder billed" in capsys.readouterr().out


def test_mined_negatives_come_from_the_suites_own_questions(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each question and its nearest neighbour, labelled by whether the goldens agree."""
    out = project / "mined.jsonl"
    result = run_json(
        capsys, "--suite", "calc", "--mine-negatives", "--neighbours", "1",
        "--write-pairs", str(out),
    )  # fmt: skip
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    pairs = {(r["text_a"], r["text_b"]): r["label"] for r in rows}
    # The re-typed repeats share their golden; a changed number does not.
    assert pairs[("Compute 3 + 4.", "compute 3 + 4")] == 1
    assert pairs[("Compute 6 * 7.", "Compute  6 * 7.")] == 1
    assert any(label == 0 and "3 + 5" in b for (a, b), label in pairs.items())
    assert result["negatives"]["source"] == "mined"
    assert result["negatives"]["by_kind"] == {"mined": sum(1 for v in pairs.values() if v == 0)}
    assert result["families"] == "isolated" and result["queries"] == 2 * len(rows)
    at = point(result, 0.9)
    assert (at["correct_hits"], at["false_hits"]) == (2, 0)
    # The file is labelled pairs: swept with --pairs it gives the same points.
    again = run_json(capsys, "--pairs", str(out))
    assert again["points"] == result["points"]
    assert again["negatives"]["source"] == "labelled"  # once written, people own the labels
    assert main(["cache", "--suite", "calc", "--mine-negatives"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith("suite 'calc': ") and "mined (nearest neighbours" in header
