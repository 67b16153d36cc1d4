"""``harness export --parquet DIR``: every run's tables as partitioned Parquet."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.command import Command, add_settings_argument, database_path
from harness.store.runs import export_parquet


class ExportCommand(Command):
    """``harness export --parquet DIR [--db PATH]``: query the results in place."""

    name = "export"
    help = "Write every run's tables as partitioned Parquet (query in place)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--parquet",
            required=True,
            type=Path,
            metavar="DIR",
            help="Folder to write: DIR/<table>/run_id=<id>/*.parquet",
        )
        parser.add_argument(
            "--db", default=None, help="Results database. Default: the 'db' setting"
        )
        add_settings_argument(parser)

    def run(self, args: argparse.Namespace) -> int:
        for table, rows in export_parquet(database_path(args), args.parquet).items():
            print(f"{table}: {rows} rows -> {args.parquet / table}")
        return 0
