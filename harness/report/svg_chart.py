"""A small SVG chart drawer for the report: a titled plot over two axes
(:mod:`~harness.report.svg_axis`), a grid, lines, markers (circle, star, ring), shaded
bands, text, short marks placed off each other (:mod:`~harness.report.svg_labels`) and
a legend, written as an inline ``<svg>`` element that scales to its column.

The report's charts are a scatter and two curves: drawing them here costs
milliseconds and no dependency, where matplotlib cost ~0.7 s of CPU per report (its
import, a figure, adjustText, its SVG backend). Text widths are estimated from
character counts, generously, so labels stay inside the plot without font metrics.
The same input gives the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from harness.report.svg_axis import Axis, percent_text
from harness.report.svg_labels import LINE_HEIGHT, Box, Spot, place_labels, text_size

FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"
INK = "#1f2328"
MUTED = "#57606a"
GRID = "#d0d7de"
WIDTH = 880.0
"""Width of every chart's viewBox: the page scales it to the column (up to 1100 px)."""
FONT_SIZE = 11.0
TITLE_SIZE = 13.0
MARK_SIZE = 10.0
DASHES = {"dashed": "5 3", "dotted": "1.5 2.5", "sparse": "2 3", "dashdot": "5 1.5 1 1.5"}
"""Dash patterns by name (stroke-dasharray)."""


def _n(value: float) -> str:
    """A coordinate, to a tenth of a pixel (small, stable output)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True, slots=True)
class LegendEntry:
    """One legend item: its label and how its swatch is drawn."""

    label: str
    colour: str
    kind: str = "line"
    """``line``, ``band`` or a marker shape (``circle``, ``star``, ``ring``)."""
    dash: str = ""
    opacity: float = 1.0
    hatch: bool = False


class Chart:
    """A chart being drawn: a titled plot area over two axes. Add series in data
    coordinates, then :meth:`render` writes the ``<svg>``.

    ``id_prefix`` starts every element id, so several charts can share one page.
    """

    def __init__(
        self,
        *,
        title: str,
        x: Axis,
        y: Axis,
        x_label: str,
        y_label: str,
        x_text: Callable[[float], str],
        y_text: Callable[[float], str] | None = None,
        id_prefix: str = "",
        height: float = 330.0,
        x_ticks: Sequence[float] | None = None,
    ) -> None:
        self.title, self.x, self.y, self.prefix, self.height = title, x, y, id_prefix, height
        self.x_label, self.y_label, self.x_text = x_label, y_label, x_text
        self.x_ticks = [t for t in (x.ticks() if x_ticks is None else x_ticks) if x.covers(t)]
        self.y_ticks = [t for t in y.ticks() if y.covers(t)]
        self.y_text = y_text or percent_text(self.y_ticks)
        tick_width = max((text_size(self.y_text(t), FONT_SIZE)[0] for t in self.y_ticks), default=0)
        last = text_size(x_text(self.x_ticks[-1]), FONT_SIZE)[0] if self.x_ticks else 0.0
        self.plot = Box(
            left=10 + (FONT_SIZE * LINE_HEIGHT + 6 if y_label else 0) + tick_width + 8,
            top=34.0,
            right=WIDTH - max(14.0, last / 2 + 4),
            bottom=height - 44.0,
        )
        self.parts: list[tuple[int, int, str]] = []
        self.legend: list[LegendEntry] = []
        self.hatch = ""
        """Colour of the hatched bands' pattern; empty: no band is hatched."""

    # --- coordinates -------------------------------------------------------------
    def px(self, x: float, y: float) -> tuple[float, float]:
        """Pixel position of the data point ``(x, y)``."""
        p = self.plot
        return (
            p.left + self.x.fraction(x) * (p.right - p.left),
            p.bottom - self.y.fraction(y) * (p.bottom - p.top),
        )

    def add(self, layer: int, svg: str) -> None:
        """Add raw SVG on ``layer`` (higher layers are drawn over lower ones)."""
        self.parts.append((layer, len(self.parts), svg))

    def key(self, entry: LegendEntry) -> None:
        """Add a legend entry, once per label."""
        if entry.label and all(e.label != entry.label for e in self.legend):
            self.legend.append(entry)

    # --- series ------------------------------------------------------------------
    def line(
        self,
        xs: Sequence[float],
        ys: Sequence[float],
        *,
        colour: str,
        width: float = 1.4,
        dash: str = "",
        opacity: float = 1.0,
        label: str = "",
    ) -> None:
        """A polyline through the points; a non-finite value leaves a gap."""
        paths = [
            "M" + " L".join(f"{_n(px)} {_n(py)}" for px, py in run)
            for run in self._runs(xs, ys)
            if len(run) > 1
        ]
        if paths:
            style = _stroke(colour, width, dash, opacity)
            self.add(2, f'<path d="{" ".join(paths)}" fill="none"{style}/>')
        self.key(LegendEntry(label, colour, dash=dash, opacity=opacity))

    def hline(self, y: float, *, colour: str, width: float, dash: str = "", **rest: Any) -> None:
        """A horizontal line across the plot at ``y`` (``rest``: as :meth:`line`)."""
        self.line([self.x.low, self.x.high], [y, y], colour=colour, width=width, dash=dash, **rest)

    def vline(self, x: float, *, colour: str, width: float, dash: str = "", **rest: Any) -> None:
        """A vertical line across the plot at ``x`` (``rest``: as :meth:`line`)."""
        self.line([x, x], [self.y.low, self.y.high], colour=colour, width=width, dash=dash, **rest)

    def band(
        self,
        xs: Sequence[float],
        lows: Sequence[float],
        highs: Sequence[float],
        *,
        colour: str,
        opacity: float,
        hatch: bool = False,
        label: str = "",
    ) -> None:
        """The area between ``lows`` and ``highs``; a non-finite high leaves a gap."""
        fill = f"url(#{self.prefix}hatch)" if hatch else colour
        self.hatch = self.hatch or (colour if hatch else "")
        for run in self._index_runs(highs):
            if len(run) < 2:
                continue
            edge = [self.px(xs[i], highs[i]) for i in run]
            edge += [self.px(xs[i], lows[i]) for i in reversed(run)]
            points = " ".join(f"{_n(px)},{_n(py)}" for px, py in edge)
            self.add(1, f'<polygon points="{points}" fill="{fill}" fill-opacity="{opacity}"/>')
        self.key(LegendEntry(label, colour, kind="band", opacity=opacity, hatch=hatch))

    def marker(
        self, x: float, y: float, *, shape: str, colour: str, radius: float, label: str = ""
    ) -> Box:
        """A marker (``circle``, ``star`` or ``ring``) at a data point; its pixel box."""
        px, py = self.px(x, y)
        self.add(4 if shape == "ring" else 3, _marker(shape, px, py, radius, colour))
        self.key(LegendEntry(label, colour, kind=shape))
        return Box(px - radius, py - radius, px + radius, py + radius)

    def text(
        self,
        box: Box,
        text: str,
        *,
        size: float = FONT_SIZE,
        colour: str = INK,
        css: str = "",
    ) -> None:
        """``text`` (a line per ``\\n``) set left-aligned in ``box``, escaped."""
        self.add(5, _text(box.left, box.top, text, size, colour, css=css))

    def marks(self, spots: Sequence[Spot], markers: Sequence[Box]) -> None:
        """Short marks beside their points, off each other and off the markers, a leader
        line to each that had to move farther out (:func:`place_labels`)."""
        bounds = Box(self.plot.left + 2, self.plot.top, self.plot.right - 2, self.plot.bottom - 2)
        places = place_labels(spots, markers=markers, bounds=bounds, font_size=MARK_SIZE)
        for spot, place in zip(spots, places, strict=True):
            if place.leader:
                bx = min(max(spot.x, place.box.left), place.box.right)
                by = min(max(spot.y, place.box.top), place.box.bottom)
                self.add(
                    5,
                    f'<path d="M{_n(spot.x)} {_n(spot.y)} L{_n(bx)} {_n(by)}"'
                    f"{_stroke('#8c959f', 0.7, '', 1.0)}/>",
                )
            self.text(place.box, spot.text, size=MARK_SIZE, colour="#424a53", css="mark")

    def note(self, x: float, y: float, text: str, *, dx: float, dy: float) -> None:
        """A boxed note ``dx, dy`` px from a data point (kept inside the plot), with a
        line from the point to the box."""
        px, py = self.px(x, y)
        width, height = text_size(text, FONT_SIZE)
        left = px + dx if dx >= 0 else px + dx - width
        top = py + dy if dy >= 0 else py + dy - height
        left = min(max(left, self.plot.left + 6), self.plot.right - width - 6)
        top = min(max(top, self.plot.top + 4), self.plot.bottom - height - 4)
        box = Box(left - 5, top - 3, left + width + 5, top + height + 3)
        cx = min(max(px, box.left), box.right)
        cy = min(max(py, box.top), box.bottom)
        self.add(
            5, f'<path d="M{_n(px)} {_n(py)} L{_n(cx)} {_n(cy)}"{_stroke(MUTED, 0.8, "", 1)}/>'
        )
        self.add(
            5,
            f'<rect x="{_n(box.left)}" y="{_n(box.top)}" width="{_n(box.right - box.left)}"'
            f' height="{_n(box.bottom - box.top)}" rx="3" fill="#fff" stroke="{GRID}"/>',
        )
        self.add(5, _text(left, top, text, FONT_SIZE, INK))

    # --- output ------------------------------------------------------------------
    def render(self) -> str:
        """The chart as an ``<svg>`` element: no XML declaration, ids prefixed, scalable."""
        legend, legend_height = self._legend(self.height - 4)
        height = self.height + legend_height
        p = self.plot
        clip = f"{self.prefix}plot"
        body = [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_n(WIDTH)} {_n(height)}"'
            f' width="100%" font-family="{escape(FONT)}" font-size="{_n(FONT_SIZE)}"'
            f' id="{self.prefix}chart">',
            f'<defs><clipPath id="{clip}"><rect x="{_n(p.left)}" y="{_n(p.top - 1)}"'
            f' width="{_n(p.right - p.left)}" height="{_n(p.bottom - p.top + 2)}"/></clipPath>'
            + (
                f'<pattern id="{self.prefix}hatch" width="6" height="6"'
                ' patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
                f'<path d="M0 0 L0 6" stroke="{self.hatch}" stroke-width="1.2"/></pattern>'
                if self.hatch
                else ""
            )
            + "</defs>",
            _text(p.left, 8, self.title, TITLE_SIZE, INK, weight="bold"),
            *self._axes(),
            f'<g clip-path="url(#{clip})">',
            # Lines and bands are clipped to the plot; markers and text are not.
            *(svg for layer, _, svg in sorted(self.parts) if layer < 3),
            "</g>",
            *(svg for layer, _, svg in sorted(self.parts) if layer >= 3),
            '<g class="legend">',
            *legend,
            "</g>",
            "</svg>",
        ]
        return "\n".join(body)

    def _axes(self) -> list[str]:
        """Grid, spines, ticks and their labels, and the axis labels."""
        p = self.plot
        out: list[str] = []
        grid = []
        for t in self.y_ticks:
            _, py = self.px(self.x.low, t)
            grid.append(f"M{_n(p.left)} {_n(py)} L{_n(p.right)} {_n(py)}")
            out.append(
                f'<text x="{_n(p.left - 7)}" y="{_n(py + FONT_SIZE * 0.35)}"'
                f' text-anchor="end" fill="{INK}">{escape(self.y_text(t))}</text>'
            )
        previous = -math.inf
        for t in self.x_ticks:
            px, _ = self.px(t, self.y.low)
            grid.append(f"M{_n(px)} {_n(p.top)} L{_n(px)} {_n(p.bottom)}")
            label = self.x_text(t)
            half = text_size(label, FONT_SIZE)[0] / 2
            if px - half < previous + 6:  # would run into the previous label: skip it
                continue
            previous = px + half
            out.append(
                f'<text x="{_n(px)}" y="{_n(p.bottom + 8 + FONT_SIZE)}" text-anchor="middle"'
                f' fill="{INK}">{escape(label)}</text>'
            )
        lines = [
            f'<path d="{" ".join(grid)}"{_stroke(GRID, 0.6, "", 1)}/>',
            f'<path d="M{_n(p.left)} {_n(p.top)} L{_n(p.left)} {_n(p.bottom)}'
            f' L{_n(p.right)} {_n(p.bottom)}"{_stroke(INK, 0.8, "", 1)} fill="none"/>',
        ]
        mid_y = (p.top + p.bottom) / 2
        labels = [
            f'<text x="{_n((p.left + p.right) / 2)}" y="{_n(p.bottom + 12 + 2.2 * FONT_SIZE)}"'
            f' text-anchor="middle" fill="{INK}">{escape(self.x_label)}</text>'
        ]
        if self.y_label:
            labels.append(
                f'<text x="{_n(10 + FONT_SIZE)}" y="{_n(mid_y)}" text-anchor="middle"'
                f' transform="rotate(-90 {_n(10 + FONT_SIZE)} {_n(mid_y)})"'
                f' fill="{INK}">{escape(self.y_label)}</text>'
            )
        return lines + out + labels

    def _legend(self, top: float) -> tuple[list[str], float]:
        """The legend's elements in centred rows under the axis label, and its height."""
        if not self.legend:
            return [], 0.0
        rows: list[list[tuple[LegendEntry, float]]] = [[]]
        widths = [0.0]
        for entry in self.legend:
            width = 22 + 5 + text_size(entry.label, FONT_SIZE)[0] + 18
            if rows[-1] and widths[-1] + width > WIDTH - 20:
                rows.append([])
                widths.append(0.0)
            rows[-1].append((entry, width))
            widths[-1] += width
        out: list[str] = []
        for number, (row, total) in enumerate(zip(rows, widths, strict=True)):
            x = (WIDTH - total + 18) / 2
            cy = top + 10 + number * 18
            for entry, width in row:
                out.append(_swatch(entry, x, cy, self.prefix))
                out.append(_text(x + 27, cy - FONT_SIZE * 0.6, entry.label, FONT_SIZE, INK))
                x += width
        return out, 18.0 * len(rows) + 4

    def _runs(self, xs: Sequence[float], ys: Sequence[float]) -> list[list[tuple[float, float]]]:
        """The points in pixels, split where a value is not finite."""
        runs: list[list[tuple[float, float]]] = [[]]
        for x, y in zip(xs, ys, strict=True):
            ok = math.isfinite(x) and math.isfinite(y) and (x > 0 or not self.x.log)
            if ok:
                runs[-1].append(self.px(x, y))
            elif runs[-1]:
                runs.append([])
        return runs

    @staticmethod
    def _index_runs(values: Sequence[float]) -> list[list[int]]:
        """Indices of the runs of finite values."""
        runs: list[list[int]] = [[]]
        for i, value in enumerate(values):
            if math.isfinite(value):
                runs[-1].append(i)
            elif runs[-1]:
                runs.append([])
        return runs


def _stroke(colour: str, width: float, dash: str, opacity: float) -> str:
    """Stroke attributes of a line."""
    out = f' stroke="{colour}" stroke-width="{width}"'
    if dash:
        out += f' stroke-dasharray="{DASHES.get(dash, dash)}"'
    if opacity != 1:
        out += f' stroke-opacity="{opacity}"'
    return out


def _text(
    left: float,
    top: float,
    text: str,
    size: float,
    colour: str,
    *,
    weight: str = "",
    css: str = "",
) -> str:
    """Left-aligned text whose first line's box starts at ``(left, top)``; escaped."""
    lines = text.split("\n")
    baseline = top + size * 0.87
    attrs = f' font-size="{_n(size)}" fill="{colour}"'
    attrs += f' font-weight="{weight}"' if weight else ""
    attrs += f' class="{css}"' if css else ""
    if len(lines) == 1:
        return f'<text x="{_n(left)}" y="{_n(baseline)}"{attrs}>{escape(text)}</text>'
    step = _n(size * LINE_HEIGHT)
    spans = "".join(
        f'<tspan x="{_n(left)}" dy="{0 if i == 0 else step}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return f'<text x="{_n(left)}" y="{_n(baseline)}"{attrs}>{spans}</text>'


def _marker(shape: str, x: float, y: float, radius: float, colour: str) -> str:
    """A circle, a five-pointed star or an open ring centred on ``(x, y)``."""
    if shape == "star":
        corners = []
        for i in range(10):
            r = radius if i % 2 == 0 else radius * 0.42
            angle = math.pi * (i / 5 - 0.5)
            corners.append(f"{_n(x + r * math.cos(angle))},{_n(y + r * math.sin(angle))}")
        return (
            f'<polygon points="{" ".join(corners)}" fill="{colour}"'
            ' stroke="#fff" stroke-width="0.8"/>'
        )
    if shape == "ring":
        return (
            f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(radius)}" fill="none"'
            f' stroke="{colour}" stroke-width="1.6"/>'
        )
    return (
        f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(radius)}" fill="{colour}"'
        ' stroke="#fff" stroke-width="0.8"/>'
    )


def _swatch(entry: LegendEntry, x: float, cy: float, prefix: str) -> str:
    """A legend entry's 22 px swatch, its middle at height ``cy``."""
    if entry.kind == "line":
        stroke = _stroke(entry.colour, 1.4, entry.dash, entry.opacity)
        return f'<path d="M{_n(x)} {_n(cy)} L{_n(x + 22)} {_n(cy)}"{stroke}/>'
    if entry.kind == "band":
        fill = f"url(#{prefix}hatch)" if entry.hatch else entry.colour
        return (
            f'<rect x="{_n(x)}" y="{_n(cy - 5)}" width="22" height="10" fill="{fill}"'
            f' fill-opacity="{max(entry.opacity, 0.2)}"/>'
        )
    radius = {"star": 7.0, "ring": 6.0}.get(entry.kind, 4.0)
    return _marker(entry.kind, x + 11, cy, radius, entry.colour)
