"""Build the report's view of a stored run and render it to one self-contained HTML file.

Only summaries and flagged (degraded) or errored cases go in the page, so a
run of any size stays small. The page leads with what changed (regressions
against the compared run, :mod:`~harness.report.changes`), then the verdicts
and the degraded cases (:mod:`~harness.report.degraded`, once per case); charts
and sweeps come after. Model text is untrusted: it reaches the page through
Jinja's autoescaping, or through :func:`~harness.report.degraded.diff_html`,
which escapes every token before wrapping differing ones in ``<del>``/``<ins>``.

With ``redact=True`` (``[tool.cost-eval] redact = true``) no case text reaches
the page: outputs, references, expected answers, judge rationales and error
messages are replaced by :func:`~harness.report.redaction.placeholder` (length
and a hash, so equal texts still show as equal), for suites built from customer
data whose report is shared more widely than the data.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from harness import __version__
from harness.errors import CostEvalError
from harness.files import AtomicFile
from harness.formatting import money, summary_cost_note, verdict_word
from harness.report.cache_sweeps import build_cache_sweeps
from harness.report.cells import NO_ANSWERS, finite, fmt_points, fmt_quality, sort_value
from harness.report.changes import build_changes
from harness.report.charts import ChartPoint, cost_quality_svg, pareto_frontier
from harness.report.degraded import build_degraded
from harness.report.footnotes import Reason, say_once
from harness.report.notes import scorer_notes
from harness.report.redaction import redact_case, stored_case_limit
from harness.report.sweeps import build_sweeps
from harness.report.tune import build_tunes
from harness.store.run_queries import ReportRun, report_run
from harness.store.runs import StoredRun
from harness.types import Summary

if TYPE_CHECKING:
    import jinja2

    from harness.analysis.compare import PairChange, Uncompared

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "report.html.j2"

ERROR_LIMIT = 400
"""Characters of one error message shown."""

BADGE_RANK = {"pass": 0, "inconclusive": 1, "flagged": 2, "fail": 3}
"""Sort order of the verdict column: best first."""


# --- view model -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Badge:
    """How a verdict is shown: CSS class (colour) and label."""

    css: str
    """``pass``, ``fail``, ``flagged`` or ``inconclusive``."""
    label: str
    """The text in the badge."""
    title: str
    """Tooltip: the verdict and the mode it was reached in."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SummaryView:
    """One row of the verdict table, formatted.

    Quality and cost are over the answered cases; a configuration that answered
    none shows :data:`~harness.report.cells.NO_ANSWERS` instead of either.
    """

    index: int
    """Position in the run's summaries: anchors the row's detail sections."""
    summary: Summary
    badge: Badge
    quality: str
    baseline_quality: str
    delta: str
    ci: str
    margin: str
    cost: str
    baseline_cost: str
    savings: str
    monthly: str
    baseline_monthly: str
    cost_source: str = ""
    """Where the costs came from (``recorded cost``, ``estimated cost`` ...); empty when
    simply priced."""
    error_share: str = ""
    """``1 error (2.4%)`` beside the answered count; empty without errors."""
    why: tuple[Reason, ...] = ()
    """The verdict's reasons; one the table gives more than once is a numbered note."""

    @property
    def answered(self) -> bool:
        """True when the configuration answered at least one case."""
        return self.summary.n > 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CategoryView:
    """One row of a per-category table, formatted."""

    category: str
    n: int
    quality: str
    baseline_quality: str
    delta: str
    delta_value: float
    failed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupView:
    """The per-category detail of one (suite, configuration)."""

    row: SummaryView
    categories: tuple[CategoryView, ...]
    flagged_total: int
    """Flagged cases of this pair, shown or not."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartView:
    """The cost-vs-quality chart of one suite."""

    suite: str
    svg: Markup | None
    """The inline ``<svg>``; None when no configuration of the suite answered."""
    frontier: tuple[str, ...]
    """Labels of the frontier points, cheapest first (the chart's text alternative)."""
    unanswered: tuple[str, ...] = ()
    """Configurations left off the chart: they answered no case, so have no point."""
    key: tuple[ChartKey, ...] = ()
    """What each mark on the chart stands for, in mark order."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartKey:
    """One mark of a cost-vs-quality chart, named."""

    mark: str
    """``B`` for the baseline, ``1``, ``2`` ... for the configurations."""
    label: str
    css: str
    """Badge class (colour), or ``baseline``."""
    pair_index: int | None
    """Row of the configuration in the verdict table, for a link (None: the baseline)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Cheapest:
    """The cheapest passing configuration of a suite (or none)."""

    suite: str
    row: SummaryView | None
    saved_monthly: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Tile:
    """One card of the page's header: a count and what it counts."""

    css: str
    count: int
    label: str
    detail: str = ""
    """A breakdown under the label (``14 inconclusive, 2 fail``)."""


# --- formatting -------------------------------------------------------------------


def badge(summary: Summary) -> Badge:
    """Pass is green; a report-only non-pass is an amber *flagged*, never a red fail."""
    mode = "enforced" if summary.enforced else "report-only"
    title = f"{summary.verdict} ({mode})"
    # The words every output uses (harness.formatting.verdict_word); an all-errored pair
    # reads fail, its title says error and its row says it answered nothing.
    word = verdict_word(summary.verdict, enforced=summary.enforced)
    return Badge(css=word, label=word, title=title)


def _error_share(s: Summary) -> str:
    if not s.errors:
        return ""
    share = s.errors / (s.n + s.errors) * 100
    return f"{s.errors} error{'s' if s.errors != 1 else ''} ({share:.0f}%)"


def summary_view(index: int, s: Summary, why: tuple[Reason, ...] = ()) -> SummaryView:
    """Format one summary for the verdict table (``why``: its reasons, see
    :func:`~harness.report.footnotes.say_once`; default: said in the row)."""
    answered = s.n > 0
    return SummaryView(
        index=index,
        summary=s,
        badge=badge(s),
        quality=fmt_quality(s.quality) if answered else NO_ANSWERS,
        baseline_quality=fmt_quality(s.baseline_quality) if answered else "—",
        delta=fmt_points(s.delta) if answered else "—",
        ci=f"[{fmt_points(s.ci_low)}, {fmt_points(s.ci_high)}]" if answered else "",
        margin=f"-{s.margin * 100:.1f}",
        cost=money(s.cost_per_query) if answered else NO_ANSWERS,
        baseline_cost=money(s.baseline_cost_per_query) if answered else "—",
        savings=f"{s.savings_pct:.1f}%" if answered and finite(s.savings_pct) else "—",
        monthly=money(s.monthly_cost) if answered else "—",
        baseline_monthly=money(s.baseline_monthly_cost) if answered else "—",
        cost_source=summary_cost_note(s),
        error_share=_error_share(s),
        why=why or tuple(Reason(text=r) for r in s.reasons),
    )


def build_rows(summaries: Sequence[Summary]) -> tuple[list[SummaryView], list[str]]:
    """The verdict table's rows, and the reasons it gives more than once (its notes)."""
    whys, notes = say_once([s.reasons for s in summaries])
    return [
        summary_view(i, s, why) for i, (s, why) in enumerate(zip(summaries, whys, strict=True))
    ], notes


def build_tiles(rows: Sequence[SummaryView]) -> list[Tile]:
    """The header's verdict cards, counting exactly the badges the table's rows show.

    A report-only non-pass is a *flagged* row whatever its verdict, so it is
    counted on the flagged card (with its verdicts as the card's breakdown),
    never on the fail or inconclusive card.
    """
    by_css: dict[str, list[SummaryView]] = {css: [] for css in BADGE_RANK}
    for row in rows:
        by_css.setdefault(row.badge.css, []).append(row)
    flagged_verdicts: dict[str, int] = {}
    for row in by_css["flagged"]:
        verdict = str(row.summary.verdict)
        flagged_verdicts[verdict] = flagged_verdicts.get(verdict, 0) + 1
    return [
        Tile(css="pass", count=len(by_css["pass"]), label="pass"),
        Tile(css="fail", count=len(by_css["fail"]), label="fail (enforced)"),
        Tile(
            css="inconclusive", count=len(by_css["inconclusive"]), label="inconclusive (enforced)"
        ),
        Tile(
            css="flagged",
            count=len(by_css["flagged"]),
            label="flagged (report-only)",
            detail=", ".join(f"{n} {verdict}" for verdict, n in sorted(flagged_verdicts.items())),
        ),
    ]


# --- sections ---------------------------------------------------------------------


def build_groups(
    rows: Sequence[SummaryView], flagged: Mapping[tuple[str, str], int]
) -> list[GroupView]:
    """Per (suite, configuration) categories, and how many of its cases were flagged
    (``flagged``: counts by pair)."""
    return [
        GroupView(
            row=row,
            categories=tuple(
                CategoryView(
                    category=c.category,
                    n=c.n,
                    quality=fmt_quality(c.quality),
                    baseline_quality=fmt_quality(c.baseline_quality),
                    delta=fmt_points(c.delta),
                    delta_value=c.delta,
                    failed=c.failed,
                )
                for c in row.summary.categories
            ),
            flagged_total=flagged.get((row.summary.suite, row.summary.config), 0),
        )
        for row in rows
    ]


def build_charts(rows: Sequence[SummaryView]) -> list[ChartView]:
    """One cost-vs-quality chart per suite: its configurations plus the baseline.

    A configuration that answered no case has no point (its 0 at $0 would sit on
    the chart as the cheapest configuration); the caption names it instead.
    """
    suites: dict[str, list[SummaryView]] = {}
    for row in rows:
        suites.setdefault(row.summary.suite, []).append(row)
    charts: list[ChartView] = []
    for number, (suite, members) in enumerate(suites.items()):
        answered = [row for row in members if row.answered]
        unanswered = tuple(row.summary.config for row in members if not row.answered)
        if not answered:
            charts.append(ChartView(suite=suite, svg=None, frontier=(), unanswered=unanswered))
            continue
        first = answered[0].summary
        # Marks, not names, on the chart: names of configurations that sit close
        # together cannot all be placed legibly; the key under the chart names them.
        chart_points = [
            ChartPoint(
                label="baseline",
                cost=float(first.baseline_cost_per_query),
                quality=first.baseline_quality,
                badge="baseline",
                key="B",
            )
        ] + [
            ChartPoint(
                label=row.summary.config,
                cost=float(row.summary.cost_per_query),
                quality=row.summary.quality,
                badge=row.badge.css,
                key=str(number),
            )
            for number, row in enumerate(answered, start=1)
        ]
        key = (
            ChartKey(mark="B", label="baseline", css="baseline", pair_index=None),
            *(
                ChartKey(
                    mark=str(n), label=row.summary.config, css=row.badge.css, pair_index=row.index
                )
                for n, row in enumerate(answered, start=1)
            ),
        )
        frontier = pareto_frontier([(p.cost, p.quality) for p in chart_points])
        svg = Markup(
            cost_quality_svg(
                chart_points, title=f"{suite}: cost vs quality", id_prefix=f"c{number}-"
            )
        )
        charts.append(
            ChartView(
                suite=suite,
                svg=svg,
                frontier=tuple(chart_points[i].label for i in frontier),
                unanswered=unanswered,
                key=key,
            )
        )
    return charts


def build_cheapest(rows: Sequence[SummaryView]) -> list[Cheapest]:
    """Per suite, the cheapest configuration whose verdict is pass (None when none is)."""
    out: dict[str, Cheapest] = {}
    for row in rows:
        s = row.summary
        current = out.get(s.suite)
        if current is None:
            out[s.suite] = current = Cheapest(suite=s.suite, row=None, saved_monthly="")
        if s.verdict != "pass" or not row.answered:
            continue
        if current.row is None or s.cost_per_query < current.row.summary.cost_per_query:
            out[s.suite] = Cheapest(
                suite=s.suite,
                row=row,
                saved_monthly=money(s.baseline_monthly_cost - s.monthly_cost),
            )
    return list(out.values())


@dataclass(frozen=True, slots=True, kw_only=True)
class RunContext:
    """What the report shows beyond the run itself: its history and a comparison."""

    history: Sequence[Mapping[str, Any]] = ()
    """Rows of :func:`harness.store.runs.load_history`, newest run first."""
    changes: Sequence[PairChange] | None = None
    """The comparison with an earlier run, when there is one."""
    compared_with: str | None = None
    uncompared: Uncompared | None = None
    """Pairs only one of the two compared runs has: named, not counted."""
    sweeps: Mapping[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)
    """The run's threshold sweeps by (suite, configuration).

    As :func:`harness.store.sweeps.load_sweeps` reads them.
    """
    tunes: Sequence[Mapping[str, Any]] = ()
    """Each suite's latest ``harness tune`` entry (:func:`harness.store.tunes.load_tunes`)."""


def build_trend(history: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """Runs oldest first, and one row per (suite, configuration) with a cell per run."""
    runs = list(dict.fromkeys(str(r["run_id"]) for r in history))[::-1]
    cells: dict[tuple[str, str], dict[str, Mapping[str, Any]]] = {}
    for row in history:
        cells.setdefault((str(row["suite"]), str(row["config"])), {})[str(row["run_id"])] = row
    trend = [
        {"suite": suite, "config": config, "cells": [by_run.get(run) for run in runs]}
        for (suite, config), by_run in cells.items()
    ]
    return runs, trend


def build_context(
    stored: StoredRun | ReportRun,
    *,
    max_cases: int,
    extra: RunContext | None = None,
    redact: bool = False,
) -> dict[str, Any]:
    """Everything the template shows, formatted; only summaries and flagged/errored cases.

    With ``redact``, case texts are replaced by :func:`~harness.report.redaction.placeholder` before
    anything is formatted, so no view can show them.
    """
    stored = report_run(stored)  # the flagged and errored cases: all the page can show
    flagged = [redact_case(r) for r in stored.flagged] if redact else list(stored.flagged)
    errored = [redact_case(r) for r in stored.errored] if redact else list(stored.errored)
    totals = stored.totals
    rows, reason_notes = build_rows(stored.summaries)
    pairs = [(s.suite, s.config) for s in stored.summaries]
    trend_runs, trend = build_trend(extra.history if extra else ())
    degraded = build_degraded(
        pairs,
        flagged,
        max_cases,
        redacted=redact,
        flagged_by_pair=totals.flagged_by_pair if totals else None,
        flagged_cases=totals.flagged_cases if totals else None,
    )
    errors_total = totals.errored if totals else len(errored)
    changes = build_changes(
        extra.changes if extra else None,
        extra.compared_with if extra else None,
        extra.uncompared if extra else None,
        {pair: i for i, pair in enumerate(pairs)},
    )
    run = dict(stored.run)
    sha = str(run.get("git_sha") or "")
    return {
        "run": run,
        "run_id": str(run.get("run_id") or "unknown run"),
        "git_sha_short": sha[:12],
        "case_limit": stored_case_limit(run),
        "report_version": __version__,
        "problems": sorted(stored.problems.items()),
        "scorer_problems": [n for n in scorer_notes(stored.summaries) if n.blocking],
        "scorer_warnings": [n for n in scorer_notes(stored.summaries) if not n.blocking],
        "rows": rows,
        "reason_notes": reason_notes,
        "tiles": build_tiles(rows),
        "cheapest": build_cheapest(rows),
        "charts": build_charts(rows),
        "groups": build_groups(rows, {(r.suite, r.config): r.flagged for r in degraded.index}),
        "degraded": degraded,
        "errors": errored[: max(max_cases, 0)],
        "errors_hidden": max(errors_total - len(errored[: max(max_cases, 0)]), 0),
        "error_limit": ERROR_LIMIT,
        "badge_rank": BADGE_RANK,
        "changes": changes,
        "trend_runs": trend_runs if len(trend_runs) > 1 else [],
        "trend": trend if len(trend_runs) > 1 else [],
        "redacted": redact,
        "levers": [
            s for s in stored.summaries if s.extras.get("cache") or s.extras.get("compression")
        ],
        "cache_sweeps": build_cache_sweeps(stored.summaries),
        "sweeps": build_sweeps(
            extra.sweeps if extra else {}, [(s.suite, s.config) for s in stored.summaries]
        ),
        "tunes": build_tunes(extra.tunes if extra else ()),
    }


# --- rendering --------------------------------------------------------------------


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja environment: autoescaping on for everything, unknown names are errors."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        bytecode_cache=template_cache(),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["money"] = money
    env.filters["sort_value"] = sort_value
    return env


def template_cache() -> jinja2.BytecodeCache | None:
    """Where compiled templates are kept between runs, or None where it cannot be made.

    Compiling the report's templates costs about 0.15 s of every run; Jinja keeps
    the compiled code in ``$XDG_CACHE_HOME/cost-eval-harness/templates`` (default
    ``~/.cache``), written atomically and checked against the template's source
    on every load, so an edited template is never served stale.
    """
    import jinja2

    home = os.path.expanduser("~")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    if not os.path.isabs(base):
        return None  # no home to keep a cache in (HOME unset): never a "~" folder here
    folder = Path(base) / "cost-eval-harness" / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only home: compile every time, as before
    return jinja2.FileSystemBytecodeCache(str(folder))


def render_html(
    stored: StoredRun | ReportRun,
    *,
    max_cases: int = 200,
    extra: RunContext | None = None,
    redact: bool = False,
) -> str:
    """The report of ``stored`` as an HTML string (case texts redacted with ``redact``)."""
    template = environment().get_template(TEMPLATE)
    return template.render(build_context(stored, max_cases=max_cases, extra=extra, redact=redact))


def write_html_report(
    stored: StoredRun | ReportRun,
    path: Path,
    *,
    max_cases: int = 200,
    extra: RunContext | None = None,
    redact: bool = False,
) -> Path:
    """Write the HTML report of ``stored`` to ``path`` and return the path.

    The file is written next to its destination and moved into place, so a
    reader (or a CI artifact upload) never sees half a report. At most
    ``max_cases`` flagged cases (and as many errored ones) are shown in full.
    With ``redact``, no prompt, output, reference or expected text appears in
    it (see :func:`~harness.report.redaction.placeholder`).

    Raises:
        CostEvalError: the report cannot be written (directory not writable, disk full).
    """
    html = render_html(stored, max_cases=max_cases, extra=extra, redact=redact)
    path = Path(path)
    try:
        with AtomicFile(path) as out:
            out.write(html)
    except OSError as exc:
        raise CostEvalError(
            f"{path}: cannot write the report ({exc.strerror or exc}). Choose another "
            "path with --cost-eval-report or make the directory writable."
        ) from exc
    return path
