"""``harness history``: quality, cost and verdict of each configuration over the last runs."""

from __future__ import annotations

import argparse
import json

from harness.cli.command import Command, add_stored_run_arguments, database_path
from harness.formatting import money, points
from harness.store.runs import load_history


class HistoryCommand(Command):
    """``harness history [--config NAME] [--suite NAME] [--limit N] [--json]``."""

    name = "history"
    help = "Quality, cost and verdict of each configuration over the last runs."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_stored_run_arguments(parser)
        parser.add_argument(
            "--config", dest="config_name", default=None, help="Only this configuration."
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
        rows = load_history(
            database_path(args), config=args.config_name, suite=args.suite, limit=args.limit
        )
        if args.json:
            for row in rows:
                print(
                    json.dumps(
                        {k: float(v) if hasattr(v, "as_tuple") else v for k, v in row.items()}
                    )
                )
            return 0
        if not rows:
            print("no runs match")
            return 0
        for row in rows:
            print(
                f"{row['started_at']}  {row['run_id']}  {str(row['git_sha'] or '')[:8]:<8}  "
                f"{row['suite']} :: {row['config']}: {row['verdict']:<12} quality "
                f"{row['quality']:.3f} ({points(row['delta'])} pts), "
                f"{money(row['cost_per_query'])}/query"
            )
        return 0
