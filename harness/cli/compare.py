"""``harness compare``: what changed between two runs, with intervals and flipped cases."""

from __future__ import annotations

import argparse
import json

from harness.analysis.compare import (
    compare_runs,
    describe_change,
    describe_uncompared,
    uncompared_pairs,
)
from harness.cli.command import Command, add_stored_run_arguments, database_path
from harness.stats.bootstrap import DEFAULT_SEED
from harness.store.runs import load_scores, previous_run_id


class CompareCommand(Command):
    """``harness compare [--run latest|RUN_ID] [--against previous|RUN_ID] [--json]``.

    Exits 1 when a configuration regressed. Configurations only one of the runs has
    are named (text) or listed with ``"compared": false`` (JSON), not counted as
    regressions.
    """

    name = "compare"
    help = "What changed between two runs, with intervals and flipped cases."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_stored_run_arguments(parser)
        parser.add_argument(
            "--against",
            default="previous",
            help="The earlier run: 'previous' (the last run before it on the same branch) or a "
            "run id. Default: %(default)s",
        )
        parser.add_argument("--json", action="store_true", help="One JSON object per line.")

    def run(self, args: argparse.Namespace) -> int:
        db = database_path(args)
        now = load_scores(db, args.run)
        now_id = str(now.run["run_id"])
        before_id = previous_run_id(db, now_id) if args.against == "previous" else args.against
        if before_id is None:
            print(f"run {now_id} has no earlier run on its branch to compare with")
            return 0
        before = load_scores(db, before_id)
        changes = compare_runs(before, now, seed=int(now.run.get("seed") or DEFAULT_SEED))
        uncompared = uncompared_pairs(before, now)
        if args.json:
            for change in changes:
                print(json.dumps(change.to_json()))
            for pair in uncompared.to_json():
                print(json.dumps(pair))
        else:
            print(f"run {now_id} compared with {before.run['run_id']}:")
            for change in changes:
                print("\n".join(describe_change(change)))
            not_compared = describe_uncompared(uncompared)
            if not_compared:
                print(f"  {not_compared}")
        return 1 if any(change.regressed for change in changes) else 0
