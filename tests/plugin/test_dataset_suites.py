"""Suites that name a `datasets` dataset, run end to end under `pytest --cost-eval`."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import datasets
import pytest

from tests.helpers import LATEST_RUN, MINI_CASES, PYPROJECT

ROWS = [
    {"question": prompt, "answer": expected, "level": category, "qid": case_id}
    for case_id, prompt, expected, category in MINI_CASES
]


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("--cost-eval", "-p", "no:cacheprovider", *args)


def project(pytester: pytest.Pytester, dataset_yaml: str) -> Path:
    pytester.makefile(".toml", pyproject=PYPROJECT.format(small_enforce=""))
    suites = pytester.path / "suites"
    suites.mkdir()
    (suites / "data.yaml").write_text(
        "suite: data\nscorer: numeric\nreference: expected\n" + dataset_yaml
    )
    return suites


def golden_ids(pytester: pytest.Pytester) -> list[str]:
    path = pytester.path / "goldens" / "data" / "sim_frontier.jsonl"
    return [json.loads(line)["case_id"] for line in path.read_text().splitlines()]


def test_saved_dataset_folder_is_a_suite_with_goldens_and_stale_detection(
    pytester: pytest.Pytester,
) -> None:
    suites = project(
        pytester,
        "dataset:\n  path: mini_ds\n"
        "  columns: {prompt: question, expected: answer, category: level, id: qid}\n",
    )
    datasets.Dataset.from_list(ROWS).save_to_disk(str(suites / "mini_ds"))

    recorded = run(pytester, "--cost-eval-update-goldens")
    recorded.assert_outcomes(passed=2)
    recorded.stdout.fnmatch_lines(["*recorded 10 golden(s) for suite 'data'*"])
    assert golden_ids(pytester) == [case_id for case_id, *_ in MINI_CASES]

    again = run(pytester)  # same data, same ids and request hashes: nothing stale
    again.assert_outcomes(passed=2)
    assert "golden(s) are stale" not in again.stdout.str()

    changed = [dict(row) for row in ROWS]
    changed[2]["question"] = "Compute 6 * 8."
    shutil.rmtree(suites / "mini_ds")
    datasets.Dataset.from_list(changed).save_to_disk(str(suites / "mini_ds"))
    result = run(pytester)
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    assert "1 golden(s) are stale" in out and "'m-03'" in out
    assert "Traceback" not in out


def test_json_files_are_a_suite_with_row_ids_filter_and_stale_detection(
    pytester: pytest.Pytester,
) -> None:
    suites = project(
        pytester,
        "dataset:\n  files: [part-a.jsonl, part-b.json]\n"
        "  columns: {prompt: question, expected: answer}\n"
        "  filter: {level: hard}\n",
    )
    (suites / "part-a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS[:5]))
    (suites / "part-b.json").write_text(json.dumps(ROWS[5:]))

    recorded = run(pytester, "--cost-eval-update-goldens")
    recorded.assert_outcomes(passed=2)
    # Without an id column a case is named by its row in the split; the filter keeps
    # the six "hard" rows (m-05 .. m-10 are rows 5 to 10).
    assert golden_ids(pytester) == [f"row-{n}" for n in range(5, 11)]

    rows = json.loads((suites / "part-b.json").read_text())
    rows[0]["question"] = "Compute (5 + 9) * (3 - 1) + 8."
    (suites / "part-b.json").write_text(json.dumps(rows))
    result = run(pytester)
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    assert "1 golden(s) are stale" in out and "'row-6'" in out
    assert "Traceback" not in out


WORD_OVERLAP = """\
import re

import datasets
import evaluate


class WordOverlap(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="Share of the reference's words found in the prediction.",
            citation="",
            inputs_description="",
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
        )

    def _compute(self, predictions, references):
        shares = []
        for prediction, reference in zip(predictions, references):
            wanted = set(re.findall(r"\\w+", reference.lower()))
            got = set(re.findall(r"\\w+", prediction.lower()))
            shares.append(len(wanted & got) / len(wanted))
        return {"overlap": 100 * sum(shares) / len(shares), "pairs": len(shares)}
"""


def test_a_local_evaluate_metric_scores_a_dataset_suite(pytester: pytest.Pytester) -> None:
    import duckdb
    import evaluate  # noqa: F401  # loaded once here, not anew by each in-process run

    suites = project(
        pytester,
        "dataset:\n  path: rows.jsonl\n  columns: {prompt: question, expected: answer}\n",
    )
    text = (
        (suites / "data.yaml")
        .read_text()
        .replace(
            "scorer: numeric",
            "scorer: {name: evaluate, metric: metrics/word_overlap.py, key: overlap, scale: 100}",
        )
    )
    (suites / "data.yaml").write_text(text)
    (suites / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    (pytester.path / "metrics").mkdir()
    (pytester.path / "metrics" / "word_overlap.py").write_text(WORD_OVERLAP)

    run(pytester, "--cost-eval-update-goldens").assert_outcomes(passed=2)
    result = run(pytester)
    assert "Traceback" not in result.stdout.str()
    with duckdb.connect(str(pytester.path / "results" / "cost_eval.duckdb"), read_only=True) as con:
        rows = con.execute(
            f"SELECT config, output, expected, score FROM results WHERE run_id = {LATEST_RUN}"
        ).fetchall()
    assert len(rows) == 20
    for _config, output, expected, score in rows:
        wanted = set(re.findall(r"\w+", expected.lower()))
        got = set(re.findall(r"\w+", output.lower()))
        assert score == pytest.approx(len(wanted & got) / len(wanted))
    # The small model gets some answers wrong: the metric's scores are not all 1.
    assert {score for config, *_, score in rows if config == "small-only"} != {1.0}
