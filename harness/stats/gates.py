"""Gates: the rule a configuration must pass, and how it explains a verdict.

A gate is non-inferiority on the paired quality delta against the baseline:
the configuration passes when the lower bound of the delta's confidence
interval is above ``-max_quality_drop``. It also tests each category for a
drop beyond ``max_category_drop`` (one-sided, Holm-corrected over the
categories), checks the share of errored cases and, optionally, the cost
ratio. It never fails on a quality drop that judge noise alone could explain.
``docs/statistics.md`` has the verdict table and the calibration evidence.

Gate values come from ``[tool.cost-eval.gate]``, are overridden by a suite's
``gate:`` table and then by a configuration's ``gate`` table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

import numpy as np

from harness.config_values import check_keys, get_float, get_str
from harness.errors import ConfigError, CostEvalError
from harness.stats.bootstrap import Deltas
from harness.stats.significance import (
    holm,
    mcnemar_exact,
    min_detectable_drop,
    one_sided_p_below,
)

OnInconclusive = Literal["fail", "pass"]
GateTest = Literal["mcnemar", "bootstrap"]

POWER = 0.8
"""Power at which the gate reports its minimum detectable drop."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GateSpec:
    """Limits one (suite, configuration) must stay within."""

    max_quality_drop: float = 0.02
    """Non-inferiority margin: the largest acceptable mean quality drop (0.02 = 2 points)."""
    confidence: float = 0.95
    """Two-sided confidence level of the bootstrap interval of the delta.

    ``1 - confidence`` is also the family-wise level of the category tests.
    """
    max_category_drop: float = 0.05
    """Largest acceptable mean drop within any one category.

    A category fails only when its one-sided p-value for "mean drop larger than
    this", Holm-adjusted over the categories, is below ``1 - confidence``: a
    drop that noise in a small category explains does not fail it.
    """
    max_error_share: float = 0.02
    """Largest acceptable share of cases that errored (provider failures)."""
    max_cost_ratio: float | None = None
    """Optional: cost per query must be at most this share of the baseline's."""
    max_cost_increase: float = 0.05
    """Comparing two runs (``harness compare``, ``nightly``, ``--cost-eval-compare``): a
    configuration whose cost per query, as a share of the baseline's, rose by more than
    this (0.05 = 5 % of the baseline's cost: saving 15 % before and under 10 % now) has
    a *cost regression*. Not part of the gate's verdict."""
    flag_drop: float = 0.1
    """A case whose score falls by at least this much is flagged as degraded."""
    resamples: int = 2000
    """Bootstrap resamples."""
    on_inconclusive: OnInconclusive = "fail"
    """What an enforced configuration does when n cannot decide the margin."""
    min_baseline_quality: float = 0.5
    """The lowest mean score the baseline's own answers may get from the suite's scorer
    (against the expected answers, or against themselves) before no gate of the suite
    can pass. 0 turns the check off.

    Half, because a baseline that fails more than half of its own golden queries is far
    more often a scorer that cannot read the answers than a model that bad (on real
    recordings of answers that reason and then give a verdict, ``exact`` scored the
    baseline 0.1 % and ``choice`` 0 %); a suite of questions the baseline itself mostly
    fails can lower it.
    """

    def merged(
        self, table: Mapping[str, Any], *, where: str, error: type[CostEvalError] = ConfigError
    ) -> GateSpec:
        """A copy with the values of an override table applied and checked."""
        if not table:
            return self
        check_keys(table, [f.name for f in fields(GateSpec)], where=where, error=error)
        changes: dict[str, Any] = {}
        for key in (
            "max_quality_drop",
            "max_category_drop",
            "max_error_share",
            "flag_drop",
            "min_baseline_quality",
            "max_cost_increase",
        ):
            if key in table:
                changes[key] = get_float(
                    table, key, 0.0, where=where, low=0.0, high=1.0, error=error
                )
        if "confidence" in table:
            conf = get_float(
                table, "confidence", 0.95, where=where, low=0.5, high=0.999, error=error
            )
            changes["confidence"] = conf
        if "max_cost_ratio" in table:
            changes["max_cost_ratio"] = get_float(
                table, "max_cost_ratio", 1.0, where=where, low=0.0, high=100.0, error=error
            )
        if "resamples" in table:
            changes["resamples"] = int(
                get_float(
                    table, "resamples", 2000, where=where, low=100, high=1_000_000, error=error
                )
            )
        if "on_inconclusive" in table:
            value = get_str(table, "on_inconclusive", where=where, error=error)
            if value not in ("fail", "pass"):
                raise error(f"{where}: 'on_inconclusive' must be 'fail' or 'pass', got {value!r}.")
            changes["on_inconclusive"] = value
        return replace(self, **changes)


@dataclass(frozen=True, slots=True, kw_only=True)
class GateInput:
    """The measured numbers a gate judges."""

    n: int
    """Cases scored (errors excluded)."""
    errors: int
    """Cases that errored."""
    delta: float
    """Mean ``candidate - baseline`` score over the scored cases."""
    ci_low: float
    """Lower bound of the bootstrap CI of ``delta``."""
    ci_high: float
    """Upper bound of that CI."""
    deltas: Deltas
    """The ``n`` per-case deltas (for the minimum detectable drop and McNemar)."""
    category_deltas: Mapping[str, Deltas]
    """The per-case deltas of each category (the same cases as ``deltas``, grouped)."""
    cost_ratio: float | None
    """Candidate cost per query over the baseline's, or None when unknown."""
    binary: bool = False
    """True when every candidate and baseline score is 0 or 1 (see
    :func:`harness.stats.significance.is_binary`); the deltas are then -1, 0 or 1 and the
    result carries the exact McNemar p-value."""
    noise: float | None = None
    """Quality change judge noise alone can explain, in score units: the
    judge's flip rate (:func:`harness.stats.significance.flip_rate`) times the score range.
    No drop smaller than this fails the gate. None when not measured."""
    scorer_problem: str | None = None
    """Why the suite's scorer cannot be trusted (it cannot read the baseline's own
    answers), or None. When set, the gate does not pass, whatever the numbers say."""
    judge_problem: str | None = None
    """Why the judge's verdicts cannot decide anything (position-biased, or it failed
    its calibration), or None. When set, no quality or category check passes or fails:
    the verdict is ``inconclusive`` (``fail`` only on errors or cost), this reason first."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GateResult:
    """A verdict and the sentences that explain it."""

    verdict: Literal["pass", "fail", "inconclusive", "error"]
    reasons: tuple[str, ...]
    failed_categories: frozenset[str]
    p_value: float | None = None
    """Two-sided exact McNemar p-value (H0: no difference) for binary scores;
    None otherwise. Reported only: the verdict rests on the bootstrap CI."""
    test: GateTest = "bootstrap"
    """``"mcnemar"`` when ``p_value`` is McNemar's (binary scores), else ``"bootstrap"``."""
    min_detectable_drop: float = math.inf
    """Smallest true drop this n detects at :data:`POWER` (see
    :func:`harness.stats.significance.min_detectable_drop`); inf when nothing was scored."""
    category_p_values: Mapping[str, float] = field(default_factory=dict)
    """Holm-adjusted one-sided p-value of each category (H1: drop > ``max_category_drop``)."""


def _points(value: float) -> str:
    return f"{value * 100:.1f}"


def _cases(count: int) -> str:
    return "case" if count == 1 else "cases"


def _p(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def _deltas(values: Deltas, what: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or not np.isfinite(arr).all():
        raise ValueError(f"{what} must be a one-dimensional sequence of finite deltas.")
    return arr


def decide(spec: GateSpec, measured: GateInput) -> GateResult:
    """Apply ``spec`` to ``measured``: pass, fail, inconclusive or error.

    The quality check is non-inferiority: *pass* when the interval's lower
    bound is at or above ``-margin``, *fail* when even its upper bound is
    below ``-margin``, *inconclusive* otherwise (the cases cannot tell; the
    reason names the drop this n can detect). A quality or category drop
    smaller than ``measured.noise`` never fails: it makes the verdict
    inconclusive (a category is tested against the larger of its limit and
    the noise). A ``judge_problem`` makes every quality and category check
    inconclusive. Any other failed check (a category whose Holm-adjusted
    p-value is below ``1 - confidence``, the error share, the cost ratio)
    makes the verdict *fail*, and so does a ``scorer_problem`` (the scores
    cannot be trusted), whose sentence comes first among the reasons.

    Raises:
        ValueError: ``deltas`` does not hold ``n`` finite values, binary
            deltas are not -1, 0 or 1, or ``noise`` is negative.
    """
    deltas = _deltas(measured.deltas, "deltas")
    if deltas.size != measured.n:
        raise ValueError(f"GateInput has n = {measured.n} but {deltas.size} deltas.")
    noise = measured.noise
    if noise is not None and not (noise >= 0.0 and math.isfinite(noise)):
        raise ValueError(f"noise must be a finite number >= 0 or None, got {noise!r}.")
    test: GateTest = "mcnemar" if measured.binary else "bootstrap"
    total = measured.n + measured.errors
    if measured.n == 0:
        return GateResult(
            verdict="error",
            reasons=(f"all {total} cases errored; nothing could be scored",),
            failed_categories=frozenset(),
            test=test,
        )
    p_value: float | None = None
    mcnemar = ""
    if measured.binary:
        if not np.isin(deltas, (-1.0, 0.0, 1.0)).all():
            raise ValueError("binary scores give deltas of -1, 0 or 1 only.")
        worse, better = int((deltas < 0).sum()), int((deltas > 0).sum())
        p_value = mcnemar_exact(worse, better)
        mcnemar = f"; exact McNemar {_p(p_value)} ({worse} {_cases(worse)} worse, {better} better)"
    sd = float(deltas.std(ddof=1)) if deltas.size > 1 else 0.0
    # "ci_low >= -margin" with a two-sided c CI is a one-sided test at (1 + c) / 2.
    mdd = min_detectable_drop(measured.n, sd, confidence=(1.0 + spec.confidence) / 2.0, power=POWER)
    margin = spec.max_quality_drop
    reasons: list[str] = []
    ci = f"(CI {measured.ci_low * 100:+.1f} to {measured.ci_high * 100:+.1f})"
    if measured.ci_low >= -margin:
        verdict: Literal["pass", "fail", "inconclusive", "error"] = "pass"
    elif measured.ci_high < -margin:
        drop = -measured.delta
        fell = (
            f"quality fell {_points(drop)} points {ci}, beyond the {_points(margin)}-point margin"
        )
        if noise is not None and drop < noise:
            verdict = "inconclusive"
            reasons.append(
                f"{fell}, but judge noise alone explains changes up to {_points(noise)} points; "
                "measure with a steadier judge (or more repeats) before calling it a regression"
                f"{mcnemar}"
            )
        else:
            verdict = "fail"
            reasons.append(f"{fell}{mcnemar}")
    else:
        verdict = "inconclusive"
        if margin > 0 and mdd > margin:
            needed = math.ceil(measured.n * (mdd / margin) ** 2)
            advice = (
                f"add cases (n = {needed:,} detects a {_points(margin)}-point drop) "
                "or widen the margin"
            )
        else:
            advice = "the delta is close to the margin: add cases or widen the margin"
        reasons.append(
            f"cannot show quality within {_points(margin)} points of the baseline: "
            f"delta {measured.delta * 100:+.1f} {ci}; n = {measured.n} detects a "
            f"{_points(mdd)}-point drop at {POWER:.0%} power; the margin is "
            f"{_points(margin)} points; {advice}{mcnemar}"
        )
    # Checks beyond the quality margin: any failure makes the verdict "fail".
    other_failures: list[str] = []
    within_noise: list[str] = []
    failed_categories: set[str] = set()
    limit = spec.max_category_drop
    by_category = {
        category: _deltas(values, f"category {category!r} deltas")
        for category, values in measured.category_deltas.items()
    }
    adjusted = holm({c: one_sided_p_below(d, limit) for c, d in by_category.items()})
    # Judge noise applies to categories too: a small category's mean moves a lot when its
    # judgements flip, so a category fails only when its drop is beyond the noise as
    # significantly as beyond the limit; otherwise its drop is reported as within noise.
    tested = max(limit, noise or 0.0)
    beyond_noise = (
        holm({c: one_sided_p_below(d, tested) for c, d in by_category.items()})
        if tested > limit
        else adjusted
    )
    alpha = 1.0 - spec.confidence
    for category, values in by_category.items():
        if adjusted[category] >= alpha:
            continue
        drop = -float(values.mean())
        fell = (
            f"category {category!r} fell {_points(drop)} points (n = {values.size}, "
            f"Holm-adjusted {_p(adjusted[category])}), beyond the {_points(limit)}-point "
            "category limit"
        )
        if noise is not None and (drop < noise or beyond_noise[category] >= alpha):
            within_noise.append(
                f"{fell}, but judge noise alone explains changes up to {_points(noise)} points"
            )
        else:
            failed_categories.add(category)
            other_failures.append(fell)
    plain_failures: list[str] = []  # not about quality: stand whatever the judge is worth
    error_share = measured.errors / total if total else 0.0
    if error_share > spec.max_error_share:
        plain_failures.append(
            f"{measured.errors} of {total} cases errored ({error_share:.0%}), "
            f"above the {spec.max_error_share:.0%} limit"
        )
    if (
        spec.max_cost_ratio is not None
        and measured.cost_ratio is not None
        and measured.cost_ratio > spec.max_cost_ratio
    ):
        plain_failures.append(
            f"cost is {measured.cost_ratio:.0%} of the baseline's, "
            f"above the {spec.max_cost_ratio:.0%} limit"
        )
    if measured.judge_problem:
        # The judge followed the position, not the answers: its scores show neither a pass
        # nor a drop, so only checks that do not rest on them (errors, cost) can fail.
        return GateResult(
            verdict="fail" if plain_failures else "inconclusive",
            reasons=(measured.judge_problem, *plain_failures),
            failed_categories=frozenset(),
            p_value=p_value,
            test=test,
            min_detectable_drop=mdd,
            category_p_values=adjusted,
        )
    reasons.extend(within_noise)
    other_failures.extend(plain_failures)
    if other_failures:
        verdict = "fail"
        reasons.extend(other_failures)
    elif within_noise and verdict == "pass":
        verdict = "inconclusive"
    if measured.scorer_problem:
        # The scores measure nothing, so neither "pass" nor a drop means anything. Not
        # "inconclusive": `on_inconclusive = "pass"` would let an enforced build go green
        # on a comparison that was never made. The scorer's problem is the first reason.
        verdict = "fail"
        reasons.insert(0, measured.scorer_problem)
    return GateResult(
        verdict=verdict,
        reasons=tuple(reasons),
        failed_categories=frozenset(failed_categories),
        p_value=p_value,
        test=test,
        min_detectable_drop=mdd,
        category_p_values=adjusted,
    )
