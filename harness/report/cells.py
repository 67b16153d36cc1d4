"""How one value reads in a cell of the report: scores, point changes, cut texts, sort keys.

Shared by the page's views (:mod:`~harness.report.render`,
:mod:`~harness.report.degraded`, :mod:`~harness.report.changes`) so a score
reads the same in every section.
"""

from __future__ import annotations

import math
from typing import Any

from harness.formatting import points

NO_ANSWERS = "no answers"
"""What a configuration that answered no case shows instead of a quality or a cost:
an all-errored configuration has neither, and a 0.000 at $0 would read as a saving."""


def finite(value: float | None) -> bool:
    """True for a real number (not None, NaN or infinite)."""
    return value is not None and math.isfinite(value)


def fmt_quality(value: float | None) -> str:
    """A score or mean quality, three decimals; a dash when there is none."""
    return f"{value:.3f}" if value is not None and finite(value) else "—"


def fmt_points(value: float | None) -> str:
    """A quality difference in signed points; a dash when there is none."""
    return points(value) if value is not None and finite(value) else "—"


def sort_value(value: Any) -> str:
    """The ``data-v`` attribute the sort script reads: a plain number, or empty."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    return repr(number) if math.isfinite(number) else ""


def cut(text: str, limit: int) -> tuple[str, int]:
    """``text`` cut to ``limit`` characters, and how many were cut (0: shown whole)."""
    if len(text) <= limit:
        return text, 0
    return text[:limit], len(text) - limit
