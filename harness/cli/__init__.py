"""The ``harness`` command: work with stored runs without running pytest.

::

    harness init    [DIR]
    harness validate [--settings PATH]
    harness report  [--run latest|RUN_ID] [--db PATH] [--out PATH]
    harness summary [--run latest|RUN_ID] [--db PATH] [--json]
    harness history [--config NAME] [--suite NAME] [--limit N] [--json]
    harness compare [RUN_A RUN_B] [--run latest|RUN_ID] [--against previous|RUN_ID] [--json]
    harness import  recordings FILE... --suite NAME --baseline MODEL
    harness import  routellm --suite NAME ...
    harness import  traces FILE... [--format otlp|openai|litellm] [--db PATH]
    harness monitor [--window day|week] [--config NAME] [--json] [--fail-on-drift]
    harness sample  --n N --out suites/prod.yaml [--days D] [--seed S]
    harness export  --parquet DIR [--db PATH]
    harness nightly [PYTEST ARGS...]
    harness sweep   --suite NAME --router SPEC --strong MODEL --weak MODEL [--json]
    harness tune    [--suite NAME ...] [--json]
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
import os
import select
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from harness import __version__
from harness.cli.cache import CacheCommand
from harness.cli.command import Command, settings_note
from harness.cli.compare import CompareCommand
from harness.cli.export import ExportCommand
from harness.cli.history import HistoryCommand
from harness.cli.import_recordings import ImportCommand
from harness.cli.init import InitCommand
from harness.cli.monitor import MonitorCommand
from harness.cli.nightly import NightlyCommand, run_nightly
from harness.cli.report import ReportCommand
from harness.cli.sample import SampleCommand
from harness.cli.summary import SummaryCommand, summary_object
from harness.cli.sweep import SweepCommand
from harness.cli.tune import TuneCommand
from harness.cli.validate import ValidateCommand
from harness.errors import CostEvalError

COMMANDS: tuple[Command, ...] = (
    InitCommand(),
    ValidateCommand(),
    ReportCommand(),
    SummaryCommand(),
    HistoryCommand(),
    CompareCommand(),
    ImportCommand(),
    MonitorCommand(),
    SampleCommand(),
    SweepCommand(),
    TuneCommand(),
    CacheCommand(),
    ExportCommand(),
    NightlyCommand(),
)
"""Every subcommand, in the order of ``harness --help``."""


DISTRIBUTION = "cost-eval-harness"
"""The name pip knows the package by (``pyproject.toml``'s ``[project] name``)."""

BROKEN_PIPE_EXIT = 141
"""Exit status when the reader of our output went away (``harness history | head -1``):
128 + SIGPIPE, what ``seq 100000 | head -1`` reports, so ``set -o pipefail`` scripts
see the same as with any other Unix tool."""


def harness_version() -> str:
    """The installed package's version (``harness.__version__`` from a plain checkout)."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        # Run from a source tree that was never installed.
        return __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``harness`` command."""
    parser = argparse.ArgumentParser(
        prog="harness",
        description=f"harness {harness_version()}: evaluate what LLM cost optimizations save "
        "and what they cost in quality.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {harness_version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_arguments(
            subparsers.add_parser(command.name, help=command.help, description=command.description)
        )
    return parser


def reader_gone() -> bool:
    """Whether our standard output is a pipe whose reader has closed it."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return False  # not a file descriptor (captured), or no poll on this platform


def error_line(exc: CostEvalError) -> str:
    """The one line printed for an error: prefixed ``harness:`` once.

    Some messages already name their command (``harness sweep: ...``); they are
    printed as they are rather than as ``harness: harness sweep: ...``.
    """
    message = str(exc)
    if message.startswith(("harness:", "harness ")):
        return message
    return f"harness: {message}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``harness`` console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        code = dispatch(arguments)
        # Flushed here, not at exit: a reader that went away is then caught below.
        sys.stdout.flush()
    except BrokenPipeError:
        if not reader_gone():
            raise  # another pipe broke (a provider's socket...): a real error
        # `harness history | head -1`: the reader has what it wanted. Python would
        # flush stdout again at exit and print a traceback; point it at /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return BROKEN_PIPE_EXIT
    return code


def dispatch(arguments: list[str]) -> int:
    """Parse ``arguments`` and run the command they name; errors print one line, exit 2."""
    if arguments[:1] == ["nightly"] and not {"-h", "--help"} & set(arguments[1:2]):
        # Everything after `nightly` is for pytest, options included.
        return run_nightly(arguments[1:])
    args = build_parser().parse_args(arguments)
    by_name = {command.name: command for command in COMMANDS}
    note = settings_note(args)
    if note:
        print(f"harness: note: {note}", file=sys.stderr)
    try:
        return by_name[args.command].run(args)
    except CostEvalError as exc:
        print(error_line(exc), file=sys.stderr)
        return 2


__all__ = ["COMMANDS", "build_parser", "main", "summary_object"]
