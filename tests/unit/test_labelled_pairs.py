"""Labelled pairs: files read, suites built and judged, ``harness cache --pairs`` on them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.cli import main
from harness.errors import SuiteError
from harness.importers.labelled_pairs import (
    load_labelled_pairs,
    mine_pairs,
    write_labelled_pairs,
)
from harness.importers.paraphrase_pairs import build_cache_suite, describe_negatives

# Two duplicates and two near-misses people would label "different".
PAIRS = [
    {"text_a": a, "text_b": b, "label": label}
    for a, b, label in [
        ("How do I lose weight fast?", "How can I lose weight quickly?", 1),
        ("What is the capital of Peru?", "What is the capital of Peru?", 1),
        ("How do I gain weight fast?", "How do I lose weight fast?", 0),
        ("Is Python 3.12 faster than 3.11?", "Is Python 3.12 faster than Go?", 0),
    ]
]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["cache", *args, "--json"]) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def point(result: dict[str, Any], threshold: float) -> dict[str, Any]:
    return next(p for p in result["points"] if abs(p["threshold"] - threshold) < 1e-9)


# ------------------------------------------------------------------------ files


def test_json_lines_csv_and_a_json_list_read_the_same_pairs(tmp_path: Path) -> None:
    jsonl = load_labelled_pairs(write_jsonl(tmp_path / "p.jsonl", PAIRS))
    csv_path = tmp_path / "p.csv"
    csv_path.write_text(
        "text_a,text_b,label\n"
        + "".join(f'"{r["text_a"]}","{r["text_b"]}",{r["label"]}\n' for r in PAIRS)
    )
    listed = tmp_path / "p.json"
    listed.write_text(json.dumps(PAIRS))
    for loaded in (jsonl, load_labelled_pairs(csv_path), load_labelled_pairs(listed)):
        assert loaded.pairs == tuple((r["text_a"], r["text_b"]) for r in PAIRS)
        assert loaded.labels == (1, 1, 0, 0)
        assert (loaded.positives, loaded.negatives, loaded.labelled) == (2, 2, True)


def test_other_names_and_label_spellings(tmp_path: Path) -> None:
    rows = [
        {"origin": "a?", "similar": "b?", "label": True},
        {"question1": "c?", "question2": "d?", "is_duplicate": "0"},
        {"text_a": "e?", "text_b": "f?", "label": "yes"},
    ]
    loaded = load_labelled_pairs(write_jsonl(tmp_path / "p.jsonl", rows))
    assert loaded.pairs == (("a?", "b?"), ("c?", "d?"), ("e?", "f?"))
    assert loaded.labels == (1, 0, 1)


def test_gptcache_paraphrases_have_no_labels_and_are_all_same(tmp_path: Path) -> None:
    path = tmp_path / "mock.json"
    path.write_text(json.dumps([{"origin": "a", "similar": "b"}, {"origin": "c", "similar": "d"}]))
    loaded = load_labelled_pairs(path)
    assert (loaded.labels, loaded.labelled, loaded.negatives) == ((1, 1), False, 0)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("p.jsonl", '{"text_a": "a", "text_b": "b", "label": 2}\n', "must be 1 (same question)"),
        ("p.jsonl", '{"text_a": "a", "label": 1}\n', "a pair needs two non-empty texts"),
        ("p.jsonl", '{"text_a": "a", "text_b": "b", "label": 1}\nnope\n', "p.jsonl:2: not valid"),
        (
            "p.jsonl",
            '{"text_a": "a", "text_b": "b", "label": 1}\n{"text_a": "c", "text_b": "d"}\n',
            "label every pair or none",
        ),
        ("p.csv", "question,answer\nx,y\n", "the CSV header must name 'text_a' and 'text_b'"),
        ("p.jsonl", "\n\n", "no pairs"),
        ("p.json", '[{"text_a": "a", "text_b": "b"}, 3]', "p.json: pair #2: expected an object"),
    ],
)
def test_bad_files_name_the_line_and_the_fix(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SuiteError) as raised:
        load_labelled_pairs(path)
    assert message in str(raised.value)


def test_a_missing_file_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cache", "--pairs", str(tmp_path / "none.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("harness: ") and "cannot read the pairs" in err
    assert "Traceback" not in err


# ----------------------------------------------------------------------- suites


def test_label_zero_pairs_are_real_negatives_judged_false() -> None:
    suite = build_cache_suite(
        [(r["text_a"], r["text_b"]) for r in PAIRS], labels=[1, 1, 0, 0], negatives=()
    )
    ids = {c.id: c for c in suite.cases}
    assert sorted(ids) == [
        "p0001-o", "p0001-p", "p0002-o", "p0002-p", "p0003-n-labelled", "p0003-o",
        "p0004-n-labelled", "p0004-o",
    ]  # fmt: skip
    assert ids["p0003-n-labelled"].category == "negative:labelled"
    assert dict(suite.negatives) == {"labelled": 2}
    assert suite.negative_source == "labelled"
    assert suite.judge("p0001-o", "p0001-p") is True
    assert suite.judge("p0003-o", "p0003-n-labelled") is False
    # "How do I lose weight fast?" is both pair 1's origin and pair 3's negative:
    # serving it for pair 1's paraphrase is right whichever case stored it.
    assert suite.judge("p0003-n-labelled", "p0001-p") is True
    assert suite.judge("p0002-o", "p0004-o") is None  # two pairs: the labels cannot tell
    # Every arrival after its pair's first text.
    order = [c.id for c in suite.cases]
    assert order.index("p0003-o") < order.index("p0003-n-labelled")


def test_the_direct_label_wins_over_links_through_other_pairs() -> None:
    # A same as B, B same as C, but A and C labelled different.
    suite = build_cache_suite([("A", "B"), ("B", "C"), ("A", "C")], labels=[1, 1, 0], negatives=())
    assert suite.judge("p0003-o", "p0003-n-labelled") is False
    assert suite.judge("p0001-o", "p0002-p") is True  # A and C through B, across pairs


def test_negatives_are_generated_from_paraphrase_pairs_only() -> None:
    pairs = [
        ("Version 2.10 is not supported.", "2.10 is unsupported."),
        ("Version 3.1 is supported.", "Version 3.2 is supported."),
    ]
    suite = build_cache_suite(pairs, labels=[1, 0])
    generated = [c.id for c in suite.cases if c.category.startswith("negative:")]
    assert "p0002-n-labelled" in generated
    assert all(i.startswith("p0001-") for i in generated if not i.endswith("labelled"))
    assert suite.negative_source == "labelled + generated"
    assert "made up" in suite.describe_negatives()


def test_bad_labels_are_refused() -> None:
    with pytest.raises(SuiteError, match="one label"):
        build_cache_suite([("a", "b")], labels=[1, 0])
    with pytest.raises(SuiteError, match="one label"):
        build_cache_suite([("a", "b")], labels=[2])


def test_describe_negatives_by_source() -> None:
    assert describe_negatives({"labelled": 3000}) == "negatives: 3,000 labelled (real near-misses)"
    assert describe_negatives({"number": 0}).startswith("negatives: none")
    text = describe_negatives({"number": 75, "entity": 726})
    assert text.startswith("negatives: 801 generated (number 75, entity 726; made up")


# ----------------------------------------------------------------------- mining


def test_mined_pairs_are_nearest_neighbours_labelled_by_their_answers(tmp_path: Path) -> None:
    texts = ["q0", "q1", "q2", "q3"]
    # q0 and q1 nearly the same vector, q2 near them, q3 far away.
    vectors = np.array([[1.0, 0.0, 0.0], [0.99, 0.1, 0.0], [0.9, 0.4, 0.0], [0.0, 0.0, 1.0]])
    answers = ["A", "A", "B", "C"]
    asked: list[tuple[int, int]] = []

    def agree(i: int, j: int) -> bool:
        asked.append((i, j))
        return answers[i] == answers[j]

    mined = mine_pairs(texts, vectors, agree, neighbours=1)
    # Nearest of q0 is q1, of q1 is q0, of q2 is q1, of q3 is q2 (all equal: first).
    assert ("q0", "q1") in mined.pairs and ("q1", "q2") in mined.pairs
    labels = dict(zip(mined.pairs, mined.labels, strict=True))
    assert labels[("q0", "q1")] == 1 and labels[("q1", "q2")] == 0
    assert all(i < j for i, j in asked)  # the earlier text's answer served to the later one
    path = tmp_path / "mined.jsonl"
    write_labelled_pairs(path, mined)
    assert load_labelled_pairs(path) == mined


def test_mining_needs_two_texts_with_a_vector_each() -> None:
    with pytest.raises(SuiteError, match="two or more texts"):
        mine_pairs(["only"], np.ones((1, 3)), lambda i, j: True)
    with pytest.raises(SuiteError, match="one vector each"):
        mine_pairs(["a", "b"], np.ones((3, 3)), lambda i, j: True)


# -------------------------------------------------------------------------- CLI


def test_labelled_pairs_use_their_negatives_and_generate_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", PAIRS)
    # The mechanism, on the static embedder's scale (the cosines below are static's).
    result = run_json(capsys, "--pairs", str(path), "--embedder", "static")
    assert result["queries"] == 8 and result["families"] == "isolated"
    assert result["negatives"]["source"] == "labelled"
    assert result["negatives"]["by_kind"] == {"labelled": 2}
    assert result["pairs"] == {"pairs": 4, "same": 2, "different": 2}
    at = point(result, 0.99)
    # The exact repeat and "fast"/"quickly" (synonyms to static) hit; no near-miss does.
    assert (at["correct_hits"], at["false_hits"], at["unjudged_hits"]) == (2, 0, 0)
    # "gain" for "lose" weight has cosine 0.71 under static: a false hit up to 0.70.
    assert point(result, 0.70)["false_hits"] == 1 and point(result, 0.72)["false_hits"] == 0
    assert main(["cache", "--pairs", str(path), "--embedder", "static"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header == (
        "8 queries: 4 pairs (2 same question, 2 different); negatives: 2 labelled (real "
        "near-misses); embedder static; each pair its own family"
    )


def test_generated_negatives_only_when_asked_and_labelled_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", PAIRS)
    result = run_json(capsys, "--pairs", str(path), "--generate-negatives", "--one-stream")
    assert result["negatives"]["source"] == "labelled + generated"
    assert result["negatives"]["by_source"]["labelled"] == 2
    assert result["negatives"]["by_source"]["generated"] >= 1
    assert "made up" in result["negatives"]["description"]
    assert result["families"] == "one stream"


def test_gptcache_lists_keep_generating_negatives_in_one_stream(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mock.json"
    path.write_text(json.dumps([{"origin": r["text_a"], "similar": r["text_b"]} for r in PAIRS]))
    result = run_json(capsys, "--pairs", str(path))
    assert result["negatives"]["source"] == "generated"
    assert result["families"] == "one stream"
    none = run_json(capsys, "--pairs", str(path), "--no-generate-negatives")
    assert none["negatives"]["source"] == "none" and none["queries"] == 8
    assert main(["cache", "--pairs", str(path)]) == 0
    assert "generated (" in capsys.readouterr().out.splitlines()[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--suite", "x", "--one-stream"], "--isolated/--one-stream applies to --pairs only"),
        (["--suite", "x", "--generate-negatives"], "applies to --pairs only"),
        (["--pairs", "p.jsonl", "--mine-negatives"], "--mine-negatives mines pairs from a --suite"),
        (["--suite", "x", "--write-pairs", "o.jsonl"], "--write-pairs writes the pairs"),
        (["--suite", "x", "--mine-negatives", "--neighbours", "0"], "--neighbours must be 1"),
    ],
)
def test_options_of_the_other_source_are_errors(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cache", *args]) == 2
    err = capsys.readouterr().err
    # One prefix: "harness:", or the command's own ("harness cache: ...").
    assert err.startswith(("harness: ", "harness cache: ")) and message in err
    assert "harness: harness" not in err


def test_a_suite_written_from_pairs_names_its_negatives_in_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--write-suite, then a run with a semantic cache: the report's sweep says which negatives."""
    import dataclasses

    from harness.report.render import render_html
    from tests.unit.test_report import sample_run
    from tests.unit.test_strategy_metrics import evaluate

    pairs = write_jsonl(tmp_path / "p.jsonl", PAIRS)
    written = tmp_path / "pairs_suite.yaml"
    assert main(["cache", "--pairs", str(pairs), "--write-suite", str(written)]) == 0
    capsys.readouterr()
    text = written.read_text()
    assert "suite: pairs_suite" in text and "category: negative:labelled" in text
    (tmp_path / "project").mkdir()
    summary = evaluate(
        tmp_path / "project",
        text,
        {
            "name": "s",
            "model": "sim:frontier",
            "cache": {"kind": "semantic", "embedder": "static", "threshold": 0.9},
        },
    )
    expected = "negatives: 2 labelled (real near-misses)"
    assert summary.extras["cache_sweep"]["negatives"] == expected
    stored = sample_run()
    page = render_html(
        dataclasses.replace(stored, summaries=(*stored.summaries, summary)), max_cases=10
    )
    section = page[page.index("Similarity threshold sweep: pairs_suite") :]
    assert f"This suite was built from pairs; its {expected}." in section
