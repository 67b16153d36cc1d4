"""``harness validate [--settings PATH]``: the project checked without running anything.

Exit 0 when a run could start (settings, configurations, suites and goldens all
usable), else exit 2 with every problem listed, each naming its file, key or
line and the fix. No provider is called and nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli.command import Command, add_settings_argument
from harness.config.settings import load_settings
from harness.engine.validation import check_project
from harness.errors import CostEvalError


class ValidateCommand(Command):
    """``harness validate``: settings, suites and goldens checked; exit 0 or 2."""

    name = "validate"
    help = "Check the settings, suites and goldens without running anything (exit 0 or 2)."
    description = (
        "Check the project in the current folder without calling any model: the settings "
        "file, every configuration (strategies, models, prices), every suite file, the "
        "suites configurations name, and the baseline's goldens (missing or stale). Exit 0 "
        "when a run could start; else exit 2, listing every problem with its fix."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_settings_argument(parser)

    def run(self, args: argparse.Namespace) -> int:
        try:
            settings = load_settings(Path.cwd(), args.settings)
        except CostEvalError as exc:
            # Nothing else can be checked without the settings.
            print(f"harness validate: 1 problem:\n  - {exc}", file=sys.stderr)
            return 2
        check = check_project(settings)
        for warning in check.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if check.problems:
            print(f"harness validate: {len(check.problems)} problem(s):", file=sys.stderr)
            for problem in check.problems:
                print("  - " + problem.replace("\n", "\n    "), file=sys.stderr)
            return 2
        print(
            f"ok: {settings.source}: {check.configs} configuration(s), "
            f"{len(check.suites)} suite(s) ({', '.join(check.suites)}), {check.cases} case(s), "
            f"{check.goldens} golden(s) recorded and current"
        )
        return 0
