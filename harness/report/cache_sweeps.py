"""The report's view of semantic-cache threshold sweeps: a chart and a short table.

A sweep judges 70 thresholds (0.30 to 0.99). The page shows the curve, a row
every 0.05 plus the recommended threshold, and every row behind a fold. With a
verifier stage on the cache, each row also shows the hits and wrong hits with
verification, the wrong hits it caught, the correct hits it cost, and what its
checks cost.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from harness.analysis.cache_sweep import is_shown
from harness.report.charts import VERDICT_COLOURS
from harness.report.svg_axis import Axis, decimal_text, linear_ticks, percent_text
from harness.report.svg_chart import Chart
from harness.types import Summary


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheSweepView:
    """One semantic cache's sweep, ready for the template."""

    summary: Summary
    svg: Markup | None
    """The chart, or None when the sweep has no points to draw."""
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


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheSweepChart:
    """A semantic cache's threshold sweep, as the chart draws it (rates in [0, 1])."""

    thresholds: Sequence[float]
    hit_rate: Sequence[float]
    wrong_upper: Sequence[float]
    """Upper CI bound of the wrong-hit (false + stale) rate at each threshold."""
    target: float
    recommended: float | None = None
    """The recommended threshold, or None."""
    wrong_rate: Sequence[float] = ()
    """The observed wrong-hit rate (wrong hits / hits) at each threshold; empty: not drawn."""
    hits: Sequence[int] = ()
    """Hits at each threshold: where there is none, there is no rate and nothing to bound.
    Empty: taken from :attr:`hit_rate` (a hit rate of 0 is no hit)."""
    verified_hit_rate: Sequence[float] = ()
    """With a verifier stage: the hit rate with every candidate checked (else empty)."""
    verified_wrong_upper: Sequence[float] = ()
    """With a verifier stage: the wrong-hit rate's upper bound with verification."""
    verified_wrong_rate: Sequence[float] = ()
    verified_hits: Sequence[int] = ()


def bounded_wrong_hits(
    hits: Sequence[int], rate: Sequence[float], upper: Sequence[float]
) -> tuple[list[float], list[float]]:
    """The wrong-hit rate and its upper bound as drawn: NaN (a gap in the curve and the
    band) at every threshold with no hit, where there is no rate and nothing to bound.

    ``rate`` may be empty (then only the bound is returned, the rate all NaN).
    """
    nan = math.nan
    rates = list(rate) if rate else [nan] * len(upper)
    return (
        [r if h > 0 else nan for r, h in zip(rates, hits, strict=True)],
        [u if h > 0 else nan for u, h in zip(upper, hits, strict=True)],
    )


def _hits(explicit: Sequence[int], hit_rate: Sequence[float]) -> list[int]:
    return list(explicit) if explicit else [1 if h > 0 else 0 for h in hit_rate]


def _sweep_curves(drawing: Chart, chart: CacheSweepChart, *, verified: bool) -> None:
    """The hit rate as a line, then the observed wrong-hit rate as a line and its upper
    bound as a shaded band, both only where there are hits: the bound is an interval, not
    a rate, and over no hit there is nothing to bound. ``verified``: the curves with the
    verifier stage (dash-dotted, band hatched) instead of those without."""
    if verified:
        hit_rate, explicit_hits = chart.verified_hit_rate, chart.verified_hits
        rate, upper = chart.verified_wrong_rate, chart.verified_wrong_upper
    else:
        hit_rate, explicit_hits = chart.hit_rate, chart.hits
        rate, upper = chart.wrong_rate, chart.wrong_upper
    thresholds = list(chart.thresholds)
    dash = "dashdot" if verified else ""
    suffix = ", verified" if verified else ""
    drawing.line(
        thresholds,
        list(hit_rate),
        colour="#0969da",
        width=1.6,
        dash=dash,
        label=f"hit rate{suffix}",
    )
    rates, bounds = bounded_wrong_hits(_hits(explicit_hits, hit_rate), rate, upper)
    if all(math.isnan(b) for b in bounds):
        return
    red = VERDICT_COLOURS["fail"]
    if rate:
        drawing.line(
            thresholds, rates, colour=red, width=1.6, dash=dash, label=f"wrong-hit rate{suffix}"
        )
    drawing.band(
        thresholds,
        [0.0 if math.isnan(r) else r for r in rates] if rate else [0.0] * len(bounds),
        bounds,
        colour=red,
        opacity=0.5 if verified else 0.13,
        hatch=verified,
        label=f"up to its 95% upper bound{suffix}",
    )


def cache_sweep_svg(chart: CacheSweepChart, *, title: str, id_prefix: str = "") -> str:
    """An inline ``<svg>``: hit rate, wrong-hit rate and its upper bound against the threshold.

    The wrong-hit rate is a red line and its 95 % upper bound a shaded band above
    it, both drawn only at thresholds with hits. A threshold qualifies where the
    band's top is under the dashed target line; the recommended one (most correct
    hits among those) is marked by a vertical line. With a verifier stage the same
    curves with verification are dash-dotted (band hatched).
    """
    x = Axis.around(list(chart.thresholds), margin=0.05)
    drawing = Chart(
        title=title,
        x=x,
        y=Axis(0.0, 1.0),
        x_label="similarity threshold (cosine)",
        y_label="",
        x_text=decimal_text(x.ticks()),
        y_text=percent_text(linear_ticks(0.0, 1.0)),
        id_prefix=id_prefix,
        height=290.0,
    )
    for verified in (False, True) if chart.verified_hit_rate else (False,):
        _sweep_curves(drawing, chart, verified=verified)
    drawing.hline(
        chart.target,
        colour=VERDICT_COLOURS["fail"],
        width=1.0,
        dash="4 3",
        opacity=0.7,
        label=f"target ({chart.target:.0%})",
    )
    if chart.recommended is not None:
        drawing.vline(
            chart.recommended,
            colour="#1f2328",
            width=1.2,
            label=f"recommended ({chart.recommended:.2f})",
        )
    return drawing.render()


def _floats(points: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    """``key`` of every point, or an empty list when a point lacks it (an older record)."""
    if not points or any(p.get(key) is None for p in points):
        return []
    return [float(p[key]) for p in points]


def _ints(points: Sequence[Mapping[str, Any]], key: str) -> list[int]:
    return [int(v) for v in _floats(points, key)]


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
    svg: Markup | None = Markup(
        cache_sweep_svg(
            CacheSweepChart(
                thresholds=[float(p["threshold"]) for p in points],
                hit_rate=[float(p["hit_rate"]) for p in points],
                wrong_upper=[float(p["wrong_hit_ci_high"]) for p in points],
                wrong_rate=_floats(points, "wrong_hit_rate"),
                hits=_ints(points, "hits"),
                target=target,
                recommended=rec_threshold,
                verified_hit_rate=[float(p["hit_rate"]) for p in verified_points],
                verified_wrong_upper=[float(p["wrong_hit_ci_high"]) for p in verified_points],
                verified_wrong_rate=_floats(verified_points, "wrong_hit_rate"),
                verified_hits=_ints(verified_points, "hits"),
            ),
            title=f"{summary.suite} :: {summary.config}: hit rate and wrong hits by threshold",
            # "k": the cost charts already use "c{n}-" on the same page.
            id_prefix=f"k{index}-",
        )
    )
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
