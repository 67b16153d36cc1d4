"""Cost-vs-quality charts for the HTML report, drawn with matplotlib as inline SVG.

:func:`pareto_frontier` is pure and cheap; :func:`cost_quality_svg` imports
matplotlib when called, so importing this module costs nothing.
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

    Points at the same spot share one label; labels are placed where they
    cover no marker and no other label when such a place exists.
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
    from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

    drawable = [p for p in points if math.isfinite(p.cost) and math.isfinite(p.quality)]
    style = _style()
    # The session runs under pytest's filterwarnings=error: a font warning
    # (a glyph missing for an unusual configuration name) must not lose the report.
    with warnings.catch_warnings(), style:
        warnings.simplefilter("ignore")
        fig = Figure(figsize=(11.0, 4.0), layout="constrained")
        canvas = FigureCanvasAgg(fig)  # measures text while labels are placed
        ax = fig.add_subplot()
        ax.set_title(title, loc="left", fontsize=11, fontweight="bold", parse_math=False)
        costs = [p.cost for p in drawable]
        if costs and min(costs) > 0 and max(costs) / min(costs) >= LOG_SCALE_RATIO:
            ax.set_xscale("log")
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
        _place_labels(ax, canvas.get_renderer(), drawable)  # type: ignore[no-untyped-call]
        return _svg_element(fig, id_prefix)


@contextmanager
def _chart(title: str, *, height: float) -> Iterator[tuple[Any, Any]]:
    """A report-wide figure and its one axes, titled, off-screen, warnings silenced.

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


def _svg_element(fig: Any, id_prefix: str) -> str:
    """The figure as an inline ``<svg>`` element, its ids prefixed."""
    buffer = io.StringIO()
    # No metadata: no date (same run, same bytes) and no RDF block of URLs.
    fig.savefig(buffer, format="svg", metadata=dict.fromkeys(SVG_METADATA))
    svg = buffer.getvalue()
    # Drop the XML declaration and DOCTYPE: inside HTML only the element belongs.
    svg = svg[svg.index("<svg") :].strip()
    if id_prefix:
        svg = _SVG_ID.sub(lambda m: m.group(1) + id_prefix, svg)
    return svg


# Where a label may go, relative to its point (offset in points, alignment), in
# order of preference: beside it first, then further away with a leader line.
_NEAR = [
    (5, 3, "left", "bottom"),
    (5, -3, "left", "top"),
    (-5, 3, "right", "bottom"),
    (-5, -3, "right", "top"),
    (0, 8, "center", "bottom"),
    (0, -8, "center", "top"),
]
_FAR = [
    (dx, dy, "left" if dx > 0 else "right", "bottom" if dy > 0 else "top")
    for distance in (14, 24, 34, 44, 54, 64)
    for dx, dy in (
        (8, distance),
        (8, -distance),
        (-8, distance),
        (-8, -distance),
    )
]
_CANDIDATES = _NEAR + _FAR


def _overlap(a: Any, b: Any) -> float:
    width = float(min(a.x1, b.x1) - max(a.x0, b.x0))
    height = float(min(a.y1, b.y1) - max(a.y0, b.y0))
    return width * height if width > 0 and height > 0 else 0.0


def _outside(box: Any, frame: Any) -> float:
    return float(box.width * box.height) - _overlap(box, frame)


def _place_labels(ax: Any, renderer: Any, drawable: Sequence[ChartPoint]) -> None:
    """Annotate every spot with its labels, greedily avoiding markers and earlier labels.

    A spot's cost is the area its label covers of markers and other labels,
    plus what falls outside the axes (a lot more outside the figure). The
    first candidate with no cost wins; otherwise the cheapest one.
    """
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    spots: dict[tuple[float, float], list[str]] = {}
    for point in drawable:
        spots.setdefault((point.cost, point.quality), []).append(point.label)
    pad = 5.0 * ax.figure.dpi / 72
    obstacles = []
    for cost, quality in spots:
        x, y = ax.transData.transform((cost, quality))
        obstacles.append(Bbox.from_extents(x - pad, y - pad, x + pad, y + pad))
    axes_box = ax.get_window_extent(renderer)
    figure_box = ax.figure.bbox
    for (cost, quality), labels in spots.items():
        best: tuple[float, Any, Any] | None = None
        for dx, dy, ha, va in _CANDIDATES:
            far = (dx, dy, ha, va) in _FAR
            note = ax.annotate(
                ", ".join(labels),
                (cost, quality),
                xytext=(dx, dy),
                textcoords="offset points",
                ha=ha,
                va=va,
                fontsize=8,
                color="#424a53",
                parse_math=False,
                annotation_clip=False,
                zorder=5,
                arrowprops={
                    "arrowstyle": "-",
                    "color": "#8c959f",
                    "linewidth": 0.6,
                    "shrinkA": 0,
                    "shrinkB": 4,
                }
                if far
                else None,
            )
            # The text alone: the annotation's own extent includes its leader
            # line, which always touches the point's marker.
            note.update_positions(renderer)
            box = Text.get_window_extent(note, renderer)
            penalty = (
                sum(_overlap(box, other) for other in obstacles)
                + _outside(box, axes_box) * 0.5
                + _outside(box, figure_box) * 20
            )
            if best is None or penalty < best[0]:
                if best is not None:
                    best[1].remove()
                best = (penalty, note, box)
            else:
                note.remove()
            if penalty == 0:
                break
        if best is not None:
            obstacles.append(best[2])


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

    with _chart(title, height=4.0) as (fig, ax):
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
        return _svg_element(fig, id_prefix)


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
    verified_hit_rate: Sequence[float] = ()
    """With a verifier stage: the hit rate with every candidate checked (else empty)."""
    verified_wrong_upper: Sequence[float] = ()
    """With a verifier stage: the wrong-hit rate's upper bound with verification."""


def cache_sweep_svg(chart: CacheSweepChart, *, title: str, id_prefix: str = "") -> str:
    """An inline ``<svg>``: hit rate and the wrong-hit rate's upper bound against the threshold.

    A threshold qualifies where the red curve is under the dashed target line;
    the recommended one (most correct hits among those) is marked by a vertical
    line. Points with no hit have no wrong-hit bound and are left out of it.
    With a verifier stage the same two curves with verification are dashed.

    Raises:
        ImportError: matplotlib is not installed.
    """
    from matplotlib.ticker import PercentFormatter

    with _chart(title, height=3.4) as (fig, ax):
        ax.plot(
            list(chart.thresholds),
            list(chart.hit_rate),
            linewidth=1.6,
            color="#0969da",
            label="hit rate",
            zorder=3,
        )
        judged = [
            (t, w)
            for t, w, h in zip(chart.thresholds, chart.wrong_upper, chart.hit_rate, strict=True)
            if h > 0
        ]
        if judged:
            ax.plot(
                [t for t, _ in judged],
                [w for _, w in judged],
                linewidth=1.6,
                color=VERDICT_COLOURS["fail"],
                label="wrong-hit rate, upper 95% bound",
                zorder=3,
            )
        if chart.verified_hit_rate:
            ax.plot(
                list(chart.thresholds),
                list(chart.verified_hit_rate),
                linewidth=1.6,
                linestyle=(0, (5, 1.5, 1, 1.5)),
                color="#0969da",
                label="hit rate, verified",
                zorder=3,
            )
            checked = [
                (t, w)
                for t, w, h in zip(
                    chart.thresholds,
                    chart.verified_wrong_upper,
                    chart.verified_hit_rate,
                    strict=True,
                )
                if h > 0
            ]
            if checked:
                ax.plot(
                    [t for t, _ in checked],
                    [w for _, w in checked],
                    linewidth=1.6,
                    linestyle=(0, (5, 1.5, 1, 1.5)),
                    color=VERDICT_COLOURS["fail"],
                    label="wrong-hit bound, verified",
                    zorder=3,
                )
        ax.axhline(
            chart.target,
            linestyle=(0, (4, 3)),
            linewidth=1.0,
            color=VERDICT_COLOURS["fail"],
            alpha=0.7,
            label=f"target ({chart.target:.0%})",
            zorder=2,
        )
        if chart.recommended is not None:
            ax.axvline(
                chart.recommended,
                linewidth=1.2,
                color="#1f2328",
                label=f"recommended ({chart.recommended:.2f})",
                zorder=4,
            )
        ax.set_xlabel("similarity threshold (cosine)")
        ax.set_ylim(0.0, 1.0)
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
        ax.grid(True, color="#d0d7de", linewidth=0.6)
        fig.legend(loc="outside lower center", ncols=4, fontsize=8, frameon=False)
        return _svg_element(fig, id_prefix)
