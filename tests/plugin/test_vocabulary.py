"""One vocabulary (#17): every output of the same run says the same verdict words and counts.

The run has one pair of each kind: an enforced pass, an enforced inconclusive, an
enforced configuration that answered nothing (verdict ``error``, shown ``fail``)
and a report-only non-pass (``flagged``). The terminal, ``harness summary`` (text
and JSON), ``summary.md``, ``harness history`` (text and JSON), the JUnit XML and
the HTML report must agree pair by pair and in their counts.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

from harness.cli import main
from harness.formatting import VERDICT_WORDS

EXTRA = """
[[tool.cost-eval.configs]]
name = "strict-small"
model = "sim:small"
enforce = true

[tool.cost-eval.configs.gate]
max_quality_drop = 0.15  # a 30-point drop with CI [-60, -10]: neither within nor beyond
max_category_drop = 1.0
"""
UNRECORDED = """
[[tool.cost-eval.configs]]
name = "unrecorded"
model = "openai:gpt-4o-mini"
enforce = true
"""

EXPECTED = {
    "batch-frontier": "pass",
    "small-only": "flagged",
    "strict-small": "inconclusive",
    "unrecorded": "fail",
}
COUNTS = Counter(EXPECTED.values())
COUNTS_LINE = "1 pass, 1 fail, 1 inconclusive, 1 flagged (report-only) of 4"


def words_in_lines(lines: list[str], pattern: str) -> dict[str, str]:
    """``{config: word}`` from lines matching ``pattern`` (groups: word, config)."""
    found = {}
    for line in lines:
        match = re.search(pattern, line)
        if match:
            found[match.group(2)] = match.group(1).lower()
    return found


@pytest.fixture
def run_everything(
    mini_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> tuple[pytest.Pytester, pytest.RunResult]:
    """One run of the four pairs, stored, reported and written to JUnit XML."""
    pyproject = mini_project.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + EXTRA)
    mini_project.runpytest("--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider")
    pyproject.write_text(pyproject.read_text() + UNRECORDED)
    monkeypatch.setenv("CI", "true")  # record mode 'none': the OpenAI model is never asked
    result = mini_project.runpytest(
        "--cost-eval", "-p", "no:cacheprovider", "--junitxml=results/junit.xml"
    )
    monkeypatch.chdir(mini_project.path)
    return mini_project, result


def test_every_output_says_the_same_words_and_counts(
    run_everything: tuple[pytest.Pytester, pytest.RunResult],
    capsys: pytest.CaptureFixture[str],
) -> None:
    project, result = run_everything
    results = project.path / "results"
    pair = r"mini :: ([\w-]+)"

    # The terminal summary.
    terminal = result.stdout.lines
    assert words_in_lines(terminal, rf"^  ([A-Z]+) +{pair} \(") == EXPECTED
    assert f"verdicts: {COUNTS_LINE}" in terminal
    assert "no answers (10 error(s))" in result.stdout.str()

    # harness summary, text and JSON.
    capsys.readouterr()
    assert main(["summary"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert words_in_lines(text, rf"^([A-Z]+) +{pair} \(") == EXPECTED
    assert f"verdicts: {COUNTS_LINE}" in text
    assert main(["summary", "--json"]) == 0
    objects = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {o["config"]: o["label"] for o in objects} == EXPECTED
    assert {o["config"]: o["enforced"] for o in objects} == {
        "batch-frontier": True,
        "small-only": False,
        "strict-small": True,
        "unrecorded": True,
    }
    assert {o["verdict"] for o in objects} <= {"pass", "fail", "inconclusive", "error"}

    # summary.md.
    markdown = (results / "summary.md").read_text(encoding="utf-8").splitlines()
    rows = [line for line in markdown if line.startswith("| mini |")]
    by_config = {}
    for row in rows:
        cells = [cell.strip() for cell in row.split("|")]
        by_config[cells[2].split("`")[1]] = cells[3].split()[1]
    assert by_config == EXPECTED
    assert f"**Verdicts:** {COUNTS_LINE} (suite, configuration) pairs." in markdown
    why = "\n".join(markdown[markdown.index("<details><summary>Why not passing</summary>") :])
    assert "batch-frontier" not in why

    # harness history, text and JSON.
    assert main(["history"]) == 0
    table = capsys.readouterr().out.splitlines()
    history = {}
    for line in table[1:]:
        match = re.search(
            rf"{pair} +(\w+) \((enforced|report-only)(?:: (?:fail|inconclusive))?\)", line
        )
        assert match, line
        history[match.group(1)] = match.group(2)
    assert history == EXPECTED
    assert main(["history", "--json"]) == 0
    rows_json = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["config"]: r["label"] for r in rows_json} == EXPECTED

    # JUnit XML: one property per test case.
    tree = ET.parse(results / "junit.xml")
    junit = {}
    for case in tree.iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        junit[case.get("name")] = props["cost_eval_label"]
    assert junit == EXPECTED

    # The HTML report: each row's badge and the header's cards.
    html = (results / "report.html").read_text(encoding="utf-8")
    badges = {}
    for row in re.findall(r'<tr class="verdict-row"[^>]*>.*?</tr>', html, flags=re.S):
        config = re.search(r"<code>([\w-]+)</code>", row)
        label = re.search(r'<span class="badge (\w+)"[^>]*>(\w+)</span>', row)
        assert config and label, row
        assert label.group(1) == label.group(2)
        badges[config.group(1)] = label.group(2)
    assert badges == EXPECTED
    tiles = dict(
        (css, int(num))
        for css, num in re.findall(r'<div class="tile (\w+)"><div class="num">(\d+)</div>', html)
    )
    assert {word: tiles[word] for word in VERDICT_WORDS} == {w: COUNTS[w] for w in VERDICT_WORDS}
