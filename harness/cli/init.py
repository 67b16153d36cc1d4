"""``harness init [DIR]``: a starter project that ``pytest --cost-eval`` passes offline.

::

    harness init [DIR]

Writes ``pyproject.toml`` (a ``[tool.cost-eval]`` table: the ``sim:`` models,
their prices, a gate and three configurations), ``suites/arithmetic.yaml``,
``.gitignore`` (``results/``) and ``.github/workflows/cost-eval.yml``, then
records the baseline's goldens from ``sim:frontier`` (simulated: offline, free,
deterministic) so the first ``pytest --cost-eval`` has something to compare
with. Nothing is overwritten: if any of these files exists, nothing is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness import __version__
from harness.cli.command import Command
from harness.config.settings import load_settings
from harness.config.suites import display_path, suite_files
from harness.engine.prepare import load_suites, prepare
from harness.engine.run import run as run_pipeline
from harness.errors import ConfigError

PYPROJECT = """\
# Written by `harness init`: a starter evaluation on simulated models (sim:), offline and
# free. Replace the models with yours (e.g. "openai:gpt-4o" and "openai:gpt-4o-mini"),
# the suite with your questions, then `pytest --cost-eval --cost-eval-update-goldens`.
# Every key is described in the harness README, section "Configuration".

[tool.pytest.ini_options]
# Plain `pytest` runs your tests; `pytest --cost-eval` runs the suites folder.

[tool.cost-eval]
baseline = "sim:frontier"              # the model every configuration is compared with
volume = "10k/day"                     # traffic for the monthly cost projection

[tool.cost-eval.gate]
max_quality_drop = 0.02                # a configuration may lose at most 2 points

[tool.cost-eval.prices."sim:frontier"] # USD per million tokens (real models are priced
input = 5.0                            # by genai-prices unless overridden here)
output = 15.0

[tool.cost-eval.prices."sim:small"]
input = 0.15
output = 0.6

[[tool.cost-eval.configs]]
name = "batch-frontier"                # the same model at batch prices: passes
model = "sim:frontier"
batch = true
enforce = true                         # a failed gate fails the build

[[tool.cost-eval.configs]]
name = "route-length"                  # long questions to the frontier model, short to small

[tool.cost-eval.configs.router]        # this configuration's router
kind = "threshold"
score = "length"                       # the question's length / scale, in [0, 1]
scale = 100
strong = "sim:frontier"
weak = "sim:small"
threshold = 0.3                        # or [0.2, 0.3, 0.4] to compare three, or "sweep"

[[tool.cost-eval.configs]]
name = "small-only"                    # report-only: flagged when it loses quality
model = "sim:small"

[tool.cost-eval.tune]                  # `harness tune`: the cheapest stack that keeps quality
routers = [{ strong = "sim:frontier", weak = "sim:small", score = "length", scale = 100 }]
batch = true                           # batch may be part of a stack (no latency budget)
"""

CASES = (
    ("a-01", "Compute 3 + 4.", "7", "easy"),
    ("a-02", "Compute 12 - 5.", "7", "easy"),
    ("a-03", "Compute 6 * 7.", "42", "easy"),
    ("a-04", "Compute 2 + 3 * 4.", "14", "easy"),
    ("a-05", "Compute 9 * 8 - 10.", "62", "easy"),
    ("a-06", "Compute (8 + 1) * 3 - 4.", "23", "hard"),
    ("a-07", "Compute (5 + 9) * (3 - 1) + 7.", "35", "hard"),
    ("a-08", "Compute (12 - 4) * (6 + 3) - 10 + 2.", "64", "hard"),
    ("a-09", "Compute ((7 + 5) * 2 - 6) * (4 + 1) - 3.", "87", "hard"),
    ("a-10", "Compute ((15 - 6) * (4 + 3) + 8) * 2 - 9.", "133", "hard"),
)

SUITE_HEADER = """\
# Written by `harness init`. A suite is a list of cases sent to every configuration;
# answers are scored against `expected` (or against the baseline's goldens with
# `reference: golden`). The README's "Suites" section has every key.
suite: arithmetic
version: 1
description: Arithmetic questions the simulated models answer (sim:small errs on long ones).
scorer: numeric
reference: expected
cases:
"""

GITIGNORE = """\
# Written by `harness init`: the results database, the report and the Markdown summary.
results/
"""

WORKFLOW = """\
# Written by `harness init`: gate pull requests on the enforced configurations.
# Under $CI the record mode is 'none': answers come from the goldens and the response
# store, so a pull request makes no paid call (sim: models are always run, for free).
# The run appends results/summary.md to the job summary itself.
name: cost-eval

on:
  pull_request:
  push:
    branches: [main]

jobs:
  cost-eval:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with: {{python-version: "3.11"}}
      - uses: actions/cache@v4          # the response store: answers recorded earlier
        with:
          path: results/cost_eval.duckdb
          key: cost-eval-store-${{{{ github.ref_name }}}}-${{{{ github.run_id }}}}
          restore-keys: cost-eval-store-
      - run: python -m pip install "cost-eval-harness=={version}"
      - run: python -m pytest --cost-eval --junitxml=results/cost-eval.xml
      - if: always()
        uses: actions/upload-artifact@v4
        with:
          name: cost-eval-report
          path: |
            results/report.html
            results/summary.md
            results/cost-eval.xml
"""


def starter_files() -> dict[str, str]:
    """What ``harness init`` writes: path (relative to the folder) -> text."""
    suite = SUITE_HEADER + "".join(
        f'  - {{id: {case_id}, prompt: "{prompt}", expected: "{expected}", category: {category}}}\n'
        for case_id, prompt, expected, category in CASES
    )
    return {
        "pyproject.toml": PYPROJECT,
        "suites/arithmetic.yaml": suite,
        ".gitignore": GITIGNORE,
        ".github/workflows/cost-eval.yml": WORKFLOW.format(version=__version__),
    }


def write_starter(folder: Path) -> list[Path]:
    """Write the starter files into ``folder`` (created if missing); the paths written.

    Raises:
        ConfigError: one of the files, or the goldens folder, exists already
            (nothing is written then).
    """
    files = starter_files()
    taken = [name for name in (*files, "goldens") if (folder / name).exists()]
    if taken:
        raise ConfigError(
            f"harness init: {display_path(folder)} already has "
            f"{', '.join(taken)}; init never overwrites a file. Run it in a new folder "
            "(harness init NEW_FOLDER), or copy the [tool.cost-eval] example of the README "
            "into your own pyproject.toml."
        )
    written = []
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def record_starter_goldens(folder: Path) -> dict[str, int]:
    """Record the baseline's goldens of every suite in ``folder`` (sim: models only, so
    offline); goldens written per suite."""
    settings = load_settings(folder)
    plan = prepare(settings)
    suites = load_suites(suite_files(settings.suites_dir), settings)
    selected = [(name, spec.name) for name in suites for spec in settings.configs]
    outcome = run_pipeline(plan, suites, selected, update_goldens="new", record_mode="none")
    return dict(outcome.goldens_written)


class InitCommand(Command):
    """``harness init [DIR]``: a starter project, its goldens recorded."""

    name = "init"
    help = "Write a starter project (settings, a suite, goldens, CI workflow) into a folder."
    description = (
        "Write a starter project into DIR (default: the current folder): pyproject.toml with "
        "a [tool.cost-eval] table on simulated models, suites/arithmetic.yaml, the baseline's "
        "goldens recorded from sim:frontier (offline, free), .gitignore for results/ and "
        ".github/workflows/cost-eval.yml. Existing files are never overwritten. Then run "
        "`python -m pytest --cost-eval` there."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "folder", nargs="?", default=".", metavar="DIR", help="Where. Default: here"
        )

    def run(self, args: argparse.Namespace) -> int:
        folder = Path(args.folder)
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"harness init: {args.folder} is a file, not a folder.")
        written = write_starter(folder)
        recorded = record_starter_goldens(folder)
        print(f"harness init: wrote a starter project in {display_path(folder)}:")
        for path in written:
            print(f"  {display_path(path)}")
        for suite, count in recorded.items():
            goldens = display_path(folder / "goldens" / suite)
            print(f"  {goldens}/: {count} golden(s) recorded from sim:frontier")
        where = "" if folder.resolve() == Path.cwd().resolve() else f"cd {args.folder} && "
        print(f"next: {where}python -m pytest --cost-eval")
        return 0
