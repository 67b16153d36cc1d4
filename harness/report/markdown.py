"""The Markdown summary of a run: for ``$GITHUB_STEP_SUMMARY`` or a pull-request comment.

Short by design: the verdict table, the reasons of every non-passing
configuration, the suites that could not run and what the scorer check found.
Model output never appears in it (it is untrusted text and a PR comment renders
Markdown), nor do prompts, references or expected answers: with ``redact = true``
it only says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.formatting import (
    cost_change,
    delta_interval,
    money,
    points,
    summaries_counts_line,
    summary_cost_note,
    verdict_word,
)
from harness.report.notes import scorer_notes
from harness.report.redaction import stored_case_limit

if TYPE_CHECKING:
    from harness.store.run_queries import ReportRun
    from harness.store.runs import StoredRun
    from harness.types import Summary

ICONS = {"pass": "✅", "fail": "❌", "inconclusive": "❔", "flagged": "⚠️"}
"""The icon before each verdict word (:data:`harness.formatting.VERDICT_WORDS`)."""


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _cost_note(summary: Summary) -> str:
    # Where the cost came from, unless simply priced: "_recorded cost_".
    note = summary_cost_note(summary)
    return f" _({_cell(note)})_" if note else ""


def verdict_label(summary: Summary) -> str:
    """The verdict as the table shows it: ``✅ pass``; a report-only non-pass reads
    ``⚠️ flagged (inconclusive)``; a gate with nothing answered ``❌ fail (no answers)``."""
    word = verdict_word(summary.verdict, enforced=summary.enforced)
    label = f"{ICONS[word]} {word}"
    if summary.n == 0:
        return f"{label} (no answers)"
    if word == "flagged":
        return f"{label} ({summary.verdict})"
    return label


def render_markdown(stored: StoredRun | ReportRun, *, redact: bool = False) -> str:
    """The summary of ``stored`` as GitHub-flavoured Markdown.

    Args:
        redact: Say that the report's case texts are redacted (this summary
            holds none either way).
    """
    run = stored.run
    lines = [
        f"## Cost evaluation — run `{run['run_id']}`",
        "",
        f"Baseline `{run['baseline']}`, volume {run['volume']}, "
        f"git `{str(run.get('git_sha') or '')[:10] or 'n/a'}`."
        + (" Case texts are redacted in the report." if redact else ""),
        "",
    ]
    limit = stored_case_limit(run)
    if limit is not None:
        lines += [
            f"> **Partial run:** only the first {limit} case(s) of each suite "
            f"(`--cost-eval-limit {limit}`); its verdicts are not the full suites'.",
            "",
        ]
    lines.append(
        f"**Verdicts:** {summaries_counts_line(stored.summaries)} (suite, configuration) pairs."
    )
    lines.append("")
    for suite, message in stored.problems.items():
        lines.append(f"> **{_cell(suite)} could not run:** {_cell(message)}")
        lines.append("")
    for note in scorer_notes(stored.summaries):
        what = "scorer cannot be trusted" if note.blocking else "scorer warning"
        lines.append(f"> **{_cell(note.suite)}: {what}:** {_cell(note.text)}")
        lines.append("")
    lines += [
        "| suite | configuration | verdict | n | quality | Δ pts [CI] | cost/query | cost |",
        "| --- | --- | --- | ---: | ---: | --- | ---: | --- |",
    ]
    for s in stored.summaries:
        mode = "" if s.enforced else " _(report-only)_"
        # Quality and cost are over the answered cases; the errored ones are said beside.
        n = f"{s.n} (+{s.errors} errored)" if s.errors else str(s.n)
        if s.n == 0:  # every case errored: no quality, no cost (never a saving)
            figures = f"{n} | no answers | — | — | — |"
        else:
            figures = (
                f"{n} | {s.quality:.3f} | {points(s.delta)} {delta_interval(s)} | "
                f"{money(s.cost_per_query)}{_cost_note(s)} | "
                f"{cost_change(s.savings_pct)} |"
            )
        lines.append(
            f"| {_cell(s.suite)} | `{_cell(s.config)}`{mode} | {verdict_label(s)} | {figures}"
        )
    # A passing sweep has a reason too (its recommended threshold): not listed here.
    reasons = [s for s in stored.summaries if s.reasons and s.verdict != "pass"]
    if reasons:
        lines += ["", "<details><summary>Why not passing</summary>", ""]
        for s in reasons:
            for reason in s.reasons:
                lines.append(f"- `{_cell(s.suite)} :: {_cell(s.config)}`: {_cell(reason)}")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
