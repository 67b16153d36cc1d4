"""Charts for the HTML report as inline SVG: the cost-vs-quality scatter and a router
sweep's curve, drawn with :mod:`~harness.report.svg_chart` (no plotting library:
matplotlib cost ~0.7 s of CPU per report). :mod:`~harness.report.cache_sweeps`
draws the semantic cache's sweep the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from harness.formatting import money
from harness.report.svg_axis import Axis, percent_text
from harness.report.svg_chart import Chart
from harness.report.svg_labels import Box, Spot

VERDICT_COLOURS = {
    "pass": "#1a7f37",
    "fail": "#cf222e",
    "flagged": "#b35900",
    "inconclusive": "#6e7781",
    "baseline": "#1f2328",
}
"""Marker colour of each badge class; the same hues as the report's CSS."""

LOG_SCALE_RATIO = 20.0
"""Use a log cost axis when the dearest point costs this many times the cheapest."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartPoint:
    """One configuration (or the baseline) on the cost-vs-quality plane."""

    label: str
    """Shown next to the marker: the configuration name."""
    cost: float
    """Cost per query, USD."""
    quality: float
    """Mean quality in [0, 1]."""
    badge: str
    """Key of :data:`VERDICT_COLOURS`: ``pass``, ``fail``, ``flagged``, ``inconclusive``
    or ``baseline``."""
    key: str = ""
    """A short mark (``3``) drawn instead of :attr:`label`, which a key beside the
    chart then names; empty: the label itself is drawn."""


def pareto_frontier(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the non-dominated ``(cost, quality)`` points, sorted by cost.

    A point is dominated when another costs no more and scores at least as
    well, being strictly better on one of the two. Of identical points only the
    first is kept, so the frontier has no zero-length segments. Points with a
    non-finite coordinate are ignored (an all-errored configuration has no
    quality to plot).
    """
    finite = [
        i
        for i, (cost, quality) in enumerate(points)
        if math.isfinite(cost) and math.isfinite(quality)
    ]
    # Cheapest first; at equal cost the best quality first, then input order,
    # so the first point of a cost level is the only one that can be kept.
    finite.sort(key=lambda i: (points[i][0], -points[i][1], i))
    frontier: list[int] = []
    best = -math.inf
    for i in finite:
        quality = points[i][1]
        if quality > best:
            frontier.append(i)
            best = quality
    return frontier


def cost_quality_svg(points: Sequence[ChartPoint], *, title: str, id_prefix: str = "") -> str:
    """An inline ``<svg>`` element: cost per query (x) vs quality (y), frontier drawn.

    The cost axis is logarithmic (1-2-5 ticks) when the dearest point costs
    :data:`LOG_SCALE_RATIO` times the cheapest. Points at the same spot share one
    label, placed beside them off the other labels and the markers. Points with a
    :attr:`ChartPoint.key` are labelled with it (short marks collide far less than
    names): the page names them in a key beside the chart.
    ``id_prefix`` is put before every element id (and reference to one), so
    several charts can share one HTML page without duplicate ids.
    """
    drawable = [p for p in points if math.isfinite(p.cost) and math.isfinite(p.quality)]
    costs = [p.cost for p in drawable]
    log = bool(costs) and min(costs) > 0 and max(costs) / min(costs) >= LOG_SCALE_RATIO
    chart = Chart(
        title=title,
        x=Axis.around(costs, margin=0.12, log=log),
        y=Axis.around([p.quality for p in drawable], margin=0.12),
        x_label="cost per query (USD)",
        y_label="quality",
        x_text=money,
        id_prefix=id_prefix,
        height=330.0,
    )
    frontier = pareto_frontier([(p.cost, p.quality) for p in drawable])
    if len(frontier) > 1:
        chart.line(
            [drawable[i].cost for i in frontier],
            [drawable[i].quality for i in frontier],
            colour="#8c959f",
            width=1.2,
            dash="dashed",
            label="Pareto frontier",
        )
    markers: list[Box] = []
    spots: dict[tuple[float, float], list[str]] = {}
    # The baseline's star last, on top of any point at its spot.
    for point in sorted(drawable, key=lambda p: p.badge == "baseline"):
        is_base = point.badge == "baseline"
        markers.append(
            chart.marker(
                point.cost,
                point.quality,
                shape="star" if is_base else "circle",
                colour=VERDICT_COLOURS.get(point.badge, "#6e7781"),
                radius=7.5 if is_base else 4.5,
                label=point.badge,
            )
        )
    radius: dict[tuple[float, float], float] = {}
    for point in drawable:
        spot = (point.cost, point.quality)
        spots.setdefault(spot, []).append(point.key or point.label)
        radius[spot] = max(radius.get(spot, 0.0), 7.5 if point.badge == "baseline" else 4.5)
    chart.marks(
        [
            Spot(*chart.px(cost, quality), radius[(cost, quality)], _spot_label(labels))
            for (cost, quality), labels in spots.items()
        ],
        markers,
    )
    return chart.render()


def _spot_label(labels: Sequence[str]) -> str:
    """One label for the points at one spot: their keys (``1,4``), or names a line each
    when more than two."""
    if all(len(label) <= 3 for label in labels):
        return ",".join(labels)
    return ", ".join(labels) if len(labels) <= 2 else "\n".join(labels)


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepChart:
    """A router's threshold sweep: the curve, its reference lines and the recommendation."""

    shares: Sequence[float]
    """Strong-call share of each point, increasing."""
    quality: Sequence[float]
    verdicts: Sequence[str | None]
    """Gate verdict of each point (None: not judged)."""
    oracle_shares: Sequence[float]
    oracle_quality: Sequence[float]
    weak_quality: float
    strong_quality: float
    floor: float | None = None
    """Baseline quality minus the gate margin (a horizontal guide), or None."""
    recommended: int | None = None
    """Index of the recommended point."""
    note: str = ""
    """What the recommended point's annotation says (threshold, cost, savings)."""
    strong: str = "strong model"


SWEEP_COLOURS = {
    "pass": VERDICT_COLOURS["pass"],
    "fail": VERDICT_COLOURS["fail"],
    "inconclusive": VERDICT_COLOURS["inconclusive"],
    "error": VERDICT_COLOURS["fail"],
    None: "#afb8c1",
}
"""Marker colour of a sweep point by verdict; unjudged points are pale."""


def sweep_curve_svg(chart: SweepChart, *, title: str, id_prefix: str = "") -> str:
    """An inline ``<svg>``: quality (y) against the share of calls to the strong model (x).

    The router's points, coloured by verdict and joined in order; the oracle
    router dashed; the random router's straight line from the weak model's
    quality (0 %) to the strong model's (100 %); the baseline-minus-margin
    floor; the recommended point ringed and annotated.
    """
    floor = chart.floor if chart.floor is not None and math.isfinite(chart.floor) else None
    values = [
        *chart.quality,
        *chart.oracle_quality,
        chart.weak_quality,
        chart.strong_quality,
        *([floor] if floor is not None else []),
    ]
    x_ticks = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    drawing = Chart(
        title=title,
        x=Axis(-0.02, 1.02),
        y=Axis.around(values, margin=0.15),
        x_label=f"share of calls to the strong model ({chart.strong})",
        y_label="quality",
        x_text=percent_text(x_ticks),
        id_prefix=id_prefix,
        height=330.0,
        x_ticks=x_ticks,
    )
    drawing.line(
        [0.0, 1.0],
        [chart.weak_quality, chart.strong_quality],
        colour="#8c959f",
        width=1.2,
        dash="dotted",
        label="random router",
    )
    if len(chart.oracle_shares) > 1:
        drawing.line(
            list(chart.oracle_shares),
            list(chart.oracle_quality),
            colour="#8250df",
            width=1.2,
            dash="dashed",
            label="oracle router",
        )
    if floor is not None:
        drawing.hline(
            floor,
            colour=VERDICT_COLOURS["fail"],
            width=0.9,
            dash="sparse",
            opacity=0.7,
            label="baseline − margin",
        )
    drawing.line(list(chart.shares), list(chart.quality), colour="#0969da", label="this router")
    for verdict in ("pass", "inconclusive", "fail", "error", None):
        for i, v in enumerate(chart.verdicts):
            if v == verdict:
                drawing.marker(
                    chart.shares[i],
                    chart.quality[i],
                    shape="circle",
                    colour=SWEEP_COLOURS[verdict],
                    radius=4.0,
                    label=verdict or "not judged",
                )
    r = chart.recommended
    if r is not None and 0 <= r < len(chart.shares):
        x, y = chart.shares[r], chart.quality[r]
        drawing.marker(x, y, shape="ring", colour="#1f2328", radius=8.0, label="recommended")
        # Below and beside the point, on the side with room; above it near the bottom.
        _, py = drawing.px(x, y)
        below = py + 34 + 40 < drawing.plot.bottom
        drawing.note(x, y, chart.note, dx=-16 if x > 0.6 else 16, dy=34 if below else -34)
    return drawing.render()
