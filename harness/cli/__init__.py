"""The ``harness`` command: work with stored runs without running pytest.

::

    harness report  [--run latest|RUN_ID] [--db PATH] [--out PATH]
    harness summary [--run latest|RUN_ID] [--db PATH] [--json]
    harness history [--config NAME] [--suite NAME] [--limit N] [--json]
    harness compare [--run latest|RUN_ID] [--against previous|RUN_ID] [--json]
    harness import  recordings FILE... --suite NAME --baseline MODEL
    harness import  routellm --suite NAME ...
    harness export  --parquet DIR [--db PATH]
    harness nightly [PYTEST ARGS...]
    harness sweep   --suite NAME --router SPEC --strong MODEL --weak MODEL [--json]
    harness cache   --suite NAME [--traffic FILE] [--embedder SPEC] [--json]
    harness cache   --pairs FILE [--isolated] [--embedder SPEC] [--json]

Paths default to the ``[tool.cost-eval]`` settings of the project in the
current directory (``results/cost_eval.duckdb``, ``results/report.html``).
Errors print one paragraph and exit 2; never a traceback.

Each command is a :class:`~harness.cli.command.Command` subclass in its own
module; :data:`COMMANDS` holds one instance of each, in the order ``harness
--help`` shows them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from harness.cli.cache import CacheCommand
from harness.cli.command import Command
from harness.cli.compare import CompareCommand
from harness.cli.export import ExportCommand
from harness.cli.history import HistoryCommand
from harness.cli.import_recordings import ImportCommand
from harness.cli.nightly import NightlyCommand, run_nightly
from harness.cli.report import ReportCommand
from harness.cli.summary import SummaryCommand, summary_object
from harness.cli.sweep import SweepCommand
from harness.errors import CostEvalError

COMMANDS: tuple[Command, ...] = (
    ReportCommand(),
    SummaryCommand(),
    HistoryCommand(),
    CompareCommand(),
    ImportCommand(),
    SweepCommand(),
    CacheCommand(),
    ExportCommand(),
    NightlyCommand(),
)
"""Every subcommand, in the order of ``harness --help``."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``harness`` command."""
    parser = argparse.ArgumentParser(
        prog="harness",
        description="Evaluate what LLM cost optimizations save and what they cost in quality.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_arguments(
            subparsers.add_parser(command.name, help=command.help, description=command.description)
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``harness`` console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["nightly"] and not {"-h", "--help"} & set(arguments[1:2]):
        # Everything after `nightly` is for pytest, options included.
        return run_nightly(arguments[1:])
    args = build_parser().parse_args(arguments)
    by_name = {command.name: command for command in COMMANDS}
    try:
        return by_name[args.command].run(args)
    except CostEvalError as exc:
        print(f"harness: {exc}", file=sys.stderr)
        return 2


__all__ = ["COMMANDS", "build_parser", "main", "summary_object"]
