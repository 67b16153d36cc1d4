"""One case through a configuration: sent through its chain, scored against the golden, costed."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

from harness.config.settings import ConfigSpec
from harness.config.suites import (
    Suite,
    display_path,
)
from harness.engine.case_budget import PAIR_WINDOW
from harness.engine.costs import calls_cost, golden_cost
from harness.engine.executor import Executor
from harness.engine.run_data import Plan, PreparedSuite, SentCase, SuiteMemo
from harness.errors import CostEvalError
from harness.scoring import RecordedScorer, Scorer
from harness.scoring.judge import JudgedSuite
from harness.stats.gates import GateSpec
from harness.strategies.chain import Chain
from harness.types import (
    Case,
    CaseResult,
    Request,
    Response,
    Usage,
)


async def send_case(
    chain: Chain,
    suite: Suite,
    case: Case,
    executor: Executor,
    plan: Plan,
    memo: SuiteMemo | None = None,
) -> SentCase:
    """Send one case through a configuration's chain, recording every model call
    (``memo``: the suite's, which builds the case's request once per run)."""
    calls: list[tuple[Request, Response]] = []

    async def provider(request: Request) -> Response:
        response = await executor.send(request)
        calls.append((request, response))
        return response

    response = await chain.send(baseline_request(suite, case, plan, memo), provider)
    executor.cases_done += 1
    return SentCase(response=response, calls=tuple(calls))


def baseline_request(suite: Suite, case: Case, plan: Plan, memo: SuiteMemo | None) -> Request:
    """The request ``case`` sends the baseline (built once per run with the suite's ``memo``)."""
    baseline = plan.settings.baseline
    return (
        memo.request(suite, case, baseline) if memo is not None else suite.request(case, baseline)
    )


async def send_and_score(
    chain: Chain,
    item: PreparedSuite,
    spec: ConfigSpec,
    executor: Executor,
    plan: Plan,
    gate: GateSpec,
    *,
    memo: SuiteMemo | None = None,
    window: int = PAIR_WINDOW,
) -> tuple[list[CaseResult], int]:
    """Send a suite's cases through a stateless chain, scoring each as it comes back.

    At most ``window`` cases wait at once, and each answer (with its requests) is
    dropped once scored: a pair's memory is its results, whatever its size. Not for
    a judge (which sees every answer first) or a chain with state. Returns the
    results in case order and how many cases a batch API answered.
    """
    cases = item.suite.cases
    results: list[CaseResult | None] = [None] * len(cases)
    batched = 0
    # One iterator shared by the workers: each takes the next case when it is free.
    order = iter(range(len(cases)))

    async def worker() -> None:
        nonlocal batched
        for index in order:
            case = cases[index]
            sent = await send_case(chain, item.suite, case, executor, plan, memo)
            if any(response.batch for _, response in sent.calls):
                batched += 1
            results[index] = score_case(item, spec, case, sent, plan, gate, memo=memo)

    await asyncio.gather(*(worker() for _ in range(min(window, len(cases)))))
    return [result for result in results if result is not None], batched


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
    memo: SuiteMemo | None = None,
) -> CaseResult:
    """Score one case's output and its baseline golden; cost both.

    With a judge scorer, ``judged`` holds the verdicts (made before, asynchronously):
    the golden against itself is a tie, so the baseline scores 1.0; a case the judge
    could not judge is an error row. ``memo``, shared by every configuration of the
    suite in one run, scores and costs each golden once.
    """
    suite = item.suite
    golden = item.goldens[case.id]
    prices = plan.prices
    response = sent.response
    recorded = item.scorer if isinstance(item.scorer, RecordedScorer) else None
    rationale = ""
    eval_cost = Decimal(0)  # what judging this case cost (evaluation, not the config)
    baseline_score: float | None
    if recorded is not None:
        try:
            baseline_score = recorded.score_case(case.id, golden.model).value
        except CostEvalError as exc:
            # The baseline's own label is unusable (a judge's -1, say): there is
            # nothing to compare with, so the case is an error row of every config.
            baseline_score = None
            if response.error is None:
                response = replace(response, error=f"baseline: {exc}")
    elif judged is not None:
        baseline_score = 1.0
    else:
        baseline_score = memo.baseline_scores.get(case.id) if memo is not None else None
        if baseline_score is None:
            baseline_score = reference_scores(
                item.scorer, golden.text, golden.text, case.expected, suite.reference
            )
            if memo is not None:
                memo.baseline_scores[case.id] = baseline_score
    # Billed cost first, then usage at the price table's rates, then an offline estimate.
    where = f"{item.shown_path or display_path(suite.path)}: case {case.id!r}"
    cost, cost_source = calls_cost(prices, sent.calls, where=where)
    known = memo.golden_costs.get(case.id) if memo is not None else None
    if known is None:
        known = golden_cost(
            prices,
            baseline_request(suite, case, plan, memo),
            golden,
            where=f"{where}, the baseline's golden",
        )
        if memo is not None:
            memo.golden_costs[case.id] = known
    baseline_cost, baseline_source = known
    if len(sent.calls) == 1:  # the common case: the one call's own figures
        ((only_request, only_call),) = sent.calls
        usage, latency, models = only_call.usage, only_call.latency_ms, [only_request.model]
    else:
        usage, latency = Usage(), 0.0
        for _request, call in sent.calls:
            usage = usage + call.usage
            latency += call.latency_ms
        models = list(dict.fromkeys(request.model for request, _ in sent.calls))
    if response.cache_hit:
        latency = response.latency_ms
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
        # Its noise repeats too: every judge call about the case is evaluation cost.
        eval_cost = judged.case_eval_cost(case.id, prices)
    elif response.error is None:
        score = reference_scores(
            item.scorer, response.text, golden.text, case.expected, suite.reference
        )
    if score is not None and baseline_score is not None:
        delta = score - baseline_score
    reference_text = (
        golden.text if suite.reference == "golden" or judged is not None else (case.expected or "")
    )
    flagged = delta is not None and delta <= -gate.flag_drop
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
        baseline_cost_usd=baseline_cost,
        usage=usage,
        latency_ms=latency,
        cache_hit=response.cache_hit,
        calls=len(sent.calls),
        error=response.error,
        flagged=flagged,
        rationale=rationale,
        eval_cost_usd=eval_cost,
        cost_source=cost_source,
        baseline_cost_source=baseline_source,
        # The question only where the report shows it: flagged cases.
        prompt=case.prompt if flagged else "",
        prompt_context=case.preamble() if flagged else "",
    )
