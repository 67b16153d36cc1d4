"""What a run says about its suites' scorers, once per suite, for every view of it.

Each (suite, configuration) summary carries the scorer check's problem and
warnings (:mod:`harness.engine.scorer_check`); they are about the suite's scorer,
so the terminal, ``harness summary``, the Markdown summary and the HTML report
show each one once per suite rather than once per configuration. The texts name
the scorer, case ids and figures, never a case's text: they are safe in a
redacted report and a pull-request comment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness.types import Summary


@dataclass(frozen=True, slots=True, kw_only=True)
class ScorerNote:
    """One thing to say about a suite's scorer."""

    suite: str
    text: str
    blocking: bool
    """True for a problem (no gate of the suite passes), False for a warning."""


def scorer_notes(summaries: Iterable[Summary]) -> list[ScorerNote]:
    """The distinct scorer problems and warnings of ``summaries``, in suite order,
    each suite's problems before its warnings."""
    notes: dict[tuple[str, str], ScorerNote] = {}
    for summary in summaries:
        if summary.scorer_problem:
            key = (summary.suite, summary.scorer_problem)
            notes.setdefault(
                key, ScorerNote(suite=summary.suite, text=summary.scorer_problem, blocking=True)
            )
        for warning in summary.scorer_warnings:
            notes.setdefault(
                (summary.suite, warning),
                ScorerNote(suite=summary.suite, text=warning, blocking=False),
            )
    order = {suite: i for i, suite in enumerate(dict.fromkeys(n.suite for n in notes.values()))}
    return sorted(notes.values(), key=lambda n: (order[n.suite], not n.blocking))
