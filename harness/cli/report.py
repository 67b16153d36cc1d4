"""``harness report``: re-render the HTML report of a stored run."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.command import Command, add_stored_run_arguments, default_paths
from harness.report import MAX_CASES, render_report
from harness.store.run_queries import load_report_run


class ReportCommand(Command):
    """``harness report [--run latest|RUN_ID] [--db PATH] [--out PATH]``."""

    name = "report"
    help = "Re-render the HTML report of a stored run."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_stored_run_arguments(parser)
        parser.add_argument(
            "--out",
            default=None,
            help="Where to write it. Default: the 'report' setting, results/report.html",
        )

    def run(self, args: argparse.Namespace) -> int:
        db_default, report_default = default_paths(args.settings)
        db = Path(args.db) if args.db else db_default
        # The summaries and the cases the page shows, selected in SQL: never every result.
        stored = load_report_run(db, args.run, max_cases=MAX_CASES)
        out = render_report(stored, Path(args.out) if args.out else report_default, db=db)
        print(f"wrote {out} (run {stored.run['run_id']})")
        return 0
