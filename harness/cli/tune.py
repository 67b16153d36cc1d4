"""``harness tune``: the cheapest stack of levers that keeps quality, confirmed on held-out cases.

::

    harness tune [--suite NAME ...] [--record-mode none|new|all] [--db PATH]
                 [--settings PATH] [--json]

The search space is ``[tool.cost-eval.tune]`` (:mod:`harness.config.tune`). Per
suite, each router candidate's strong and weak answers are obtained exactly as
``harness sweep`` obtains them (goldens and the response store first; each
distinct missing request sent once; new answers stored, so a second run calls
nothing), then :func:`harness.analysis.tune.tune_stacks` chooses on one part of
the cases and confirms on the other. ``--json`` prints one object: ``volume``,
``queries_per_month``, ``calls``, ``remote_calls``, ``new_answers`` and
``suites`` (one entry per suite: :meth:`TuneResult.to_json` plus ``suite``,
``baseline``, ``left_out``, ``space`` and ``toml``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.analysis.router_input import SweepInput
from harness.analysis.tune import StackChoice, StackInput, TuneResult, tune_stacks
from harness.analysis.tune_model import NOT_ON_FRONTIER, is_winner
from harness.cli.command import Command, add_response_store_arguments
from harness.config.record_mode import default_record_mode
from harness.config.settings import ConfigSpec, Settings, StrategySpec, load_settings
from harness.config.suites import now_iso, suite_files
from harness.config.tune import RouterCandidate, TuneSettings, tune_settings
from harness.engine.executor import Executor
from harness.engine.prepare import find_suite, load_suites, prepare
from harness.engine.router_sweep import SuiteSweep, sweep_project_suite, sweep_router
from harness.engine.run_data import Plan
from harness.errors import ConfigError, CostEvalError
from harness.formatting import money, points
from harness.scoring.recorded import ImportedModels, RecordedQuality
from harness.stats.bootstrap import derive_seed
from harness.store.responses import load_responses, store_responses
from harness.store.tunes import write_tunes

EXAMPLE = """[tool.cost-eval.tune]
routers = [
  { strong = "openai:gpt-4o", weak = "openai:gpt-4o-mini", score = "length", scale = 100 },
]
batch = true"""


class TuneCommand(Command):
    """``harness tune``: search the space of ``[tool.cost-eval.tune]``, confirm the winner."""

    name = "tune"
    help = "Find the cheapest stack of levers that passes the gate, confirmed on held-out cases."
    description = (
        "Search the stacks of [tool.cost-eval.tune] (router candidates with their threshold "
        "searched, batch or not) on one part of each suite's cases, then judge the cheapest "
        "passing stack once on the other part: the confirmed delta with its CI, cost per query, "
        "savings and monthly projection, the Pareto frontier, what each lever contributes, and "
        "the winner as a ready-to-paste [[tool.cost-eval.configs]] table."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--suite",
            dest="suites",
            action="append",
            default=None,
            metavar="NAME",
            help="A suite to tune (repeatable). Default: the tune table's suites, else all.",
        )
        add_response_store_arguments(parser)
        parser.add_argument(
            "--json", action="store_true", help="Print the search and its result as one object."
        )

    def run(self, args: argparse.Namespace) -> int:
        return run_tune_command(args)


def candidate_spec(
    candidate: RouterCandidate, index: int, tune: TuneSettings, gate: Any
) -> ConfigSpec:
    """A ``threshold = "sweep"`` configuration for one router candidate of the space."""
    options: dict[str, Any] = {
        "strong": candidate.strong,
        "weak": candidate.weak,
        "score": candidate.score,
        "threshold": "sweep",
        "sweep": {"quantiles": tune.quantiles},
        **candidate.options,
    }
    name = f"harness-tune-{index}"
    return ConfigSpec(
        name=name,
        family=name,
        model=None,
        router=StrategySpec(kind="threshold", options=options),
        gate=gate,
    )


def stack_inputs(
    sweeps: list[SuiteSweep], plan: Plan, candidates: tuple[RouterCandidate, ...]
) -> tuple[list[StackInput], int]:
    """Each candidate's per-case numbers over the cases every candidate could use.

    Returns the inputs and how many cases were left out (an answer or a router
    score errored for some candidate): every stack is judged on the same cases.
    """
    usable = set.intersection(*(set(s.used) for s in sweeps))
    keep = sorted(usable)
    if not keep:
        raise CostEvalError(
            f"suite {sweeps[0].suite!r}: no case has usable answers for every router "
            f"candidate; first problem: {sweeps[0].first_error}"
        )
    inputs = []
    for sweep, candidate in zip(sweeps, candidates, strict=True):
        score_of = dict(zip(sweep.used, sweep.router_scores, strict=True))
        cases = [sweep.cases[i] for i in keep]
        inp = SweepInput.build(
            case_ids=[a.case.id for a in cases],
            strong_score=[float(a.strong.score or 0.0) for a in cases],
            weak_score=[float(a.weak.score or 0.0) for a in cases],
            baseline_score=[float(a.strong.baseline_score or 0.0) for a in cases],
            strong_cost=[float(a.strong.cost_usd) for a in cases],
            weak_cost=[float(a.weak.cost_usd) for a in cases],
            baseline_cost=[float(a.strong.baseline_cost_usd) for a in cases],
            router_score=[score_of[i] for i in keep],
            categories=[a.case.category for a in cases],
        )
        inputs.append(
            StackInput(
                label=candidate.label,
                inp=inp,
                strong_batch_factor=float(plan.prices.batch_factor(candidate.strong)),
                weak_batch_factor=float(plan.prices.batch_factor(candidate.weak)),
            )
        )
    return inputs, len(sweeps[0].cases) - len(keep)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))  # a TOML basic string reads like a JSON string


def winner_toml(suite: str, winner: StackChoice, candidate: RouterCandidate, reason: str) -> str:
    """The winning stack as a ``[[tool.cost-eval.configs]]`` table to paste into the settings."""
    assert winner.threshold is not None and math.isfinite(winner.threshold)
    router = {
        "kind": "threshold",
        "score": candidate.score,
        **candidate.options,
        "strong": candidate.strong,
        "weak": candidate.weak,
        "threshold": winner.threshold,
    }
    inline = ", ".join(f"{key} = {_toml_value(value)}" for key, value in router.items())
    lines = [
        "[[tool.cost-eval.configs]]",
        f"name = {_toml_value(f'tuned-{suite}')}",
        f"description = {_toml_value(f'Chosen by harness tune: {reason}.')}",
        f"router = {{ {inline} }}",
    ]
    if winner.batch:
        lines.append("batch = true")
    lines.append(f"suites = [{_toml_value(suite)}]")
    return "\n".join(lines)


def tune_suite_names(args: argparse.Namespace, tune: TuneSettings, settings: Settings) -> list[str]:
    """The suites to tune: ``--suite``, else the tune table's, else every suite."""
    if args.suites:
        return list(args.suites)
    if tune.suites:
        return list(tune.suites)
    return sorted(load_suites(suite_files(settings.suites_dir), settings))


def run_tune_command(args: argparse.Namespace) -> int:
    """Carry out ``harness tune``: search, confirm, print (text or JSON)."""
    settings = load_settings(Path.cwd(), args.settings)
    if args.db:
        settings = replace(settings, db=Path(args.db).resolve())
    tune = tune_settings(settings)
    where = f"{settings.source} [tool.cost-eval.tune]"
    if not tune.routers:
        raise ConfigError(
            f"{where}: no router candidate to search. Add at least one, e.g.\n\n{EXAMPLE}"
        )
    specs = tuple(candidate_spec(c, i, tune, settings.gate) for i, c in enumerate(tune.routers))
    for i, spec in enumerate(specs):
        sweep_router(spec, where=f"{where}.routers[{i}]")  # option errors name the table
    plan = prepare(replace(settings, configs=specs))
    record_mode = args.record_mode or default_record_mode()
    recorded = dict(load_responses(settings.db))
    calls = remote = 0
    new: dict[str, Any] = {}
    entries = []
    for name in tune_suite_names(args, tune, settings):
        suite = find_suite(settings, name)
        sweeps = []
        for spec in specs:
            # One executor per sweep (each closes its providers), sharing what is known:
            # a request another candidate already sent is answered, never sent again.
            executor = Executor(
                recorded,
                record_mode=record_mode,
                provider_options=settings.providers,
                unpriced=plan.unpriced,
                imported=ImportedModels(
                    [RecordedQuality.default_path(settings.suites_dir, suite.name)]
                ).source,
            )
            sweeps.append(
                asyncio.run(sweep_project_suite(plan, suite, spec, executor, run_id=spec.name))
            )
            recorded = executor.recorded
            calls += executor.calls
            remote += executor.remote_calls
            new.update(executor.new_responses)
        inputs, left_out = stack_inputs(sweeps, plan, tune.routers)
        try:
            result = tune_stacks(
                inputs,
                batch_options=(False, True) if tune.batch_allowed else (False,),
                gate=sweeps[0].gate,
                seed=derive_seed(settings.seed, suite.name, "tune"),
                confirm_share=tune.confirm_share,
                quantiles=tune.quantiles,
                queries_per_month=plan.monthly_volume,
            )
        except CostEvalError as exc:
            raise CostEvalError(f"harness tune: suite {suite.name!r}: {exc}") from None
        entries.append((suite.name, left_out, result))
    if new:
        store_responses(settings.db, new.values(), now_iso())
    output = tune_json(settings, plan, tune, entries, calls=calls, remote=remote, new=len(new))
    write_tunes(settings.db, now_iso(), output["suites"])  # the report's Tune section
    if args.json:
        print(json.dumps(output))
        return 0
    for entry in output["suites"]:
        for line in describe_suite(entry, settings):
            print(line)
        print()
    print(
        f"{calls} provider call(s), {remote} of them to paid APIs; {len(new)} new answer(s) stored"
    )
    return 0


def tune_json(
    settings: Settings,
    plan: Plan,
    tune: TuneSettings,
    entries: list[tuple[str, int, TuneResult]],
    *,
    calls: int,
    remote: int,
    new: int,
) -> dict[str, Any]:
    """The JSON object of ``harness tune --json``."""
    suites = []
    for suite, left_out, result in entries:
        data = result.to_json()
        winner = result.winner
        confirmed = result.confirmed
        toml = None
        if winner is not None and confirmed is not None:
            toml = winner_toml(suite, winner, tune.routers[winner.router], result.reason)
        data.update(
            suite=suite,
            baseline=settings.baseline,
            left_out=left_out,
            space={
                "routers": [c.label for c in tune.routers],
                "batch": tune.batch_allowed,
                "latency_budget_s": tune.latency_budget_s,
            },
            toml=toml,
        )
        suites.append(data)
    return {
        "volume": settings.volume,
        "queries_per_month": plan.monthly_volume,
        "calls": calls,
        "remote_calls": remote,
        "new_answers": new,
        "suites": suites,
    }


def _stack_name(label: str, batch: bool) -> str:
    return f"{label}{' + batch' if batch else ''}"


def describe_suite(entry: dict[str, Any], settings: Settings) -> list[str]:
    """One suite's search as lines of text."""
    lines = [
        f"suite {entry['suite']!r}: {entry['n']} case(s), {entry['choose_n']} to choose on, "
        f"{entry['confirm_n']} to confirm on; {entry['stacks_searched']} stack(s) searched "
        f"({entry['thresholds_judged']} thresholds judged)"
    ]
    if entry["left_out"]:
        lines.append(f"{entry['left_out']} case(s) left out: an answer or router score errored")
    winner, confirmed, best = entry["winner"], entry["confirmed"], entry["best_looking"]
    if best is not None and not best["confirmed"]:
        lines.append(
            f"NOT CONFIRMED: {_stack_name(best['label'], best['batch'])} at threshold "
            f"{best['threshold']:.4g} ({money(best['cost_per_query'])}/query) passed on the "
            "choosing cases only"
        )
    if winner is None or confirmed is None:
        lines.append(f"no winner: {entry['reason']}")
        return lines
    lines.append(
        f"winner: {_stack_name(winner['label'], winner['batch'])}, threshold "
        f"{winner['threshold']:.4g} ({winner['strong_share']:.1%} strong on the choosing cases, "
        f"{confirmed['strong_share']:.1%} on the held-out ones)"
    )
    lines.append(
        f"confirmed on {confirmed['n']} held-out cases ({confirmed['verdict']}, "
        f"{len(entry['confirmation_steps'])} step(s) of the walk): delta "
        f"{points(confirmed['delta'])} pts [{points(confirmed['ci_low'])}, "
        f"{points(confirmed['ci_high'])}]; {money(confirmed['cost_per_query'])}/query vs "
        f"{money(confirmed['baseline_cost_per_query'])} ({confirmed['savings']:.1%} saved)"
    )
    month, saved = confirmed["monthly_cost"], confirmed["monthly_savings"]
    lines.append(
        f"monthly at {settings.volume}: {money(month['estimate'])} [{money(month['low'])}, "
        f"{money(month['high'])}], saving {money(saved['estimate'])} [{money(saved['low'])}, "
        f"{money(saved['high'])}]"
    )
    lines += ["", "Pareto frontier (held-out cases):"]
    lines.append(
        f"  {'stack':<44} {'threshold':>9} {'strong':>7} {'cost/query':>11} {'quality':>8}"
    )
    for p in entry["pareto"]:
        lines.append(
            f"  {_stack_name(p['label'], p['batch']):<44} {p['threshold']:>9.4g} "
            f"{p['strong_share']:>7.1%} {money(p['cost_per_query']):>11} {p['quality']:>8.3f}"
            + ("  <- winner" if is_winner(p, winner) else "")
        )
    if not any(is_winner(p, winner) for p in entry["pareto"]):
        lines.append(f"  ({NOT_ON_FRONTIER})")
    lines += ["", "what each lever contributes (savings with it / without it):"]
    for lever in entry["levers"]:
        lines.append(
            f"  {lever['lever']:<8} {lever['savings_with']:.1%} / {lever['savings_without']:.1%}"
            f" (quality {lever['quality_with']:.3f} / {lever['quality_without']:.3f})"
        )
    lines += ["", "paste into your settings:", entry["toml"]]
    return lines
