"""What a run shows people: the self-contained HTML report and the Markdown summary.

(:mod:`~harness.report.redaction` keeps prompts and answers out of both on request.)

Importing this package is cheap: jinja2 is imported only when a report is
rendered, duckdb only when the results database is read.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.analysis.compare import (
    PairChange,
    SummarizedRun,
    Uncompared,
    compare_paired,
    compare_runs,
    run_cost_margin,
    uncompared_pairs,
)
from harness.errors import CostEvalError
from harness.report.markdown import render_markdown
from harness.report.redaction import redact_requested
from harness.report.render import RunContext, write_html_report
from harness.stats.bootstrap import DEFAULT_SEED
from harness.store.run_queries import ReportRun, load_paired_scores, load_report_run
from harness.store.runs import StoredRun, load_history, load_scores, previous_run_id
from harness.store.sweeps import load_sweeps
from harness.store.tunes import load_tunes

__all__ = ["MAX_CASES", "render_report", "run_context", "write_markdown_summary"]

MAX_CASES = 200
"""Flagged cases (and errored ones) a report shows in full by default."""


def render_report(
    stored: StoredRun | ReportRun,
    path: Path,
    *,
    max_cases: int = MAX_CASES,
    db: Path | None = None,
    redact: bool | None = None,
    previous: tuple[str, list[PairChange]] | None = None,
    uncompared: Uncompared | None = None,
) -> Path:
    """Write the HTML report of ``stored`` to ``path`` (atomically) and return the path.

    ``stored`` is a run held in memory (every result) or what
    :func:`~harness.store.run_queries.load_report_run` read of a stored one (its
    flagged and errored results only): the page is the same.
    At most ``max_cases`` flagged cases are shown in full; the page says how
    many more there are. With ``db`` (the results database the run is stored
    in), the page also shows the history of each configuration and the
    comparison with the previous run on the same branch. ``redact`` replaces
    every case text (prompt-derived or model-written) by its length and hash;
    None: as the run's stored settings say (``redact`` in ``settings_json``).
    ``previous`` is the comparison with the previous run when the caller has
    already made it (run id, changes): it is not computed a second time;
    ``uncompared`` then names the pairs only one of the two runs has.

    Raises:
        CostEvalError: the report cannot be written.
    """
    if redact is None:
        redact = redact_requested(stored.run)
    extra = (
        run_context(db, stored, previous=previous, uncompared=uncompared)
        if db is not None
        else None
    )
    return write_html_report(stored, path, max_cases=max_cases, extra=extra, redact=redact)


def run_context(
    db: Path,
    stored: StoredRun | ReportRun,
    *,
    previous: tuple[str, list[PairChange]] | None = None,
    uncompared: Uncompared | None = None,
) -> RunContext:
    """History, the comparison with the previous run and the run's sweeps, read from ``db``.

    The comparison pairs the two runs' case scores: read from ``db`` for both
    unless ``stored`` holds every result (a run in memory).

    Args:
        previous: The comparison with the previous run, if already made.
        uncompared: With ``previous``: the pairs only one of the two runs has.
    """
    run_id = str(stored.run["run_id"])
    changes = None
    if previous is not None:
        before_id: str | None = previous[0]
        changes = previous[1]
    else:
        before_id = previous_run_id(db, run_id)
    if before_id is not None and changes is None:
        seed = int(stored.run.get("seed") or DEFAULT_SEED)
        margin = run_cost_margin(stored.run)
        before: SummarizedRun
        if isinstance(stored, StoredRun):
            before = load_scores(db, before_id)
            changes = compare_runs(before, stored, seed=seed, max_cost_increase=margin)
        else:
            # Paired in SQL: no object per case of either run.
            before = load_report_run(db, before_id, cases=False)
            paired = load_paired_scores(db, before_id, run_id)
            changes = compare_paired(
                before.summaries, stored.summaries, paired, seed=seed, max_cost_increase=margin
            )
        uncompared = uncompared_pairs(before, stored)
    return RunContext(
        history=load_history(db, limit=10),
        changes=changes,
        compared_with=before_id,
        uncompared=uncompared,
        sweeps=load_sweeps(db, run_id),
        tunes=load_tunes(db),
    )


def write_markdown_summary(
    stored: StoredRun | ReportRun, path: Path, *, redact: bool | None = None
) -> Path:
    """Write the Markdown summary of ``stored`` to ``path``; also append it to
    ``$GITHUB_STEP_SUMMARY`` when that variable names a file (GitHub Actions).

    The summary never holds case texts; ``redact`` (None: as the run's stored
    settings say) only adds a line saying the report's texts are redacted.

    Raises:
        CostEvalError: the file cannot be written.
    """
    if redact is None:
        redact = redact_requested(stored.run)
    text = render_markdown(stored, redact=redact)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if step_summary:
            with open(step_summary, "a", encoding="utf-8") as handle:
                handle.write(text)
    except OSError as exc:
        raise CostEvalError(f"{path}: cannot write the Markdown summary: {exc.strerror}.") from None
    return path
