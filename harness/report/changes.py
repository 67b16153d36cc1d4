"""The report's view of a comparison with an earlier run: what regressed, quality and cost.

The page leads with this: a header card counting the regressions (quality and
cost apart) and a first section listing each regressed configuration, its
quality change beside its cost change and the comparison's own reasons. The
full table of every compared configuration comes later in the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harness.analysis.compare import PairChange, Uncompared
from harness.formatting import money
from harness.report.cells import NO_ANSWERS, fmt_points, fmt_quality


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeRow:
    """One compared (suite, configuration), formatted."""

    change: PairChange
    pair_index: int | None
    """Row of the pair in this run's verdict table, for a link."""
    quality: str
    """``0.950 → 0.900``; ``no answers`` on a side that answered no case."""
    delta: str
    """The paired change in points (a dash when no case was scored in both runs)."""
    ci: str
    cost: str
    """``$0.0004 → $0.0005/query``; ``no answers`` on a side that answered no case."""
    savings: str
    """``saved 15% → 0% of the baseline's cost``; empty without a baseline cost."""
    kind: str
    """What regressed: ``quality``, ``cost``, ``quality and cost`` or empty."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangesView:
    """A comparison as the page shows it."""

    compared_with: str
    rows: tuple[ChangeRow, ...]
    """Every compared pair, in this run's order."""
    regressed: tuple[ChangeRow, ...]
    quality: int
    """Pairs whose quality regressed."""
    cost: int
    """Pairs whose cost regressed (lost savings beyond the margin)."""
    uncompared: Uncompared | None


def _side(answered: int | None, text: str) -> str:
    return NO_ANSWERS if answered == 0 else text


def change_row(change: PairChange, pair_index: int | None) -> ChangeRow:
    """Format one :class:`PairChange`: answered-case figures, never a 0.000 at $0."""
    quality = (
        f"{_side(change.answered_before, fmt_quality(change.quality_before))} → "
        f"{_side(change.answered_now, fmt_quality(change.quality_now))}"
    )
    cost = (
        f"{_side(change.answered_before, money(change.cost_before))} → "
        f"{_side(change.answered_now, money(change.cost_now))}"
    )
    savings = ""
    if change.savings_before is not None and change.savings_now is not None:
        savings = f"saved {change.savings_before:.0f}% → {change.savings_now:.0f}%"
    return ChangeRow(
        change=change,
        pair_index=pair_index,
        quality=quality,
        delta=fmt_points(change.change) if change.n else "—",
        ci=f"[{fmt_points(change.ci_low)}, {fmt_points(change.ci_high)}]" if change.n else "",
        cost=cost,
        savings=savings,
        # A change made before cost regressions were told apart regressed on quality.
        kind=(change.kind or "quality") if change.regressed else "",
    )


def build_changes(
    changes: Sequence[PairChange] | None,
    compared_with: str | None,
    uncompared: Uncompared | None,
    pairs: Mapping[tuple[str, str], int],
) -> ChangesView | None:
    """The comparison's view (None when the run was compared with nothing).

    ``pairs`` maps this run's (suite, configuration) to its verdict-table row.
    """
    if changes is None or compared_with is None:
        return None
    rows = tuple(change_row(c, pairs.get((c.suite, c.config))) for c in changes)
    regressed = tuple(row for row in rows if row.change.regressed)
    return ChangesView(
        compared_with=compared_with,
        rows=rows,
        regressed=regressed,
        quality=sum(1 for row in regressed if "quality" in row.kind),
        cost=sum(1 for row in regressed if row.change.cost_regressed),
        uncompared=uncompared,
    )
