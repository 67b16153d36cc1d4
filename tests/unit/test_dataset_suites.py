"""Loading suites from `datasets`: column mapping, filter, seeded sample, and the errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.config.suites import load_suite
from harness.errors import SuiteError
from tests.helpers import SHARED_DATA

GSM8K = SHARED_DATA / "gsm8k" / "test.jsonl"


def write_suite(folder: Path, dataset_yaml: str) -> Path:
    path = folder / "data.yaml"
    path.write_text("suite: data\nscorer: numeric\nreference: expected\n" + dataset_yaml)
    return path


@pytest.fixture
def rows_file(tmp_path: Path) -> Path:
    rows = [
        {"q": f"What is {i} + {i}?", "a": str(2 * i), "kind": "even" if i % 2 == 0 else "odd"}
        for i in range(40)
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.skipif(not GSM8K.is_file(), reason=f"RouteLLM's GSM8K questions not at {GSM8K}")
def test_gsm8k_test_questions_load_as_a_suite_with_a_column_mapping(tmp_path: Path) -> None:
    path = write_suite(
        tmp_path,
        f"dataset:\n  path: {GSM8K}\n  columns: {{prompt: question, expected: answer}}\n",
    )
    suite = load_suite(path, outside_ok=True)
    lines = [json.loads(line) for line in GSM8K.read_text().splitlines() if line.strip()]
    assert len(suite.cases) == len(lines) == 1319
    assert [c.id for c in suite.cases[:3]] == ["row-1", "row-2", "row-3"]
    for case, line in zip(suite.cases, lines, strict=True):
        assert case.prompt == line["question"] and case.expected == line["answer"]
    assert suite.cases[0].expected is not None and suite.cases[0].expected.endswith("#### 18")
    # The file lies outside the project: refused unless the setting allows it.
    with pytest.raises(SuiteError, match=r"dataset file 'test\.jsonl' lies outside the project"):
        load_suite(path)


def test_seeded_sample_is_repeatable_and_in_source_order(tmp_path: Path, rows_file: Path) -> None:
    def ids(seed: int) -> list[str]:
        text = (
            f"dataset:\n  path: {rows_file.name}\n  columns: {{prompt: q, expected: a}}\n"
            f"  sample: 7\n  seed: {seed}\n"
        )
        return [case.id for case in load_suite(write_suite(tmp_path, text)).cases]

    first = ids(1)
    assert len(first) == 7 and first == ids(1)
    assert first == sorted(first, key=lambda case_id: int(case_id.split("-")[1]))
    assert ids(2) != first


def test_filter_keeps_matching_rows_and_maps_category(tmp_path: Path, rows_file: Path) -> None:
    text = (
        f"dataset:\n  path: {rows_file.name}\n"
        "  columns: {prompt: q, expected: a, category: kind}\n  filter: {kind: [odd]}\n"
    )
    suite = load_suite(write_suite(tmp_path, text))
    assert len(suite.cases) == 20
    assert {case.category for case in suite.cases} == {"odd"}
    assert suite.cases[0].id == "row-2" and suite.cases[0].prompt == "What is 1 + 1?"


def test_missing_column_names_the_columns_there_are(tmp_path: Path, rows_file: Path) -> None:
    text = f"dataset:\n  path: {rows_file.name}\n  columns: {{prompt: question}}\n"
    with pytest.raises(SuiteError) as info:
        load_suite(write_suite(tmp_path, text))
    message = str(info.value)
    assert "data.yaml: dataset has no column 'question'" in message
    assert "its columns are q, a, kind" in message


def test_a_hub_dataset_not_in_the_cache_is_one_clear_line(tmp_path: Path) -> None:
    text = "dataset:\n  path: no-such-owner-h5/no-such-set\n  split: test\n"
    with pytest.raises(SuiteError) as info:
        load_suite(write_suite(tmp_path, text))
    message = str(info.value)
    assert "Hub dataset 'no-such-owner-h5/no-such-set' is not in the local cache" in message
    assert "never downloads" in message and "datasets.load_dataset(" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("dataset_yaml", "message"),
    [
        ("dataset:\n  path: x.jsonl\n  colums: {prompt: q}\n", "unknown key 'colums'"),
        ("dataset: openai/gsm8k\n", "dataset must be a table"),
        ("dataset:\n  path: rows.jsonl\n  sample: 0\n", "'sample' must be at least 1"),
        ("dataset:\n  path: missing.jsonl\n", "dataset file .*missing.jsonl.* not found"),
        ("dataset:\n  path: rows.jsonl\n  split: test\n", "cannot read the dataset"),
        ("cases: []\ndataset:\n  path: rows.jsonl\n", "exactly one of 'cases'"),
    ],
)
def test_bad_dataset_tables_are_reported(
    tmp_path: Path, rows_file: Path, dataset_yaml: str, message: str
) -> None:
    with pytest.raises(SuiteError, match=message):
        load_suite(write_suite(tmp_path, dataset_yaml))
