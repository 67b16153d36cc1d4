"""The baseline's goldens for a run: loaded, checked against what the cases send now, recorded.

A golden recorded for a different request than its case sends now is stale: the
suite reports it instead of scoring against it. ``--cost-eval-update-goldens``
(re)records missing and stale goldens (``all``: every one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.config.suites import (
    Suite,
    display_path,
    goldens_path,
    load_goldens,
    now_iso,
    write_goldens,
)
from harness.engine.executor import Executor
from harness.engine.run_data import Plan, PreparedSuite, RunOutcome
from harness.engine.scorer_check import check_scorer
from harness.errors import CostEvalError
from harness.providers import base_model
from harness.scoring import RecordedQuality, RecordedScorer, build_scorer
from harness.scoring.judge import JudgeScorer
from harness.types import (
    Golden,
    Response,
)


async def prepare_goldens(
    plan: Plan,
    suite: Suite,
    executor: Executor,
    update: str | None,
    outcome: RunOutcome,
) -> PreparedSuite:
    """The suite's goldens, (re)recorded when asked; a problem when some are unusable."""
    settings = plan.settings
    baseline = settings.baseline
    scorer = build_scorer(suite.scorer, where=f"{display_path(suite.path)}: scorer")
    if isinstance(scorer, JudgeScorer) and not scorer.is_heuristic:
        # Judge calls are evaluation cost: a judge with no price fails before any call.
        try:
            plan.prices.price_of(scorer.model)
        except CostEvalError as exc:
            raise type(exc)(f"{display_path(suite.path)}: scorer 'judge': {exc}") from None
    if isinstance(scorer, RecordedScorer):
        # Quality labels recorded with imported responses, from the suite's sidecar.
        scorer.bind(
            RecordedQuality.load(
                scorer.sidecar_path(settings.suites_dir, suite.name, settings.root)
            )
        )
    # A replayed baseline's goldens are those of the model behind it: the golden
    # file, and the request hashes, name that model.
    identity = base_model(baseline)
    goldens = load_goldens(settings.goldens_dir, suite.name, identity)
    missing, stale = golden_gaps(suite, goldens, identity)
    if update:
        to_record = [c.id for c in suite.cases] if update == "all" else missing + stale
        if to_record:
            wanted = set(to_record)
            requests = {
                case.id: suite.request(case, identity) for case in suite.cases if case.id in wanted
            }
            responses = await asyncio.gather(
                *(
                    executor.send(requests[cid].with_model(baseline), fresh=update == "all")
                    for cid in to_record
                )
            )
            failed = [
                (cid, r.error) for cid, r in zip(to_record, responses, strict=True) if r.error
            ]
            recorded_at = now_iso()
            for cid, response in zip(to_record, responses, strict=True):
                if response.error is None:
                    goldens[cid] = Golden(
                        case_id=cid,
                        model=identity,
                        request_hash=requests[cid].hash(),
                        text=response.text,
                        usage=response.usage,
                        latency_ms=response.latency_ms,
                        recorded_at=recorded_at,
                        cost_usd=response.cost_usd,
                    )
            # Keep exactly the suite's cases, in suite order: reviews well in a diff.
            write_goldens(
                goldens_path(settings.goldens_dir, suite.name, identity),
                [goldens[c.id] for c in suite.cases if c.id in goldens],
            )
            outcome.goldens_written[suite.name] = len(to_record) - len(failed)
            if failed:
                cid, error = failed[0]
                return PreparedSuite(
                    suite=suite,
                    scorer=scorer,
                    goldens=goldens,
                    problem=(
                        f"{len(failed)} golden(s) of suite {suite.name!r} could not be recorded; "
                        f"first: case {cid!r}: {error}"
                    ),
                )
            missing, stale = [], []
    if missing or stale:
        path = goldens_path(settings.goldens_dir, suite.name, identity)
        problem = golden_gaps_problem(suite, path, missing, stale)
        return PreparedSuite(suite=suite, scorer=scorer, goldens=goldens, problem=problem)
    # Before any configuration: can the scorer read the baseline's own answers?
    return PreparedSuite(
        suite=suite,
        scorer=scorer,
        goldens=goldens,
        scorer_check=check_scorer(suite, scorer, goldens),
        shown_path=display_path(suite.path),
    )


def golden_gaps(
    suite: Suite, goldens: Mapping[str, Golden], identity: str
) -> tuple[list[str], list[str]]:
    """The suite's cases with no golden, and those whose golden is stale (recorded for a
    different request than the case sends ``identity`` now)."""
    missing = [c.id for c in suite.cases if c.id not in goldens]
    stale = [
        c.id
        for c in suite.cases
        if c.id in goldens and goldens[c.id].request_hash != suite.request(c, identity).hash()
    ]
    return missing, stale


def golden_gaps_problem(
    suite: Suite, path: Path, missing: Sequence[str], stale: Sequence[str]
) -> str:
    """Why a suite cannot be evaluated: its missing and stale goldens, and the fix."""
    shown = display_path(path)
    parts = []
    if missing:
        parts.append(f"{len(missing)} case(s) have no golden ({_ids(missing)})")
    if stale:
        parts.append(
            f"{len(stale)} golden(s) are stale: recorded for a different request than the "
            f"case sends now ({_ids(stale)})"
        )
    return (
        f"{display_path(suite.path)}: {'; '.join(parts)} in {shown}. Record them with "
        f"`pytest --cost-eval --cost-eval-update-goldens` and review the change to {shown} "
        "in your pull request."
    )


def _ids(ids: Sequence[str], shown: int = 5) -> str:
    more = f", and {len(ids) - shown} more" if len(ids) > shown else ""
    return ", ".join(repr(i) for i in ids[:shown]) + more


def golden_response(golden: Golden) -> Response:
    """A golden as the response it recorded."""
    return Response(
        text=golden.text,
        model=golden.model,
        usage=golden.usage,
        latency_ms=golden.latency_ms,
        cost_usd=golden.cost_usd,
    )


async def checked_goldens(
    plan: Plan, suite: Suite, executor: Executor, *, run_id: str
) -> PreparedSuite:
    """The suite's goldens for a command outside a pytest run (``harness sweep``, ``cache``).

    Nothing is recorded: missing or stale goldens raise, with the fix.

    Raises:
        CostEvalError: a golden is missing or stale.
    """
    outcome = RunOutcome(run_id=run_id, started_at=now_iso(), settings=plan.settings)
    prepared = await prepare_goldens(plan, suite, executor, None, outcome)
    if prepared.problem:
        raise CostEvalError(prepared.problem)
    return prepared
