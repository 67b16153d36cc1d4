"""The verdict of one (suite, configuration).

Paired bootstrap of the per-case deltas, the gate's decision, cost per query
and the monthly projection at the declared volume. Cost per query is over the
answered cases (the configuration's and the baseline's, the same cases): an
errored case never counts as a saving; the errors are counted apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from harness.config.settings import ConfigSpec
from harness.config.suites import (
    Suite,
)
from harness.engine.costs import cost_counts
from harness.engine.run_data import Plan
from harness.engine.scorer_check import ScorerFindings
from harness.stats.bootstrap import (
    category_deltas,
    deltas_by_category,
    derive_seed,
    paired_bootstrap_ci,
)
from harness.stats.gates import GateInput, GateSpec, decide
from harness.stats.significance import is_binary
from harness.types import (
    CaseResult,
    CategorySummary,
    Summary,
)


def summarize_pair(
    plan: Plan,
    suite: Suite,
    spec: ConfigSpec,
    gate: GateSpec,
    results: Sequence[CaseResult],
    *,
    noise: float | None = None,
    overhead_usd: Decimal = Decimal(0),
    findings: ScorerFindings | None = None,
    judge_problem: str | None = None,
) -> Summary:
    """The verdict of one (suite, configuration) from its case results.

    ``noise``: the quality change judge noise alone explains (a judge scorer's
    measured flip rate); no drop within it fails the gate. ``overhead_usd``:
    what the configuration spent beyond its cases' model calls (a semantic
    cache's embeddings), spread over its queries. ``findings``: what the scorer
    check found (:func:`harness.engine.scorer_check.scorer_findings`); a problem
    keeps the verdict from passing. ``judge_problem``: why the judge's verdicts decide
    nothing (:func:`harness.scoring.judge.judge_findings`): the verdict is inconclusive.
    """
    findings = findings or ScorerFindings()
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
    # Over answered cases only: an error bills (next to) nothing, and counting it
    # would pass a failing configuration off as a saving.
    cost = (sum((r.cost_usd for r in scored), Decimal(0)) + overhead_usd) / n if n else Decimal(0)
    baseline_cost = sum((r.baseline_cost_usd for r in scored), Decimal(0)) / n if n else Decimal(0)
    ratio = float(cost / baseline_cost) if baseline_cost else None
    verdict = decide(
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
            scorer_problem=findings.problem,
            judge_problem=judge_problem,
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
        scorer_problem=findings.problem,
        scorer_warnings=findings.warnings,
        cost_sources=cost_counts(r.cost_source for r in scored),
        baseline_cost_sources=cost_counts(r.baseline_cost_source for r in scored),
    )
