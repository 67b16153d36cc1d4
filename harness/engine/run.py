"""One evaluation run: goldens -> execute -> simulate -> score -> statistics.

:func:`harness.engine.prepare.prepare` checks everything a run needs before a
single request is sent (suites, configurations, chains, models, prices), so bad
input is reported up front. :func:`run` then evaluates the selected (suite,
configuration) pairs and returns a :class:`RunOutcome`; storing it and
rendering the report are the caller's next steps (:mod:`harness.store.runs`,
:mod:`harness.report`). The pytest plugin, and later the CLI, call these.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Collection, Coroutine, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from harness.config.record_mode import RecordMode
from harness.config.settings import ConfigSpec
from harness.config.suites import (
    Suite,
    display_path,
    now_iso,
)
from harness.embedders import attach_recorder, is_embedding
from harness.engine.case_budget import CaseBudget
from harness.engine.cases import score_case, send_and_score, send_case
from harness.engine.executor import Executor, RequestLeases, close_providers
from harness.engine.goldens import golden_response, prepare_goldens
from harness.engine.lever_metrics import lever_metrics
from harness.engine.metadata import new_run_id, run_metadata
from harness.engine.router_sweep import evaluate_sweep
from harness.engine.run_data import (
    NOTABLE_PER_PAIR,
    Plan,
    PreparedSuite,
    ResultSink,
    RunOutcome,
    SentCase,
    SuiteMemo,
)
from harness.engine.scorer_check import scorer_findings
from harness.engine.summary import summarize_pair
from harness.scoring.judge import (
    JudgeCalibration,
    JudgedSuite,
    JudgeItem,
    JudgeScorer,
    calibrate_judge,
    case_question,
    judge_findings,
    judge_suite,
)
from harness.scoring.recorded import ImportedModels, RecordedQuality
from harness.stats.bootstrap import derive_seed
from harness.stats.gates import GateSpec
from harness.strategies.chain import Chain, build_chain
from harness.types import (
    CaseResult,
    Request,
    Response,
    Summary,
)

PROGRESS_INTERVAL = 5.0

"""Seconds between progress lines on long runs (short runs print none)."""


def run(
    plan: Plan,
    suites: Mapping[str, Suite],
    selected: Sequence[tuple[str, str]],
    *,
    update_goldens: str | None = None,
    recorded: Mapping[str, Response] | None = None,
    record_mode: RecordMode = "new",
    progress: Callable[[str], None] | None = None,
    on_response: Callable[[str, Request, Response], None] | None = None,
    progress_interval: float = PROGRESS_INTERVAL,
    batch_pending: dict[str, Request] | None = None,
    batch_errors: Mapping[str, str] | None = None,
    answered: Collection[str] = (),
    leases: RequestLeases | None = None,
    sink: ResultSink | None = None,
) -> RunOutcome:
    """Evaluate the selected (suite, configuration) pairs.

    Args:
        plan: From :func:`prepare`.
        suites: The loaded suites, by name.
        selected: Pairs to evaluate; suites are taken from ``plan``.
        update_goldens: ``"new"`` records missing and stale goldens, ``"all"`` every one.
        recorded: Earlier responses by request hash (the response store).
        record_mode: When remote providers may be called (see :data:`RecordMode`).
        progress: Called with one-line status messages: every ``progress_interval``
            seconds while the run lasts (cases done, calls in flight, errors, spend).
        on_response: Called with every new answer from a paid provider as it
            arrives (the journal that keeps it if the run dies).
        batch_pending: Collect unrecorded paid requests here instead of sending
            them (see :mod:`harness.engine.batching`).
        batch_errors: Requests whose batch failed, with the error to record.
        answered: Request hashes already answered in this run (earlier batch
            rounds): served from ``recorded`` even when re-recording.
        leases: Coordinates paid requests with other processes on the same store
            (see :class:`~harness.engine.executor.RequestLeases`).
        sink: Takes each pair's results as the pair finishes; the outcome then keeps
            only the notable ones (see :class:`~harness.engine.run_data.ResultSink`).
    """
    outcome = RunOutcome(
        run_id=new_run_id(),
        started_at=now_iso(),
        settings=plan.settings,
        metadata=run_metadata(plan.settings.root),
    )
    say = progress or (lambda _message: None)
    spent = [Decimal(0)]

    def record(key: str, request: Request, response: Response) -> None:
        if is_embedding(request):
            embedded = plan.prices.embedding_cost(request.model, response.usage.input_tokens)
            spent[0] += embedded or Decimal(0)
        else:
            spent[0] += plan.prices.cost(request.model, response.usage, batch=request.batch)
        if on_response is not None:
            on_response(key, request, response)

    executor = Executor(
        recorded or {},
        record_mode=record_mode,
        provider_options=plan.settings.providers,
        on_response=record,
        batch_pending=batch_pending,
        batch_errors=batch_errors,
        answered=answered,
        unpriced=plan.unpriced,
        leases=leases,
        # A replayed answer that is missing says whether the model was imported.
        imported=ImportedModels(
            [
                RecordedQuality.default_path(plan.settings.suites_dir, name)
                for name in dict.fromkeys(suite for suite, _ in selected)
            ]
        ).source,
    )
    total_cases = sum(len(suites[suite].cases) for suite, _ in selected)

    async def report_progress() -> None:
        started = time.monotonic()
        while True:
            await asyncio.sleep(progress_interval)
            say(
                f"{executor.cases_done}/{total_cases} cases, {executor.in_flight} calls in "
                f"flight, {executor.calls} made ({executor.remote_calls} paid, "
                f"{executor.errors} errors), ${spent[0]:.4f} spent on paid calls"
                f"{pace(executor.cases_done, total_cases, time.monotonic() - started)}"
            )

    outcome_summaries: dict[tuple[str, str], Summary] = {}

    async def evaluate() -> None:
        suite_names = list(dict.fromkeys(s for s, _ in selected))
        prepared: dict[str, PreparedSuite] = {}
        for name in suite_names:
            prepared[name] = await prepare_goldens(
                plan, suites[name], executor, update_goldens, outcome
            )
            if prepared[name].problem:
                outcome.problems[name] = prepared[name].problem or ""
        # Goldens answer the baseline's own requests: a configuration that sends
        # the same request pays nothing extra.
        for item in prepared.values():
            for case in item.suite.cases:
                golden = item.goldens.get(case.id)
                if golden is not None:
                    executor.recorded.setdefault(golden.request_hash, golden_response(golden))
        calibrations: dict[str, JudgeCalibration] = {}
        for name, item in prepared.items():
            if isinstance(item.scorer, JudgeScorer) and item.scorer.calibrate and not item.problem:
                # Before any configuration is judged: a judge that fails it decides no gate.
                calibration = await calibrate_judge(
                    item.scorer,
                    [
                        JudgeItem(
                            case_id=case.id,
                            question=case_question(case),
                            output="",
                            golden=item.goldens[case.id].text,
                            expected=case.expected,
                        )
                        for case in item.suite.cases
                        if case.id in item.goldens
                    ],
                    executor.send,
                    seed=derive_seed(plan.settings.seed, name, "judge-calibration"),
                )
                calibrations[name] = calibration
                problem = calibration.problem(item.scorer.min_consistency)
                say(f"suite {name!r}: {problem or 'judge ' + calibration.summary()}")
        jobs = []
        collecting: list[Coroutine[Any, Any, SentCase]] = []
        # Per suite, what its configurations share: filled by the first, reused.
        memos = {name: SuiteMemo() for name in prepared}
        for suite_name, config_name in selected:
            item = prepared[suite_name]
            if item.problem:
                if batch_pending is not None and not plan.configs[config_name].is_sweep:
                    # Goldens are on their way in a batch: collect this configuration's
                    # requests for the same batch (they do not depend on the goldens).
                    chain = build_chain(plan.configs[config_name], where=config_name)
                    collecting.extend(
                        send_case(chain, item.suite, case, executor, plan)
                        for case in item.suite.cases
                    )
                continue
            jobs.append(
                evaluate_within(
                    len(item.suite.cases),
                    evaluate_pair(
                        plan,
                        item,
                        plan.configs[config_name],
                        executor,
                        sweeps=outcome.sweeps,
                        memo=memos[suite_name],
                        calibration=calibrations.get(suite_name),
                    ),
                )
            )
        await asyncio.gather(*collecting)
        say(f"evaluating {len(jobs)} (suite, configuration) pairs")
        await asyncio.gather(*jobs)

    budget = CaseBudget()

    async def evaluate_within(
        cases: int, job: Coroutine[Any, Any, tuple[list[CaseResult], Summary]]
    ) -> None:
        # Within the budget until its results are handed on: memory stays bounded.
        async with budget.take(cases):
            pair_results, summary = await job
            if sink is None:
                outcome.results.extend(pair_results)
            else:
                sink.add(pair_results)
                outcome.results.extend(notable(pair_results))
            outcome_summaries[(summary.suite, summary.config)] = summary

    async def evaluate_and_close() -> None:
        ticker = asyncio.create_task(report_progress()) if progress is not None else None
        try:
            await evaluate()
        finally:
            if ticker is not None:
                ticker.cancel()
            await close_providers(executor)

    # The cases, goldens and results already loaded are long-lived: move them out
    # of the collector's way, and collect less often while requests are in
    # flight (measured: GC fell from ~0.15 to ~0.01 ms per request). No collection
    # first (15-40 ms): what is garbage now is collected after the run, once thawed.
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], 50_000), *thresholds[1:])
    # Paid embedders replay the store's vectors and record new ones with the run.
    attach_recorder(executor)
    try:
        asyncio.run(evaluate_and_close())
    finally:
        attach_recorder(None)
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    # Stable order whatever order the pairs finished in.
    outcome.summaries = [outcome_summaries[p] for p in selected if p in outcome_summaries]
    outcome.results = in_pair_order(outcome.results, outcome.summaries)
    outcome.streamed = sink is not None
    outcome.calls = executor.calls
    outcome.remote_calls = executor.remote_calls
    outcome.shared = executor.shared
    outcome.spend_usd = spent[0]
    outcome.new_responses = executor.new_responses
    outcome.redacted = executor.redactor.count
    outcome.finished_at = now_iso()
    outcome.price_snapshot = plan.prices.snapshot()
    return outcome


def in_pair_order(results: Sequence[CaseResult], summaries: Sequence[Summary]) -> list[CaseResult]:
    """``results`` sorted by their pair's place among ``summaries`` (case order kept within)."""
    order = {(s.suite, s.config): index for index, s in enumerate(summaries)}
    return sorted(results, key=lambda r: order.get((r.suite, r.config), len(order)))


def notable(results: Sequence[CaseResult], keep: int = NOTABLE_PER_PAIR) -> list[CaseResult]:
    """What a run keeps in memory of a pair whose results went to a sink: its first
    errored results and its worst drops (the terminal's and the items' evidence), in
    case order."""
    errored = [r for r in results if r.error][:keep]
    worst = sorted(
        (r for r in results if r.delta is not None and r.delta < 0),
        key=lambda r: (r.delta, r.case_id),
    )[:keep]
    chosen = {id(r) for r in (*errored, *worst)}
    return [r for r in results if id(r) in chosen]


def pace(done: int, total: int, elapsed: float) -> str:
    """``, 3.2 cases/s, about 41 s left`` (empty before the first case is done)."""
    if done <= 0 or elapsed <= 0:
        return ""
    rate = done / elapsed
    left = max(total - done, 0) / rate
    eta = f"{left:.0f} s" if left < 120 else f"{left / 60:.0f} min"
    return f", {rate:.1f} cases/s, about {eta} left"


async def evaluate_pair(
    plan: Plan,
    item: PreparedSuite,
    spec: ConfigSpec,
    executor: Executor,
    *,
    sweeps: dict[tuple[str, str], dict[str, Any]] | None = None,
    memo: SuiteMemo | None = None,
    calibration: JudgeCalibration | None = None,
) -> tuple[list[CaseResult], Summary]:
    """Run one configuration over one suite's cases and judge it.

    A threshold sweep (``threshold = "sweep"``) goes to :mod:`harness.engine.router_sweep`;
    its curve is put in ``sweeps``. ``memo`` holds what the suite's configurations
    share in this run (see :class:`~harness.engine.run_data.SuiteMemo`); ``calibration``
    the suite's judge calibration, when its judge has ``calibrate = true``.
    """
    suite = item.suite
    if spec.is_sweep:
        results, summary, record = await evaluate_sweep(plan, item, spec, executor)
        if sweeps is not None:
            sweeps[(suite.name, spec.name)] = record
        return results, summary
    chain = build_chain(spec, where=f"config {spec.name!r}")
    gate = plan.settings.gate.merged(suite.gate_overrides, where=display_path(suite.path)).merged(
        spec.gate_overrides, where=f"config {spec.name!r}"
    )
    compresses = any(getattr(s, "lever", None) == "compress" for s in chain.strategies)
    if not chain.stateful and not compresses and not isinstance(item.scorer, JudgeScorer):
        # The common case: each answer scored as it arrives and then dropped.
        results, batched = await send_and_score(chain, item, spec, executor, plan, gate, memo=memo)
        return await _judge_pair(plan, item, spec, gate, chain, executor, results, batched)
    if chain.stateful:
        # A cache's answer depends on the cases before: replay them in order.
        outputs = [
            await send_case(chain, suite, case, executor, plan, memo) for case in suite.cases
        ]
    else:
        outputs = list(
            await asyncio.gather(
                *(send_case(chain, suite, case, executor, plan, memo) for case in suite.cases)
            )
        )
    judged: JudgedSuite | None = None
    if isinstance(item.scorer, JudgeScorer):
        # Through the executor: judge calls are deduped, stored and replayed.
        judged = await judge_suite(
            item.scorer,
            [
                JudgeItem(
                    case_id=case.id,
                    question=case_question(case),
                    output=sent.response.text,
                    golden=item.goldens[case.id].text,
                    expected=case.expected,
                )
                for case, sent in zip(suite.cases, outputs, strict=True)
                if sent.response.error is None
            ],
            executor.send,
            seed=derive_seed(plan.settings.seed, suite.name, spec.name, "judge-noise"),
        )
    results = [
        score_case(
            item,
            spec,
            case,
            sent,
            plan,
            gate,
            judged=judged,
            memo=memo,
        )
        for case, sent in zip(suite.cases, outputs, strict=True)
    ]
    batched = sum(1 for sent in outputs if any(r.batch for _, r in sent.calls))
    calls = {case.id: sent.calls for case, sent in zip(suite.cases, outputs, strict=True)}
    return await _judge_pair(
        plan,
        item,
        spec,
        gate,
        chain,
        executor,
        results,
        batched,
        judged=judged,
        calls=calls,
        calibration=calibration,
    )


async def _judge_pair(
    plan: Plan,
    item: PreparedSuite,
    spec: ConfigSpec,
    gate: GateSpec,
    chain: Chain,
    executor: Executor,
    results: list[CaseResult],
    batched: int,
    *,
    judged: JudgedSuite | None = None,
    calls: Mapping[str, tuple[tuple[Request, Response], ...]] | None = None,
    calibration: JudgeCalibration | None = None,
) -> tuple[list[CaseResult], Summary]:
    """The pair's verdict from its scored results: scorer check, lever figures, summary."""
    suite = item.suite
    noise = judged.noise.noise if judged is not None and judged.noise is not None else None
    findings = scorer_findings(
        item.scorer_check, results, item.goldens, floor=gate.min_baseline_quality
    )
    judge_problem: str | None = None
    extras = await lever_metrics(
        chain, item, results, gate, plan.prices, send=executor.send, calls=calls
    )
    if batched:
        # Priced at batch rates (what the run paid); say so wherever the cost is shown.
        extras = {**extras, "batch": {"cases": batched, "rate": "batch"}}
    if judged is not None and isinstance(item.scorer, JudgeScorer):
        judge = judge_findings(
            item.scorer, judged, plan.prices, config=spec.name, calibration=calibration
        )
        judge_problem = judge.problem
        # The judge's figures ride with the scorer's warnings: every view prints those.
        findings = replace(findings, warnings=(*findings.warnings, *judge.warnings, judge.note))
        extras = {**extras, "judge": judge.figures}
    # What the cache's embedder billed is part of what the configuration costs.
    embedding = (extras.get("cache") or {}).get("embedding_usd")
    summary = summarize_pair(
        plan,
        suite,
        spec,
        gate,
        results,
        noise=noise,
        overhead_usd=Decimal(embedding or 0),
        findings=findings,
        judge_problem=judge_problem,
    )
    return results, replace(summary, extras=extras) if extras else summary


__all__ = ["PROGRESS_INTERVAL", "evaluate_pair", "run"]
