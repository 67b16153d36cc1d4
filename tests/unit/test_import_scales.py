"""Importing real recordings: scores on other scales, bare model names, scorer flags, replay hints.

Issue 14: real logs write ``"model": "gpt-4o-2024-08-06"`` (no provider prefix),
judges score 1-10 with -1 for "could not parse", and an answer missing from the
recording of an external router must not send the user to call it.
"""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.config.prices import PriceTable, split_model
from harness.config.settings import load_settings
from harness.config.suites import load_goldens, load_suite
from harness.engine.prepare import load_suites, prepare
from harness.engine.run import run
from harness.errors import ConfigError, GoldenError, SuiteError, UnknownComponent
from harness.importers.recordings import import_recordings, imported_scorer
from harness.importers.records import QualityScale, record_quality
from harness.providers import check_model_spec, make_provider
from harness.scoring.recorded import ImportedModels, RecordedQuality, RecordedScorer
from harness.store.responses import load_responses
from harness.types import Message, Request
from harness.types import Usage as TokenUsage

BARE_STRONG = "gpt-4o-2024-08-06"
BARE_WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def judged_rows(scores: dict[str, tuple[float, float]]) -> list[dict[str, Any]]:
    """Two answers per case, scored by a judge on 1-10: {case: (strong score, weak score)}."""
    rows = []
    for case_id, pair in scores.items():
        for model, score in zip((BARE_STRONG, BARE_WEAK), pair, strict=True):
            rows.append(
                {
                    "case_id": case_id,
                    "model": model,
                    "prompt": f"Write a haiku about {case_id}.",
                    "response": f"A haiku about {case_id} by {model}.",
                    "quality": score,
                }
            )
    return rows


# --------------------------------------------------------------------------- the scale


def test_quality_scale_maps_into_unit_interval_and_back() -> None:
    scale = QualityScale.parse("1,10")
    assert (scale.low, scale.high) == (1.0, 10.0)
    assert str(scale) == "1-10"
    assert scale.mapped(10) == 1.0 and scale.mapped(1) == 0.0
    assert scale.mapped(5.5) == pytest.approx(0.5)
    assert scale.mapped(-1) is None and scale.mapped(10.5) is None
    assert scale.original(scale.mapped(8.5) or 0.0) == pytest.approx(8.5)
    assert QualityScale.parse(" 0 , 100 ").mapped(25) == pytest.approx(0.25)


@pytest.mark.parametrize("text", ["10", "10,1", "1,1", "a,b", "1,2,3", "1,inf", ""])
def test_quality_scale_refuses_what_is_not_min_max(text: str) -> None:
    with pytest.raises(ConfigError, match="--quality-scale must be MIN,MAX with MIN < MAX"):
        QualityScale.parse(text)


def test_record_quality_on_a_scale_and_without_one() -> None:
    scale = QualityScale(1, 10)
    assert record_quality(7, "f:1", scale) == (pytest.approx(6 / 9), None)
    assert record_quality(None, "f:1", scale) == (None, None)
    quality, why = record_quality(-1, "f:1", scale)
    assert quality is None and why is not None
    assert "-1 is outside the scale 1-10" in why
    assert record_quality(math.nan, "f:1", scale)[0] is None  # NaN: no score either
    assert record_quality(True, "f:1") == (1.0, None)  # a boolean label, no scale
    with pytest.raises(SuiteError, match=r"f:1: 'quality' must be a number on the scale 1-10"):
        record_quality("n/a", "f:1", scale)
    with pytest.raises(SuiteError, match="on the scale 1-10"):
        record_quality(True, "f:1", scale)  # correct/incorrect is not a 1-10 score
    with pytest.raises(SuiteError, match=r"between 0 and 1, got 7\..*--quality-scale MIN,MAX"):
        record_quality(7, "f:1")


def test_scores_on_a_scale_import_and_out_of_scale_is_an_error_label(tmp_path: Path) -> None:
    rows = judged_rows({"a": (10, 4), "b": (9, -1), "c": (-1, 1)})
    source = write_jsonl(tmp_path / "judged.jsonl", rows)
    with pytest.raises(SuiteError, match=r"judged\.jsonl: line 1: 'quality' must be between"):
        import_recordings([source], suite="j", baseline=BARE_STRONG, out_dir=tmp_path / "no")
    result = import_recordings(
        [source],
        suite="j",
        baseline=BARE_STRONG,
        out_dir=tmp_path,
        quality_scale=QualityScale(1, 10),
    )
    assert load_suite(result.suite_path).scorer == "recorded"  # every line has a score
    assert any("scale 1-10" in note for note in result.notes)
    assert any(f"1 answer(s) of {BARE_WEAK!r}" in note for note in result.notes)
    labels = RecordedQuality.load(result.recorded_path)
    assert labels.lookup("a", BARE_STRONG) == 1.0
    assert labels.lookup("a", BARE_WEAK) == pytest.approx(3 / 9)
    assert labels.lookup("c", BARE_WEAK) == 0.0
    bad = labels.record("b", BARE_WEAK)
    assert bad is not None and bad.quality is None
    assert bad.error is not None and "recorded quality -1 is outside the scale 1-10" in bad.error
    scorer = RecordedScorer().bind(labels)
    assert scorer.score_case("b", f"replay:{BARE_STRONG}").value == pytest.approx(8 / 9)
    with pytest.raises(GoldenError, match=r"case 'b' answered by 'mistralai/.*outside the scale"):
        scorer.score_case("b", f"replay:{BARE_WEAK}")


def test_out_of_scale_scores_are_error_rows_of_a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A weak answer scored -1 errors that row; a baseline scored -1 errors its case."""
    rows = judged_rows({"a": (10, 4), "b": (9, -1), "c": (-1, 1), "d": (8, 8)})
    write_jsonl(tmp_path / "judged.jsonl", rows)
    monkeypatch.chdir(tmp_path)
    args = ["import", "recordings", "judged.jsonl", "--suite", "j", "--baseline", BARE_STRONG]
    assert main([*args, "--quality-scale", "1,10"]) == 0
    with (tmp_path / "cost-eval.toml").open("a", encoding="utf-8") as config:
        config.write(f'\n[tool.cost-eval.prices."{BARE_WEAK}"]\ninput = 0.6\noutput = 0.6\n')
    outcome = run_imported(tmp_path, "j")
    errors = {r.case_id: r.error for r in outcome.results if r.error}
    assert set(errors) == {"b", "c"}
    assert "answered by 'mistralai/Mixtral-8x7B-Instruct-v0.1'" in (errors["b"] or "")
    assert "outside the scale 1-10" in (errors["b"] or "")
    assert (errors["c"] or "").startswith("baseline: ")
    assert f"answered by {BARE_STRONG!r}" in (errors["c"] or "")
    (summary,) = outcome.summaries
    assert (summary.n, summary.errors) == (2, 2)
    # On the judge's own scale: weak (4 + 8) / 2 = 6, strong (10 + 8) / 2 = 9.
    assert 1 + 9 * summary.quality == pytest.approx(6.0)
    assert 1 + 9 * summary.baseline_quality == pytest.approx(9.0)


def run_imported(project: Path, suite: str) -> Any:
    """Run the imported project's one configuration from the store (record mode none)."""
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


# --------------------------------------------------------------------------- bare model names


def test_bare_model_names_import_and_replay(tmp_path: Path) -> None:
    rows = [
        {"case_id": "a", "model": BARE_STRONG, "prompt": "2+2?", "response": "4", "expected": "4"},
        {"case_id": "a", "model": BARE_WEAK, "prompt": "2+2?", "response": "5", "expected": "4"},
    ]
    result = import_recordings(
        [write_jsonl(tmp_path / "log.jsonl", rows)],
        suite="s",
        baseline=BARE_STRONG,
        out_dir=tmp_path,
    )
    assert result.models == {BARE_STRONG: 1, BARE_WEAK: 1}
    assert result.goldens_path.name == "gpt-4o-2024-08-06.jsonl"
    assert load_goldens(tmp_path / "goldens", "s", BARE_STRONG)["a"].text == "4"
    assert {r.model for r, _ in result.responses} == {BARE_STRONG, BARE_WEAK}
    # The replayed spec of a bare name is valid and priced by genai-prices by that name.
    check_model_spec(f"replay:{BARE_STRONG}", where="test")
    check_model_spec(f"replay:{BARE_WEAK}", where="test")
    with pytest.raises(UnknownComponent):
        check_model_spec("replay:openai:", where="test")
    assert split_model(f"replay:{BARE_STRONG}") == ("", BARE_STRONG)
    assert split_model("replay:openai:gpt-4o") == ("openai", "gpt-4o")
    prices = PriceTable({})
    assert prices.price_of(f"replay:{BARE_STRONG}") == prices.price_of("openai:gpt-4o")
    assert prices.cost(BARE_STRONG, TokenUsage(input_tokens=1_000_000)) > 0
    # A bare name genai-prices does not know asks for an override keyed by that name.
    with pytest.raises(ConfigError, match=r'prices\."mistralai/Mixtral-8x7B-Instruct-v0\.1"\]'):
        prices.price_of(f"replay:{BARE_WEAK}")


def test_bare_baseline_run_end_to_end(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = []
    for i in range(3):
        for model, answer in (
            (BARE_STRONG, i + 1),
            ("claude-3-5-haiku-20241022", i + 1 + (i == 2)),
        ):
            rows.append(
                {
                    "case_id": f"c{i}",
                    "model": model,
                    "prompt": f"What is {i} + 1?",
                    "response": f"It is {answer}.",
                    "expected": str(i + 1),
                    "usage": {"input_tokens": 10, "output_tokens": 4},
                }
            )
    write_jsonl(pytester.path / "log.jsonl", rows)
    monkeypatch.chdir(pytester.path)
    assert (
        main(
            [
                "import",
                "recordings",
                "log.jsonl",
                "--suite",
                "bare",
                "--baseline",
                BARE_STRONG,
                "--extract",
                "last_number",
            ]
        )
        == 0
    )
    config = (pytester.path / "cost-eval.toml").read_text(encoding="utf-8")
    assert f'baseline = "replay:{BARE_STRONG}"' in config
    assert 'name = "claude-3-5-haiku-20241022-only"' in config
    result = pytester.runpytest(
        "--cost-eval", "--cost-eval-config", "cost-eval.toml", "--cost-eval-record-mode=none"
    )
    result.assert_outcomes(passed=1)
    assert "bare :: claude-3-5-haiku-20241022-only (report-only: inconclusive): quality 0.667" in (
        result.stdout.str()
    )


# --------------------------------------------------------------------------- --scorer, --extract


def test_imported_scorer_from_flags() -> None:
    assert imported_scorer(None) is None
    assert imported_scorer("numeric") == "numeric"
    assert imported_scorer(None, "last_number") == {"name": "exact", "extract": "last_number"}
    assert imported_scorer("numeric", "last_number") == {
        "name": "numeric",
        "extract": "last_number",
    }
    assert imported_scorer("{name: numeric, tolerance: 0.01}", "last_number") == {
        "name": "numeric",
        "tolerance": 0.01,
        "extract": "last_number",
    }
    assert imported_scorer('{"name": "exact", "extract": "yes_no"}') == {
        "name": "exact",
        "extract": "yes_no",
    }
    with pytest.raises(ConfigError, match="does not apply to the 'recorded' scorer"):
        imported_scorer("recorded", "last_number")
    with pytest.raises(ConfigError, match="disagrees with the scorer's own extract 'yes_no'"):
        imported_scorer("{name: exact, extract: yes_no}", "last_number")
    with pytest.raises(ConfigError, match="is not a table with a 'name'"):
        imported_scorer("{tolerance: 0.01}")
    with pytest.raises(ConfigError, match="is not a table with a 'name'"):
        imported_scorer("{name: [")
    with pytest.raises(UnknownComponent):
        imported_scorer("numerik")
    with pytest.raises((ConfigError, UnknownComponent), match="lastnumber"):
        imported_scorer(None, "lastnumber")


def test_extract_and_scorer_flags_write_the_suite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"case_id": "a", "model": BARE_STRONG, "prompt": "Q?", "response": "So: 4", "expected": "4"}
    ]
    write_jsonl(tmp_path / "log.jsonl", rows)
    monkeypatch.chdir(tmp_path)
    base = ["import", "recordings", "log.jsonl", "--suite", "s", "--baseline", BARE_STRONG]
    assert main([*base, "--scorer", "numeric", "--extract", "last_number"]) == 0
    assert load_suite(tmp_path / "suites" / "s.yaml").scorer == {
        "name": "numeric",
        "extract": "last_number",
    }
    # A misspelt extractor fails before anything is written or stored.
    capsys.readouterr()
    assert main([*base, "--suite", "t", "--extract", "lastnumber"]) != 0
    assert "lastnumber" in capsys.readouterr().err
    assert not (tmp_path / "suites" / "t.yaml").exists()
    assert main([*base, "--suite", "t", "--quality-scale", "10"]) != 0
    assert "--quality-scale must be MIN,MAX" in capsys.readouterr().err


# --------------------------------------------------------------------------- replay hints


def replay_error(model: str, imported: ImportedModels | None = None) -> str:
    provider = make_provider(
        "replay", lookup=lambda _key: None, imported=imported.source if imported else None
    )
    request = Request(
        model=f"replay:{model}", messages=(Message(role="user", content="Hi"),), case_id="c7"
    )
    response = asyncio.run(provider.complete(request))
    assert response.error is not None
    return response.error


def test_a_missing_imported_answer_never_says_to_call_the_model(tmp_path: Path) -> None:
    rows = [
        {"case_id": "a", "model": "openai:gpt-4o", "prompt": "Hi", "response": "Hello"},
        {"case_id": "a", "model": "openai:unify-router", "prompt": "Hi", "response": "Hey"},
    ]
    result = import_recordings(
        [write_jsonl(tmp_path / "log.jsonl", rows)],
        suite="s",
        baseline="openai:gpt-4o",
        out_dir=tmp_path,
    )
    imported = ImportedModels([result.recorded_path, tmp_path / "absent.jsonl"])
    # An external router imported from a log, under a prefix the harness can call.
    message = replay_error("openai:unify-router", imported)
    assert "no recorded response of 'openai:unify-router' for case 'c7'" in message
    assert "come from imported recordings" in message and "s.jsonl" in message
    assert "Record it by running" not in message
    # Not imported, but callable: recording it by a run is the fix.
    assert "Record it by running once with 'openai:gpt-5'" in replay_error("openai:gpt-5", imported)
    # Not imported and not callable: only a recording can supply it.
    for model, reason in (
        ("unify:router", "no provider 'unify'"),
        ("gpt-4o-2024-08-06", "a name with no provider prefix"),
    ):
        message = replay_error(model)
        assert f"The harness cannot call {model!r} ({reason})" in message
        assert "harness import recordings" in message
        assert "Record it by running" not in message


def test_a_run_says_a_missing_answer_of_an_imported_router_is_missing_from_its_recording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = []
    for i in range(3):
        rows.append({"case_id": f"c{i}", "model": BARE_STRONG, "prompt": f"{i}?", "response": "1"})
        if i != 2:  # the router's log has no answer to c2
            row = {"case_id": f"c{i}", "model": "openai:unify-router", "prompt": f"{i}?"}
            rows.append({**row, "response": "1", "cost_usd": 0.0001})
    write_jsonl(tmp_path / "log.jsonl", rows)
    monkeypatch.chdir(tmp_path)
    assert (
        main(["import", "recordings", "log.jsonl", "--suite", "u", "--baseline", BARE_STRONG]) == 0
    )
    outcome = run_imported(tmp_path, "u")
    (missing,) = [r for r in outcome.results if r.error]
    assert missing.case_id == "c2"
    assert "come from imported recordings (recorded/u.jsonl)" in (missing.error or "")
    assert "Record it by running" not in (missing.error or "")
