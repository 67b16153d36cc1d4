"""``harness monitor``: imported production traffic against the shipped configuration.

::

    harness monitor [--window day|week] [--config NAME] [--last N] [--json]
                    [--fail-on-drift] [--db PATH] [--settings PATH]

Per window: queries, actual cost per query, tokens per query, the share of
traffic per model, cache hit rate, latency p50/p95; with a configuration (``--config``
or ``config`` in ``[tool.cost-eval.monitor]``), its projection from the last stored
run beside them and the drift. ``--fail-on-drift`` exits 1 when the latest window
drifted beyond the limits, 0 when steady: for a scheduled job.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from harness.analysis.monitor import (
    Projection,
    WindowCheck,
    WindowStats,
    check_window,
    window_json,
)
from harness.cli.command import Command, add_settings_argument
from harness.config.monitor import MonitorSettings, monitor_settings
from harness.config.settings import load_settings
from harness.config.suites import display_path
from harness.errors import ConfigError, CostEvalError
from harness.formatting import money
from harness.store.traffic import load_projection, traffic_windows

__all__ = ["MonitorCommand", "rerun_command"]


class MonitorCommand(Command):
    """``harness monitor`` (module docs)."""

    name = "monitor"
    help = "Production traffic against the shipped configuration: cost, tier mix, drift."
    description = (
        "Per day or week: actual cost per query, tokens, the share of traffic per model, "
        "cache hit rate and latency of the traffic stored by `harness import traces`, "
        "against the projection of the configuration you shipped (from the last run)."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--window", choices=("day", "week"), default="day")
        parser.add_argument(
            "--config",
            default=None,
            metavar="NAME",
            help="The shipped configuration. Default: 'config' in [tool.cost-eval.monitor].",
        )
        parser.add_argument(
            "--last", type=int, default=None, metavar="N", help="Show the last N windows only."
        )
        parser.add_argument("--json", action="store_true", help="Print JSON.")
        parser.add_argument(
            "--fail-on-drift",
            action="store_true",
            help="Exit 1 when the latest window drifted beyond the limits, 0 when steady.",
        )
        parser.add_argument(
            "--db", default=None, help="Results database. Default: the 'db' setting."
        )
        add_settings_argument(parser)

    def run(self, args: argparse.Namespace) -> int:
        return run_monitor(args)


def _project(settings_path: str | None) -> tuple[Path, MonitorSettings]:
    """The db and the monitor settings of the project here (defaults without one)."""
    try:
        settings = load_settings(Path.cwd(), settings_path)
    except CostEvalError:
        if settings_path:
            raise
        return Path.cwd() / "results" / "cost_eval.duckdb", MonitorSettings()
    return settings.db, monitor_settings(settings)


def rerun_command(projection: Projection) -> str:
    """The command that evaluates the configuration again on its suites.

    pytest's ``-k`` takes ``[``, ``]`` and ``.`` in a name but not ``=``: a sweep
    point ``route[threshold=0.5]`` is selected as ``route[threshold and 0.5]``.
    """
    return f'pytest --cost-eval -k "{projection.config.replace("=", " and ")}"'


def run_monitor(args: argparse.Namespace) -> int:
    """Carry out ``harness monitor``; the exit status (1: drift under --fail-on-drift)."""
    db, limits = _project(args.settings)
    if args.db:
        db = Path(args.db)
    if args.last is not None and args.last < 1:
        raise ConfigError(f"--last must be 1 or more, got {args.last}.")
    config = args.config or limits.config
    if args.fail_on_drift and not config:
        raise ConfigError(
            "--fail-on-drift needs the configuration you shipped: give --config NAME, or "
            'config = "NAME" in [tool.cost-eval.monitor].'
        )
    # The projection first: a misspelt configuration is reported before anything else.
    projection = load_projection(db, config) if config else None
    windows = traffic_windows(db, args.window, last=args.last)
    if not windows:
        raise ConfigError(
            f"{display_path(db)}: no imported traffic. Import some first: "
            "harness import traces FILE..."
        )
    checks = [check_window(w, projection, limits) if projection else None for w in windows]
    latest = checks[-1]
    drifted = bool(latest and latest.drifted)
    if args.json:
        print(json.dumps(_json(db, args.window, projection, windows, checks, limits), indent=2))
    else:
        _print(db, args.window, projection, windows, checks)
    return 1 if drifted and args.fail_on_drift else 0


def _json(
    db: Path,
    window: str,
    projection: Projection | None,
    windows: list[WindowStats],
    checks: list[WindowCheck | None],
    limits: MonitorSettings,
) -> dict[str, Any]:
    latest = checks[-1]
    out: dict[str, Any] = {
        "db": str(db),
        "window": window,
        "windows": [window_json(w, c) for w, c in zip(windows, checks, strict=True)],
        "projection": None,
        "drifted": bool(latest and latest.drifted),
    }
    if projection is not None:
        out["projection"] = {
            "config": projection.config,
            "run_id": projection.run_id,
            "started_at": projection.started_at,
            "suites": list(projection.suites),
            "cost_per_query": str(projection.cost_per_query),
            "volume": projection.volume,
            "monthly_cost": str(projection.monthly_cost),
            "model_shares": dict(projection.model_shares),
            "cache_hit_rate": projection.cache_hit_rate,
            "prompt_tokens_per_query": projection.prompt_tokens,
            "limits": {
                "max_tier_drift": limits.max_tier_drift,
                "max_cost_drift": limits.max_cost_drift,
                "max_prompt_drift": limits.max_prompt_drift,
            },
        }
        if latest is not None and latest.drifted:
            out["rerun"] = {
                "config": projection.config,
                "suites": list(projection.suites),
                "command": rerun_command(projection),
            }
    return out


def _print(
    db: Path,
    window: str,
    projection: Projection | None,
    windows: list[WindowStats],
    checks: list[WindowCheck | None],
) -> None:
    print(f"production traffic in {display_path(db)}, by {window}")
    if projection is not None:
        strong = ", ".join(f"{m} {s:.0%}" for m, s in projection.model_shares.items())
        print(
            f"projection: configuration {projection.config!r} (run {projection.run_id[:12]}, "
            f"{projection.started_at[:10]}): {money(projection.cost_per_query)}/query, "
            f"projected {money(projection.monthly_cost)}/month at {projection.volume}; "
            f"mix {strong or 'none'}; cache hits {projection.cache_hit_rate:.0%}; "
            f"{projection.prompt_tokens:.0f} prompt tokens/query"
        )
    for stats, check in zip(windows, checks, strict=True):
        queries = max(1, stats.queries)
        p50 = "-" if stats.latency_p50_ms is None else f"{stats.latency_p50_ms:.0f}"
        p95 = "-" if stats.latency_p95_ms is None else f"{stats.latency_p95_ms:.0f}"
        print(
            f"{stats.start}  {stats.queries:,} {'query' if stats.queries == 1 else 'queries'}  "
            f"{money(stats.cost_per_query)}/query  "
            f"{stats.tokens / queries:.0f} tokens/query  cache hits {stats.cache_hit_rate:.0%}"
            f"  latency p50 {p50} ms, p95 {p95} ms"
        )
        if stats.unpriced:
            calls = "call" if stats.unpriced == 1 else "calls"
            print(f"    {stats.unpriced:,} {calls} unpriced (no known price): not in the cost")
        if check is None or projection is None:
            mix = ", ".join(f"{m} {c / queries:.0%}" for m, c in sorted(stats.models.items()))
            print(f"    models: {mix}")
            continue
        tiers = ", ".join(
            f"{tier} {check.tier_shares.get(tier, 0.0):.0%} "
            f"({projection.model_shares.get(tier, 0.0):.0%} projected)"
            for tier in check.tier_drift
        )
        print(f"    tiers: {tiers}")
        print(
            f"    projected {money(projection.monthly_cost)}/month, actual "
            f"{money(check.actual_monthly)}/month at the observed volume "
            f"({stats.queries_per_month:,.0f} queries/month; the projection at that volume: "
            f"{money(check.projected_at_observed)})"
        )
        for reason in check.reasons:
            print(f"    DRIFT: {reason}")
    latest = checks[-1]
    if projection is None:
        print("no configuration to compare with: give --config NAME (the one you shipped).")
    elif latest is not None and latest.drifted:
        print(
            f"drift in the latest window ({windows[-1].start}): re-run configuration "
            f"{projection.config!r} on suites {', '.join(projection.suites)} and re-tune its "
            f"thresholds: {rerun_command(projection)}",
            file=sys.stdout,
        )
    else:
        print(f"steady: the latest window ({windows[-1].start}) is within the limits.")
