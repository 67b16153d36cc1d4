"""Constants and helpers shared by the tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"

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

PYPROJECT = """\
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


def mini_suite_text(cases: list[tuple[str, str, str, str]] | None = None) -> str:
    """The YAML of the mini suite (optionally with other cases)."""
    lines = [MINI_SUITE]
    for case_id, prompt, expected, category in cases or MINI_CASES:
        lines.append(
            f'  - {{id: {case_id}, prompt: "{prompt}", expected: "{expected}", '
            f"category: {category}}}\n"
        )
    return "".join(lines)


def set_pyproject(pytester: pytest.Pytester, text: str) -> None:
    """Replace the project's pyproject.toml."""
    (pytester.path / "pyproject.toml").write_text(textwrap.dedent(text))
