"""How numbers and verdicts read in terminal output, failure texts, the report and summaries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from harness.types import COST_SOURCES

if TYPE_CHECKING:
    from harness.types import Summary


def money(value: Decimal | float) -> str:
    """USD, with enough digits to tell small per-query prices apart."""
    amount = float(value)
    if amount == 0:
        return "$0"
    if abs(amount) >= 100:
        return f"${amount:,.0f}"
    if abs(amount) >= 1:
        return f"${amount:,.2f}"
    return f"${amount:.6f}".rstrip("0")


def points(value: float) -> str:
    """A quality difference in points (0.01 = 1 point), signed."""
    text = f"{value * 100:+.1f}"
    return "+0.0" if text == "-0.0" else text


def cost_change(savings_pct: float) -> str:
    """``-50% cost`` for a 50 % saving; ``same cost`` when it rounds to zero."""
    change = -savings_pct
    if round(change) == 0:
        return "same cost"
    return f"{change:+.0f}% cost"


def cost_source_note(sources: Mapping[str, int], baseline_sources: Mapping[str, int]) -> str:
    """Where a cost per query came from, as text beside it; ``""`` when simply priced.

    Priced is the default and goes unsaid: ``recorded cost``, ``estimated cost``,
    ``cost: 990 recorded, 10 estimated``; ``baseline estimated`` is added when
    the baseline's cost came from elsewhere (its savings rest on both).
    """

    def word(counts: Mapping[str, int]) -> str:
        present = [source for source, count in counts.items() if count]
        if len(present) == 1:
            return present[0]
        order: dict[str, int] = {source: index for index, source in enumerate(COST_SOURCES)}
        ranked = sorted(present, key=lambda source: order.get(source, len(order)))
        return ", ".join(f"{counts[source]} {source}" for source in ranked)

    mine, theirs = word(sources), word(baseline_sources)
    parts = []
    if mine and mine != "priced":
        parts.append(f"{mine} cost" if mine in COST_SOURCES else f"cost: {mine}")
    if theirs and theirs != mine and (parts or theirs != "priced"):
        parts.append(f"baseline {theirs}" if theirs in COST_SOURCES else f"baseline: {theirs}")
    return "; ".join(parts)


# --- the verdict vocabulary: every output (terminal, report, summary, history, JSON,
# Markdown, JUnit) says a verdict with these words and counts them the same way.

VERDICT_WORDS = ("pass", "fail", "inconclusive", "flagged")
"""What a (suite, configuration) shows, in the order counts are given.

``pass``, ``fail`` and ``inconclusive`` are the verdicts of an enforced
configuration (a gate that could score nothing, verdict ``error``, shows
``fail``: nothing answered cannot pass); ``flagged`` is the one word for any
report-only configuration that does not pass (its verdict is said beside it).
"""


def verdict_word(verdict: str, *, enforced: bool) -> str:
    """The word shown for a verdict: one of :data:`VERDICT_WORDS`."""
    if verdict == "pass":
        return "pass"
    if not enforced:
        return "flagged"
    return "inconclusive" if verdict == "inconclusive" else "fail"


def verdict_mode(*, enforced: bool, verdict: str = "pass") -> str:
    """What goes beside the word: ``enforced``, ``report-only``, or, for a flagged
    result (report-only, not passing), what its gate said: ``report-only: fail``."""
    if enforced:
        return "enforced"
    return "report-only" if verdict == "pass" else f"report-only: {verdict}"


def verdict_counts(verdicts: Iterable[tuple[str, bool]]) -> dict[str, int]:
    """How many (verdict, enforced) pairs show each word, every word present, in order."""
    counts = dict.fromkeys(VERDICT_WORDS, 0)
    for verdict, enforced in verdicts:
        counts[verdict_word(verdict, enforced=enforced)] += 1
    return counts


def counts_line(counts: Mapping[str, int]) -> str:
    """``3 pass, 1 fail, 0 inconclusive, 2 flagged (report-only) of 6``."""
    total = sum(counts.values())
    parts = [
        f"{counts.get(word, 0)} {word}" + (" (report-only)" if word == "flagged" else "")
        for word in VERDICT_WORDS
    ]
    return f"{', '.join(parts)} of {total}"


# --- a (suite, configuration) summary as every text output shows it: the terminal,
# ``harness summary`` and ``summary.md`` each build their lines from these.


def verdict_head(summary: Summary, *, width: int) -> str:
    """``FAIL          suite :: config (enforced): ``: the word upper-cased, padded to ``width``."""
    word = verdict_word(summary.verdict, enforced=summary.enforced).upper()
    mode = verdict_mode(enforced=summary.enforced, verdict=summary.verdict)
    return f"{word:<{width}} {summary.suite} :: {summary.config} ({mode}): "


def delta_interval(summary: Summary) -> str:
    """``[-1.2, +3.4]``: the confidence interval of the quality change, in points."""
    return f"[{points(summary.ci_low)}, {points(summary.ci_high)}]"


def summary_cost_note(summary: Summary) -> str:
    """Where a summary's cost and its baseline's came from (:func:`cost_source_note`),
    after ``batch rate on N case(s)`` when a batch API answered cases: their cost is at
    batch rates, the baseline's is not. Every view's cost note (terminal, summary.md,
    ``harness summary``, the report) is this one."""
    batch = summary.extras.get("batch")
    parts = [
        f"batch rate on {batch['cases']} case(s)" if batch else "",
        cost_source_note(summary.cost_sources, summary.baseline_cost_sources),
    ]
    return ", ".join(part for part in parts if part)


def summaries_counts_line(summaries: Iterable[Summary]) -> str:
    """The :func:`counts_line` of these summaries' verdicts."""
    return counts_line(verdict_counts((s.verdict, s.enforced) for s in summaries))
