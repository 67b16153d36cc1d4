"""Where a chart's short marks go: beside their point, off the other marks and markers.

Greedy and deterministic: each spot in turn takes the first of a few candidate
boxes (right, left, above, below, then the diagonals; then the same farther out)
that stays inside the plot and overlaps no mark placed before it and no marker.
A mark that found room only farther out gets a leader line back to its point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CHAR_WIDTH = 0.6
"""Average advance of a sans-serif glyph in ems, on the generous side: with no font
metrics at hand, an estimate too wide only costs a little room, one too narrow lets
text spill out of the plot."""

LINE_HEIGHT = 1.2
"""Height of a line of text in ems."""

DIRECTIONS = ((1, 0), (-1, 0), (0, -1), (0, 1), (1, -1), (-1, -1), (1, 1), (-1, 1))
"""Candidate sides of a mark, tried in this order: right, left, above, below, then the
diagonals (SVG's y grows downwards, so -1 is up)."""

RINGS = (0.0, 10.0, 22.0)
"""Extra distance (px) of each round of candidates beyond the marker's edge."""


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned rectangle in pixels (y grows downwards)."""

    left: float
    top: float
    right: float
    bottom: float

    def overlap(self, other: Box) -> float:
        """Area shared with ``other`` (0 when they only touch or are apart)."""
        width = min(self.right, other.right) - max(self.left, other.left)
        height = min(self.bottom, other.bottom) - max(self.top, other.top)
        return width * height if width > 0 and height > 0 else 0.0

    def within(self, other: Box) -> bool:
        """True when this box lies entirely inside ``other``."""
        return (
            self.left >= other.left
            and self.right <= other.right
            and self.top >= other.top
            and self.bottom <= other.bottom
        )


@dataclass(frozen=True, slots=True)
class Spot:
    """A point to label: its pixel position, marker radius and the mark's text."""

    x: float
    y: float
    radius: float
    text: str


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a spot's mark went: its text box, and whether a leader line joins it to
    the point (it had to move farther out)."""

    box: Box
    leader: bool


def text_size(text: str, size: float) -> tuple[float, float]:
    """Estimated width and height (px) of ``text`` at font ``size``, a line per ``\\n``."""
    lines = text.split("\n")
    return max(len(line) for line in lines) * size * CHAR_WIDTH, len(lines) * size * LINE_HEIGHT


def candidate(spot: Spot, direction: tuple[int, int], gap: float, size: tuple[float, float]) -> Box:
    """The text box on one side of ``spot``, ``gap`` px from its centre."""
    dx, dy = direction
    width, height = size
    if dx and dy:
        gap *= 0.75  # on a diagonal the corner sits closer to the marker than a side would
    if dx > 0:
        left = spot.x + gap
    elif dx < 0:
        left = spot.x - gap - width
    else:
        left = spot.x - width / 2
    if dy < 0:
        top = spot.y - gap - height
    elif dy > 0:
        top = spot.y + gap
    else:
        top = spot.y - height / 2
    return Box(left, top, left + width, top + height)


def place_labels(
    spots: Sequence[Spot], *, markers: Sequence[Box], bounds: Box, font_size: float
) -> list[Placement]:
    """A placement per spot, in order: the first candidate inside ``bounds`` that
    overlaps no earlier mark and no marker; failing all, the candidate overlapping least."""
    placed: list[Box] = []
    out: list[Placement] = []
    for spot in spots:
        size = text_size(spot.text, font_size)
        best: tuple[float, Box, bool] | None = None
        for ring in RINGS:
            gap = spot.radius + 3.0 + ring
            for direction in DIRECTIONS:
                box = candidate(spot, direction, gap, size)
                if not box.within(bounds):
                    continue
                clash = sum(box.overlap(other) for other in (*placed, *markers))
                if best is None or clash < best[0]:
                    best = (clash, box, ring > 0)
                if clash == 0:
                    break
            if best is not None and best[0] == 0:
                break
        if best is None:  # no candidate fits the plot: right of the point, come what may
            best = (0.0, candidate(spot, DIRECTIONS[0], spot.radius + 3.0, size), False)
        placed.append(best[1])
        out.append(Placement(box=best[1], leader=best[2]))
    return out
