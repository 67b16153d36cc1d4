"""A tiny project on disk for the pipeline, storage and CLI unit tests (not a test module)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.config.settings import Settings, parse_settings
from harness.config.suites import suite_files
from harness.engine.prepare import load_suites, prepare
from harness.engine.run import run
from harness.engine.run_data import RunOutcome
from harness.types import Response

CASES: list[tuple[str, str, str, str]] = [
    ("t-01", "Compute 3 + 4.", "7", "easy"),
    ("t-02", "Compute 6 * 7.", "42", "easy"),
    ("t-03", "Compute 2 + 3 * 4.", "14", "easy"),
    ("t-04", "Compute (8 + 1) * 3 - 4.", "23", "hard"),
    ("t-05", "Compute ((7 + 5) * 2 - 6) * (4 + 1) - 3.", "87", "hard"),
    ("t-06", "Compute ((15 - 6) * (4 + 3) + 8) * 2 - 9.", "133", "hard"),
]

PRICES = {
    "sim:frontier": {"input": 5.0, "output": 15.0},
    "sim:small": {"input": 0.15, "output": 0.6},
}

BATCH = {"name": "batch-frontier", "model": "sim:frontier", "batch": True, "enforce": True}
SMALL = {"name": "small-only", "model": "sim:small"}


# A cache's stream: a repeat, a re-typed repeat, a near-miss, and the facts changing.
FAQ = """\
suite: faq
scorer: {name: fuzzy}
reference: golden
cases:
  - {id: f1, prompt: "How many days do I have to return an item?", knowledge_version: v1}
  - {id: f2, prompt: "how many days do I have to return an item", knowledge_version: v1}
  - {id: f3, prompt: "How many days do I have to return a sale item?", knowledge_version: v1}
  - {id: f4, prompt: "How many days do I have to return an item?", knowledge_version: v2}
"""


def write_suite(
    root: Path,
    cases: Sequence[tuple[str, str, str, str]] = CASES,
    *,
    name: str = "tiny",
    extra: str = "",
) -> Path:
    """Write ``suites/<name>.yaml`` (numeric scorer against the expected answers)."""
    folder = root / "suites"
    folder.mkdir(exist_ok=True)
    lines = [f"suite: {name}\nscorer: numeric\nreference: expected\n{textwrap.dedent(extra)}"]
    lines.append("cases:\n")
    for case_id, prompt, expected, category in cases:
        lines.append(
            f'  - {{id: {case_id}, prompt: "{prompt}", expected: "{expected}", '
            f"category: {category}}}\n"
        )
    path = folder / f"{name}.yaml"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def make_settings(
    root: Path, configs: Sequence[Mapping[str, Any]] = (BATCH, SMALL), **table: Any
) -> Settings:
    """Settings of the tiny project: sim baseline, sim prices, the given configurations."""
    full: dict[str, Any] = {
        "baseline": "sim:frontier",
        "volume": "10k/day",
        "prices": PRICES,
        "configs": [dict(c) for c in configs],
    }
    full.update(table)
    return parse_settings(full, root=root, source="pyproject.toml")


def evaluate(
    settings: Settings,
    *,
    update_goldens: str | None = None,
    recorded: Mapping[str, Response] | None = None,
    configs: Sequence[str] | None = None,
) -> RunOutcome:
    """Prepare and run every (suite, configuration) pair, or only ``configs``."""
    plan = prepare(settings)
    suites = load_suites(suite_files(settings.suites_dir), settings)
    selected = [
        (suite, spec.name)
        for suite in suites
        for spec in settings.configs
        if spec.applies_to(suite) and (configs is None or spec.name in configs)
    ]
    return run(plan, suites, selected, update_goldens=update_goldens, recorded=recorded)


def responses_of(outcome: RunOutcome) -> dict[str, Response]:
    """The responses a run obtained from providers, by request hash."""
    return {key: response for key, (_request, response) in outcome.new_responses.items()}
