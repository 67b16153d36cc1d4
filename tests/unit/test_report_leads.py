"""The report leads with what changed, says each degraded case and each repeated reason once,
never shows errors as savings, and draws charts that do not mislead (issue #17)."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from harness.analysis.compare import compare_runs
from harness.report.cache_sweeps import CacheSweepChart, bounded_wrong_hits, cache_sweep_svg
from harness.report.charts import ChartPoint, cost_quality_svg
from harness.report.render import RunContext, render_html
from harness.store.runs import StoredRun
from harness.types import CaseResult
from tests.unit.test_report import case, sample_run, summary


def section(page: str, name: str) -> str:
    """The text of ``<section id="name">`` up to its end."""
    start = page.index(f'<section id="{name}">')
    return page[start : page.index("</section>", start)]


# --- regressions first ------------------------------------------------------------


def earlier_run() -> StoredRun:
    """The sample run as it was before: route-small cheaper (its savings since lost) and
    semantic-cache's cases all right (its quality has dropped since)."""
    now = sample_run()
    summaries = tuple(
        replace(s, cost_per_query=Decimal("0.00001"), savings_pct=99.5)
        if (s.suite, s.config) == ("faq", "route-small")
        else replace(s, quality=0.93, delta=0.01, ci_low=0.0, ci_high=0.02, verdict="pass")
        if (s.suite, s.config) == ("faq", "semantic-cache")
        else s
        for s in now.summaries
    )
    results = tuple(
        replace(r, score=1.0, delta=0.0, flagged=False, error=None)
        if r.config == "semantic-cache"
        else r
        for r in now.results
    )
    # Enough paired cases for the interval of semantic-cache's drop to exclude zero.
    extra_before = tuple(case("faq", "semantic-cache", f"faq-1{i:02d}") for i in range(20))
    return replace(now, summaries=summaries, results=results + extra_before)


def with_comparison() -> tuple[StoredRun, RunContext]:
    now = sample_run()
    extra_now = tuple(
        case("faq", "semantic-cache", f"faq-1{i:02d}", score=0.0, output="No.") for i in range(20)
    )
    now = replace(now, results=now.results + extra_now)
    changes = compare_runs(earlier_run(), now)
    return now, RunContext(changes=changes, compared_with="20261125T090000Z-aaaaaa")


def test_regressions_lead_the_page_with_quality_and_cost_apart() -> None:
    now, context = with_comparison()
    page = render_html(now, extra=context)
    # The regressions come right after the header cards, before the verdicts.
    order = [page.index(f'<section id="{name}">') for name in ("headline", "regressions")]
    assert order == sorted(order) and order[-1] < page.index('<section id="verdicts">')
    headline = section(page, "headline")
    tile = re.search(
        r'regressed-tile"><div class="num">(\d+)</div>.*?"detail">([^<]+)<', headline, flags=re.S
    )
    assert tile is not None and tile.groups() == ("2", "1 quality, 1 cost")
    rows = re.findall(
        r'<tr class="regression-row" data-kind="([^"]+)">(.*?)</tr>', page, flags=re.S
    )
    kinds = {re.search(r"<code>([^<]+)</code>", body).group(1): kind for kind, body in rows}  # type: ignore[union-attr]
    assert kinds == {"route-small": "cost", "semantic-cache": "quality"}
    cost_row = next(body for kind, body in rows if kind == "cost")
    # The cost change beside the quality change, and the comparison's own reason.
    assert "$0.00001 → $0.00021" in cost_row and "saved 100% → 90%" in cost_row
    assert "0.915 → 0.915" in cost_row
    assert "cost: saved 100% of the baseline&#39;s cost per query, now 90%" in cost_row
    quality_row = next(body for kind, body in rows if kind == "quality")
    assert "quality: " in quality_row and "wholly below zero" in quality_row


def test_no_regressions_is_said_and_no_comparison_shows_no_card() -> None:
    now = sample_run()
    same = RunContext(changes=compare_runs(now, now), compared_with="before")
    page = render_html(now, extra=same)
    assert 'id="no-regressions"' in section(page, "regressions")
    assert re.search(r'regressed-tile"><div class="num">0<', page)
    alone = render_html(now)
    assert 'id="regressions"' not in alone and "regressed-tile" not in alone


def test_cards_count_exactly_the_badges_the_rows_show() -> None:
    run = sample_run()
    # Two more report-only non-passes: an inconclusive and a fail.
    extra = (
        summary("support", "maybe", "inconclusive", enforced=False),
        summary("support", "broken", "fail", enforced=False),
    )
    page = render_html(replace(run, summaries=run.summaries + extra))
    rows = re.findall(r'<tr class="verdict-row" data-verdict="(\w+)">', page)
    cards = dict(re.findall(r'<div class="tile (\w+)"><div class="num">(\d+)<', page))
    assert {css: int(n) for css, n in cards.items()} == {
        css: rows.count(css) for css in ("pass", "fail", "inconclusive", "flagged")
    }
    # The flagged card says which verdicts its rows read ("fail, not enforced" ...).
    under = re.findall(r"<span class=\"under\">(\w+), not enforced</span>", page)
    detail = re.search(r'tile flagged">.*?"detail">([^<]+)<', page).group(1)  # type: ignore[union-attr]
    assert detail == ", ".join(f"{under.count(v)} {v}" for v in sorted(set(under)))
    assert detail == "2 fail, 1 inconclusive"


# --- degraded cases, once each ----------------------------------------------------


def test_a_case_degraded_by_several_configurations_is_shown_once() -> None:
    run = sample_run()
    prompt = "What is the refund window for opened items?"
    same = "Refunds are never possible."

    def degraded(config: str, output: str, score: float) -> CaseResult:
        return replace(
            case("faq", config, "faq-777", output=output, score=score, flagged=True),
            prompt=prompt,
            prompt_context="system: be brief",
        )

    results = (
        degraded("semantic-cache", same, 0.0),
        degraded("batch-small", same, 0.0),
        degraded("compress-history", "Thirty days, sometimes.", 0.5),
    )
    page = render_html(replace(run, results=run.results + results))
    cards = re.findall(r'<article class="case">.*?</article>', page, flags=re.S)
    mine = [c for c in cards if ">faq-777<" in c]
    assert len(mine) == 1
    card = mine[0]
    # The question once on the page, what came before it folded.
    assert page.count(prompt) == 1 and prompt in card
    assert re.search(r"<details[^>]*><summary>Sent before the question", card)
    # Each distinct answer once; the two configurations that gave the same one share it.
    assert page.count(same) == 1 and card.count("Thirty") == 1
    answers = re.findall(r'<div class="answer">(.*?)</ul>', card, flags=re.S)
    assert len(answers) == 2
    assert "semantic-cache" in answers[0] and "batch-small" in answers[0]
    assert "compress-history" in answers[1] and "score <strong>0.500</strong>" in answers[1]
    assert "degraded by 3 configurations" in card
    # The reference is said once, in the card.
    assert card.count('<div class="reference">') == 1
    # Worst-hit first: the case three configurations degraded leads the section.
    assert cards[0] == card
    # The index links each configuration to the case.
    index = page[
        page.index('id="degraded-index"') : page.index("</table>", page.index("degraded-index"))
    ]
    assert index.count('href="#case-0"') == 3


# --- repeated reasons said once ---------------------------------------------------


def test_a_reason_given_by_several_rows_is_said_once_as_a_note() -> None:
    run = sample_run()
    why = "cannot show quality within 2.0 points of the baseline: delta -1.0; add cases"
    extra = tuple(
        summary("support", f"cfg-{i}", "inconclusive", enforced=False, reasons=(why,))
        for i in range(4)
    )
    page = render_html(replace(run, summaries=run.summaries + extra))
    assert page.count(why) == 1
    notes = page[page.index('id="reason-notes"') :].split("</ol>")[0]
    assert why in notes and 'id="reason-note-1"' in notes
    assert page.count('href="#reason-note-1"') == 4
    # A reason only one row gives stays in its row.
    table = page[page.index('id="verdict-table"') : page.index("</table>")]
    assert "category &#39;shipping&#39; dropped 10.0 points" in table


def test_a_why_repeated_down_a_sweep_table_is_said_once(tmp_path: Path) -> None:
    from harness.report.sweeps import sweep_view

    why = "error: sim:small refused every case; check the model name"
    points = [
        {
            "threshold": 0.9 - i / 100,
            "strong_calls": i,
            "strong_share": i / 20,
            "cost_per_query": 0.001,
            "quality": 0.5,
            "delta": -0.4,
            "verdict": "fail",
            "reasons": [why],
        }
        for i in range(16)
    ]
    record = {"suite": "faq", "config": "route", "points": points, "n": 20}
    view = sweep_view(0, record, 0)
    assert view.notes == (why,)
    assert [p.why.note if p.why else None for p in view.points] == [1] * 16


# --- errors are never savings -----------------------------------------------------


def test_an_all_errored_configuration_shows_no_answers_not_a_saving() -> None:
    run = sample_run()
    dead = replace(
        summary("faq", "dead-endpoint", "fail", reasons=("every case errored",)),
        n=0,
        errors=40,
        quality=0.0,
        baseline_quality=0.0,
        delta=0.0,
        ci_low=0.0,
        ci_high=0.0,
        cost_per_query=Decimal(0),
        baseline_cost_per_query=Decimal(0),
        savings_pct=100.0,
        monthly_cost=Decimal(0),
        baseline_monthly_cost=Decimal(0),
    )
    page = render_html(replace(run, summaries=(*run.summaries, dead)))
    row = re.findall(r'<tr class="verdict-row".*?</tr>', page, flags=re.S)[-1]
    assert "dead-endpoint" in row
    assert row.count("no answers") == 2  # quality and cost
    assert "100.0%" not in row and "+0.0" not in row and "$0<" not in row
    assert "+40 errors (100%)" in row
    # Not on the chart (it has no point), but named under it; never the cheapest.
    charts = section(page, "charts")
    assert "Not drawn, no answers" in charts and "dead-endpoint" in charts
    assert "dead-endpoint" not in page[page.index('id="headline"') : page.index('id="verdicts"')]


def test_error_share_is_shown_beside_the_answered_count() -> None:
    page = render_html(sample_run())
    table = page[page.index('id="verdict-table"') : page.index("</table>")]
    assert "+1 error (2%)" in table  # 1 of 41 cases errored


# --- charts -----------------------------------------------------------------------


def test_the_wrong_hit_bound_is_drawn_only_where_there_are_hits() -> None:
    rate, upper = bounded_wrong_hits([0, 7, 0, 40], [0.0, 0.0, 0.0, 0.05], [0.0, 0.41, 0.0, 0.16])
    assert [math.isnan(v) for v in rate] == [True, False, True, False]
    assert [math.isnan(v) for v in upper] == [True, False, True, False]
    assert upper[1] == 0.41 and rate[1] == 0.0
    # No hit at any threshold: no rate and no bound at all, only the hit rate and target.
    svg = cache_sweep_svg(
        CacheSweepChart(
            thresholds=[0.5, 0.9],
            hit_rate=[0.0, 0.0],
            wrong_upper=[0.97, 0.97],
            wrong_rate=[0.0, 0.0],
            hits=[0, 0],
            target=0.01,
        ),
        title="no hits",
    )
    assert "hit rate" in svg and "upper bound" not in svg and "wrong-hit rate" not in svg
    with_hits = cache_sweep_svg(
        CacheSweepChart(
            thresholds=[0.5, 0.9],
            hit_rate=[0.5, 0.1],
            wrong_upper=[0.2, 0.41],
            wrong_rate=[0.1, 0.0],
            hits=[30, 7],
            target=0.01,
        ),
        title="hits",
    )
    assert "wrong-hit rate" in with_hits and "95% upper bound" in with_hits


def test_cost_axis_has_more_than_two_ticks_and_marks_replace_names() -> None:
    points = [
        ChartPoint(label="baseline", cost=0.000865, quality=1.0, badge="baseline", key="B"),
        ChartPoint(label="cache-exact", cost=0.000865, quality=1.0, badge="pass", key="1"),
        ChartPoint(label="small-only", cost=0.000027, quality=1.0, badge="pass", key="2"),
        ChartPoint(label="stacked", cost=0.000023, quality=0.93, badge="flagged", key="3"),
    ]
    svg = cost_quality_svg(points, title="support")
    ticks = set(re.findall(r">(\$0\.\d+)<", svg))
    assert len(ticks) >= 3, ticks
    # Marks on the chart, names in the page's key: no long names to pile up.
    assert "cache-exact" not in svg and "small-only" not in svg
    assert ">B,1<" in svg  # the baseline and cache-exact share a spot and a label


def test_the_page_names_every_chart_mark() -> None:
    page = render_html(sample_run())
    charts = section(page, "charts")
    keys = re.findall(r'<span class="mark (\w+)">(\w+)</span>', charts)
    assert ("baseline", "B") in keys
    assert {mark for _css, mark in keys} >= {"B", "1", "2", "3", "4"}
    assert "route-small" in charts and "semantic-cache" in charts
