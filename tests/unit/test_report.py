"""Tests for harness.report: sections, escaping of model text, caps, the frontier, size."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from harness.errors import CostEvalError
from harness.report import render_report
from harness.report.charts import pareto_frontier
from harness.report.degraded import TEXT_LIMIT, diff_html
from harness.store.runs import StoredRun
from harness.types import CaseResult, CategorySummary, Summary, Usage

HOSTILE = (
    "Sure! <script>alert(1)</script> then <img src=x onerror=alert(1)> and "
    '<a href="javascript:alert(1)">x</a> & done'
)
REFERENCE = "The refund window is 30 days from delivery for unopened items."


def summary(
    suite: str,
    config: str,
    verdict: str,
    *,
    enforced: bool = True,
    quality: float = 0.9,
    cost: str = "0.0001",
    reasons: tuple[str, ...] = (),
    flagged: int = 0,
    categories: tuple[CategorySummary, ...] = (),
) -> Summary:
    """A summary with plausible numbers around a 0.92-quality, $0.002/query baseline."""
    baseline_cost = Decimal("0.002")
    per_query = Decimal(cost)
    return Summary(
        suite=suite,
        config=config,
        n=40,
        errors=1 if verdict == "fail" else 0,
        quality=quality,
        baseline_quality=0.92,
        delta=quality - 0.92,
        ci_low=quality - 0.92 - 0.015,
        ci_high=quality - 0.92 + 0.012,
        margin=0.02,
        verdict=verdict,  # type: ignore[arg-type]
        reasons=reasons,
        enforced=enforced,
        cost_per_query=per_query,
        baseline_cost_per_query=baseline_cost,
        savings_pct=float((1 - per_query / baseline_cost) * 100),
        monthly_cost=per_query * 3_000_000,
        baseline_monthly_cost=baseline_cost * 3_000_000,
        flagged_cases=flagged,
        categories=categories,
    )


def case(
    suite: str,
    config: str,
    case_id: str,
    *,
    output: str = REFERENCE,
    reference: str = REFERENCE,
    score: float | None = 1.0,
    flagged: bool = False,
    error: str | None = None,
    category: str = "refunds",
) -> CaseResult:
    """One case result; a flagged one scores well below its baseline."""
    baseline = 1.0
    return CaseResult(
        suite=suite,
        config=config,
        case_id=case_id,
        category=category,
        model="sim:small",
        output=output,
        reference=reference,
        expected=None,
        score=score,
        baseline_score=None if score is None else baseline,
        delta=None if score is None else score - baseline,
        cost_usd=Decimal("0.00012"),
        baseline_cost_usd=Decimal("0.002"),
        usage=Usage(input_tokens=300, output_tokens=40),
        latency_ms=12.0,
        cache_hit=False,
        calls=1,
        error=error,
        flagged=flagged,
    )


def sample_run() -> StoredRun:
    """Two suites, every kind of verdict, hostile model text, an error and a problem."""
    cats = (
        CategorySummary(
            category="refunds", n=20, quality=0.95, baseline_quality=0.93, delta=0.02, failed=False
        ),
        CategorySummary(
            category="shipping", n=20, quality=0.81, baseline_quality=0.91, delta=-0.10, failed=True
        ),
    )
    summaries = (
        summary("faq", "route-small", "pass", quality=0.915, cost="0.00021"),
        summary(
            "faq",
            "semantic-cache",
            "fail",
            quality=0.84,
            cost="0.00009",
            reasons=(
                "delta CI lower bound -9.5 points is below the -2.0 point margin",
                "category 'shipping' dropped 10.0 points (limit 5.0)",
            ),
            flagged=3,
            categories=cats,
        ),
        summary(
            "faq",
            "compress-history",
            "inconclusive",
            quality=0.91,
            cost="0.0012",
            reasons=("n = 40 cannot tell a 2-point drop from none",),
        ),
        summary(
            "faq",
            "batch-small",
            "fail",
            enforced=False,
            quality=0.86,
            cost="0.00006",
            reasons=("delta CI lower bound -7.5 points is below the margin",),
            flagged=1,
        ),
        summary("support", "route-small", "pass", quality=0.93, cost="0.0004"),
        summary(
            "support", "<b>bold</b>-config", "pass", enforced=False, quality=0.925, cost="0.0009"
        ),
    )
    results = (
        case("faq", "route-small", "faq-001"),
        case("faq", "semantic-cache", "faq-002", output=HOSTILE, score=0.1, flagged=True),
        case(
            "faq",
            "semantic-cache",
            "faq-003",
            output="The refund window is 14 days from purchase for all items.",
            score=0.4,
            flagged=True,
            category="shipping",
        ),
        case("faq", "semantic-cache", "faq-004", output="No idea.", score=0.0, flagged=True),
        case(
            "faq",
            "semantic-cache",
            "faq-005",
            output="",
            score=None,
            error="provider returned 500: <img src=x onerror=alert(2)>",
        ),
        case("faq", "batch-small", "faq-006", output="Refunds: 30 days.", score=0.5, flagged=True),
    )
    run = {
        "run_id": "20261126T131500Z-3f9a1c",
        "started_at": "2026-11-26T13:15:00+00:00",
        "git_sha": "0123456789abcdef0123456789abcdef01234567",
        "git_branch": "feature/cheap",
        "baseline": "sim:frontier",
        "volume": "100k/day",
        "harness_version": "0.1.0",
        "calls": 412,
    }
    problems = {
        "legal": "suites/legal.yaml: goldens for sim:frontier are missing; "
        "record them with --cost-eval-record=missing"
    }
    return StoredRun(run=run, summaries=summaries, results=results, problems=problems)


@pytest.fixture
def page(tmp_path: Path) -> str:
    """The sample run's report, as text."""
    path = render_report(sample_run(), tmp_path / "report.html")
    return path.read_text(encoding="utf-8")


# --- sections ---------------------------------------------------------------------


def test_header_has_run_metadata(page: str) -> None:
    for text in (
        "20261126T131500Z-3f9a1c",
        "0123456789ab",
        "feature/cheap",
        "sim:frontier",
        "100k/day",
        "0.1.0",
        "412",
    ):
        assert text in page


def test_problems_are_shown_before_the_verdicts(page: str) -> None:
    assert 'id="problems"' in page
    assert "goldens for sim:frontier are missing" in page
    assert page.index('id="problems"') < page.index('id="verdicts"')


def test_headline_counts_and_cheapest_passing(page: str) -> None:
    # The cards, then the cheapest passing configurations at the top of the verdicts.
    headline = page[page.index('id="headline"') : page.index('id="verdict-table"')]
    counts = dict(re.findall(r'tile (\w+)"><div class="num">(\d+)<', headline))
    assert counts == {"pass": "3", "fail": "1", "inconclusive": "1", "flagged": "1"}
    # faq: route-small is the only passing config; support: route-small beats the dearer one.
    assert headline.count("cheapest passing configuration is") == 2
    assert "89.5% saved" in headline  # faq route-small: 0.00021 vs 0.002


def test_verdict_table_has_one_row_per_summary_with_badges(page: str) -> None:
    rows = re.findall(r'<tr class="verdict-row" data-verdict="(\w+)">', page)
    assert rows == ["pass", "fail", "inconclusive", "flagged", "pass", "pass"]
    table = page[page.index('id="verdict-table"') : page.index("</table>")]
    assert "report-only" in table and "enforced" in table
    assert "category &#39;shipping&#39; dropped 10.0 points" in table
    assert "[-9.5, -6.8]" in table  # the delta's CI in points
    assert "+1 error" in table


def test_charts_are_inline_svg_one_per_suite(page: str) -> None:
    charts = page[page.index('id="charts"') : page.index('id="categories"')]
    assert charts.count("<svg") == 2
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    assert "Pareto frontier" in charts
    # The config name is markup-like: it must be escaped wherever the page shows it.
    assert "<b>bold</b>" not in page
    assert "&lt;b&gt;bold&lt;/b&gt;-config" in page


def test_category_table_marks_failed_categories(page: str) -> None:
    start = page.index('id="categories"')
    categories = page[start : page.index("</section>", start)]
    assert '<tr class="failed">' in categories
    assert "shipping" in categories and "-10.0" in categories


def test_degraded_cases_side_by_side_with_word_diff(page: str) -> None:
    degraded = page[page.index('id="degraded"') : page.index('id="errors"')]
    assert "faq-003" in degraded and "faq-006" in degraded
    assert "faq-001" not in degraded  # not flagged: no text in the page
    # 14/purchase/all replaced 30/delivery/unopened.
    assert "<ins>14</ins>" in degraded and "<del>30</del>" in degraded
    assert "Output" in degraded and "Reference" in degraded


def test_errors_have_their_own_table(page: str) -> None:
    errors = page[page.index('id="errors"') :]
    assert "faq-005" in errors and "provider returned 500" in errors


def test_page_is_self_contained_behind_a_strict_csp(page: str) -> None:
    text = page
    assert (
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
    ) in text
    # Only namespace names (never fetched) may look like URLs.
    assert "http://" not in text.replace("http://www.w3.org/", "")
    assert "https://" not in text
    assert "<link" not in text and "src=" not in text.replace("src=x", "")


def test_chart_ids_are_unique_across_the_page(page: str) -> None:
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    for ref in re.findall(r'(?:url\(#|href="#)([^")]+)', page):
        assert ref in ids


# --- security ---------------------------------------------------------------------


def test_model_text_is_escaped_never_markup(page: str) -> None:
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page
    assert "&lt;img" in page
    assert 'href="javascript' not in page
    assert "&lt;a href=&#34;javascript:alert(1)&#34;&gt;x&lt;/a&gt;" in page
    assert "onerror=alert(2)" in page and "<img src=x onerror=alert(2)>" not in page
    # Exactly one script element: the report's own sort script.
    assert page.count("<script") == 1


def test_diff_html_escapes_tokens_before_tagging() -> None:
    output, reference = diff_html("the <b>cat</b>  sat\n", "the dog sat")
    assert str(output) == "the <ins>&lt;b&gt;cat&lt;/b&gt;</ins>  sat\n"
    assert str(reference) == "the <del>dog</del> sat"


def test_diff_html_keeps_whitespace_and_handles_empty_texts() -> None:
    output, reference = diff_html("  a\n\nb", "")
    assert str(output) == "  <ins>a\n\nb</ins>"
    assert str(reference) == ""
    same, same_ref = diff_html("x & y", "x & y")
    assert str(same) == str(same_ref) == "x &amp; y"


# --- caps and size ----------------------------------------------------------------


def test_flagged_cases_are_capped_with_a_count(tmp_path: Path) -> None:
    text = render_report(sample_run(), tmp_path / "r.html", max_cases=2).read_text("utf-8")
    assert "and 2 more flagged cases not shown" in text
    assert text.count('<article class="case">') == 2
    # Worst drop first: faq-004 (score 0) and faq-002 (0.1) are the two shown.
    assert "faq-004" in text and "faq-002" in text


def test_long_texts_are_cut(tmp_path: Path) -> None:
    run = sample_run()
    long = case("faq", "semantic-cache", "faq-long", output="word " * 3000, score=0.0, flagged=True)
    run = replace(run, results=(*run.results, long))
    text = render_report(run, tmp_path / "r.html").read_text("utf-8")
    assert f"{15000 - TEXT_LIMIT} more characters not shown" in text


def test_ten_thousand_cases_render_under_two_megabytes(tmp_path: Path) -> None:
    base = sample_run()
    results = tuple(
        case(
            "faq",
            "semantic-cache",
            f"big-{i:05d}",
            output=f"Answer {i}: the refund window is {i % 60} days, see policy section "
            f"{i % 7}. " * 4,
            reference=REFERENCE * 3,
            score=0.2 if i % 3 == 0 else 1.0,
            flagged=i % 3 == 0,
        )
        for i in range(10_000)
    )
    path = render_report(replace(base, results=results), tmp_path / "big.html")
    size = path.stat().st_size
    assert size < 2_000_000, size
    assert "and 3134 more flagged cases not shown" in path.read_text("utf-8")


# --- writing ----------------------------------------------------------------------


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.html"
    target.parent.mkdir()
    target.write_text("old report")
    assert render_report(sample_run(), target) == target
    assert target.read_text("utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]


def test_unwritable_path_is_a_cost_eval_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CostEvalError, match="cannot write the report"):
        render_report(sample_run(), blocker / "report.html")


def test_empty_run_renders() -> None:
    empty = StoredRun(run={}, summaries=(), results=(), problems={})
    from harness.report.render import render_html

    html = render_html(empty)
    assert "No configuration was evaluated." in html
    assert "unknown run" in html


def test_import_is_light() -> None:
    code = (
        "import sys, harness.report; "
        "heavy = {'jinja2', 'matplotlib', 'duckdb'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --- pareto_frontier --------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        ([], []),
        ([(1.0, 0.5)], [0]),
        # Cheaper-and-better dominates: index 1 beats index 0 on both.
        ([(2.0, 0.5), (1.0, 0.6)], [1]),
        # A trade-off: both stay, sorted by cost.
        ([(2.0, 0.9), (1.0, 0.6)], [1, 0]),
        # Index 2 costs more than index 1 for less quality: dominated.
        ([(0.5, 0.7), (1.0, 0.9), (1.5, 0.8), (3.0, 0.95)], [0, 1, 3]),
        # Same cost: only the better one; same point twice: only the first.
        ([(1.0, 0.7), (1.0, 0.8), (2.0, 0.9), (2.0, 0.9)], [1, 2]),
        # Same quality at a higher cost adds nothing.
        ([(1.0, 0.8), (2.0, 0.8)], [0]),
        # Non-finite points are left out.
        ([(1.0, float("nan")), (2.0, 0.5), (float("inf"), 0.9)], [1]),
    ],
)
def test_pareto_frontier(points: list[tuple[float, float]], expected: list[int]) -> None:
    assert pareto_frontier(points) == expected


RENDER_IN_A_FRESH_PROCESS = """
import sys
from pathlib import Path
from harness.report import render_report
from tests.unit.test_report import sample_run
render_report(sample_run(), Path(sys.argv[1]))
"""


@pytest.mark.parametrize("cache", ["folder", "a file in the way"])
def test_compiled_templates_are_kept_between_runs_where_they_can_be(
    tmp_path: Path, cache: str
) -> None:
    # Compiling the templates cost 0.15 s of every run (issue 18): Jinja keeps the
    # compiled code under $XDG_CACHE_HOME; where it cannot, the report is still written.
    home = tmp_path / "cache"
    if cache != "folder":
        home.write_text("not a folder")
    pages = []
    for run in range(2):
        page = tmp_path / f"report-{run}.html"
        subprocess.run(
            [sys.executable, "-c", RENDER_IN_A_FRESH_PROCESS, str(page)],
            check=True,
            env={**os.environ, "XDG_CACHE_HOME": str(home)},
            cwd=Path(__file__).resolve().parents[2],
        )
        pages.append(page.read_text(encoding="utf-8"))
    kept = (
        sorted(home.glob("cost-eval-harness/templates/__jinja2_*.cache")) if home.is_dir() else []
    )
    assert len(kept) == (2 if cache == "folder" else 0)  # the report and its tune section
    assert pages[0] == pages[1] and "<svg" in pages[0]
