"""``harness sweep``: a router's whole threshold curve on one suite of the project.

::

    harness sweep --suite NAME --router SPEC --strong MODEL --weak MODEL
                  [--thresholds T ...] [--quantiles N] [--scale N] [--router-seed N]
                  [--folds K] [--record-mode none|new|all] [--json] [--settings PATH]
    harness sweep --suite NAME --config NAME [--thresholds T ...] [--quantiles N] [--json]

``SPEC`` is a router score: ``random``, ``length``, ``trained`` (TF-IDF +
logistic regression, scored out of fold) or ``package.module:function``.
``--config`` sweeps a ``threshold = "sweep"`` configuration of the project
exactly as ``pytest --cost-eval`` does (same gate, same seeds, same numbers).

Prices, goldens, the response store and the gate come from the project's
``[tool.cost-eval]`` settings. Each case's strong and weak answers are taken
from the goldens and the store when recorded (a rerun makes no calls), else
requested once (paid providers only as ``--record-mode`` allows: by default
never under ``$CI``); new answers are added to the store. ``--json`` prints
exactly the JSON object of :meth:`harness.analysis.router_sweep.SweepResult.to_json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.analysis.router_curves import random_ranking_warning
from harness.cli.command import Command, add_response_store_arguments
from harness.config.record_mode import default_record_mode
from harness.config.settings import ConfigSpec, Settings, StrategySpec, load_settings
from harness.config.suites import now_iso
from harness.engine.executor import Executor
from harness.engine.prepare import find_suite, prepare
from harness.engine.router_sweep import sweep_project_suite, sweep_router, threshold_text
from harness.errors import ConfigError
from harness.formatting import money
from harness.scoring.recorded import ImportedModels, RecordedQuality
from harness.store.responses import load_responses, store_responses

if TYPE_CHECKING:
    from harness.engine.router_sweep import SuiteSweep

CLI_CONFIG = "harness-sweep"
"""Name of the configuration ``harness sweep`` builds from its flags (seeds derive from it)."""


class SweepCommand(Command):
    """``harness sweep``: a router's threshold curve on one suite, and the recommendation."""

    name = "sweep"
    help = "Judge every threshold of a router on one suite and recommend the cheapest passing."
    description = (
        "Judge every threshold of a threshold router on one suite of the project: "
        "strong share, cost per query, quality, delta with its CI and the gate's verdict per "
        "threshold; APGR, CPT(20/50/80%), the oracle's APGR; and the recommended threshold, "
        "the cheapest that passes the gate."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--suite", required=True, help="Name of the suite to sweep.")
        parser.add_argument(
            "--config",
            dest="config_name",
            default=None,
            metavar="NAME",
            help='A threshold = "sweep" configuration of the project to run as pytest does '
            "(instead of --router/--strong/--weak).",
        )
        parser.add_argument(
            "--router",
            default=None,
            metavar="SPEC",
            help="Router score: random, length, trained or package.module:function.",
        )
        parser.add_argument("--strong", default=None, metavar="MODEL", help="The strong model.")
        parser.add_argument("--weak", default=None, metavar="MODEL", help="The weak model.")
        parser.add_argument(
            "--thresholds",
            nargs="+",
            type=float,
            default=None,
            metavar="T",
            help="Thresholds to judge besides the quantiles of the router scores.",
        )
        parser.add_argument(
            "--quantiles",
            type=int,
            default=None,
            metavar="N",
            help="Points at 0, 1/N, ..., 100%% strong calls. Default: 20",
        )
        parser.add_argument(
            "--scale",
            type=int,
            default=None,
            help="length score: characters that score 1.0 (default 1000; a configuration's "
            "own scale is used with --config NAME).",
        )
        parser.add_argument(
            "--router-seed", type=int, default=None, help="random score: its seed. Default: 0"
        )
        parser.add_argument(
            "--folds",
            type=int,
            default=None,
            help="trained score: cross-validation folds. Default: 5",
        )
        add_response_store_arguments(parser)
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print the sweep as one JSON object (strong_quality, weak_quality, points, apgr, "
            "cpt, oracle_apgr, recommended).",
        )

    def run(self, args: argparse.Namespace) -> int:
        return run_sweep_command(args)


def sweep_spec(args: argparse.Namespace, settings: Settings) -> ConfigSpec:
    """The configuration to sweep: the project's ``--config`` or one built from the flags.

    Raises:
        ConfigError: the flags contradict each other or the configuration is not a sweep.
    """
    router_flags = {
        "--router": args.router,
        "--strong": args.strong,
        "--weak": args.weak,
        "--scale": args.scale,
        "--router-seed": args.router_seed,
        "--folds": args.folds,
    }
    sweep_overrides: dict[str, Any] = {}
    if args.quantiles is not None:
        sweep_overrides["quantiles"] = args.quantiles
    if args.thresholds is not None:
        sweep_overrides["thresholds"] = list(args.thresholds)
    if args.config_name is not None:
        given = [flag for flag, value in router_flags.items() if value is not None]
        if given:
            raise ConfigError(
                f"harness sweep: give either --config or {', '.join(given)}, not both (the "
                "configuration already says which router and models)."
            )
        matches = [s for s in settings.configs if s.name == args.config_name]
        if not matches:
            sweeps = [s.name for s in settings.configs if s.is_sweep]
            raise ConfigError(
                f"harness sweep: no configuration named {args.config_name!r} in "
                f"{settings.source}. Sweep configurations: {', '.join(sweeps) or 'none'}."
            )
        spec = matches[0]
        if spec.router is None or not spec.is_sweep:
            raise ConfigError(
                f"harness sweep: configuration {spec.name!r} is not a threshold sweep (threshold "
                '= "sweep" in its router table).'
            )
        if sweep_overrides:
            table = dict(spec.router.options)
            table["sweep"] = {**dict(table.get("sweep") or {}), **sweep_overrides}
            spec = replace(spec, router=StrategySpec(kind=spec.router.kind, options=table))
        return spec
    missing = [flag for flag in ("--router", "--strong", "--weak") if router_flags[flag] is None]
    if missing:
        raise ConfigError(
            f"harness sweep: {', '.join(missing)} required (or --config NAME to sweep a "
            'threshold = "sweep" configuration of the project).'
        )
    if args.folds is not None:
        sweep_overrides["folds"] = args.folds
    options: dict[str, Any] = {
        "strong": args.strong,
        "weak": args.weak,
        "threshold": "sweep",
        "score": args.router,
        "sweep": sweep_overrides,
    }
    if args.scale is not None:
        options["scale"] = args.scale
    if args.router_seed is not None:
        options["seed"] = args.router_seed
    return ConfigSpec(
        name=CLI_CONFIG,
        family=CLI_CONFIG,
        model=None,
        router=StrategySpec(kind="threshold", options=options),
        gate=settings.gate,
    )


def run_sweep_command(args: argparse.Namespace) -> int:
    """Carry out ``harness sweep``: print the curve (or its JSON) and the recommendation."""

    settings = load_settings(Path.cwd(), args.settings)
    if args.db:
        settings = replace(settings, db=Path(args.db).resolve())
    spec = sweep_spec(args, settings)
    sweep_router(spec, where="harness sweep")  # option errors name the command, not the file
    plan = prepare(replace(settings, configs=(spec,)))
    suite = find_suite(settings, args.suite)
    executor = Executor(
        load_responses(settings.db),
        record_mode=args.record_mode or default_record_mode(),
        provider_options=settings.providers,
        unpriced=plan.unpriced,
        imported=ImportedModels(
            [RecordedQuality.default_path(settings.suites_dir, suite.name)]
        ).source,
    )

    computed = asyncio.run(sweep_project_suite(plan, suite, spec, executor, run_id=CLI_CONFIG))
    if executor.new_responses:
        store_responses(settings.db, executor.new_responses.values(), now_iso())
    if args.json:
        print(json.dumps(computed.result.to_json()))
        return 0
    for line in describe_table(computed, settings):
        print(line)
    print(
        f"{executor.calls} provider call(s), {executor.remote_calls} of them to paid APIs; "
        f"{len(executor.new_responses)} new answer(s) stored"
    )
    return 0


def describe_table(computed: SuiteSweep, settings: Settings) -> list[str]:
    """The sweep as lines of text: header, one row per threshold, metrics, recommendation."""

    result = computed.result
    router = computed.router
    base_cost = computed.baseline_cost_per_query

    def pts(value: float | None) -> str:
        if value is None:
            return "—"
        text = f"{value * 100:+.1f}"
        return "+0.0" if text == "-0.0" else text

    def share(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1%}"

    def metric(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    lines = [
        f"sweep of router score {router.score_name!r}"
        + (f" ({router.score_detail})" if router.score_detail else "")
        + f" on suite {computed.suite!r}: {result.n} case(s); score >= threshold -> "
        f"{router.strong} (strong), else {router.weak} (weak)",
        f"strong quality {result.strong_quality:.3f}, weak {result.weak_quality:.3f}; baseline "
        f"{settings.baseline} {result.baseline_quality:.3f} at {money(base_cost)}/query",
        "",
        f"{'threshold':>10} {'strong':>7} {'cost/query':>11} {'quality':>8}  "
        f"{'delta pts [CI]':<22} verdict",
    ]
    for point in result.points:
        ci = (
            f"[{pts(point.ci_low)}, {pts(point.ci_high)}]"
            if point.ci_low is not None and point.ci_high is not None
            else ""
        )
        mark = "  <- recommended" if point is result.recommended else ""
        lines.append(
            f"{threshold_text(point.threshold, point.strong_calls):>10} "
            f"{point.strong_share:>7.1%} {money(point.cost_per_query):>11} "
            f"{point.quality:>8.3f}  {pts(point.delta) + ' ' + ci:<22} "
            f"{point.verdict or '-'}{mark}"
        )
    cpts = ", ".join(f"CPT({key}%) {share(value)}" for key, value in result.cpt.items())
    lines += [
        "",
        f"APGR {metric(result.apgr)} (random router {result.random_apgr:.1f}, oracle "
        f"{metric(result.oracle_apgr)}); {cpts}",
    ]
    warning = random_ranking_warning(result.apgr, result.random_apgr)
    if warning:
        lines.append(f"WARNING: {warning}")
    rec = result.recommended
    if rec is not None:
        saved = f", {1 - rec.cost_per_query / base_cost:.1%} saved" if base_cost else ""
        lines.append(
            f"recommended: threshold {threshold_text(rec.threshold, rec.strong_calls)}: "
            f"{rec.strong_share:.1%} of cases to {router.strong}, "
            f"{money(rec.cost_per_query)}/query vs {money(base_cost)}{saved}; quality "
            f"{rec.quality:.3f} (delta {pts(rec.delta)} pts [{pts(rec.ci_low)}, "
            f"{pts(rec.ci_high)}])"
        )
    else:
        lines.append(f"no recommendation: {result.recommendation_reason}; keep the baseline")
    if computed.errors:
        lines.append(
            f"{computed.errors} case(s) left out of the curve (errored); first: "
            f"{computed.first_error}"
        )
    return lines
