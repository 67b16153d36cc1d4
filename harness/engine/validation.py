"""Check a project without running it: settings, configurations, suites and goldens.

What ``harness validate`` reports. Every suite is checked even when another is
broken, so one pass lists every problem; nothing is sent to a provider and
nothing is written. A problem is the message a run would stop with (it names the
file, the key or line, and the fix).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.config.settings import Settings
from harness.config.suite_names import unknown_suite_problems
from harness.config.suites import (
    Suite,
    display_path,
    goldens_path,
    load_goldens,
    load_project_suite,
    suite_files,
)
from harness.engine.goldens import golden_gaps, golden_gaps_problem
from harness.engine.prepare import prepare
from harness.errors import CostEvalError
from harness.providers import base_model
from harness.scoring import build_scorer
from harness.scoring.judge import JudgeScorer


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectCheck:
    """What :func:`check_project` found."""

    problems: tuple[str, ...]
    """Each one stops a run (or a suite of it): located, with its fix."""
    warnings: tuple[str, ...]
    """Things that work but should change (the settings' own warnings)."""
    configs: int
    suites: tuple[str, ...]
    """The suites that loaded, by name."""
    cases: int
    goldens: int
    """Cases whose golden is recorded and current."""


def check_project(settings: Settings) -> ProjectCheck:
    """Check everything a run of ``settings`` would read, collecting every problem."""
    problems: list[str] = []
    plan = None
    try:
        plan = prepare(settings)
    except CostEvalError as exc:
        problems.append(str(exc))
    paths = suite_files(settings.suites_dir)
    if not paths:
        problems.append(
            f"{display_path(settings.suites_dir)}: no suite files (*.yaml) there. Write one "
            "(see the README's Suites section), or point the 'suites' setting of "
            f"{settings.source} at the folder that holds them."
        )
    suites: dict[str, Suite] = {}
    for path in paths:
        try:
            suite = load_project_suite(path, settings)
        except CostEvalError as exc:
            problems.append(str(exc))
            continue
        if suite.name in suites:
            problems.append(
                f"{display_path(path)}: suite name {suite.name!r} is already used by "
                f"{display_path(suites[suite.name].path)}. Give each suite a unique 'suite:'."
            )
            continue
        suites[suite.name] = suite
    named = set(suites) | {path.stem for path in paths}  # a broken file still has a name
    problems.extend(unknown_suite_problems(settings, named))
    cases = goldens = 0
    identity = base_model(settings.baseline)
    for suite in suites.values():
        cases += len(suite.cases)
        try:
            scorer = build_scorer(suite.scorer, where=f"{display_path(suite.path)}: scorer")
        except CostEvalError as exc:
            problems.append(str(exc))
        else:
            if plan is not None and isinstance(scorer, JudgeScorer) and not scorer.is_heuristic:
                # A judge with no price would stop the run before its first call.
                try:
                    plan.prices.price_of(scorer.model)
                except CostEvalError as exc:
                    problems.append(f"{display_path(suite.path)}: scorer 'judge': {exc}")
        try:
            recorded = load_goldens(settings.goldens_dir, suite.name, identity)
        except CostEvalError as exc:
            problems.append(str(exc))
            continue
        missing, stale = golden_gaps(suite, recorded, identity)
        goldens += len(suite.cases) - len(missing) - len(stale)
        if missing or stale:
            path = goldens_path(settings.goldens_dir, suite.name, identity)
            problems.append(golden_gaps_problem(suite, path, missing, stale))
    return ProjectCheck(
        problems=tuple(problems),
        warnings=settings.warnings,
        configs=len(settings.configs),
        suites=tuple(suites),
        cases=cases,
        goldens=goldens,
    )
