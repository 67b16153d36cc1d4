"""The report's charts, drawn as our own SVG: points where the data puts them, a log cost
axis when costs span decades, marks that do not pile up, ids unique on a page (issue 18)."""

from __future__ import annotations

import dataclasses
import itertools
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from harness.report.charts import (
    LOG_SCALE_RATIO,
    VERDICT_COLOURS,
    ChartPoint,
    SweepChart,
    cost_quality_svg,
    sweep_curve_svg,
)
from harness.report.svg_axis import linear_ticks, log_ticks, percent_text
from harness.report.svg_chart import MARK_SIZE
from harness.report.svg_labels import Box, text_size
from tests.unit.test_strategy_metrics import page_with_a_cache_sweep

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    """The chart as XML without its legend: it must be well-formed, one ``<svg>`` element,
    nothing before it."""
    assert svg.startswith("<svg") and "<?xml" not in svg and "DOCTYPE" not in svg
    root = ET.fromstring(svg)
    # The legend's swatches are markers too: the tests look at the plot only.
    for legend in root.findall(f"{SVG}g[@class='legend']"):
        root.remove(legend)
    return root


def circles(root: ET.Element) -> dict[str, tuple[float, float]]:
    """Centre of each filled circle, by fill colour."""
    return {
        c.attrib["fill"]: (float(c.attrib["cx"]), float(c.attrib["cy"]))
        for c in root.iter(f"{SVG}circle")
        if c.attrib.get("fill") != "none"
    }


def marks(root: ET.Element) -> list[tuple[str, Box]]:
    """Each point mark's text and its estimated box (as the drawer estimates it)."""
    out = []
    for text in root.iter(f"{SVG}text"):
        if text.attrib.get("class") == "mark":
            content = "".join(text.itertext())
            width, height = text_size(content, MARK_SIZE)
            left, top = float(text.attrib["x"]), float(text.attrib["y"]) - MARK_SIZE * 0.87
            out.append((content, Box(left, top, left + width, top + height)))
    return out


def test_points_sit_where_their_cost_and_quality_put_them() -> None:
    points = [
        ChartPoint(label="cheap-bad", cost=0.001, quality=0.80, badge="fail", key="1"),
        ChartPoint(label="mid", cost=0.002, quality=0.90, badge="flagged", key="2"),
        ChartPoint(label="dear-good", cost=0.004, quality=0.99, badge="pass", key="3"),
    ]
    root = parse(cost_quality_svg(points, title="t <&> t", id_prefix="c0-"))
    assert root.attrib["width"] == "100%" and root.attrib["viewBox"].startswith("0 0 ")
    at = circles(root)
    cheap, mid, dear = (at[VERDICT_COLOURS[b]] for b in ("fail", "flagged", "pass"))
    assert cheap[0] < mid[0] < dear[0]  # cheaper: further left
    assert cheap[1] > mid[1] > dear[1]  # better: higher up (SVG's y grows downwards)
    # A linear axis: the middle cost is a third of the way from the cheapest to the dearest.
    assert abs((mid[0] - cheap[0]) / (dear[0] - cheap[0]) - 1 / 3) < 0.01
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "t <&> t" in texts  # the title, escaped in the markup and intact as text
    assert {"$0.001", "$0.002", "$0.003", "$0.004"} <= set(texts)
    assert {m for m, _ in marks(root)} == {"1", "2", "3"}


def test_a_cost_axis_spanning_the_log_ratio_is_logarithmic_with_1_2_5_ticks() -> None:
    def middle_fraction(ratio: float) -> tuple[float, set[str]]:
        low, high = 0.00001, 0.00001 * ratio
        points = [
            ChartPoint(label="a", cost=low, quality=0.9, badge="fail"),
            ChartPoint(label="b", cost=(low * high) ** 0.5, quality=0.95, badge="flagged"),
            ChartPoint(label="c", cost=high, quality=1.0, badge="pass"),
        ]
        root = parse(cost_quality_svg(points, title="t"))
        at = circles(root)
        a, b, c = (at[VERDICT_COLOURS[v]][0] for v in ("fail", "flagged", "pass"))
        return (b - a) / (c - a), {"".join(t.itertext()) for t in root.iter(f"{SVG}text")}

    # On a log axis the geometric mean sits halfway; on a linear one far to the left.
    log_mid, log_texts = middle_fraction(LOG_SCALE_RATIO)
    assert abs(log_mid - 0.5) < 0.01
    assert {"$0.00001", "$0.00002", "$0.00005", "$0.0001", "$0.0002"} <= log_texts
    linear_mid, _ = middle_fraction(LOG_SCALE_RATIO * 0.95)
    assert linear_mid < 0.25


def test_ticks_are_round() -> None:
    assert linear_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert linear_ticks(0.93, 1.01) == [0.94, 0.96, 0.98, 1.0]
    assert [percent_text(t)(t[1]) for t in ([0.9, 0.95], [0.95, 0.975], [0.97, 0.975])] == [
        "95%",
        "97.5%",
        "97.5%",
    ]
    assert log_ticks(1e-5, 1e-3) == [1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3]
    # Over many decades 1-2-5 would crowd the axis: decades only.
    assert log_ticks(1e-7, 1.0) == [1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]


def test_marks_of_a_crowded_chart_overlap_no_other_mark_and_no_marker() -> None:
    # Twelve configurations within a hair of each other in cost and quality (a far point
    # squeezes them into a corner of the plot), plus the baseline sharing a spot with one.
    points = [ChartPoint(label="baseline", cost=0.0021, quality=0.99, badge="baseline", key="B")]
    points += [
        ChartPoint(
            label=f"c{i}",
            cost=0.0020 + 0.00002 * (i % 4),
            quality=0.97 + 0.004 * (i // 4),
            badge=("pass", "flagged", "fail")[i % 3],
            key=str(i),
        )
        for i in range(1, 13)
    ]
    points.append(dataclasses.replace(points[0], label="same", badge="pass", key="13"))
    points.append(ChartPoint(label="far", cost=0.0004, quality=0.7, badge="fail", key="14"))
    root = parse(cost_quality_svg(points, title="crowded"))
    placed = marks(root)
    assert sorted(m for m, _ in placed) == sorted(["B,13", "14", *map(str, range(1, 13))])
    for (a, box_a), (b, box_b) in itertools.combinations(placed, 2):
        assert box_a.overlap(box_b) == 0, (a, b)
    markers = [
        Box(cx - r, cy - r, cx + r, cy + r)
        for c in root.iter(f"{SVG}circle")
        for cx, cy, r in [(float(c.attrib["cx"]), float(c.attrib["cy"]), float(c.attrib["r"]))]
    ]
    for mark, box in placed:
        assert all(box.overlap(m) == 0 for m in markers), mark
    width = float(root.attrib["viewBox"].split()[2])
    assert all(box.left >= 0 and box.right <= width for _, box in placed)


def test_the_sweep_note_stays_inside_the_chart() -> None:
    chart = SweepChart(
        shares=[0.0, 0.5, 1.0],
        quality=[0.6, 0.8, 1.0],
        verdicts=["fail", "inconclusive", "pass"],
        oracle_shares=[],
        oracle_quality=[],
        weak_quality=0.6,
        strong_quality=1.0,
        recommended=2,  # at the right edge and the top: the note must go left and down
        note="recommended: threshold 0.9\n100.0% strong, $0.0021/query, 0.0% saved",
    )
    root = parse(sweep_curve_svg(chart, title="edge"))
    width = float(root.attrib["viewBox"].split()[2])
    (note,) = [r for r in root.iter(f"{SVG}rect") if r.attrib.get("rx")]
    left, w = float(note.attrib["x"]), float(note.attrib["width"])
    assert left > 0 and left + w < width


def test_every_id_on_the_page_is_unique(tmp_path: Path) -> None:
    # Two suites' cost charts and a semantic cache's sweep on one page.
    page = page_with_a_cache_sweep(tmp_path)
    assert page.count("<svg") == 3
    ids = Counter(re.findall(r'\bid="([^"]+)"', page))
    assert ids and [i for i, n in ids.items() if n > 1] == []
    # Every reference inside a chart points at an id of the page.
    refs = set(re.findall(r"url\(#([^)]+)\)", page))
    assert refs and refs <= set(ids)
