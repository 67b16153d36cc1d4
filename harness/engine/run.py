"""One evaluation run: goldens -> execute -> simulate -> score -> statistics.

:func:`prepare` loads and checks everything a run needs before a single request
is sent (suites, configurations, chains, models, prices), so bad input is
reported up front. :func:`run` then evaluates the selected (suite,
configuration) pairs and returns a :class:`RunOutcome`; storing it and
rendering the report are the caller's next steps (:mod:`harness.store.runs`,
:mod:`harness.report`). The pytest plugin, and later the CLI, call these.
"""

from __future__ import annotations

import asyncio
import gc
import math
import platform
import subprocess
import uuid
from collections.abc import Callable, Collection, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from harness import __version__
from harness.config.prices import PriceTable
from harness.config.settings import ConfigSpec, Settings
from harness.config.suites import (
    Suite,
    display_path,
    goldens_path,
    load_goldens,
    load_suite,
    now_iso,
    write_goldens,
)
from harness.embedders import attach_recorder, is_embedding
from harness.engine.executor import Executor, RecordMode, close_providers
from harness.errors import CostEvalError, SuiteError
from harness.providers import base_model, check_model_spec
from harness.scoring import RecordedQuality, RecordedScorer, Scorer, build_scorer
from harness.scoring.judge import JudgedSuite, JudgeItem, JudgeScorer, case_question, judge_suite
from harness.stats.bootstrap import (
    category_deltas,
    deltas_by_category,
    derive_seed,
    is_binary,
    paired_bootstrap_ci,
    parse_volume,
)
from harness.stats.gates import GateInput, GateSpec, judge
from harness.strategies.chain import Chain, build_chain
from harness.types import (
    Case,
    CaseResult,
    CategorySummary,
    Golden,
    Request,
    Response,
    Summary,
    Usage,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparedSuite:
    """A suite with its scorer and the goldens of the baseline model."""

    suite: Suite
    scorer: Scorer
    goldens: Mapping[str, Golden]
    problem: str | None = None
    """Why this suite cannot be evaluated (missing or stale goldens), or None."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Everything a run needs, checked: suites, configurations, chains, prices."""

    settings: Settings
    configs: Mapping[str, ConfigSpec]
    prices: PriceTable
    monthly_volume: float


@dataclass(slots=True, kw_only=True)
class RunOutcome:
    """What a run produced, ready to store."""

    run_id: str
    started_at: str
    finished_at: str = ""
    settings: Settings
    metadata: dict[str, str] = field(default_factory=dict)
    summaries: list[Summary] = field(default_factory=list)
    results: list[CaseResult] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)
    """Suite name -> why it could not be evaluated."""
    calls: int = 0
    """Provider calls made (answers not served from goldens or the store)."""
    remote_calls: int = 0
    """Of ``calls``, those to paid APIs."""
    spend_usd: Decimal = Decimal(0)
    """What this run paid providers (new paid answers only; recorded ones are free)."""
    new_responses: dict[str, tuple[Request, Response]] = field(default_factory=dict)
    goldens_written: dict[str, int] = field(default_factory=dict)
    """Suite name -> goldens (re)recorded this run."""
    price_snapshot: dict[str, dict[str, str | None]] = field(default_factory=dict)
    sweeps: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """(suite, configuration) -> the threshold sweep of a ``threshold = "sweep"`` router,
    as :func:`harness.engine.router_sweep.sweep_record` gives it."""


def prepare(settings: Settings) -> Plan:
    """Check every configuration (strategies, models, prices) before anything is sent.

    Raises:
        CostEvalError: the first problem found, located and explained.
    """
    prices = PriceTable(settings.prices)
    where = f"{settings.source} [tool.cost-eval]"
    check_model_spec(settings.baseline, where=f"{where} baseline")
    prices.price_of(settings.baseline)
    configs: dict[str, ConfigSpec] = {}
    for spec in settings.configs:
        cwhere = f"{where} config {spec.name!r}"
        chain = build_chain(spec, where=cwhere)
        for model in chain.models():
            check_model_spec(model, where=cwhere)
            prices.price_of(model)
        configs[spec.name] = spec
    try:
        volume = parse_volume(settings.volume)
    except CostEvalError as exc:
        raise type(exc)(f"{where}: {exc}") from None
    return Plan(settings=settings, configs=configs, prices=prices, monthly_volume=volume)


def load_suites(paths: Iterable[Path], settings: Settings) -> dict[str, Suite]:
    """Load suite files, checking that suite names are unique.

    Raises:
        SuiteError: a file is invalid or two files use one suite name.
    """
    suites: dict[str, Suite] = {}
    for path in paths:
        suite = load_suite(path, gate=settings.gate)
        if suite.name in suites:
            raise SuiteError(
                f"{display_path(path)}: suite name {suite.name!r} is already used by "
                f"{display_path(suites[suite.name].path)}. Give each suite a unique 'suite:'."
            )
        suites[suite.name] = suite
    return suites


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
    )
    total_cases = sum(len(suites[suite].cases) for suite, _ in selected)

    async def report_progress() -> None:
        while True:
            await asyncio.sleep(progress_interval)
            say(
                f"{executor.cases_done}/{total_cases} cases, {executor.in_flight} calls in "
                f"flight, {executor.calls} made ({executor.remote_calls} paid, "
                f"{executor.errors} errors), ${spent[0]:.4f} spent on paid calls"
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
        jobs = []
        collecting: list[Coroutine[Any, Any, SentCase]] = []
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
                evaluate_pair(
                    plan, item, plan.configs[config_name], executor, sweeps=outcome.sweeps
                )
            )
        await asyncio.gather(*collecting)
        say(f"evaluating {len(jobs)} (suite, configuration) pairs")
        for pair_results, summary in await asyncio.gather(*jobs):
            outcome.results.extend(pair_results)
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
    # flight (measured: GC fell from ~0.15 to ~0.01 ms per request).
    gc.collect()
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
    order = {pair: index for index, pair in enumerate(selected)}
    outcome.results.sort(key=lambda r: (order[(r.suite, r.config)],))
    outcome.calls = executor.calls
    outcome.remote_calls = executor.remote_calls
    outcome.spend_usd = spent[0]
    outcome.new_responses = executor.new_responses
    outcome.finished_at = now_iso()
    outcome.price_snapshot = plan.prices.snapshot()
    return outcome


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
    requests = {case.id: suite.request(case, identity) for case in suite.cases}
    missing = [c.id for c in suite.cases if c.id not in goldens]
    stale = [
        c.id
        for c in suite.cases
        if c.id in goldens and goldens[c.id].request_hash != requests[c.id].hash()
    ]
    if update:
        to_record = [c.id for c in suite.cases] if update == "all" else missing + stale
        if to_record:
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
        path = display_path(goldens_path(settings.goldens_dir, suite.name, identity))
        parts = []
        if missing:
            parts.append(f"{len(missing)} case(s) have no golden ({_ids(missing)})")
        if stale:
            parts.append(
                f"{len(stale)} golden(s) are stale: recorded for a different request than the "
                f"case sends now ({_ids(stale)})"
            )
        problem = (
            f"{display_path(suite.path)}: {'; '.join(parts)} in {path}. Record them with "
            f"`pytest --cost-eval --cost-eval-update-goldens` and review the change to {path} "
            "in your pull request."
        )
        return PreparedSuite(suite=suite, scorer=scorer, goldens=goldens, problem=problem)
    return PreparedSuite(suite=suite, scorer=scorer, goldens=goldens)


def _ids(ids: Sequence[str], shown: int = 5) -> str:
    more = f", and {len(ids) - shown} more" if len(ids) > shown else ""
    return ", ".join(repr(i) for i in ids[:shown]) + more


def golden_response(golden: Golden) -> Response:
    """A golden as the response it recorded."""
    return Response(
        text=golden.text, model=golden.model, usage=golden.usage, latency_ms=golden.latency_ms
    )


async def evaluate_pair(
    plan: Plan,
    item: PreparedSuite,
    spec: ConfigSpec,
    executor: Executor,
    *,
    sweeps: dict[tuple[str, str], dict[str, Any]] | None = None,
) -> tuple[list[CaseResult], Summary]:
    """Run one configuration over one suite's cases and judge it.

    A threshold sweep (``threshold = "sweep"``) goes to :mod:`harness.engine.router_sweep`;
    its curve is put in ``sweeps``.
    """
    suite = item.suite
    if spec.is_sweep:
        from harness.engine.router_sweep import evaluate_sweep

        results, summary, record = await evaluate_sweep(plan, item, spec, executor)
        if sweeps is not None:
            sweeps[(suite.name, spec.name)] = record
        return results, summary
    chain = build_chain(spec, where=f"config {spec.name!r}")
    if chain.stateful:
        # A cache's answer depends on the cases before: replay them in order.
        outputs = [await send_case(chain, suite, case, executor, plan) for case in suite.cases]
    else:
        outputs = list(
            await asyncio.gather(
                *(send_case(chain, suite, case, executor, plan) for case in suite.cases)
            )
        )
    gate = plan.settings.gate.merged(suite.gate_overrides, where=display_path(suite.path)).merged(
        spec.gate_overrides, where=f"config {spec.name!r}"
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
        score_case(item, spec, case, sent, plan, gate, judged=judged)
        for case, sent in zip(suite.cases, outputs, strict=True)
    ]
    noise = judged.noise.noise if judged is not None and judged.noise is not None else None
    extras = await lever_metrics(chain, item, results, gate, plan.prices)
    # What the cache's embedder billed is part of what the configuration costs.
    embedding = (extras.get("cache") or {}).get("embedding_usd")
    summary = summarize(
        plan, suite, spec, gate, results, noise=noise, overhead_usd=Decimal(embedding or 0)
    )
    return results, replace(summary, extras=extras) if extras else summary


async def lever_metrics(
    chain: Chain,
    item: PreparedSuite,
    results: Sequence[CaseResult],
    gate: GateSpec,
    prices: PriceTable | None = None,
) -> dict[str, Any]:
    """Cache and compression figures of a configuration (:mod:`harness.engine.lever_metrics`)."""
    from harness.engine.lever_metrics import (
        cache_metrics,
        compression_metrics,
        semantic_cache_sweep,
    )

    extras: dict[str, Any] = {}
    cache = cache_metrics(
        chain, results, confidence=gate.confidence, prices=prices, goldens=item.goldens
    )
    if cache is not None:
        extras["cache"] = cache
        cache_sweep = await semantic_cache_sweep(
            chain, item.suite, item.goldens, item.scorer, confidence=gate.confidence
        )
        if cache_sweep is not None:
            extras["cache_sweep"] = cache_sweep
    compression = compression_metrics(chain, results, item.goldens)
    if compression is not None:
        extras["compression"] = compression
    return extras


@dataclass(frozen=True, slots=True)
class SentCase:
    """A case's final response and the model calls that produced it."""

    response: Response
    calls: tuple[tuple[Request, Response], ...]


async def send_case(
    chain: Chain, suite: Suite, case: Case, executor: Executor, plan: Plan
) -> SentCase:
    """Send one case through a configuration's chain, recording every model call."""
    calls: list[tuple[Request, Response]] = []

    async def provider(request: Request) -> Response:
        response = await executor.send(request)
        calls.append((request, response))
        return response

    response = await chain.send(suite.request(case, plan.settings.baseline), provider)
    executor.cases_done += 1
    return SentCase(response=response, calls=tuple(calls))


def reference_scores(
    scorer: Scorer, output: str, golden: str, expected: str | None, reference: str
) -> float:
    """The quality of ``output`` under the suite's reference rule.

    ``golden``: agreement with the baseline's answer; ``expected``: correctness;
    ``both``: the mean of the two.
    """
    if reference == "golden":
        return scorer.score(output, golden).value
    assert expected is not None  # checked when the suite was loaded
    if reference == "expected":
        return scorer.score(output, expected).value
    return (scorer.score(output, golden).value + scorer.score(output, expected).value) / 2


def score_case(
    item: PreparedSuite,
    spec: ConfigSpec,
    case: Case,
    sent: SentCase,
    plan: Plan,
    gate: GateSpec,
    *,
    judged: JudgedSuite | None = None,
) -> CaseResult:
    """Score one case's output and its baseline golden; cost both.

    With a judge scorer, ``judged`` holds the verdicts (made before, asynchronously):
    the golden against itself is a tie, so the baseline scores 1.0; a case the judge
    could not judge is an error row.
    """
    suite = item.suite
    golden = item.goldens[case.id]
    prices = plan.prices
    response = sent.response
    recorded = item.scorer if isinstance(item.scorer, RecordedScorer) else None
    rationale = ""
    eval_cost = Decimal(0)  # what judging this case cost (evaluation, not the config)
    if recorded is not None:
        baseline_score = recorded.score_case(case.id, golden.model).value
    elif judged is not None:
        baseline_score = 1.0
    else:
        baseline_score = reference_scores(
            item.scorer, golden.text, golden.text, case.expected, suite.reference
        )
    usage = Usage()
    cost = Decimal(0)
    latency = 0.0
    for request, call in sent.calls:
        usage = usage + call.usage
        cost += prices.cost(request.model, call.usage, batch=request.batch)
        latency += call.latency_ms
    if response.cache_hit:
        latency = response.latency_ms
    models = list(dict.fromkeys(request.model for request, _ in sent.calls))
    score: float | None = None
    delta: float | None = None
    if response.error is None and recorded is not None:
        try:
            score = recorded.score_case(case.id, response.model).value
        except CostEvalError as exc:
            # No label for this (case, model): an error row, never a guessed score.
            response = replace(response, error=str(exc))
    elif response.error is None and judged is not None:
        verdict = judged.scores.get(case.id)
        if verdict is None or verdict.score is None:
            error = verdict.error if verdict is not None else None
            response = replace(response, error=f"judge: {error or 'not judged'}")
        else:
            score = verdict.score.value
            rationale = verdict.score.rationale
        if verdict is not None:
            eval_cost = verdict.cost(prices)
    elif response.error is None:
        score = reference_scores(
            item.scorer, response.text, golden.text, case.expected, suite.reference
        )
    if score is not None:
        delta = score - baseline_score
    reference_text = (
        golden.text if suite.reference == "golden" or judged is not None else (case.expected or "")
    )
    return CaseResult(
        suite=suite.name,
        config=spec.name,
        case_id=case.id,
        category=case.category,
        model="cache" if response.cache_hit else "+".join(models) or response.model,
        output=response.text,
        reference=reference_text,
        expected=case.expected,
        score=score,
        baseline_score=baseline_score,
        delta=delta,
        cost_usd=cost,
        baseline_cost_usd=prices.cost(plan.settings.baseline, golden.usage),
        usage=usage,
        latency_ms=latency,
        cache_hit=response.cache_hit,
        calls=len(sent.calls),
        error=response.error,
        flagged=delta is not None and delta <= -gate.flag_drop,
        rationale=rationale,
        eval_cost_usd=eval_cost,
    )


def summarize(
    plan: Plan,
    suite: Suite,
    spec: ConfigSpec,
    gate: GateSpec,
    results: Sequence[CaseResult],
    *,
    noise: float | None = None,
    overhead_usd: Decimal = Decimal(0),
) -> Summary:
    """The verdict of one (suite, configuration) from its case results.

    ``noise``: the quality change judge noise alone explains (a judge scorer's
    measured flip rate); no drop within it fails the gate. ``overhead_usd``:
    what the configuration spent beyond its cases' model calls (a semantic
    cache's embeddings), spread over its queries.
    """
    scored = [r for r in results if r.score is not None and r.delta is not None]
    errors = len(results) - len(scored)
    deltas = [r.delta for r in scored if r.delta is not None]
    n = len(scored)
    if n:
        delta, low, high = paired_bootstrap_ci(
            deltas,
            confidence=gate.confidence,
            resamples=gate.resamples,
            seed=derive_seed(plan.settings.seed, suite.name, spec.name),
        )
        quality = sum(r.score for r in scored if r.score is not None) / n
        baseline_quality = sum(r.baseline_score for r in scored if r.baseline_score is not None) / n
    else:
        delta = low = high = quality = baseline_quality = 0.0
    by_category = category_deltas([r.category for r in scored], deltas) if n else {}
    count = len(results)
    cost = (sum((r.cost_usd for r in results), Decimal(0)) + overhead_usd) / count
    baseline_cost = sum((r.baseline_cost_usd for r in results), Decimal(0)) / count
    ratio = float(cost / baseline_cost) if baseline_cost else None
    verdict = judge(
        gate,
        GateInput(
            n=n,
            errors=errors,
            delta=delta,
            ci_low=low,
            ci_high=high,
            deltas=deltas,
            category_deltas=deltas_by_category([r.category for r in scored], deltas) if n else {},
            cost_ratio=ratio,
            noise=noise,
            binary=is_binary(
                [r.score for r in scored if r.score is not None]
                + [r.baseline_score for r in scored if r.baseline_score is not None]
            ),
        ),
    )
    categories = []
    for category, (cat_n, cat_delta) in by_category.items():
        members = [r for r in scored if r.category == category]
        categories.append(
            CategorySummary(
                category=category,
                n=cat_n,
                quality=sum(r.score for r in members if r.score is not None) / cat_n,
                baseline_quality=sum(
                    r.baseline_score for r in members if r.baseline_score is not None
                )
                / cat_n,
                delta=cat_delta,
                failed=category in verdict.failed_categories,
                p_value=verdict.category_p_values.get(category),
            )
        )
    volume = Decimal(str(plan.monthly_volume))
    return Summary(
        suite=suite.name,
        config=spec.name,
        n=n,
        errors=errors,
        quality=quality,
        baseline_quality=baseline_quality,
        delta=delta,
        ci_low=low,
        ci_high=high,
        margin=gate.max_quality_drop,
        verdict=verdict.verdict,
        reasons=verdict.reasons,
        p_value=verdict.p_value,
        test=verdict.test,
        min_detectable_drop=(
            verdict.min_detectable_drop if math.isfinite(verdict.min_detectable_drop) else None
        ),
        enforced=spec.enforce,
        cost_per_query=cost,
        baseline_cost_per_query=baseline_cost,
        savings_pct=(1 - ratio) * 100 if ratio is not None else 0.0,
        monthly_cost=cost * volume,
        baseline_monthly_cost=baseline_cost * volume,
        flagged_cases=sum(1 for r in results if r.flagged),
        categories=tuple(categories),
        noise=noise,
    )


def new_run_id() -> str:
    """A sortable, unique run id: ``20261126T131500Z-3f9a1c``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def run_metadata(root: Path) -> dict[str, str]:
    """Git sha and branch (when in a checkout), harness and Python versions."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=5, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    return {
        "git_sha": git("rev-parse", "HEAD"),
        "git_branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "harness_version": __version__,
        "python_version": platform.python_version(),
    }


__all__ = ["Plan", "RunOutcome", "load_suites", "prepare", "run"]
