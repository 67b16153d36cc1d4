"""The report in a real headless Chromium: scripts run cleanly, model text stays text.

Chromium is driven through its command line (``--dump-dom``, ``--screenshot``),
no browser-automation package needed. Skipped when ``chromium`` is not on PATH.
Set ``COST_EVAL_SCREENSHOTS`` to keep the screenshot as
``results/report-screenshot.png``.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.analysis.compare import compare_runs, uncompared_pairs
from harness.report import render_report
from harness.store.runs import StoredRun, load_run
from tests.unit.test_report import HOSTILE, sample_run

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="chromium is not installed (apt-get install -y chromium); browser tests skipped",
)


class Dom(HTMLParser):
    """The parts of a dumped DOM the tests look at: elements, attributes, text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def elements(self, tag: str) -> list[dict[str, str | None]]:
        """Attributes of every ``tag`` element, in document order."""
        return [attrs for name, attrs in self.tags if name == tag]


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium offline with a throwaway profile; console goes to stderr."""
    command = [
        "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=True)


def dump_dom(page: Path, profile: Path, *extra: str) -> tuple[Dom, str]:
    """The DOM after scripts ran (parsed), and Chromium's stderr (console messages)."""
    done = chromium(profile, *extra, "--dump-dom", page.as_uri())
    dom = Dom()
    dom.feed(done.stdout)
    return dom, done.stderr


@pytest.fixture
def report(tmp_path: Path) -> Path:
    """The sample run's report, with hostile model text in it."""
    return render_report(sample_run(), tmp_path / "report.html")


def test_console_check_catches_uncaught_errors(tmp_path: Path) -> None:
    # The report test asserts *no* "Uncaught" in stderr: prove the check can fail.
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><body><script>notDefined();</script></body>")
    _, stderr = dump_dom(broken, tmp_path / "profile")
    assert "Uncaught ReferenceError" in stderr


def test_script_runs_without_errors_and_enables_sorting(report: Path, tmp_path: Path) -> None:
    dom, stderr = dump_dom(report, tmp_path / "profile")
    body = dom.elements("body")
    assert body and body[0].get("data-ready") == "1", "the report's script did not finish"
    assert "Uncaught" not in stderr, stderr
    # A CSP violation means the page tried to load something, or blocked its own code.
    assert "Content Security Policy" not in stderr, stderr
    buttons = [a for a in dom.elements("button") if a.get("class") == "sort"]
    assert len(buttons) >= 10  # every verdict-table header became a sort button


def test_hostile_model_text_is_text_not_markup(report: Path, tmp_path: Path) -> None:
    dom, _ = dump_dom(report, tmp_path / "profile")
    text = "".join(dom.text)
    # The whole hostile output is there, character for character, as text.
    assert " ".join(HOSTILE.split()) in " ".join(text.split())
    assert dom.elements("img") == []
    scripts = dom.elements("script")
    assert len(scripts) == 1 and scripts[0] == {}  # the report's own inline script only
    links = [a.get("href") or "" for a in dom.elements("a")]
    assert links and all(href.startswith("#") for href in links)
    handlers = [(tag, name) for tag, attrs in dom.tags for name in attrs if name.startswith("on")]
    assert handlers == []


def test_page_reads_without_javascript(report: Path, tmp_path: Path) -> None:
    # --dump-dom itself needs JavaScript, so turn off the page's script with its
    # own CSP instead: DevTools still reads the DOM, the inline script never runs.
    html = report.read_text(encoding="utf-8")
    assert "script-src 'unsafe-inline'" in html
    no_script = tmp_path / "no-script.html"
    no_script.write_text(
        html.replace("script-src 'unsafe-inline'", "script-src 'none'"), encoding="utf-8"
    )
    dom, stderr = dump_dom(no_script, tmp_path / "profile")
    assert "Content Security Policy" in stderr  # the script really was blocked
    assert dom.elements("body")[0].get("data-ready") is None
    assert [a for a in dom.elements("button") if a.get("class") == "sort"] == []
    rows = [a for a in dom.elements("tr") if a.get("class") == "verdict-row"]
    assert len(rows) == len(sample_run().summaries)
    assert len(dom.elements("svg")) == 2  # charts are inline SVG, no script needed


def test_screenshot(report: Path, tmp_path: Path) -> None:
    if os.environ.get("COST_EVAL_SCREENSHOTS"):
        target = REPO / "results" / "report-screenshot.png"
        target.parent.mkdir(parents=True, exist_ok=True)
    else:
        target = tmp_path / "report-screenshot.png"
    target.unlink(missing_ok=True)
    chromium(
        tmp_path / "profile",
        f"--screenshot={target}",
        "--window-size=1280,2000",
        "--hide-scrollbars",
        report.as_uri(),
    )
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == (1280, 2000)


def test_clicking_a_header_sorts_the_rows(report: Path, tmp_path: Path) -> None:
    # The CLI cannot click, so a second inline script (allowed by the page's CSP)
    # clicks the Cost/query header twice and records the row order after each click.
    clicker = """<script>
    (function () {
      var table = document.getElementById("verdict-table");
      var head = Array.prototype.filter.call(table.tHead.rows[0].cells, function (th) {
        return th.textContent.trim() === "Cost/query";
      })[0];
      function order() {
        return Array.prototype.map.call(table.tBodies[0].rows, function (row) {
          return row.cells[1].querySelector("code").textContent;
        }).join(",");
      }
      head.querySelector("button").click();
      document.body.setAttribute("data-ascending", order());
      head.querySelector("button").click();
      document.body.setAttribute("data-descending", order());
    })();
    </script></body>"""
    html = report.read_text(encoding="utf-8").replace("</body>", clicker)
    page = tmp_path / "clicked.html"
    page.write_text(html, encoding="utf-8")
    dom, stderr = dump_dom(page, tmp_path / "profile")
    assert "Uncaught" not in stderr, stderr
    body = dom.elements("body")[0]
    cheapest_first = (
        "batch-small,semantic-cache,route-small,route-small,<b>bold</b>-config,compress-history"
    )
    assert body.get("data-ascending") == cheapest_first
    assert body.get("data-descending") == ",".join(reversed(cheapest_first.split(",")))
    marked = [th.get("aria-sort") for th in dom.elements("th") if th.get("aria-sort")]
    assert marked == ["descending"]


def test_example_run_report_in_the_browser(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """The shipped example, run end to end, and its report opened in Chromium."""
    for name in ("suites", "goldens"):
        shutil.copytree(REPO / name, pytester.path / name)
    shutil.copy(REPO / "pyproject.toml", pytester.path / "pyproject.toml")
    (pytester.path / "tests").mkdir()  # the copied pyproject's testpaths
    result = pytester.runpytest("--cost-eval", "-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str()
    page = pytester.path / "results" / "report.html"
    dom, stderr = dump_dom(page, tmp_path / "profile")
    assert dom.elements("body")[0].get("data-ready") == "1"
    assert "Uncaught" not in stderr and "Content Security Policy" not in stderr, stderr
    sections = {a.get("id") for a in dom.elements("section")}
    assert {"verdicts", "charts", "sweeps", "categories", "levers", "degraded"} <= sections
    assert len(dom.elements("svg")) >= 6  # cost-vs-quality per suite and the sweep curves
    if os.environ.get("COST_EVAL_SCREENSHOTS"):
        target = REPO / "results" / "example-report.png"
    else:
        target = tmp_path / "example-report.png"
    chromium(
        tmp_path / "shot",
        "--window-size=1280,3000",
        "--hide-scrollbars",
        f"--screenshot={target}",
        page.as_uri(),
    )
    with target.open("rb") as handle:
        header = handle.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1280, 3000)


PROBE = """<script>
window.addEventListener("load", function () {
  var body = document.body;
  function bottom(selector) {
    var element = document.querySelector(selector);
    return element ? Math.round(element.getBoundingClientRect().bottom) : -1;
  }
  var cases = Array.prototype.map.call(document.querySelectorAll("article.case"), function (a) {
    var question = a.querySelector(".question .text");
    return {
      id: a.querySelector(".id").textContent,
      question: question ? question.textContent : "",
      outputs: a.querySelectorAll(".answer > .text").length,
      configs: Array.prototype.map.call(a.querySelectorAll(".answer .who code.cfg"),
        function (c) { return c.textContent; })
    };
  });
  var index = {};
  Array.prototype.forEach.call(document.querySelectorAll("#degraded-index tbody tr"), function (r) {
    var config = r.cells[1].textContent.trim();
    Array.prototype.forEach.call(r.cells[3].querySelectorAll("a code"), function (c) {
      (index[r.cells[0].textContent + "/" + c.textContent] =
        index[r.cells[0].textContent + "/" + c.textContent] || []).push(config);
    });
  });
  body.setAttribute("data-viewport", String(window.innerHeight));
  body.setAttribute("data-cards-bottom", String(bottom("#headline .headline")));
  body.setAttribute("data-regressions-bottom", String(bottom("#regression-table")));
  var regressions = document.querySelectorAll(".regression-row").length;
  body.setAttribute("data-regressions", String(regressions));
  body.setAttribute("data-height", String(document.body.scrollHeight));
  body.setAttribute("data-cases", JSON.stringify(cases));
  body.setAttribute("data-index", JSON.stringify(index));
});
</script></body>"""
"""Measures the page after layout: where the header cards and the regressions end, the
height, and each degraded case's question, configurations and outputs."""


def earlier(stored: StoredRun) -> StoredRun:
    """``stored`` as an earlier run would have been: one flagged configuration answered
    every case as well as the baseline, one passing configuration cost a tenth of today's."""
    flagged = next(s for s in stored.summaries if s.verdict != "pass" and s.n)
    cheap = next(s for s in stored.summaries if s.verdict == "pass" and s.savings_pct > 20)
    summaries = tuple(
        replace(s, verdict="pass", quality=s.baseline_quality, delta=0.0, ci_low=0.0, ci_high=0.0)
        if s is flagged
        else replace(s, cost_per_query=s.cost_per_query / 10)
        if s is cheap
        else s
        for s in stored.summaries
    )
    results = tuple(
        replace(r, score=r.baseline_score, delta=0.0, flagged=False)
        if (r.suite, r.config) == (flagged.suite, flagged.config) and r.score is not None
        else r
        for r in stored.results
    )
    return replace(stored, summaries=summaries, results=results)


def test_example_report_leads_with_what_changed(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """Done when (#17): the first screen shows the verdict cards and the regressions; a
    degraded case shows its question and every configuration's output once; no console
    errors."""
    for name in ("suites", "goldens"):
        shutil.copytree(REPO / name, pytester.path / name)
    shutil.copy(REPO / "pyproject.toml", pytester.path / "pyproject.toml")
    (pytester.path / "tests").mkdir()
    result = pytester.runpytest("--cost-eval", "-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str()
    db = pytester.path / "results" / "cost_eval.duckdb"
    stored = load_run(db)
    before = earlier(stored)
    changes = compare_runs(before, stored)
    assert sum(c.regressed for c in changes) == 2
    page = render_report(
        stored,
        tmp_path / "report.html",
        db=db,
        previous=("20261201T000000Z-before", changes),
        uncompared=uncompared_pairs(before, stored),
    )
    probed = tmp_path / "probed.html"
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE), "utf-8")
    dom, stderr = dump_dom(probed, tmp_path / "profile", "--window-size=1280,800")
    assert "Uncaught" not in stderr and "CONSOLE" not in stderr, stderr
    assert "Content Security Policy" not in stderr, stderr
    body = dom.elements("body")[0]
    assert body.get("data-ready") == "1"
    # Headless Chromium's window of 1280x800 leaves a smaller viewport for the page:
    # the first screen is the smaller of the two.
    screen = min(int(body["data-viewport"] or 0), 800)
    # The first screen: the verdict cards and the whole regressions table.
    assert 0 < int(body["data-cards-bottom"] or 0) <= screen
    assert body.get("data-regressions") == "2"
    assert 0 < int(body["data-regressions-bottom"] or 0) <= screen
    # Each degraded case once, with its question and every configuration that degraded it.
    cases = json.loads(body["data-cases"] or "[]")
    index = json.loads(body["data-index"] or "{}")
    assert cases and len(cases) == len({c["id"] for c in cases})
    suite_of = {c.case_id: c.suite for c in stored.results}
    for shown in cases:
        assert shown["question"].strip(), shown["id"]
        assert shown["outputs"] >= 1
        named = index[f"{suite_of[shown['id']]}/{shown['id']}"]
        assert sorted(shown["configs"]) == sorted(named), shown["id"]
    several = [c for c in cases if len(c["configs"]) > 1]
    assert several, "the example has cases that several configurations degrade"
    # Every flagged (case, configuration) of the run is on the page, each once.
    flagged = sorted(f"{r.case_id}/{r.config}" for r in stored.results if r.flagged)
    shown_pairs = sorted(f"{c['id']}/{config}" for c in cases for config in c["configs"])
    assert shown_pairs == flagged
    print(f"example report height at 1280 px: {body['data-height']} px")
