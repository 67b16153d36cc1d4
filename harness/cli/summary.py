"""``harness summary``: the verdicts of a stored run, as text or JSON lines."""

from __future__ import annotations

import argparse
import json
from typing import Any

from harness.cli.command import Command, add_stored_run_arguments, database_path
from harness.formatting import (
    cost_change,
    delta_interval,
    money,
    points,
    summaries_counts_line,
    summary_cost_note,
    verdict_head,
    verdict_word,
)
from harness.report.notes import scorer_notes
from harness.store.run_queries import load_report_run
from harness.types import COST_SOURCES, Summary


def summary_object(summary: Summary) -> dict[str, Any]:
    """The JSON object ``harness summary --json`` prints for one (suite, configuration)."""
    return {
        "suite": summary.suite,
        "config": summary.config,
        "n": summary.n,
        "quality": summary.quality,
        "baseline_quality": summary.baseline_quality,
        "delta": summary.delta,
        "ci_low": summary.ci_low,
        "ci_high": summary.ci_high,
        "verdict": summary.verdict,
        # The word every output shows (pass, fail, inconclusive, flagged): see formatting.
        "label": verdict_word(summary.verdict, enforced=summary.enforced),
        "reasons": list(summary.reasons),
        "scorer_problem": summary.scorer_problem,
        "scorer_warnings": list(summary.scorer_warnings),
        "enforced": summary.enforced,
        "cost_per_query": float(summary.cost_per_query),
        "baseline_cost_per_query": float(summary.baseline_cost_per_query),
        # Where those came from: recorded (billed), priced, estimated, or mixed; the
        # answered cases of each source (flat, for jq and spreadsheets).
        "cost_source": summary.cost_source,
        **{f"{source}_cost_cases": summary.cost_sources.get(source, 0) for source in COST_SOURCES},
        "baseline_cost_source": summary.baseline_cost_source,
        "monthly_cost": float(summary.monthly_cost),
        "baseline_monthly_cost": float(summary.baseline_monthly_cost),
        "errors": summary.errors,
        "savings_pct": summary.savings_pct,
        "flagged_cases": summary.flagged_cases,
        # The judge's calls, cost, position consistency and flip rate (None: no judge);
        # batch: cases answered by a batch API, priced at batch rates (None: none).
        "judge": summary.extras.get("judge"),
        "batch": summary.extras.get("batch"),
    }


def cost_note(summary: Summary) -> str:
    """`` (recorded cost)`` after a cost per query; nothing when simply priced."""
    note = summary_cost_note(summary)
    return f" ({note})" if note else ""


class SummaryCommand(Command):
    """``harness summary [--run latest|RUN_ID] [--db PATH] [--json]``."""

    name = "summary"
    help = "Print the verdicts of a stored run."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_stored_run_arguments(parser)
        parser.add_argument(
            "--json",
            action="store_true",
            help="One JSON object per (suite, configuration), one per line.",
        )

    def run(self, args: argparse.Namespace) -> int:
        # Metadata, summaries and problems: no case result is read.
        stored = load_report_run(database_path(args), args.run, cases=False)
        if args.json:
            # The run's count of API keys redacted from answers (None: stored before it was kept).
            redacted = stored.run.get("redacted")
            for summary in stored.summaries:
                print(json.dumps({**summary_object(summary), "redacted": redacted}))
            return 0
        print(
            f"run {stored.run['run_id']} ({stored.run['started_at']}), baseline "
            f"{stored.run['baseline']}"
        )
        for summary in stored.summaries:
            head = verdict_head(summary, width=13)
            if summary.n == 0:  # nothing answered: no figure to show (#14)
                print(f"{head}no answers ({summary.errors} error(s)): nothing measured")
                continue
            errors = (
                f", {summary.errors} of {summary.n + summary.errors} case(s) errored "
                f"(figures over the {summary.n} answered)"
                if summary.errors
                else ""
            )
            print(
                f"{head}quality {summary.quality:.3f}, delta {points(summary.delta)} pts "
                f"{delta_interval(summary)}, "
                f"{money(summary.cost_per_query)}/query{cost_note(summary)}, "
                f"{cost_change(summary.savings_pct)}{errors}"
            )
        if stored.summaries:
            print(f"verdicts: {summaries_counts_line(stored.summaries)}")
        for note in scorer_notes(stored.summaries):
            print(f"{'SCORER' if note.blocking else 'warning':<13} {note.suite}: {note.text}")
        for suite, message in stored.problems.items():
            print(f"ERROR         {suite}: {message}")
        return 0
