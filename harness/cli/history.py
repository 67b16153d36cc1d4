"""``harness history``: quality, cost and verdict of each configuration over the last runs."""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from harness.cli.command import Command, add_stored_run_arguments, database_path
from harness.errors import CostEvalError
from harness.formatting import cost_change, money, points, verdict_mode, verdict_word
from harness.store.runs import load_history

COLUMNS = ("started", "run", "git", "suite :: configuration", "verdict", "quality", "Δ pts",
           "cost/query", "vs baseline", "errors")  # fmt: skip
"""The text table's columns; the numeric ones are right-aligned."""
NUMERIC = frozenset({"quality", "Δ pts", "cost/query", "errors"})


def matches_config(config: str, name: str) -> bool:
    """``name`` is ``config`` or its base name: ``route`` matches ``route[threshold=0.5]``."""
    return config == name or config.startswith(f"{name}[")


def history_cells(row: Mapping[str, Any]) -> tuple[str, ...]:
    """One row of the text table: the values of :data:`COLUMNS`, as text.

    Quality and cost are over the answered cases; a run that answered none shows
    ``no answers`` and no cost (errors are never savings).
    """
    word = verdict_word(str(row["verdict"]), enforced=bool(row["enforced"]))
    mode = verdict_mode(enforced=bool(row["enforced"]), verdict=str(row["verdict"]))
    answered, errors = int(row["n"] or 0), int(row["errors"] or 0)
    head = (
        str(row["started_at"])[:19],
        str(row["run_id"]),
        str(row["git_sha"] or "")[:8],
        f"{row['suite']} :: {row['config']}",
        f"{word} ({mode})",
    )
    error_text = f"{errors} of {answered + errors}" if errors else "0"
    if answered == 0:
        return (*head, "no answers", "", "", "", error_text)
    return (
        *head,
        f"{float(row['quality']):.3f}",
        points(float(row["delta"])),
        money(row["cost_per_query"]),
        cost_change(float(row["savings_pct"])),
        error_text,
    )


def print_table(rows: Sequence[tuple[str, ...]]) -> None:
    """The rows under :data:`COLUMNS` through rich: aligned columns, never wrapped.

    On a terminal, bold headers; written to a pipe or a file, plain text (no
    colour codes, no box), one line per row whatever its length.
    """
    from rich.console import Console  # only this command draws tables
    from rich.table import Table
    from rich.text import Text

    plain = not sys.stdout.isatty()
    # Rendered to a string and printed: a closed pipe (`| head`) then ends the command
    # as every other output does (rich would exit 1 on its own).
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=not plain,
        no_color=plain,
        highlight=False,
        # Plain text is read by grep and editors, not fitted to a window.
        width=100_000 if plain else shutil.get_terminal_size().columns,
        color_system=None if plain else "auto",
    )
    table = Table(box=None, show_edge=False, pad_edge=False, header_style="" if plain else "bold")
    for column in COLUMNS:
        table.add_column(column, justify="right" if column in NUMERIC else "left", no_wrap=True)
    for cells in rows:
        # Text, not markup: "route[threshold=0.5]" would otherwise be read as a style tag.
        table.add_row(*(Text(cell) for cell in cells))
    console.print(table, soft_wrap=plain, crop=False)
    print(buffer.getvalue(), end="")


class HistoryCommand(Command):
    """``harness history [--config NAME] [--suite NAME] [--limit N] [--json]``."""

    name = "history"
    help = "Quality, cost and verdict of each configuration over the last runs."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_stored_run_arguments(parser)
        parser.add_argument(
            "--config",
            dest="config_name",
            default=None,
            help="Only this configuration; a base name takes every point of its sweep "
            "(route matches route[threshold=0.5]).",
        )
        parser.add_argument("--suite", default=None, help="Only this suite.")
        parser.add_argument(
            "--limit",
            type=int,
            default=30,
            help="How many runs, newest first. Default: %(default)s",
        )
        parser.add_argument("--json", action="store_true", help="One JSON object per line.")

    def run(self, args: argparse.Namespace) -> int:
        recent = load_history(database_path(args), limit=args.limit)
        rows = [
            row
            for row in recent
            if (args.suite is None or row["suite"] == args.suite)
            and (args.config_name is None or matches_config(str(row["config"]), args.config_name))
        ]
        if recent and not rows:
            # A name that matches nothing is a typo more often than an empty history.
            configs = ", ".join(sorted({str(r["config"]) for r in recent}))
            suites = ", ".join(sorted({str(r["suite"]) for r in recent}))
            raise CostEvalError(
                f"no run among the last {args.limit} has "
                + " and ".join(
                    part
                    for part in (
                        f"configuration {args.config_name!r}" if args.config_name else "",
                        f"suite {args.suite!r}" if args.suite else "",
                    )
                    if part
                )
                + f". Their configurations: {configs}; their suites: {suites}. A sweep's "
                "base name takes all its points (route matches route[threshold=0.5]); "
                "--limit looks further back."
            )
        if args.json:
            for row in rows:
                record = {k: float(v) if hasattr(v, "as_tuple") else v for k, v in row.items()}
                record["label"] = verdict_word(str(row["verdict"]), enforced=bool(row["enforced"]))
                print(json.dumps(record, default=str))
            return 0
        if not rows:
            print("no runs yet: `pytest --cost-eval` stores one")
            return 0
        print_table([history_cells(row) for row in rows])
        return 0
