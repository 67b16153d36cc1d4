"""Constants and helpers shared by the tests."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.fakes.llm_server import Reply

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"

LATEST_RUN = "(SELECT run_id FROM runs ORDER BY started_at DESC, rowid DESC LIMIT 1)"
"""SQL for the latest stored run's id. Runs started in the same second (they are fast)
are told apart by insertion order, as ``harness`` itself does; never by run id."""


def latest_run_rows(root: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` over ``root/results/cost_eval.duckdb``; each ``?`` is the latest
    run's id."""
    with duckdb.connect(str(root / "results" / "cost_eval.duckdb"), read_only=True) as con:
        return con.execute(sql.replace("?", LATEST_RUN)).fetchall()


MINI_SUITE = """\
suite: mini
version: 1
description: Tiny arithmetic suite for the plugin's tests.
scorer: numeric
reference: expected
cases:
"""

MINI_CASES = [
    ("m-01", "Compute 3 + 4.", "7", "easy"),
    ("m-02", "Compute 12 - 5.", "7", "easy"),
    ("m-03", "Compute 6 * 7.", "42", "easy"),
    ("m-04", "Compute 2 + 3 * 4.", "14", "easy"),
    ("m-05", "Compute (8 + 1) * 3 - 4.", "23", "hard"),
    ("m-06", "Compute (5 + 9) * (3 - 1) + 7.", "35", "hard"),
    ("m-07", "Compute (12 - 4) * (6 + 3) - 10 + 2.", "64", "hard"),
    ("m-08", "Compute ((7 + 5) * 2 - 6) * (4 + 1) - 3.", "87", "hard"),
    ("m-09", "Compute (9 * 3 - 4) * (2 + 8) - (6 + 5) * 2.", "208", "hard"),
    ("m-10", "Compute ((15 - 6) * (4 + 3) + 8) * 2 - 9.", "133", "hard"),
]

PROJECT_HEAD = """\
[tool.cost-eval]
baseline = "sim:frontier"
volume = "10k/day"

[tool.cost-eval.gate]
max_quality_drop = 0.02

[tool.cost-eval.prices."sim:frontier"]
input = 5.0
output = 15.0

[tool.cost-eval.prices."sim:small"]
input = 0.15
output = 0.6
"""
"""The simulated baseline, the gate and both simulated models' prices: how every mini
project starts (each adds its configurations, some a provider)."""

OPENAI_PROVIDER = """
[tool.cost-eval.providers.openai]
base_url = "{openai}"
max_retries = 0
"""
"""The ``openai`` provider at the fake server (``.format(openai=fake_llm.openai_base_url)``)."""

PYPROJECT = (
    PROJECT_HEAD
    + """
[[tool.cost-eval.configs]]
name = "batch-frontier"
model = "sim:frontier"
batch = true
enforce = true

[[tool.cost-eval.configs]]
name = "small-only"
model = "sim:small"
{small_enforce}
"""
)


def mini_suite_text(cases: list[tuple[str, str, str, str]] | None = None) -> str:
    """The YAML of the mini suite (optionally with other cases)."""
    lines = [MINI_SUITE]
    for case_id, prompt, expected, category in cases or MINI_CASES:
        lines.append(
            f'  - {{id: {case_id}, prompt: "{prompt}", expected: "{expected}", '
            f"category: {category}}}\n"
        )
    return "".join(lines)


def judge_reply(winner: str, rationale: str, usage: Mapping[str, int] | None = None) -> Reply:
    """A chat completion whose text is a judge's JSON verdict; ``usage``, when given,
    replaces the computed token usage (so every call costs a known amount)."""
    text = json.dumps({"winner": winner, "rationale": rationale})
    patch: dict[str, Any] = {
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ]
    }
    if usage is not None:
        patch["usage"] = dict(usage)
    return Reply(patch=patch)


def set_pyproject(pytester: pytest.Pytester, text: str) -> None:
    """Replace the project's pyproject.toml."""
    (pytester.path / "pyproject.toml").write_text(textwrap.dedent(text))
