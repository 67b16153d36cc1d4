"""The ``harness`` command: work with stored runs without running pytest.

::

    harness report  [--run latest|RUN_ID] [--db PATH] [--out PATH]
    harness summary [--run latest|RUN_ID] [--db PATH] [--json]
    harness history [--config NAME] [--suite NAME] [--limit N] [--json]
    harness compare [--run latest|RUN_ID] [--against previous|RUN_ID] [--json]
    harness nightly [PYTEST ARGS...]
    harness sweep   --suite NAME --router SPEC --strong MODEL --weak MODEL [--json]
    harness cache   --suite NAME [--traffic FILE] [--embedder SPEC] [--json]
    harness cache   --pairs FILE [--isolated] [--embedder SPEC] [--json]

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
from typing import TYPE_CHECKING, Any

from harness.errors import CostEvalError
from harness.types import Summary

if TYPE_CHECKING:
    from harness.store.runs import RunScores


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
    from harness.config.settings import load_settings

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
            "--settings",
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
    history = commands.add_parser(
        "history", help="Quality, cost and verdict of each configuration over the last runs."
    )
    common(history)
    history.add_argument(
        "--config", dest="config_name", default=None, help="Only this configuration."
    )
    history.add_argument("--suite", default=None, help="Only this suite.")
    history.add_argument(
        "--limit", type=int, default=30, help="How many runs, newest first. Default: %(default)s"
    )
    history.add_argument("--json", action="store_true", help="One JSON object per line.")
    compare = commands.add_parser(
        "compare", help="What changed between two runs, with intervals and flipped cases."
    )
    common(compare)
    compare.add_argument(
        "--against",
        default="previous",
        help="The earlier run: 'previous' (the last run before it on the same branch) or a "
        "run id. Default: %(default)s",
    )
    compare.add_argument("--json", action="store_true", help="One JSON object per line.")
    from harness.cli.import_recordings import add_parser as add_import_parser

    add_import_parser(commands)
    from harness.cli.cache import add_parser as add_cache_parser
    from harness.cli.sweep import add_parser as add_sweep_parser

    add_sweep_parser(commands)
    add_cache_parser(commands)
    export = commands.add_parser(
        "export", help="Write every run's tables as partitioned Parquet (query in place)."
    )
    export.add_argument(
        "--parquet",
        required=True,
        type=Path,
        metavar="DIR",
        help="Folder to write: DIR/<table>/run_id=<id>/*.parquet",
    )
    export.add_argument("--db", default=None, help="Results database. Default: the 'db' setting")
    export.add_argument(
        "--settings",
        default=None,
        metavar="PATH",
        help="TOML file with [tool.cost-eval]. Default: pyproject.toml",
    )
    nightly = commands.add_parser(
        "nightly",
        help="Run `pytest --cost-eval`, compare with the previous run, exit 1 on a regression.",
    )
    nightly.add_argument(
        "pytest_args", nargs=argparse.REMAINDER, help="Extra arguments for pytest (e.g. -k route)."
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``harness`` console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["nightly"] and not {"-h", "--help"} & set(arguments[1:2]):
        # Everything after `nightly` is for pytest, options included.
        return nightly(arguments[1:])
    args = build_parser().parse_args(arguments)
    try:
        return _dispatch(args)
    except CostEvalError as exc:
        print(f"harness: {exc}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    from harness.store.runs import load_run

    if args.command == "nightly":
        return nightly(args.pytest_args)
    if args.command == "import":
        from harness.cli.import_recordings import run_import

        return run_import(args)
    if args.command == "sweep":
        from harness.cli.sweep import run_sweep_command

        return run_sweep_command(args)
    if args.command == "cache":
        from harness.cli.cache import run_cache_command

        return run_cache_command(args)
    db_default, report_default = _default_paths(args.settings)
    db = Path(args.db) if args.db else db_default
    if args.command == "export":
        from harness.store.runs import export_parquet

        for table, rows in export_parquet(db, args.parquet).items():
            print(f"{table}: {rows} rows -> {args.parquet / table}")
        return 0
    if args.command == "history":
        return print_history(db, args)
    if args.command == "compare":
        from harness.store.runs import load_scores

        return print_compare(db, load_scores(db, args.run), args.against, as_json=args.json)
    stored = load_run(db, args.run)
    if args.command == "report":
        from harness.report import render_report

        out = render_report(stored, Path(args.out) if args.out else report_default, db=db)
        print(f"wrote {out} (run {stored.run['run_id']})")
        return 0
    if args.json:
        for summary in stored.summaries:
            print(json.dumps(summary_object(summary)))
        return 0
    from harness.formatting import money, points

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


def print_history(db: Path, args: argparse.Namespace) -> int:
    """``harness history``: the trend per configuration, newest run first."""
    from harness.formatting import money, points
    from harness.store.runs import load_history

    rows = load_history(db, config=args.config_name, suite=args.suite, limit=args.limit)
    if args.json:
        for row in rows:
            print(
                json.dumps({k: float(v) if hasattr(v, "as_tuple") else v for k, v in row.items()})
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


def print_compare(db: Path, now: RunScores, against: str, *, as_json: bool) -> int:
    """``harness compare``: per configuration, the change since an earlier run."""
    from harness.analysis.compare import compare_runs, describe_change
    from harness.store.runs import load_scores, previous_run_id

    now_id = str(now.run["run_id"])
    before_id = previous_run_id(db, now_id) if against == "previous" else against
    if before_id is None:
        print(f"run {now_id} has no earlier run on its branch to compare with")
        return 0
    before = load_scores(db, before_id)
    changes = compare_runs(before, now, seed=int(now.run.get("seed") or 20261126))
    if as_json:
        for change in changes:
            print(json.dumps(change.to_json()))
    else:
        print(f"run {now_id} compared with {before.run['run_id']}:")
        for change in changes:
            print("\n".join(describe_change(change)))
    return 1 if any(change.regressed for change in changes) else 0


def nightly(pytest_args: Sequence[str]) -> int:
    """Run the suites, compare with the previous run; exit 1 on a regression or failed gate.

    Equivalent to ``pytest --cost-eval --cost-eval-compare=previous --cost-eval-fail-on-regression``
    plus any arguments given.
    """
    import pytest

    code = pytest.main(
        [
            "--cost-eval",
            "--cost-eval-compare=previous",
            "--cost-eval-fail-on-regression",
            *pytest_args,
        ]
    )
    return int(code)
