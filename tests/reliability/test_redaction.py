"""Opt-in redaction: with ``redact = true`` no case text reaches the report or summary.

Suites built from customer conversations are sensitive; their report is a CI
artifact many people open. Redacted, each output, reference, expected answer
and error message shows as its length and a hash (equal texts, equal hashes);
everything else (verdicts, numbers, case ids, categories) stays.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from harness.config.settings import parse_settings
from harness.report import render_report, write_markdown_summary
from harness.report.markdown import render_markdown
from harness.report.redaction import placeholder, redact_error, text_hash
from harness.store.runs import StoredRun
from tests.unit.test_report import REFERENCE, case, sample_run

SECRET_OUTPUT = "Jane Doe's card ending 4242 was refunded on 3 May."
SECRET_EXPECTED = "Refund issued to Jane Doe."
REFUSAL = "Refusal: the model refused: I cannot discuss Jane Doe's account. (after 1 attempt)"


def sensitive_run() -> StoredRun:
    stored = sample_run()
    extra = (
        replace(
            case("faq", "semantic-cache", "faq-007", output=SECRET_OUTPUT, score=0.0, flagged=True),
            expected=SECRET_EXPECTED,
        ),
        case("faq", "semantic-cache", "faq-008", output="", score=None, error=REFUSAL),
    )
    return replace(stored, results=stored.results + extra)


def texts_of(stored: StoredRun) -> set[str]:
    """Every case text of the run that a redacted report must not show."""
    found = {SECRET_OUTPUT, SECRET_EXPECTED, "Jane Doe", REFERENCE, "onerror=alert(2)"}
    for result in stored.results:
        found.update(t for t in (result.output, result.reference, result.expected) if t)
    return {t for t in found if len(t) >= 8}


def test_redacted_report_shows_no_case_text(tmp_path: Path) -> None:
    stored = sensitive_run()
    page = render_report(stored, tmp_path / "report.html", redact=True).read_text()
    for text in texts_of(stored):
        assert text not in page, f"{text!r} is in the redacted report"
    # What was there is still visible as a placeholder, and the diff still says
    # which texts differ: equal texts have equal hashes.
    assert placeholder(SECRET_OUTPUT) in page
    assert placeholder(REFERENCE) in page
    assert placeholder(SECRET_EXPECTED) in page
    assert text_hash(REFERENCE) == text_hash(REFERENCE + "")
    # Errors keep their kind and attempts, not their message.
    assert "Refusal: [redacted: " in page and "(after 1 attempt)" in page
    assert 'id="redacted"' in page
    # Verdicts, numbers and case ids are not case text.
    assert "faq-007" in page and "semantic-cache" in page


def test_unredacted_report_still_shows_the_texts(tmp_path: Path) -> None:
    page = render_report(sensitive_run(), tmp_path / "report.html").read_text()
    assert "Jane Doe" in page
    assert "[redacted" not in page
    assert 'id="redacted"' not in page


@pytest.mark.parametrize("stored_flag", [True, False])
def test_redaction_follows_the_stored_settings(tmp_path: Path, stored_flag: bool) -> None:
    """``harness report`` re-renders from DuckDB alone: the run's settings decide."""
    stored = sensitive_run()
    stored = replace(
        stored, run={**stored.run, "settings_json": json.dumps({"redact": stored_flag})}
    )
    page = render_report(stored, tmp_path / "report.html").read_text()
    assert ("Jane Doe" not in page) is stored_flag
    forced = render_report(stored, tmp_path / "forced.html", redact=True).read_text()
    assert "Jane Doe" not in forced


def test_summary_markdown_never_holds_case_text(tmp_path: Path) -> None:
    stored = sensitive_run()
    for redact in (False, True):
        text = render_markdown(stored, redact=redact)
        for secret in texts_of(stored):
            assert secret not in text
        assert ("redacted" in text) is redact
    path = write_markdown_summary(stored, tmp_path / "summary.md", redact=True)
    assert "Case texts are redacted" in path.read_text()


def test_redact_error_keeps_kind_and_attempts() -> None:
    assert redact_error("InternalServerError (HTTP 500): boom (after 3 attempts)") == (
        f"InternalServerError (HTTP 500): {placeholder('boom')} (after 3 attempts)"
    )
    assert redact_error("no kind here").startswith("[redacted: 12 chars")


def test_redact_is_a_setting() -> None:
    settings = parse_settings(
        {"baseline": "sim:frontier", "redact": True}, root=Path("/p"), source="pyproject.toml"
    )
    assert settings.redact is True
    default = parse_settings({"baseline": "sim:frontier"}, root=Path("/p"), source="x")
    assert default.redact is False
