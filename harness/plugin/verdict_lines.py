"""The verdict lines of the terminal summary: one per (suite, configuration), then the counts.

Words and counts come from :mod:`harness.formatting` (``verdict_head``,
``summaries_counts_line``), as in ``harness summary``, ``history``, ``summary.md``, the
JUnit properties and the report.
"""

from __future__ import annotations

from harness.engine.router_sweep import describe_sweep
from harness.engine.run_data import RunOutcome
from harness.formatting import (
    cost_change,
    delta_interval,
    money,
    points,
    summaries_counts_line,
    summary_cost_note,
    verdict_head,
)
from harness.plugin.items import shorten
from harness.types import Summary

INDENT = " " * 15
"""Where a pair's detail lines start: under its name."""


def verdict_lines(outcome: RunOutcome) -> list[str]:
    """Each pair's verdict, with its sweep and its errors, and the counts line."""
    lines: list[str] = []
    for summary in outcome.summaries:
        head = "  " + verdict_head(summary, width=12)
        if summary.n == 0:
            # Nothing was answered: a quality of 0.000 at "$0/query (same cost)" would read
            # as a measurement. Say that there is none.
            lines.append(f"{head}no answers ({summary.errors} error(s)): nothing measured, no cost")
        else:
            lines.append(
                f"{head}quality {summary.quality:.3f} (delta {points(summary.delta)} pts, CI "
                f"{delta_interval(summary)}), "
                f"{money(summary.cost_per_query)}/query ({cost_text(summary)})"
            )
        sweep = outcome.sweeps.get((summary.suite, summary.config))
        if sweep is not None:
            lines.append(f"{INDENT}{describe_sweep(sweep)}")
        if summary.errors:
            first = next(
                r.error
                for r in outcome.results
                if r.suite == summary.suite and r.config == summary.config and r.error
            )
            # The share beside the figures: they are over the answered cases only.
            over = f" (figures over the {summary.n} answered)" if summary.n else ""
            lines.append(
                f"{INDENT}{summary.errors} of {summary.n + summary.errors} case(s) errored"
                f"{over}; first: {shorten(first or '', 400)}"
            )
    lines.append(f"verdicts: {summaries_counts_line(outcome.summaries)}")
    return lines


def cost_text(summary: Summary) -> str:
    """``-92% cost``, with where the costs came from unless simply priced:
    ``recorded cost, -92% cost``; ``estimated cost, same cost``."""
    note = summary_cost_note(summary)
    change = cost_change(summary.savings_pct)
    return f"{note}, {change}" if note else change
