"""``harness nightly [PYTEST ARGS...]``: the scheduled regression run."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from harness.cli.command import Command


def run_nightly(pytest_args: Sequence[str]) -> int:
    """Run the suites, compare with the previous run; exit 1 on a regression (quality or
    cost) or a failed gate.

    Equivalent to ``pytest --cost-eval --cost-eval-compare=previous --cost-eval-fail-on-regression``
    plus any arguments given.
    """
    import pytest  # only this command needs it

    code = pytest.main(
        [
            "--cost-eval",
            "--cost-eval-compare=previous",
            "--cost-eval-fail-on-regression",
            *pytest_args,
        ]
    )
    return int(code)


class NightlyCommand(Command):
    """``harness nightly``: everything after the word goes to pytest, options included."""

    name = "nightly"
    help = "Run `pytest --cost-eval`, compare with the previous run, exit 1 on a regression."
    description = (
        "Run `pytest --cost-eval`, compare with the previous run, exit 1 on a regression "
        "of quality or of cost (savings lost beyond max_cost_increase in "
        "[tool.cost-eval.gate], 0.05 by default) or a failed gate. "
        "Replayed answers cannot show provider drift: pass --cost-eval-record-mode all so "
        "every request is asked again (under $CI the record mode defaults to 'none')."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "pytest_args",
            nargs=argparse.REMAINDER,
            help="Extra arguments for pytest (e.g. -k route).",
        )

    def run(self, args: argparse.Namespace) -> int:
        return run_nightly(args.pytest_args)
