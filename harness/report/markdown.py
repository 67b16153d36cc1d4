"""The Markdown summary of a run: for ``$GITHUB_STEP_SUMMARY`` or a pull-request comment.

Short by design: the verdict table, the reasons of every non-passing
configuration, the suites that could not run and what the scorer check found.
Model output never appears in it (it is untrusted text and a PR comment renders
Markdown), nor do prompts, references or expected answers: with ``redact = true``
it only says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.formatting import cost_change, cost_source_note, money, points
from harness.report.notes import scorer_notes

if TYPE_CHECKING:
    from harness.store.runs import StoredRun
    from harness.types import Summary

ICONS = {
    "pass": "✅ pass",
    "fail": "❌ fail",
    "inconclusive": "❔ inconclusive",
    "error": "💥 error",
}


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _cost_note(summary: Summary) -> str:
    # Where the cost came from, unless simply priced: "_recorded cost_".
    note = cost_source_note(summary.cost_sources, summary.baseline_cost_sources)
    return f" _({_cell(note)})_" if note else ""


def verdict_label(summary: Summary) -> str:
    """The verdict as the table shows it; report-only non-passes read *flagged*."""
    if summary.verdict != "pass" and not summary.enforced:
        return f"⚠️ flagged ({summary.verdict})"
    return ICONS.get(summary.verdict, summary.verdict)


def render_markdown(stored: StoredRun, *, redact: bool = False) -> str:
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
    enforced_failures = [s for s in stored.summaries if s.enforced and s.verdict != "pass"]
    flagged = [s for s in stored.summaries if not s.enforced and s.verdict != "pass"]
    lines.append(
        f"**{sum(s.verdict == 'pass' for s in stored.summaries)} pass**, "
        f"**{len(enforced_failures)} enforced not passing**, "
        f"**{len(flagged)} flagged** (report-only) of {len(stored.summaries)} pairs."
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
        lines.append(
            f"| {_cell(s.suite)} | `{_cell(s.config)}`{mode} | {verdict_label(s)} | {s.n} | "
            f"{s.quality:.3f} | {points(s.delta)} [{points(s.ci_low)}, {points(s.ci_high)}] | "
            f"{money(s.cost_per_query)}{_cost_note(s)} | {cost_change(s.savings_pct)} |"
        )
    reasons = [s for s in stored.summaries if s.reasons]
    if reasons:
        lines += ["", "<details><summary>Why not passing</summary>", ""]
        for s in reasons:
            for reason in s.reasons:
                lines.append(f"- `{_cell(s.suite)} :: {_cell(s.config)}`: {_cell(reason)}")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
