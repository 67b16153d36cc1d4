"""Degraded cases in the report show the question: the prompt, and what was sent
before it (system prompt, context documents, earlier turns) folded in <details>.
Redaction hides them like outputs."""

from __future__ import annotations

import html
import re

import pytest

from tests.helpers import MINI_CASES, MINI_SUITE, PYPROJECT, set_pyproject

SYSTEM = "You are a careful calculator."
CONTEXT = "Arithmetic follows the usual precedence rules."
EARLIER = "Earlier I asked about sums."


def suite_with_preamble() -> str:
    """The mini suite, every case with a context document and an earlier turn."""
    lines = [MINI_SUITE.replace("cases:\n", f'system: "{SYSTEM}"\ncases:\n')]
    for case_id, prompt, expected, category in MINI_CASES:
        lines.append(
            f'  - {{id: {case_id}, prompt: "{prompt}", expected: "{expected}", '
            f'category: {category}, context: ["{CONTEXT}"], '
            f'history: [{{role: user, content: "{EARLIER}"}}, '
            f'{{role: assistant, content: "Noted."}}]}}\n'
        )
    return "".join(lines)


def cards(page: str) -> list[str]:
    """The degraded-case cards of a report page."""
    section = page[page.index('<section id="degraded">') :].split("</section>")[0]
    return re.findall(r'<article class="case">.*?</article>', section, flags=re.S)


@pytest.fixture
def project(mini_project: pytest.Pytester) -> pytest.Pytester:
    (mini_project.path / "suites" / "mini.yaml").write_text(suite_with_preamble())
    return mini_project


def test_a_degraded_case_shows_its_question_and_folds_what_came_before(
    project: pytest.Pytester,
) -> None:
    project.runpytest("--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider")
    page = (project.path / "results" / "report.html").read_text(encoding="utf-8")
    shown = cards(page)
    assert shown, "the small model should degrade some hard cases"
    prompts = {case_id: prompt for case_id, prompt, _expected, _category in MINI_CASES}
    for card in shown:
        case_id = re.search(r'<span class="id mono">([^<]+)</span>', card).group(1)  # type: ignore[union-attr]
        question = card[card.index('<div class="question">') :].split("</details>")[0]
        assert f'<div class="text">{html.escape(prompts[case_id])}</div>' in question
        folded = question[question.index("<details") :]
        assert f"system: {SYSTEM}" in folded
        assert f"[1] {CONTEXT}" in folded
        assert f"user: {EARLIER}" in folded and "assistant: Noted." in folded
    # Only flagged cases carry their question: the prompt of a case that was not
    # degraded appears nowhere on the page.
    flagged = {re.search(r'mono">([^<]+)<', c).group(1) for c in shown}  # type: ignore[union-attr]
    for case_id, prompt in prompts.items():
        if case_id not in flagged:
            assert html.escape(prompt) not in page, case_id


def test_a_redacted_report_hides_the_question(project: pytest.Pytester) -> None:
    set_pyproject(
        project,
        PYPROJECT.format(small_enforce="").replace(
            'volume = "10k/day"', 'volume = "10k/day"\nredact = true'
        ),
    )
    project.runpytest("--cost-eval", "--cost-eval-update-goldens", "-p", "no:cacheprovider")
    page = (project.path / "results" / "report.html").read_text(encoding="utf-8")
    shown = cards(page)
    assert shown
    for card in shown:
        question = card[card.index('<div class="question">') :].split("</details>")[0]
        assert question.count("[redacted: ") == 2  # the prompt and what came before it
    for _case_id, prompt, _expected, _category in MINI_CASES:
        assert html.escape(prompt) not in page
    assert SYSTEM not in page and CONTEXT not in page and EARLIER not in page
