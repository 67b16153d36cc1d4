"""What every ``harness`` subcommand is: a name, its arguments and what it does.

A new command is a :class:`Command` subclass in its own module of this package,
listed in :data:`harness.cli.COMMANDS`; :func:`harness.cli.main` builds the
parser from that table and dispatches to :meth:`Command.run`.
"""

from __future__ import annotations

import argparse
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from harness.config.settings import load_settings
from harness.config.settings_file import find_settings_file
from harness.errors import CostEvalError


class Command(ABC):
    """One subcommand of ``harness``."""

    name: ClassVar[str]
    """What the user types: ``harness <name>``."""
    help: ClassVar[str]
    """One line for ``harness --help``."""
    description: ClassVar[str | None] = None
    """The paragraph of ``harness <name> --help`` (None: argparse's default)."""

    @abstractmethod
    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add this command's flags to its subparser."""

    @abstractmethod
    def run(self, args: argparse.Namespace) -> int:
        """Carry the command out; the exit status (errors raise :class:`CostEvalError`)."""


def add_stored_run_arguments(parser: argparse.ArgumentParser) -> None:
    """``--run``, ``--db`` and ``--settings``: the flags of commands that read a stored run."""
    parser.add_argument(
        "--run",
        default="latest",
        help="Run id (or a unique prefix), or 'latest'. Default: %(default)s",
    )
    parser.add_argument(
        "--db",
        default=None,
        help="Results database. Default: the 'db' setting, results/cost_eval.duckdb",
    )
    add_settings_argument(parser)


def add_response_store_arguments(parser: argparse.ArgumentParser) -> None:
    """``--record-mode``, ``--db`` and ``--settings``: commands that answer from the response
    store and may call paid providers for what it lacks (sweep, tune)."""
    parser.add_argument(
        "--record-mode",
        choices=("none", "new", "all"),
        default=None,
        help="When paid providers may be called. Default: 'none' when $CI is set, else 'new'",
    )
    parser.add_argument(
        "--db",
        default=None,
        help="Results database holding the response store. Default: the 'db' setting",
    )
    add_settings_argument(parser)


def add_settings_argument(parser: argparse.ArgumentParser) -> None:
    """``--settings PATH``: the settings file, when not ``cost-eval.toml`` or ``pyproject.toml``."""
    parser.add_argument(
        "--settings",
        default=None,
        metavar="PATH",
        help="Settings file (TOML with [tool.cost-eval]). Default: cost-eval.toml, else "
        "pyproject.toml",
    )


def settings_note(args: argparse.Namespace) -> str | None:
    """Which settings file is read when both ``cost-eval.toml`` and a ``pyproject.toml``
    table are in the folder (None when there is no choice, or ``--settings`` made it)."""
    if not hasattr(args, "settings") or args.settings:
        return None
    try:
        return find_settings_file(Path.cwd(), None).note
    except CostEvalError:
        return None  # no settings here: the command says so if it needs them


def default_paths(settings_path: str | None) -> tuple[Path, Path]:
    """The db and report paths from the project's settings, or the defaults."""
    root = Path.cwd()
    try:
        settings = load_settings(root, settings_path)
    except CostEvalError:
        if settings_path:
            raise
        return root / "results" / "cost_eval.duckdb", root / "results" / "report.html"
    return settings.db, settings.report


def database_path(args: argparse.Namespace) -> Path:
    """``--db``, else the project's ``db`` setting, else ``results/cost_eval.duckdb``."""
    # The settings are read even with --db: a broken --settings file is reported.
    db_default = default_paths(args.settings)[0]
    return Path(args.db) if args.db else db_default


__all__ = [
    "Command",
    "add_settings_argument",
    "add_stored_run_arguments",
    "database_path",
    "default_paths",
    "settings_note",
]
