"""The report's view of semantic-cache threshold sweeps: a chart and a short table.

A sweep judges 70 thresholds (0.30 to 0.99). The page shows the curve, a row
every 0.05 plus the recommended threshold, and every row behind a fold. With a
verifier stage on the cache, each row also shows the hits and wrong hits with
verification, the wrong hits it caught, the correct hits it cost, and what its
checks cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from harness.analysis.cache_sweep import is_shown
from harness.report.charts import CacheSweepChart, cache_sweep_svg
from harness.types import Summary


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheSweepView:
    """One semantic cache's sweep, ready for the template."""

    summary: Summary
    svg: Markup | None
    """The chart, or None without matplotlib."""
    shown: Sequence[Mapping[str, Any]]
    """The short table's points."""
    points: Sequence[Mapping[str, Any]]
    """Every point."""
    recommended: Mapping[str, Any] | None
    target: float
    error: str | None = None
    """Why the sweep could not be made (its embeddings failed), or None."""
    verifier: str | None = None
    """The cache's verifier, when it has one (then the ``verified`` fields are set)."""
    verified: Mapping[float, Mapping[str, Any]] = field(default_factory=dict)
    """The points with verification, by threshold."""
    verified_recommended: Mapping[str, Any] | None = None
    verified_pairs: int = 0
    """Distinct (query, candidate) pairs the verifier decided (each once)."""
    verifier_error: str | None = None
    """The first failed check (failed checks count as rejected), or None."""
    negatives: str | None = None
    """Which negatives the suite holds (labelled, mined, generated), when it was built
    from pairs; None otherwise."""


def cache_sweep_view(index: int, summary: Summary) -> CacheSweepView:
    """The view of ``summary``'s stored ``cache_sweep``."""
    record = summary.extras["cache_sweep"]
    points = list(record.get("points") or ())
    recommended = record.get("recommended")
    target = float(record.get("target", 0.01))
    rec_threshold = float(recommended["threshold"]) if recommended else None
    if record.get("error") or not points:
        return CacheSweepView(
            summary=summary,
            svg=None,
            shown=[],
            points=[],
            recommended=None,
            target=target,
            error=str(record.get("error") or "no thresholds were judged"),
        )
    verified_points = list(record.get("verified_points") or ())
    verified_rec = record.get("verified_recommended")
    marks = {float(r["threshold"]) for r in (recommended, verified_rec) if r}
    shown = [
        p
        for p in points
        if is_shown(float(p["threshold"]), rec_threshold) or float(p["threshold"]) in marks
    ]
    try:
        svg: Markup | None = Markup(
            cache_sweep_svg(
                CacheSweepChart(
                    thresholds=[float(p["threshold"]) for p in points],
                    hit_rate=[float(p["hit_rate"]) for p in points],
                    wrong_upper=[float(p["wrong_hit_ci_high"]) for p in points],
                    target=target,
                    recommended=rec_threshold,
                    verified_hit_rate=[float(p["hit_rate"]) for p in verified_points],
                    verified_wrong_upper=[float(p["wrong_hit_ci_high"]) for p in verified_points],
                ),
                title=f"{summary.suite} :: {summary.config}: hit rate and wrong hits by threshold",
                id_prefix=f"c{index}-",
            )
        )
    except ImportError:
        svg = None
    return CacheSweepView(
        summary=summary,
        svg=svg,
        shown=shown,
        points=points,
        recommended=recommended,
        target=target,
        verifier=record.get("verifier"),
        verified={float(p["threshold"]): p for p in verified_points},
        verified_recommended=verified_rec,
        verified_pairs=int(record.get("verified_pairs") or 0),
        verifier_error=record.get("verifier_error"),
        negatives=record.get("negatives"),
    )


def build_cache_sweeps(summaries: Sequence[Summary]) -> list[CacheSweepView]:
    """One view per summary that carries a semantic cache's sweep, in summary order."""
    return [
        cache_sweep_view(index, summary)
        for index, summary in enumerate(s for s in summaries if s.extras.get("cache_sweep"))
    ]
