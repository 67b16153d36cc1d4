"""The ``harness`` command: work with stored runs without running pytest.

::

    harness report  [--run latest|RUN_ID] [--db PATH] [--out PATH]
    harness summary [--run latest|RUN_ID] [--db PATH] [--json]

Paths default to the ``[tool.cost-eval]`` settings of the project in the
current directory (``results/cost_eval.duckdb``, ``results/report.html``).
Errors print one paragraph and exit 2; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import CostEvalError
from .types import Summary


def summary_object(summary: Summary) -> dict[str, Any]:
    """The JSON object ``harness summary --json`` prints for one (suite, configuration)."""
    return {
        "suite": summary.suite,
        "config": summary.config,
        "n": summary.n,
        "quality": summary.quality,
        "baseline_quality": summary.baseline_quality,
        "delta": summary.delta,
        "ci_low": summary.ci_low,
        "ci_high": summary.ci_high,
        "verdict": summary.verdict,
        "enforced": summary.enforced,
        "cost_per_query": float(summary.cost_per_query),
        "baseline_cost_per_query": float(summary.baseline_cost_per_query),
        "savings_pct": summary.savings_pct,
        "flagged_cases": summary.flagged_cases,
    }


def _default_paths(config: str | None) -> tuple[Path, Path]:
    """The db and report paths from the project's settings, or the defaults."""
    from .settings import load_settings

    root = Path.cwd()
    try:
        settings = load_settings(root, config)
    except CostEvalError:
        if config:
            raise
        return root / "results" / "cost_eval.duckdb", root / "results" / "report.html"
    return settings.db, settings.report


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``harness`` command."""
    parser = argparse.ArgumentParser(
        prog="harness",
        description="Evaluate what LLM cost optimizations save and what they cost in quality.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--run",
            default="latest",
            help="Run id (or a unique prefix), or 'latest'. Default: %(default)s",
        )
        sub.add_argument(
            "--db",
            default=None,
            help="Results database. Default: the 'db' setting, results/cost_eval.duckdb",
        )
        sub.add_argument(
            "--config",
            default=None,
            metavar="PATH",
            help="TOML file with [tool.cost-eval]. Default: pyproject.toml",
        )

    report = commands.add_parser("report", help="Re-render the HTML report of a stored run.")
    common(report)
    report.add_argument(
        "--out",
        default=None,
        help="Where to write it. Default: the 'report' setting, results/report.html",
    )
    summary = commands.add_parser("summary", help="Print the verdicts of a stored run.")
    common(summary)
    summary.add_argument(
        "--json",
        action="store_true",
        help="One JSON object per (suite, configuration), one per line.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``harness`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except CostEvalError as exc:
        print(f"harness: {exc}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    from .storage import load_run

    db_default, report_default = _default_paths(args.config)
    db = Path(args.db) if args.db else db_default
    stored = load_run(db, args.run)
    if args.command == "report":
        from .report import render_report

        out = render_report(stored, Path(args.out) if args.out else report_default)
        print(f"wrote {out} (run {stored.run['run_id']})")
        return 0
    if args.json:
        for summary in stored.summaries:
            print(json.dumps(summary_object(summary)))
        return 0
    from .format import money, points

    print(
        f"run {stored.run['run_id']} ({stored.run['started_at']}), baseline "
        f"{stored.run['baseline']}"
    )
    for summary in stored.summaries:
        mode = "enforced" if summary.enforced else "report-only"
        print(
            f"{summary.verdict.upper():<13} {summary.suite} :: {summary.config} ({mode}): "
            f"quality {summary.quality:.3f}, delta {points(summary.delta)} pts "
            f"[{points(summary.ci_low)}, {points(summary.ci_high)}], "
            f"{money(summary.cost_per_query)}/query, savings {summary.savings_pct:.0f}%"
        )
    for suite, message in stored.problems.items():
        print(f"ERROR         {suite}: {message}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
