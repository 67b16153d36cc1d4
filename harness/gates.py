"""Gates: the rule a configuration must pass, and how it explains a verdict.

A gate is non-inferiority on the paired quality delta against the baseline:
the configuration passes when the lower bound of the delta's confidence
interval is above ``-max_quality_drop``. It also checks each category's mean
delta, the share of errored cases and, optionally, the cost ratio.

Gate values come from ``[tool.cost-eval.gate]``, are overridden by a suite's
``gate:`` table and then by a configuration's ``gate`` table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from .errors import ConfigError, CostEvalError
from .tables import check_keys, get_float, get_str

OnInconclusive = Literal["fail", "pass"]


@dataclass(frozen=True, slots=True, kw_only=True)
class GateSpec:
    """Limits one (suite, configuration) must stay within."""

    max_quality_drop: float = 0.02
    """Non-inferiority margin: the largest acceptable mean quality drop (0.02 = 2 points)."""
    confidence: float = 0.95
    """Two-sided confidence level of the bootstrap interval of the delta."""
    max_category_drop: float = 0.05
    """Largest acceptable mean drop within any one category."""
    max_error_share: float = 0.02
    """Largest acceptable share of cases that errored (provider failures)."""
    max_cost_ratio: float | None = None
    """Optional: cost per query must be at most this share of the baseline's."""
    flag_drop: float = 0.1
    """A case whose score falls by at least this much is flagged as degraded."""
    resamples: int = 2000
    """Bootstrap resamples."""
    on_inconclusive: OnInconclusive = "fail"
    """What an enforced configuration does when n cannot decide the margin."""

    def merged(
        self, table: Mapping[str, Any], *, where: str, error: type[CostEvalError] = ConfigError
    ) -> GateSpec:
        """A copy with the values of an override table applied and checked."""
        if not table:
            return self
        check_keys(table, [f.name for f in fields(GateSpec)], where=where, error=error)
        changes: dict[str, Any] = {}
        for key in ("max_quality_drop", "max_category_drop", "max_error_share", "flag_drop"):
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
    errors: int
    delta: float
    ci_low: float
    ci_high: float
    category_deltas: Mapping[str, tuple[int, float]]
    cost_ratio: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class GateResult:
    """A verdict and the sentences that explain it."""

    verdict: Literal["pass", "fail", "inconclusive", "error"]
    reasons: tuple[str, ...]
    failed_categories: frozenset[str]


def judge(spec: GateSpec, measured: GateInput) -> GateResult:
    """Apply ``spec`` to ``measured``: pass, fail, inconclusive or error.

    The quality check is non-inferiority: *pass* when the interval's lower
    bound is at or above ``-margin``, *fail* when even its upper bound is
    below ``-margin``, *inconclusive* otherwise (the cases cannot tell). Any
    other failed check (category, errors, cost) makes the verdict *fail*.
    """
    reasons: list[str] = []
    total = measured.n + measured.errors
    if measured.n == 0:
        return GateResult(
            verdict="error",
            reasons=(f"all {total} cases errored; nothing could be scored",),
            failed_categories=frozenset(),
        )
    margin = spec.max_quality_drop
    if measured.ci_low >= -margin:
        verdict: Literal["pass", "fail", "inconclusive", "error"] = "pass"
    elif measured.ci_high < -margin:
        verdict = "fail"
        reasons.append(
            f"quality fell {-measured.delta * 100:.1f} points "
            f"(CI {measured.ci_low * 100:+.1f} to {measured.ci_high * 100:+.1f}), "
            f"beyond the {margin * 100:.1f}-point margin"
        )
    else:
        verdict = "inconclusive"
        reasons.append(
            f"cannot show quality within {margin * 100:.1f} points of the baseline: "
            f"delta {measured.delta * 100:+.1f} (CI {measured.ci_low * 100:+.1f} to "
            f"{measured.ci_high * 100:+.1f}) with n = {measured.n}; add cases or widen the margin"
        )
    # Checks beyond the quality margin: any failure makes the verdict "fail".
    other_failures: list[str] = []
    failed_categories: set[str] = set()
    for category, (n, delta) in measured.category_deltas.items():
        if delta < -spec.max_category_drop:
            failed_categories.add(category)
            other_failures.append(
                f"category {category!r} fell {-delta * 100:.1f} points (n = {n}), "
                f"beyond the {spec.max_category_drop * 100:.1f}-point category limit"
            )
    error_share = measured.errors / total if total else 0.0
    if error_share > spec.max_error_share:
        other_failures.append(
            f"{measured.errors} of {total} cases errored ({error_share:.0%}), "
            f"above the {spec.max_error_share:.0%} limit"
        )
    if (
        spec.max_cost_ratio is not None
        and measured.cost_ratio is not None
        and measured.cost_ratio > spec.max_cost_ratio
    ):
        other_failures.append(
            f"cost is {measured.cost_ratio:.0%} of the baseline's, "
            f"above the {spec.max_cost_ratio:.0%} limit"
        )
    if other_failures:
        verdict = "fail"
        reasons.extend(other_failures)
    return GateResult(
        verdict=verdict, reasons=tuple(reasons), failed_categories=frozenset(failed_categories)
    )
