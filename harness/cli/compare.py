"""``harness compare``: what changed between two runs, with intervals and flipped cases."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.analysis.compare import (
    compare_paired,
    describe_change,
    describe_regressions,
    describe_uncompared,
    run_cost_margin,
    uncompared_pairs,
)
from harness.cli.command import Command, add_stored_run_arguments, database_path
from harness.config.settings import load_settings
from harness.errors import CostEvalError
from harness.stats.bootstrap import DEFAULT_SEED
from harness.store.run_queries import load_paired_scores, load_report_run
from harness.store.runs import previous_run_id

LATEST = ("latest", "last")
"""Names of the newest stored run."""


class CompareCommand(Command):
    """``harness compare [RUN_A RUN_B] [--run latest|RUN_ID] [--against previous|RUN_ID] [--json]``.

    Exits 1 when a configuration regressed: its quality (the paired interval
    below zero, or a pass that no longer passes) or its cost (savings lost beyond
    ``max_cost_increase``). Configurations only one of the runs has are named
    (text) or listed with ``"compared": false`` (JSON), not counted as regressions.
    """

    name = "compare"
    help = "What changed between two runs: quality and cost, with intervals and flipped cases."
    description = (
        "Compare two stored runs, pair by pair. `harness compare` compares the latest "
        "run with the one before it on the same branch; `harness compare RUN_A RUN_B` "
        "compares RUN_B (the newer) with RUN_A (ids, unique prefixes, 'latest'/'last' or "
        "'previous'). A configuration regressed when its quality dropped (the paired "
        "interval wholly below zero, or a pass that no longer passes) or when it lost "
        "more of its savings than max_cost_increase in [tool.cost-eval.gate] (default "
        "0.05: 5 % of the baseline's cost per query). Exit status 1 when one regressed."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "runs",
            nargs="*",
            metavar="RUN",
            help="Two runs, the earlier first (RUN_A RUN_B); or one run, compared with the "
            "run before it. Default: --run and --against.",
        )
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
        now_name, before_name = _chosen_runs(args)
        # Each run's metadata and summaries, then its cases paired with the other's in
        # SQL: no object per case (two runs of 250,000 results each held 500,000).
        now = load_report_run(db, _resolve(db, now_name), cases=False)
        now_id = str(now.run["run_id"])
        before_id = previous_run_id(db, now_id) if before_name == "previous" else before_name
        if before_id is None:
            print(f"run {now_id} has no earlier run on its branch to compare with")
            return 0
        before = load_report_run(db, _resolve(db, before_id), cases=False)
        margin, margins = _cost_margins(args.settings, now.run)
        changes = compare_paired(
            before.summaries,
            now.summaries,
            load_paired_scores(db, str(before.run["run_id"]), now_id),
            seed=int(now.run.get("seed") or DEFAULT_SEED),
            max_cost_increase=margin,
            cost_margins=margins,
        )
        uncompared = uncompared_pairs(before, now)
        if args.json:
            for change in changes:
                print(json.dumps(change.to_json()))
            for pair in uncompared.to_json():
                print(json.dumps(pair))
        else:
            print(
                f"run {now_id} compared with {before.run['run_id']}: "
                f"{describe_regressions(changes)}; {len(changes)} of "
                f"{len(changes) + uncompared.count} configuration(s) compared"
            )
            for change in changes:
                print("\n".join(describe_change(change)))
            not_compared = describe_uncompared(uncompared)
            if not_compared:
                print(f"  {not_compared}")
        return 1 if any(change.regressed for change in changes) else 0


def _chosen_runs(args: argparse.Namespace) -> tuple[str, str]:
    """(the newer run, the earlier run or 'previous') from the positionals or the flags."""
    runs: list[str] = args.runs
    if len(runs) > 2:
        raise CostEvalError(
            f"harness compare: {len(runs)} runs given ({' '.join(runs)}); give two, the "
            "earlier first: `harness compare RUN_A RUN_B`."
        )
    if runs and (args.run != "latest" or args.against != "previous"):
        raise CostEvalError(
            "harness compare: give the runs either as RUN_A RUN_B or with --run/--against, "
            "not both."
        )
    if len(runs) == 2:
        return runs[1], runs[0]
    if len(runs) == 1:
        return runs[0], "previous"
    return args.run, args.against


def _resolve(db: Path, name: str) -> str:
    """'latest'/'last' -> 'latest'; 'previous' -> the run before the latest; else as given."""
    if name in LATEST:
        return "latest"
    if name == "previous":
        latest = str(load_report_run(db, "latest", cases=False).run["run_id"])
        before = previous_run_id(db, latest)
        if before is None:
            raise CostEvalError(
                f"{db}: 'previous' names the run before the latest ({latest}), and there is "
                "none on its branch. Give a run id (`harness history` lists them)."
            )
        return before
    return name


def _cost_margins(
    settings_path: str | None, run: Mapping[str, Any]
) -> tuple[float, dict[str, float]]:
    """The cost margin of the project's gate and of each configuration's own gate table.

    From the project's settings when they can be read; else from the margin the
    compared run was made with.
    """
    try:
        settings = load_settings(Path.cwd(), settings_path)
    except CostEvalError:
        return run_cost_margin(run), {}
    return settings.gate.max_cost_increase, {
        spec.name: spec.gate.max_cost_increase for spec in settings.configs
    }
