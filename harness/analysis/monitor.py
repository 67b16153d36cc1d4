"""Production against the projection: cost per query, tier mix, prompt length, drift.

Pure arithmetic over figures :mod:`harness.store.traffic` aggregates from the
``traffic`` table (one :class:`WindowStats` per day or week) and from the last run
that evaluated the shipped configuration (:class:`Projection`). A window drifts when
any model's share of traffic moved more than ``max_tier_drift`` points from the
projected mix, or the cost per query or the prompt length moved more than
``max_cost_drift`` / ``max_prompt_drift`` (relative) from what the suite measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from harness.config.monitor import MonitorSettings
from harness.config.prices import split_model

__all__ = [
    "DAYS_PER_MONTH",
    "OTHER_MODEL",
    "Projection",
    "WindowCheck",
    "WindowStats",
    "check_window",
    "projection_model",
    "window_json",
]

DAYS_PER_MONTH = 30
"""As :mod:`harness.config.volume` counts a month."""
OTHER_MODEL = "other"
"""Tier of a production model the configuration does not name."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowStats:
    """What production did in one window (a day or a week)."""

    start: str
    """First day of the window (ISO date)."""
    days: int
    """Days with traffic in the window: the observed volume is per such day."""
    queries: int
    cost_usd: Decimal
    """Sum over priced calls."""
    unpriced: int = 0
    """Calls with no cost (model with no price): left out of the cost per query."""
    estimated: int = 0
    """Calls priced from the price table (the source recorded no cost)."""
    tokens: int = 0
    """Input (every rate) plus output tokens."""
    prompt_tokens: int = 0
    """Input tokens at every rate."""
    cache_hits: int = 0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    models: Mapping[str, int] = field(default_factory=dict)
    """Calls per production model."""

    @property
    def cost_per_query(self) -> Decimal:
        """Mean cost of the priced calls."""
        priced = self.queries - self.unpriced
        return self.cost_usd / priced if priced else Decimal(0)

    @property
    def queries_per_month(self) -> float:
        """The observed volume, per day with traffic, over a 30-day month."""
        return self.queries / max(1, self.days) * DAYS_PER_MONTH

    @property
    def cache_hit_rate(self) -> float:
        """Share of calls a cache (application, gateway or provider prompt cache) served."""
        return self.cache_hits / self.queries if self.queries else 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Projection:
    """What the last run said about the shipped configuration."""

    config: str
    run_id: str
    started_at: str
    suites: tuple[str, ...]
    cost_per_query: Decimal
    """Across its suites, weighted by cases."""
    volume: str
    """The configured volume the run projected at (``"100k/day"``)."""
    queries_per_month: float
    model_shares: Mapping[str, float]
    """Share of answered cases per model that answered (cache hits left out)."""
    cache_hit_rate: float
    prompt_tokens: float
    """Mean input tokens per answered case."""

    @property
    def monthly_cost(self) -> Decimal:
        """Projected $/month at the configured volume."""
        return self.cost_per_query * Decimal(str(self.queries_per_month))


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowCheck:
    """One window against the projection."""

    window: WindowStats
    tier_shares: Mapping[str, float]
    """Actual share per tier (the projection's model names, or :data:`OTHER_MODEL`)."""
    tier_drift: Mapping[str, float]
    """Actual minus projected share, per tier (fractions)."""
    cost_drift: float | None
    """Actual cost per query / projected - 1 (None: nothing priced or no projected cost)."""
    prompt_drift: float | None
    """Actual prompt tokens per query / projected - 1."""
    actual_monthly: Decimal
    """Actual cost per query at the observed volume, per month."""
    projected_at_observed: Decimal
    """The projection's cost per query at the observed volume, per month."""
    reasons: tuple[str, ...]
    """Why the window drifted (empty: steady)."""

    @property
    def drifted(self) -> bool:
        """Whether any limit was exceeded."""
        return bool(self.reasons)


def projection_model(
    production: str, models: Sequence[str], mapping: Mapping[str, str] | None = None
) -> str:
    """The configuration's model a production model stands for.

    The ``[tool.cost-eval.monitor.models]`` table first; else the model whose
    spec or bare name equals it (``openai:gpt-4o`` for ``gpt-4o``), else the longest
    bare name it starts with (``gpt-4o-2024-08-06`` is ``gpt-4o``, while
    ``gpt-4o-mini-2024-07-18`` is ``gpt-4o-mini`` when both are named); else
    :data:`OTHER_MODEL`.
    """
    if mapping and production in mapping:
        return mapping[production]
    best, best_len = OTHER_MODEL, -1
    for spec in models:
        name = split_model(spec)[1]
        if production in (spec, name):
            return spec
        if production.startswith(name) and len(name) > best_len:
            best, best_len = spec, len(name)
    return best


def _relative(actual: float, projected: float) -> float | None:
    return actual / projected - 1 if projected > 0 else None


def check_window(
    window: WindowStats, projection: Projection, limits: MonitorSettings
) -> WindowCheck:
    """Compare one window with the projection under ``limits``."""
    shares: dict[str, float] = {}
    names = sorted(projection.model_shares)
    for model, count in window.models.items():
        tier = projection_model(model, names, limits.models)
        shares[tier] = shares.get(tier, 0.0) + count / max(1, window.queries)
    tiers = sorted(set(shares) | set(projection.model_shares))
    drift = {t: shares.get(t, 0.0) - projection.model_shares.get(t, 0.0) for t in tiers}
    priced = window.queries - window.unpriced
    cost_drift = (
        _relative(float(window.cost_per_query), float(projection.cost_per_query))
        if priced
        else None
    )
    prompt_drift = _relative(
        window.prompt_tokens / max(1, window.queries), projection.prompt_tokens
    )
    reasons: list[str] = []
    for tier, moved in drift.items():
        if abs(moved) > limits.max_tier_drift:
            reasons.append(
                f"{tier} gets {shares.get(tier, 0.0):.0%} of traffic against "
                f"{projection.model_shares.get(tier, 0.0):.0%} projected "
                f"({moved * 100:+.1f} points, limit {limits.max_tier_drift * 100:g})"
            )
    if cost_drift is not None and abs(cost_drift) > limits.max_cost_drift:
        reasons.append(
            f"cost per query ${window.cost_per_query:.6f} against "
            f"${projection.cost_per_query:.6f} projected ({cost_drift:+.0%}, limit "
            f"±{limits.max_cost_drift:.0%})"
        )
    if prompt_drift is not None and abs(prompt_drift) > limits.max_prompt_drift:
        reasons.append(
            f"prompts average {window.prompt_tokens / max(1, window.queries):.0f} tokens "
            f"against {projection.prompt_tokens:.0f} in the suites ({prompt_drift:+.0%}, "
            f"limit ±{limits.max_prompt_drift:.0%})"
        )
    observed = Decimal(str(window.queries_per_month))
    return WindowCheck(
        window=window,
        tier_shares=shares,
        tier_drift=drift,
        cost_drift=cost_drift,
        prompt_drift=prompt_drift,
        actual_monthly=window.cost_per_query * observed,
        projected_at_observed=projection.cost_per_query * observed,
        reasons=tuple(reasons),
    )


def window_json(window: WindowStats, check: WindowCheck | None) -> dict[str, Any]:
    """One window as plain JSON (money as strings, shares as fractions)."""
    queries = max(1, window.queries)
    out: dict[str, Any] = {
        "start": window.start,
        "days": window.days,
        "queries": window.queries,
        "queries_per_month": round(window.queries_per_month, 3),
        "cost_usd": str(window.cost_usd),
        "cost_per_query": str(window.cost_per_query),
        "unpriced_calls": window.unpriced,
        "estimated_calls": window.estimated,
        "tokens_per_query": window.tokens / queries,
        "prompt_tokens_per_query": window.prompt_tokens / queries,
        "cache_hit_rate": window.cache_hit_rate,
        "latency_p50_ms": window.latency_p50_ms,
        "latency_p95_ms": window.latency_p95_ms,
        "model_shares": {m: c / queries for m, c in sorted(window.models.items())},
    }
    if check is not None:
        out.update(
            tier_shares=dict(sorted(check.tier_shares.items())),
            tier_drift=dict(sorted(check.tier_drift.items())),
            cost_drift=check.cost_drift,
            prompt_drift=check.prompt_drift,
            actual_monthly_cost=str(check.actual_monthly),
            projected_monthly_cost_at_observed_volume=str(check.projected_at_observed),
            drifted=check.drifted,
            reasons=list(check.reasons),
        )
    return out
