"""Charts for the HTML report, drawn with matplotlib as inline SVG: the cost-vs-quality
scatter, a router sweep's curve, and the figure and SVG helpers every chart uses
(:mod:`~harness.report.cache_sweeps` draws the semantic cache's sweep with them).

:func:`pareto_frontier` is pure and cheap; the drawing functions import
matplotlib (and adjustText) when called, so importing this module costs nothing.
"""

from __future__ import annotations

import io
import math
import re
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from harness.formatting import money

VERDICT_COLOURS = {
    "pass": "#1a7f37",
    "fail": "#cf222e",
    "flagged": "#b35900",
    "inconclusive": "#6e7781",
    "baseline": "#1f2328",
}
"""Marker colour of each badge class; the same hues as the report's CSS."""

SVG_METADATA = ("Date", "Creator", "Format", "Type")
"""matplotlib's default SVG metadata keys, all switched off."""

_SVG_ID = re.compile(r'(\bid="|url\(#|href="#)')

LOG_SCALE_RATIO = 20.0
"""Use a log cost axis when the dearest point costs this many times the cheapest."""


def _style() -> Any:
    """The matplotlib settings of every chart of the report, as a context manager."""
    import matplotlib

    return matplotlib.rc_context(
        {
            "svg.fonttype": "none",  # text stays text: the page's fonts, searchable, small
            "svg.hashsalt": "harness-report",  # stable element ids: same run, same bytes
            "font.family": "sans-serif",
            "font.size": 9.0,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )


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

    Points at the same spot share one label; adjustText moves labels off each
    other and off the markers. Points with a :attr:`ChartPoint.key` are labelled
    with it (short marks collide far less than names): the page names them in a
    key beside the chart.
    ``id_prefix`` is put before every element id (and reference to one), so
    several charts can share one HTML page without duplicate ids.

    Raises:
        ImportError: matplotlib is not installed.
    """
    import matplotlib

    # The report is drawn off-screen. Only pick the backend when nobody has
    # loaded pyplot yet: switching it under an interactive session is rude, and
    # the Figure API used below never needs pyplot's backend anyway.
    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, PercentFormatter

    drawable = [p for p in points if math.isfinite(p.cost) and math.isfinite(p.quality)]
    style = _style()
    # The session runs under pytest's filterwarnings=error: a font warning
    # (a glyph missing for an unusual configuration name) must not lose the report.
    with warnings.catch_warnings(), style:
        warnings.simplefilter("ignore")
        fig = Figure(figsize=(11.0, 4.0), layout="constrained")
        FigureCanvasAgg(fig)  # measures text while labels are placed
        ax = fig.add_subplot()
        ax.set_title(title, loc="left", fontsize=11, fontweight="bold", parse_math=False)
        costs = [p.cost for p in drawable]
        if costs and min(costs) > 0 and max(costs) / min(costs) >= LOG_SCALE_RATIO:
            ax.set_xscale("log")
            # Decades alone leave two ticks over two decades: 1-2-5 steps read better.
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        else:
            # Dollar tick labels are wide: few of them, or they run into each other.
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        frontier = pareto_frontier([(p.cost, p.quality) for p in drawable])
        if len(frontier) > 1:
            ax.plot(
                [drawable[i].cost for i in frontier],
                [drawable[i].quality for i in frontier],
                linestyle="--",
                linewidth=1.2,
                color="#8c959f",
                zorder=1,
                label="Pareto frontier",
            )
        seen: set[str] = set()
        for point in drawable:
            is_base = point.badge == "baseline"
            ax.scatter(
                [point.cost],
                [point.quality],
                s=110 if is_base else 46,
                marker="*" if is_base else "o",
                color=VERDICT_COLOURS.get(point.badge, "#6e7781"),
                edgecolors="white",
                linewidths=0.8,
                zorder=4 if is_base else 3,
                label=None if point.badge in seen else point.badge,
            )
            seen.add(point.badge)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: money(value)))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda _value, _pos: ""))
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=None))
        ax.set_xlabel("cost per query (USD)")
        ax.set_ylabel("quality")
        ax.grid(True, color="#d0d7de", linewidth=0.6)
        ax.margins(x=0.12, y=0.12)
        if drawable:
            # Below the plot, where it can hide no point and no label.
            fig.legend(loc="outside lower center", ncols=6, fontsize=8, frameon=False)
        # Settle the layout, then freeze it: labels are placed in display space
        # and must not move when the layout engine would react to them.
        fig.draw_without_rendering()
        fig.set_layout_engine("none")
        _place_labels(ax, drawable)
        return svg_element(fig, id_prefix)


@contextmanager
def chart_figure(title: str, *, height: float) -> Iterator[tuple[Any, Any]]:
    """A report-wide figure and its one axes, titled, off-screen, warnings silenced (every
    chart of the report but the cost-vs-quality scatter is drawn in one).

    The session runs under pytest's ``filterwarnings = error``: a font warning
    must not lose the report.
    """
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with warnings.catch_warnings(), _style():
        warnings.simplefilter("ignore")
        fig = Figure(figsize=(11.0, height), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.set_title(title, loc="left", fontsize=11, fontweight="bold", parse_math=False)
        yield fig, ax


def svg_element(fig: Any, id_prefix: str) -> str:
    """The figure as an inline ``<svg>`` element, its ids prefixed (so several charts can
    share one page without duplicate ids)."""
    buffer = io.StringIO()
    # No metadata: no date (same run, same bytes) and no RDF block of URLs.
    fig.savefig(buffer, format="svg", metadata=dict.fromkeys(SVG_METADATA))
    svg = buffer.getvalue()
    # Drop the XML declaration and DOCTYPE: inside HTML only the element belongs.
    svg = svg[svg.index("<svg") :].strip()
    if id_prefix:
        svg = _SVG_ID.sub(lambda m: m.group(1) + id_prefix, svg)
    return svg


def _spot_label(labels: Sequence[str]) -> str:
    """One label for the points at one spot: their keys (``1,4``), or names a line each
    when more than two."""
    if all(len(label) <= 3 for label in labels):
        return ",".join(labels)
    return ", ".join(labels) if len(labels) <= 2 else "\n".join(labels)


def _place_labels(ax: Any, drawable: Sequence[ChartPoint]) -> None:
    """Label every spot (points at the same spot share one label, their keys when they
    have keys), then let adjustText move the labels off each other and off the markers,
    with a leader line to a label it moved away from its point."""
    from adjustText import adjust_text  # type: ignore[import-untyped]

    spots: dict[tuple[float, float], list[str]] = {}
    for point in drawable:
        spots.setdefault((point.cost, point.quality), []).append(point.key or point.label)
    texts = [
        ax.text(
            cost,
            quality,
            _spot_label(labels),
            fontsize=8,
            color="#424a53",
            parse_math=False,
            zorder=5,
            linespacing=1.1,
        )
        for (cost, quality), labels in spots.items()
    ]
    if not texts:
        return
    adjust_text(
        texts,
        x=[cost for cost, _ in spots],
        y=[quality for _, quality in spots],
        ax=ax,
        expand=(1.15, 1.4),
        force_text=(0.3, 0.5),
        force_static=(0.3, 0.5),
        arrowprops={"arrowstyle": "-", "color": "#8c959f", "linewidth": 0.6},
    )


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

    Raises:
        ImportError: matplotlib is not installed.
    """
    from matplotlib.ticker import PercentFormatter

    with chart_figure(title, height=4.0) as (fig, ax):
        ax.plot(
            [0.0, 1.0],
            [chart.weak_quality, chart.strong_quality],
            linestyle=":",
            linewidth=1.2,
            color="#8c959f",
            zorder=1,
            label="random router",
        )
        if len(chart.oracle_shares) > 1:
            ax.plot(
                list(chart.oracle_shares),
                list(chart.oracle_quality),
                linestyle="--",
                linewidth=1.2,
                color="#8250df",
                zorder=1,
                label="oracle router",
            )
        if chart.floor is not None and math.isfinite(chart.floor):
            ax.axhline(
                chart.floor,
                linestyle=(0, (2, 3)),
                linewidth=0.9,
                color=VERDICT_COLOURS["fail"],
                alpha=0.7,
                zorder=1,
                label="baseline − margin",
            )
        ax.plot(
            list(chart.shares),
            list(chart.quality),
            linewidth=1.4,
            color="#0969da",
            zorder=2,
            label="this router",
        )
        for verdict in ("pass", "inconclusive", "fail", "error", None):
            members = [i for i, v in enumerate(chart.verdicts) if v == verdict]
            if not members:
                continue
            ax.scatter(
                [chart.shares[i] for i in members],
                [chart.quality[i] for i in members],
                s=34,
                color=SWEEP_COLOURS[verdict],
                edgecolors="white",
                linewidths=0.7,
                zorder=3,
                label=verdict or "not judged",
            )
        r = chart.recommended
        if r is not None and 0 <= r < len(chart.shares):
            x, y = chart.shares[r], chart.quality[r]
            ax.scatter(
                [x],
                [y],
                s=190,
                facecolors="none",
                edgecolors="#1f2328",
                linewidths=1.6,
                zorder=4,
                label="recommended",
            )
            left = x > 0.6  # keep the note inside the axes
            ax.annotate(
                chart.note,
                (x, y),
                xytext=(-14 if left else 14, -34),
                textcoords="offset points",
                ha="right" if left else "left",
                va="top",
                fontsize=8.5,
                color="#1f2328",
                parse_math=False,
                annotation_clip=False,
                zorder=5,
                bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": "#d0d7de", "lw": 0.6},
                arrowprops={"arrowstyle": "-", "color": "#57606a", "linewidth": 0.7},
            )
        ax.set_xlim(-0.02, 1.02)
        ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=None))
        ax.set_xlabel(f"share of calls to the strong model ({chart.strong})")
        ax.set_ylabel("quality")
        ax.grid(True, color="#d0d7de", linewidth=0.6)
        ax.margins(y=0.15)
        fig.legend(loc="outside lower center", ncols=8, fontsize=8, frameon=False)
        return svg_element(fig, id_prefix)
