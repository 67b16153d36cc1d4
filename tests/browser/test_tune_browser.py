"""The report's Tune section in a real headless Chromium, after `harness tune` on the example."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.cli import main
from tests.browser.test_report_browser import REPO, dump_dom

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="chromium is not installed (apt-get install -y chromium); browser tests skipped",
)


def test_tune_section_in_the_browser(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("suites", "goldens"):
        shutil.copytree(REPO / name, pytester.path / name)
    shutil.copy(REPO / "pyproject.toml", pytester.path / "pyproject.toml")
    monkeypatch.chdir(pytester.path)
    monkeypatch.delenv("CI", raising=False)
    result = pytester.runpytest("--cost-eval", "suites", "-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str()
    page = pytester.path / "results" / "report.html"
    dom, _ = dump_dom(page, tmp_path / "before")
    assert "tune" not in {a.get("id") for a in dom.elements("section")}  # no tune stored yet

    assert main(["tune", "--suite", "arithmetic", "--suite", "faq"]) == 0
    assert main(["report"]) == 0
    dom, stderr = dump_dom(page, tmp_path / "after")
    assert dom.elements("body")[0].get("data-ready") == "1"
    assert "Uncaught" not in stderr and "Content Security Policy" not in stderr, stderr
    assert "tune" in {a.get("id") for a in dom.elements("section")}
    text = " ".join(" ".join(dom.text).split())
    assert "Tune" in text and "arithmetic 60 cases: 30 to choose on, 30 to confirm on" in text
    assert "confirmed length(sim:frontier|sim:small) + batch , threshold 0.53" in text
    assert "Pareto frontier of cost and quality (held-out cases)" in text
    # arithmetic's winner (0.53) is beaten on the held-out cases: the report says so.
    assert "The winner, chosen on the other cases, is not on this frontier" in text
    assert 'name = "tuned-arithmetic"' in text
    tables = [a for a in dom.elements("table") if "tune-frontier" in (a.get("class") or "")]
    assert len(tables) == 2  # one per tuned suite
