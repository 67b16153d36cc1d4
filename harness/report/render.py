"""Build the report's view of a stored run and render it to one self-contained HTML file.

Only summaries and flagged (degraded) or errored cases go in the page, so a
run of any size stays small. Model text is untrusted: it reaches the page
through Jinja's autoescaping, or through :func:`diff_html`, which escapes every
token before wrapping differing ones in ``<del>``/``<ins>``.

With ``redact=True`` (``[tool.cost-eval] redact = true``) no case text reaches
the page: outputs, references, expected answers, judge rationales and error
messages are replaced by :func:`~harness.report.redaction.placeholder` (length
and a hash, so equal texts still show as equal), for suites built from customer
data whose report is shared more widely than the data.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from harness import __version__
from harness.errors import CostEvalError
from harness.files import AtomicFile
from harness.formatting import cost_source_note, money, points
from harness.report.cache_sweeps import build_cache_sweeps
from harness.report.charts import ChartPoint, cost_quality_svg, pareto_frontier
from harness.report.notes import scorer_notes
from harness.report.redaction import redact_case
from harness.report.sweeps import build_sweeps
from harness.store.runs import StoredRun
from harness.types import CaseResult, Summary

if TYPE_CHECKING:
    import jinja2

    from harness.analysis.compare import PairChange, Uncompared

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "report.html.j2"

TEXT_LIMIT = 4000
"""Characters of one output or reference shown: keeps the page small whatever a model says."""

ERROR_LIMIT = 400
"""Characters of one error message shown."""

BADGE_RANK = {"pass": 0, "inconclusive": 1, "flagged": 2, "fail": 3}
"""Sort order of the verdict column: best first."""

_WORD = re.compile(r"(\S+)(\s*)")


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
    """One row of the verdict table, formatted."""

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
class CaseView:
    """A degraded case, with its output and reference diffed word by word."""

    case: CaseResult
    score: str
    baseline_score: str
    delta: str
    cost: str
    output_html: Markup
    reference_html: Markup
    output_cut: int
    """Characters of the output not shown (0 when it is shown whole)."""
    reference_cut: int
    prompt: str = ""
    """The question asked, cut to :data:`TEXT_LIMIT` (empty for runs stored without it)."""
    prompt_cut: int = 0
    prompt_context: str = ""
    """System prompt, context documents and earlier turns, cut to :data:`TEXT_LIMIT`."""
    prompt_context_cut: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupView:
    """The detail of one (suite, configuration): categories and degraded cases."""

    row: SummaryView
    categories: tuple[CategoryView, ...]
    cases: tuple[CaseView, ...]
    flagged_total: int
    """Flagged cases of this pair, shown or not."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartView:
    """The cost-vs-quality chart of one suite."""

    suite: str
    svg: Markup | None
    """The inline ``<svg>``; None when matplotlib is missing."""
    frontier: tuple[str, ...]
    """Labels of the frontier points, cheapest first (the chart's text alternative)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Cheapest:
    """The cheapest passing configuration of a suite (or none)."""

    suite: str
    row: SummaryView | None
    saved_monthly: str


# --- formatting -------------------------------------------------------------------


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def fmt_quality(value: float | None) -> str:
    """A score or mean quality, three decimals; a dash when there is none."""
    return f"{value:.3f}" if value is not None and _finite(value) else "—"


def fmt_points(value: float | None) -> str:
    """A quality difference in signed points; a dash when there is none."""
    return points(value) if value is not None and _finite(value) else "—"


def sort_value(value: Any) -> str:
    """The ``data-v`` attribute the sort script reads: a plain number, or empty."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    return repr(number) if math.isfinite(number) else ""


def badge(summary: Summary) -> Badge:
    """Pass is green; a report-only non-pass is an amber *flagged*, never a red fail."""
    mode = "enforced" if summary.enforced else "report-only"
    title = f"{summary.verdict} ({mode})"
    if summary.verdict == "pass":
        return Badge(css="pass", label="pass", title=title)
    if not summary.enforced:
        return Badge(css="flagged", label="flagged", title=title)
    if summary.verdict == "inconclusive":
        return Badge(css="inconclusive", label="inconclusive", title=title)
    # An all-errored pair fails its gate: red, but named for what happened.
    return Badge(css="fail", label=summary.verdict, title=title)


def summary_view(index: int, s: Summary) -> SummaryView:
    """Format one summary for the verdict table."""
    return SummaryView(
        index=index,
        summary=s,
        badge=badge(s),
        quality=fmt_quality(s.quality),
        baseline_quality=fmt_quality(s.baseline_quality),
        delta=fmt_points(s.delta),
        ci=f"[{fmt_points(s.ci_low)}, {fmt_points(s.ci_high)}]",
        margin=f"-{s.margin * 100:.1f}",
        cost=money(s.cost_per_query),
        baseline_cost=money(s.baseline_cost_per_query),
        savings=f"{s.savings_pct:.1f}%" if _finite(s.savings_pct) else "—",
        monthly=money(s.monthly_cost),
        baseline_monthly=money(s.baseline_monthly_cost),
        cost_source=cost_source_note(s.cost_sources, s.baseline_cost_sources),
    )


# --- word diff --------------------------------------------------------------------


def _words(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Leading whitespace, then (word, whitespace after it) pairs: the text, losslessly."""
    body = text.lstrip()
    return text[: len(text) - len(body)], _WORD.findall(body)


def _join(words: Sequence[tuple[str, str]], tag: str | None) -> Markup:
    """Escape every token, then wrap the run in ``tag`` (the trailing space left outside)."""
    if not words:
        return Markup("")
    escaped = [escape(word) + escape(space) for word, space in words[:-1]]
    last_word, last_space = words[-1]
    escaped.append(escape(last_word))
    inner = Markup("").join(escaped)
    if tag is not None:
        inner = Markup(f"<{tag}>") + inner + Markup(f"</{tag}>")
    return inner + escape(last_space)


def diff_html(output: str, reference: str) -> tuple[Markup, Markup]:
    """Word-level diff of an output against its reference, as safe HTML.

    Returns the output with the words it added in ``<ins>`` and the reference
    with the words the output lacks in ``<del>``. Words compare exactly;
    whitespace is kept as it was but never counts as a difference. Every token
    is escaped before any tag is added, so the text cannot inject markup.
    """
    out_lead, out_words = _words(output)
    ref_lead, ref_words = _words(reference)
    # autojunk off: its popularity heuristic would treat common words in long
    # answers as junk and produce a patchy, misleading diff.
    matcher = SequenceMatcher(
        a=[w for w, _ in ref_words], b=[w for w, _ in out_words], autojunk=False
    )
    out_parts: list[Markup] = [escape(out_lead)]
    ref_parts: list[Markup] = [escape(ref_lead)]
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        same = tag == "equal"
        ref_parts.append(_join(ref_words[i1:i2], None if same else "del"))
        out_parts.append(_join(out_words[j1:j2], None if same else "ins"))
    return Markup("").join(out_parts), Markup("").join(ref_parts)


def _cut(text: str, limit: int) -> tuple[str, int]:
    if len(text) <= limit:
        return text, 0
    return text[:limit], len(text) - limit


def case_view(case: CaseResult, *, redacted: bool = False) -> CaseView:
    """Format one flagged case, its texts cut to :data:`TEXT_LIMIT` and diffed.

    A redacted case's texts are placeholders: shown whole, not diffed word by word.
    """
    output, output_cut = _cut(case.output, TEXT_LIMIT)
    reference, reference_cut = _cut(case.reference, TEXT_LIMIT)
    prompt, prompt_cut = _cut(case.prompt, TEXT_LIMIT)
    prompt_context, prompt_context_cut = _cut(case.prompt_context, TEXT_LIMIT)
    if redacted:
        output_html, reference_html = escape(output), escape(reference)
    else:
        output_html, reference_html = diff_html(output, reference)
    return CaseView(
        case=case,
        score=fmt_quality(case.score),
        baseline_score=fmt_quality(case.baseline_score),
        delta=fmt_points(case.delta),
        cost=money(case.cost_usd)
        + (f" ({case.cost_source})" if case.cost_source not in (None, "priced") else ""),
        output_html=output_html,
        reference_html=reference_html,
        output_cut=output_cut,
        reference_cut=reference_cut,
        prompt=prompt,
        prompt_cut=prompt_cut,
        prompt_context=prompt_context,
        prompt_context_cut=prompt_context_cut,
    )


# --- sections ---------------------------------------------------------------------


def _worst_first(cases: Iterable[CaseResult]) -> list[CaseResult]:
    return sorted(cases, key=lambda c: (c.delta if c.delta is not None else math.inf, c.case_id))


def build_groups(
    rows: Sequence[SummaryView],
    results: Sequence[CaseResult],
    max_cases: int,
    *,
    redacted: bool = False,
) -> tuple[list[GroupView], int]:
    """Per (suite, configuration) detail, and how many flagged cases did not fit.

    At most ``max_cases`` flagged cases are shown over the whole page, taken
    in summary order, worst drop first within a pair.
    """
    flagged: dict[tuple[str, str], list[CaseResult]] = {}
    for result in results:
        if result.flagged:
            flagged.setdefault((result.suite, result.config), []).append(result)
    budget = max(max_cases, 0)
    groups: list[GroupView] = []
    for row in rows:
        s = row.summary
        cases = _worst_first(flagged.pop((s.suite, s.config), []))
        shown = cases[:budget]
        budget -= len(shown)
        groups.append(
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
                    for c in s.categories
                ),
                cases=tuple(case_view(c, redacted=redacted) for c in shown),
                flagged_total=len(cases),
            )
        )
    shown_total = sum(len(g.cases) for g in groups)
    # Flagged cases of a pair without a summary count too: nothing is silently lost.
    all_flagged = sum(g.flagged_total for g in groups) + sum(len(v) for v in flagged.values())
    return groups, all_flagged - shown_total


def build_charts(rows: Sequence[SummaryView]) -> list[ChartView]:
    """One cost-vs-quality chart per suite: its configurations plus the baseline."""
    suites: dict[str, list[SummaryView]] = {}
    for row in rows:
        suites.setdefault(row.summary.suite, []).append(row)
    charts: list[ChartView] = []
    for number, (suite, members) in enumerate(suites.items()):
        first = members[0].summary
        chart_points = [
            ChartPoint(
                label="baseline",
                cost=float(first.baseline_cost_per_query),
                quality=first.baseline_quality,
                badge="baseline",
            )
        ] + [
            ChartPoint(
                label=row.summary.config,
                cost=float(row.summary.cost_per_query),
                quality=row.summary.quality,
                badge=row.badge.css,
            )
            for row in members
        ]
        frontier = pareto_frontier([(p.cost, p.quality) for p in chart_points])
        try:
            svg: Markup | None = Markup(
                cost_quality_svg(
                    chart_points, title=f"{suite}: cost vs quality", id_prefix=f"c{number}-"
                )
            )
        except ImportError:
            # A missing plotting library costs the chart, not the whole report.
            svg = None
        charts.append(
            ChartView(
                suite=suite,
                svg=svg,
                frontier=tuple(chart_points[i].label for i in frontier),
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
        if s.verdict != "pass":
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
    stored: StoredRun, *, max_cases: int, extra: RunContext | None = None, redact: bool = False
) -> dict[str, Any]:
    """Everything the template shows, formatted; only summaries and flagged/errored cases.

    With ``redact``, case texts are replaced by :func:`~harness.report.redaction.placeholder` before
    anything is formatted, so no view can show them.
    """
    results = [redact_case(r) for r in stored.results] if redact else list(stored.results)
    rows = [summary_view(i, s) for i, s in enumerate(stored.summaries)]
    trend_runs, trend = build_trend(extra.history if extra else ())
    groups, hidden = build_groups(rows, results, max_cases, redacted=redact)
    errored = [r for r in results if r.error]
    counts = {css: sum(1 for r in rows if r.badge.css == css) for css in BADGE_RANK}
    run = dict(stored.run)
    sha = str(run.get("git_sha") or "")
    return {
        "run": run,
        "run_id": str(run.get("run_id") or "unknown run"),
        "git_sha_short": sha[:12],
        "report_version": __version__,
        "problems": sorted(stored.problems.items()),
        "scorer_problems": [n for n in scorer_notes(stored.summaries) if n.blocking],
        "scorer_warnings": [n for n in scorer_notes(stored.summaries) if not n.blocking],
        "rows": rows,
        "counts": counts,
        "cheapest": build_cheapest(rows),
        "charts": build_charts(rows),
        "groups": groups,
        "flagged_shown": sum(len(g.cases) for g in groups),
        "flagged_hidden": hidden,
        "errors": errored[: max(max_cases, 0)],
        "errors_hidden": max(len(errored) - max(max_cases, 0), 0),
        "error_limit": ERROR_LIMIT,
        "badge_rank": BADGE_RANK,
        "changes": extra.changes if extra else None,
        "compared_with": extra.compared_with if extra else None,
        "uncompared": extra.uncompared if extra else None,
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
    }


# --- rendering --------------------------------------------------------------------


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja environment: autoescaping on for everything, unknown names are errors."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["money"] = money
    env.filters["sort_value"] = sort_value
    return env


def render_html(
    stored: StoredRun,
    *,
    max_cases: int = 200,
    extra: RunContext | None = None,
    redact: bool = False,
) -> str:
    """The report of ``stored`` as an HTML string (case texts redacted with ``redact``)."""
    template = environment().get_template(TEMPLATE)
    return template.render(build_context(stored, max_cases=max_cases, extra=extra, redact=redact))


def write_html_report(
    stored: StoredRun,
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
