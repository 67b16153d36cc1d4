"""Threshold sweeps inside a run: a ``threshold = "sweep"`` router as one configuration.

A threshold router configured with ``threshold = "sweep"`` is not one
threshold but the whole curve (:mod:`harness.analysis.router_sweep`). Per suite:

1. each case's request is scored by the router's score function (the request
   as a fixed-threshold configuration's router sees it); a score that raises,
   is NaN or lies outside [0, 1] makes that case an error row, left out of the
   curve and counted against the gate's error share;
2. the strong and the weak model answer each case once through the run's
   :class:`~harness.engine.executor.Executor` (two calls per case at most; none when
   the goldens or the response store hold them, which they do for the strong
   model when it is the baseline);
3. both answers are scored once with the suite's scorer and costed with the
   price table (:func:`harness.engine.run.score_case`);
4. with ``score = "trained"``, each case gets an out-of-fold score from a
   TF-IDF + logistic-regression router trained on the other folds, with labels
   from where the weak answer scored below the strong one;
5. :func:`harness.analysis.router_sweep.sweep_router_thresholds` judges every
   point with the merged gate (settings <- suite <- configuration), seeded by
   the run seed, the suite and the configuration.

The pytest item's summary is the **recommended** point, the cheapest that
passes the gate, and its case results are those of the recommended threshold
(so its degraded cases show in the report). With no passing point the verdict
is *fail*, with the reason; when the sweep cannot be computed at all (every
case errored, a suite too small to train a router on) every case is an error
row carrying the reason and the verdict is *error*.

The curve itself goes to the ``sweeps`` table
(:func:`harness.store.sweeps.write_sweeps`) and to the report's "Router sweeps"
section.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from harness.analysis.router_curves import random_ranking_warning
from harness.analysis.router_input import SweepInput
from harness.analysis.router_sweep import SweepPoint, SweepResult, sweep_router_thresholds
from harness.config.settings import ConfigSpec
from harness.config.suites import Suite, display_path
from harness.engine.cases import score_case
from harness.engine.executor import Executor, close_providers
from harness.engine.goldens import checked_goldens, golden_response
from harness.engine.run_data import Plan, PreparedSuite, SentCase
from harness.engine.scorer_check import scorer_findings
from harness.engine.summary import summarize_pair
from harness.errors import ConfigError, CostEvalError
from harness.formatting import money
from harness.stats.bootstrap import derive_seed
from harness.stats.gates import GateSpec
from harness.strategies.base import routers
from harness.strategies.chain import build_chain  # noqa: F401  (registers the built-in routers)
from harness.strategies.router import ThresholdRouter, last_user_text
from harness.strategies.trained_router import kfold_scores, labels_from_scores
from harness.types import Case, CaseResult, Request, Response, Summary

__all__ = [
    "CaseAnswers",
    "SuiteSweep",
    "describe_sweep",
    "evaluate_sweep",
    "sweep_record",
    "sweep_router",
    "sweep_suite",
    "threshold_text",
]

FloatArray = npt.NDArray[np.float64]

# --------------------------------------------------------------------------- answers


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseAnswers:
    """One case of a sweep: both models' scored answers and the router's score."""

    case: Case
    strong: CaseResult
    """The strong model's answer, scored and costed (an error row when it failed)."""
    weak: CaseResult
    router_score: float | None
    """The router's score; None for ``trained`` (scored out of fold later) or an error."""
    error: str | None = None
    """Why the case is left out of the curve (router score or an answer failed), or None."""

    def result(self, strong: bool) -> CaseResult:
        """The case's result when routed to the strong (True) or the weak model.

        A case left out of the curve is its error row whatever the routing.
        """
        if self.error is not None:
            return self.strong if self.strong.error is not None else self.weak
        return self.strong if strong else self.weak


@dataclass(frozen=True, slots=True, kw_only=True)
class SuiteSweep:
    """A computed sweep of one configuration over one suite."""

    suite: str
    config: str
    router: ThresholdRouter
    gate: GateSpec
    baseline: str
    cases: tuple[CaseAnswers, ...]
    """Every case of the suite, in suite order."""
    used: tuple[int, ...]
    """Indices into ``cases`` of the cases on the curve (no error)."""
    router_scores: tuple[float, ...]
    """The router score of each case of ``used``, in that order."""
    result: SweepResult

    @property
    def errors(self) -> int:
        """Cases left out of the curve."""
        return len(self.cases) - len(self.used)

    @property
    def first_error(self) -> str | None:
        """The first left-out case's error, naming the case."""
        for answers in self.cases:
            if answers.error is not None:
                return f"case {answers.case.id!r}: {answers.error}"
        return None

    @property
    def baseline_cost_per_query(self) -> float:
        """Mean cost of the baseline's answers over the cases on the curve."""
        costs = [float(self.cases[i].strong.baseline_cost_usd) for i in self.used]
        return sum(costs) / len(costs)

    @property
    def shown_point(self) -> SweepPoint:
        """The recommended point; without one, the closest to passing (as the reason names)."""
        if self.result.recommended is not None:
            return self.result.recommended
        points = self.result.points
        judged = [p for p in points if p.verdict is not None and p.ci_low is not None]
        if judged:
            return max(judged, key=lambda p: p.ci_low if p.ci_low is not None else -math.inf)
        return max(points, key=lambda p: (p.delta, p.strong_share))

    def results_at(self, threshold: float) -> list[CaseResult]:
        """Every case's result when routed with ``threshold`` (score >= threshold: strong)."""
        scores = dict(zip(self.used, self.router_scores, strict=True))
        return [
            answers.result(scores.get(i, -math.inf) >= threshold)
            for i, answers in enumerate(self.cases)
        ]


def sweep_router(spec: ConfigSpec, *, where: str) -> ThresholdRouter:
    """The threshold router of a sweep configuration, its options checked.

    Raises:
        ConfigError: ``spec`` is not a ``threshold = "sweep"`` router, or an option is invalid.
    """

    if spec.router is None or not spec.is_sweep:
        raise ConfigError(f'{where}: not a threshold sweep (threshold = "sweep").')
    factory = routers.get("threshold", where=f"{where}.router")
    router = factory(spec.router.options, f"{where}.router")
    if not isinstance(router, ThresholdRouter) or router.sweep is None:
        raise ConfigError(f"{where}: the registered 'threshold' router does not support sweeps.")
    return router


def _router_score(router: ThresholdRouter, request: Request) -> tuple[float | None, str | None]:
    """The router's score of ``request``, or why there is none (never raises)."""
    if router.score_name == "trained":
        return None, None
    try:
        value = float(router.score(request))
    except Exception as exc:  # a user's score function: an error row, never a crash
        return None, f"router score {router.score_name!r} raised {type(exc).__name__}: {exc}"
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        problem = "NaN" if math.isnan(value) else f"{value!r}, outside [0, 1]"
        return None, (
            f"router score {router.score_name!r} returned {problem}; a router score is the "
            "predicted need for the strong model, a number in [0, 1]"
        )
    return value, None


async def collect_answers(
    plan: Plan,
    item: PreparedSuite,
    spec: ConfigSpec,
    router: ThresholdRouter,
    executor: Executor,
    gate: GateSpec,
) -> list[CaseAnswers]:
    """Score every case's request, get both models' answers once, score and cost them."""

    suite = item.suite
    baseline = plan.settings.baseline

    def scored(case: Case, request: Request | None, response: Response) -> CaseResult:
        calls = () if request is None else ((request, response),)
        return score_case(item, spec, case, SentCase(response=response, calls=calls), plan, gate)

    async def one(case: Case) -> CaseAnswers:
        # The request as a fixed-threshold router sees it (random scores hash it).
        request = suite.request(case, baseline)
        value, problem = _router_score(router, request)
        if problem is not None:
            row = scored(case, None, Response(text="", model="router", error=problem))
            _case_done(executor)
            return CaseAnswers(case=case, strong=row, weak=row, router_score=None, error=problem)
        strong_request = request.with_model(router.strong).with_batch(spec.batch)
        weak_request = request.with_model(router.weak).with_batch(spec.batch)
        strong_response, weak_response = await asyncio.gather(
            executor.send(strong_request), executor.send(weak_request)
        )
        _case_done(executor)
        strong = scored(case, strong_request, strong_response)
        weak = scored(case, weak_request, weak_response)
        error = None
        for label, row in (("strong", strong), ("weak", weak)):
            if row.score is None:
                error = f"the {label} model's answer ({row.model}): {row.error}"
                break
        return CaseAnswers(case=case, strong=strong, weak=weak, router_score=value, error=error)

    return list(await asyncio.gather(*(one(case) for case in suite.cases)))


def _case_done(executor: Executor) -> None:
    # The run's progress display counts finished cases (when the executor keeps count).
    if hasattr(executor, "cases_done"):
        executor.cases_done += 1


def compute_sweep(
    plan: Plan,
    item: PreparedSuite,
    spec: ConfigSpec,
    router: ThresholdRouter,
    gate: GateSpec,
    answers: Sequence[CaseAnswers],
) -> SuiteSweep:
    """Judge every threshold from the collected answers (pure computation).

    Raises:
        CostEvalError: no case is usable, or the trained router cannot be fitted
            (a suite too small to split, one outcome only); the message names
            the suite and the configuration.
    """

    suite = item.suite
    options = router.sweep
    assert options is not None  # sweep_router checked it
    where = f"suite {suite.name!r}, config {spec.name!r}"
    used = [i for i, a in enumerate(answers) if a.error is None]
    if not used:
        first = next((a for a in answers if a.error is not None), None)
        detail = f"; first: case {first.case.id!r}: {first.error}" if first else ""
        raise CostEvalError(
            f"{where}: no case can be swept: all {len(answers)} case(s) errored{detail}."
        )
    chosen = [answers[i] for i in used]
    strong = [float(a.strong.score or 0.0) for a in chosen]
    weak = [float(a.weak.score or 0.0) for a in chosen]
    if router.score_name == "trained":
        texts = [last_user_text(suite.request(a.case, plan.settings.baseline)) for a in chosen]
        try:
            scores = [
                float(v)
                for v in kfold_scores(
                    texts,
                    labels_from_scores(strong, weak),
                    k=options.folds,
                    seed=derive_seed(plan.settings.seed, suite.name, spec.name, "folds"),
                )
            ]
        except CostEvalError as exc:
            raise CostEvalError(f"{where}: the trained router cannot be fitted: {exc}") from None
    else:
        scores = [float(a.router_score) for a in chosen if a.router_score is not None]
    try:
        inp = SweepInput.build(
            case_ids=[a.case.id for a in chosen],
            strong_score=strong,
            weak_score=weak,
            baseline_score=[float(a.strong.baseline_score or 0.0) for a in chosen],
            strong_cost=[float(a.strong.cost_usd) for a in chosen],
            weak_cost=[float(a.weak.cost_usd) for a in chosen],
            baseline_cost=[float(a.strong.baseline_cost_usd) for a in chosen],
            router_score=scores,
            categories=[a.case.category for a in chosen],
        )
        result = sweep_router_thresholds(
            inp,
            thresholds=options.thresholds,
            n_quantiles=options.quantiles,
            gate=gate,
            seed=derive_seed(plan.settings.seed, suite.name, spec.name),
            errors=len(answers) - len(used),
        )
    except CostEvalError as exc:
        raise CostEvalError(f"{where}: {exc}") from None
    return SuiteSweep(
        suite=suite.name,
        config=spec.name,
        router=router,
        gate=gate,
        baseline=plan.settings.baseline,
        cases=tuple(answers),
        used=tuple(used),
        router_scores=tuple(scores),
        result=result,
    )


def merged_gate(plan: Plan, item: PreparedSuite, spec: ConfigSpec) -> GateSpec:
    """The gate of one (suite, configuration): settings <- suite <- configuration."""
    return plan.settings.gate.merged(
        item.suite.gate_overrides, where=display_path(item.suite.path)
    ).merged(spec.gate_overrides, where=f"config {spec.name!r}")


async def sweep_suite(
    plan: Plan, item: PreparedSuite, spec: ConfigSpec, executor: Executor
) -> SuiteSweep:
    """Collect the answers of one suite and sweep the configuration's threshold.

    Raises:
        CostEvalError: the configuration is not a sweep, or the sweep cannot be
            computed (see :func:`compute_sweep`).
    """
    router = sweep_router(spec, where=f"config {spec.name!r}")
    gate = merged_gate(plan, item, spec)
    answers = await collect_answers(plan, item, spec, router, executor, gate)
    return compute_sweep(plan, item, spec, router, gate, answers)


# --------------------------------------------------------------------------- the pytest item


async def evaluate_sweep(
    plan: Plan, item: PreparedSuite, spec: ConfigSpec, executor: Executor
) -> tuple[list[CaseResult], Summary, dict[str, Any]]:
    """The front door for the pipeline: case results, summary and curve of one sweep pair.

    The summary is the recommended point's (its verdict is what is gated); the
    case results are those of the recommended threshold. Without a passing
    point, the closest one's results with verdict *fail* and the reason. When
    the sweep cannot be computed, every case is an error row with the reason
    and the verdict is *error*.
    """

    suite = item.suite
    router = sweep_router(spec, where=f"config {spec.name!r}")
    gate = merged_gate(plan, item, spec)
    answers = await collect_answers(plan, item, spec, router, executor, gate)
    try:
        computed = compute_sweep(plan, item, spec, router, gate, answers)
    except CostEvalError as exc:
        message = f"threshold sweep not computed: {exc}"
        failed = Response(text="", model="router", error=message)
        # A case with its own error keeps it; the others carry the reason.
        results = [
            answers[i].result(True)
            if answers[i].error is not None
            else score_case(item, spec, case, SentCase(response=failed, calls=()), plan, gate)
            for i, case in enumerate(suite.cases)
        ]
        summary = summarize_pair(plan, suite, spec, gate, results)
        summary = replace(summary, verdict="error", reasons=(message,))
        return results, summary, _error_record(suite.name, spec.name, router, str(exc))
    point = computed.shown_point
    results = computed.results_at(point.threshold)
    findings = scorer_findings(
        item.scorer_check, results, item.goldens, floor=gate.min_baseline_quality
    )
    summary = summarize_pair(plan, suite, spec, gate, results, findings=findings)
    result = computed.result
    if result.recommended is not None:
        reasons = (
            f"recommended threshold {threshold_text(point.threshold, point.strong_calls)}: "
            f"{point.strong_share:.1%} of cases to {router.strong}, the cheapest of "
            f"{len(result.points)} thresholds that passes the gate",
        )
        verdict = point.verdict or summary.verdict
    else:
        reasons = (result.recommendation_reason,)
        verdict = "fail"
    summary = replace(
        summary,
        delta=point.delta,
        ci_low=point.ci_low if point.ci_low is not None else summary.ci_low,
        ci_high=point.ci_high if point.ci_high is not None else summary.ci_high,
        verdict=verdict,
        reasons=reasons,
    )
    if findings.problem:
        # No threshold passes a gate whose scorer cannot read the answers.
        summary = replace(summary, verdict="fail", reasons=(findings.problem, *reasons))
    return results, summary, sweep_record(computed)


# --------------------------------------------------------------------------- records


def plain_json(value: Any) -> Any:
    """Plain JSON values: non-finite floats become None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    return value


def _router_fields(suite: str, config: str, router: ThresholdRouter) -> dict[str, Any]:
    options = router.sweep
    return {
        "suite": suite,
        "config": config,
        "strong": router.strong,
        "weak": router.weak,
        "score": router.score_name,
        "quantiles": options.quantiles if options else None,
        "thresholds": list(options.thresholds) if options else [],
    }


def _error_record(suite: str, config: str, router: ThresholdRouter, error: str) -> dict[str, Any]:
    record: dict[str, Any] = plain_json({**_router_fields(suite, config, router), "error": error})
    return record


def sweep_record(computed: SuiteSweep) -> dict[str, Any]:
    """What is stored and shown of a sweep: :meth:`SweepResult.to_json` and more.

    Adds, for the report: the suite, configuration, models and score; the
    number of cases and errors; the baseline's quality and cost; the gate
    margin; the recommendation's reason and index; the oracle curve; the
    Pareto points; and, per point, its strong calls, gate reasons and whether
    it is on the Pareto frontier.
    """
    result = computed.result
    data = result.to_json()
    for point, entry in zip(result.points, data["points"], strict=True):
        entry.update(strong_calls=point.strong_calls, reasons=list(point.reasons))
        entry["pareto"] = point.pareto
    recommended = (
        None
        if result.recommended is None
        else next(i for i, p in enumerate(result.points) if p is result.recommended)
    )
    data.update(
        _router_fields(computed.suite, computed.config, computed.router),
        baseline=computed.baseline,
        kind=result.kind,
        n=result.n,
        errors=computed.errors,
        first_error=computed.first_error,
        baseline_quality=result.baseline_quality,
        baseline_cost_per_query=computed.baseline_cost_per_query,
        margin=computed.gate.max_quality_drop,
        recommended_index=recommended,
        recommendation_reason=result.recommendation_reason,
        random_apgr=result.random_apgr,
        oracle={
            "shares": list(result.oracle_shares),
            "quality": list(result.oracle_quality),
            "cpt": dict(result.oracle_cpt),
        },
        pareto=list(result.pareto),
        ci_policy=result.ci_policy,
    )
    cleaned: dict[str, Any] = plain_json(data)
    return cleaned


def threshold_text(threshold: Any, strong_calls: Any) -> str:
    """A threshold to four significant digits; the 0 %-strong point reads ``> max score``."""
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        return "—"
    if not math.isfinite(threshold):
        return "—"
    if strong_calls == 0:
        # Its threshold is the float just above the highest router score.
        return f"> {math.nextafter(float(threshold), -math.inf):.4g}"
    return f"{float(threshold):.4g}"


def describe_sweep(record: Mapping[str, Any]) -> str:
    """One line on a stored sweep: its recommendation and curve metrics."""
    if record.get("error"):
        return f"sweep not computed: {record['error']}"

    def metric(value: Any) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    rec = record.get("recommended")
    if rec is None:
        head = "no threshold passes the gate"
    else:
        base = record.get("baseline_cost_per_query") or 0.0
        saved = f", {1 - rec['cost_per_query'] / base:.0%} saved" if base else ""
        head = (
            f"recommended threshold {rec['threshold']:.4g}: {rec['strong_share']:.0%} to "
            f"{record['strong']}, {money(rec['cost_per_query'])}/query{saved}"
        )
    warning = random_ranking_warning(record.get("apgr"), record.get("random_apgr", 0.5))
    return (
        f"{head}; {len(record.get('points') or [])} thresholds, APGR "
        f"{metric(record.get('apgr'))} (oracle {metric(record.get('oracle_apgr'))}, "
        f"random {record.get('random_apgr', 0.5):.1f})"
        + (f". WARNING: {warning}" if warning else "")
    )


async def sweep_project_suite(
    plan: Plan, suite: Suite, spec: ConfigSpec, executor: Executor, *, run_id: str
) -> SuiteSweep:
    """Sweep ``spec``'s router over one suite of a project, outside a pytest run.

    The suite's goldens must be recorded (a problem raises); they answer the
    baseline's own requests. The executor's providers are closed at the end.

    Raises:
        CostEvalError: the suite's goldens are missing or stale.
    """
    try:
        prepared = await checked_goldens(plan, suite, executor, run_id=run_id)
        # The baseline's own requests are answered by its goldens.
        for golden in prepared.goldens.values():
            executor.recorded.setdefault(golden.request_hash, golden_response(golden))
        return await sweep_suite(plan, prepared, spec, executor)
    finally:
        await close_providers(executor)
