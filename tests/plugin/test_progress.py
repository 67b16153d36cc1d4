"""Live progress of `pytest --cost-eval` while pytest captures output (no `-s`).

A slow fake provider (real SDK, real HTTP) keeps the run going long enough for
several progress lines; they must reach the terminal during the run, before the
verdicts, and a final line must give the run's totals.
"""

from __future__ import annotations

import re

import pytest

from tests.fakes.llm_server import PLANTED_KEY, FakeLLMServer
from tests.helpers import set_pyproject

SLOW_PROJECT = """\
[tool.pytest.ini_options]
cost_eval_progress_interval = "0.25"

[tool.cost-eval]
baseline = "openai:gpt-4o"
volume = "10k/day"

[tool.cost-eval.providers.openai]
base_url = "{openai}"
max_concurrency = 2

[[tool.cost-eval.configs]]
name = "mini"
model = "openai:gpt-4o-mini"
"""

PROGRESS = re.compile(
    r"^cost-eval: (\d+)/(\d+) cases, \d+ calls in flight, .*\$[\d.]+ spent on paid calls"
    r"(, [\d.]+ cases/s, about \d+ (s|min) left)?$"
)


@pytest.fixture
def slow_project(
    mini_project: pytest.Pytester, fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    set_pyproject(mini_project, SLOW_PROJECT.format(openai=fake_llm.openai_base_url))
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    monkeypatch.delenv("CI", raising=False)
    fake_llm.latency_ms = 150  # 20 requests, 2 at a time: about 1.5 s
    return mini_project


def test_progress_lines_reach_the_terminal_while_output_is_captured(
    slow_project: pytest.Pytester,
) -> None:
    result = slow_project.runpytest_subprocess(
        "--cost-eval", "--cost-eval-update-goldens", "-p", "no:randomly"
    )
    result.assert_outcomes(passed=1)
    lines = result.outlines
    progress = [i for i, line in enumerate(lines) if PROGRESS.match(line)]
    assert len(progress) >= 2, "\n".join(lines)
    # Written during the run: before the verdicts of the terminal summary.
    section = next(i for i, line in enumerate(lines) if "cost-eval" in line and "====" in line)
    assert progress[-1] < section
    # Counts move forward and a rate with an ETA appears once a case is done.
    done = [int(PROGRESS.match(lines[i]).group(1)) for i in progress]  # type: ignore[union-attr]
    assert done == sorted(done) and done[-1] > 0
    assert any("cases/s, about" in lines[i] for i in progress)
    # The run's totals as the last progress line, also before the summary.
    final = [i for i, line in enumerate(lines) if line.startswith("cost-eval: done: ")]
    assert len(final) == 1 and final[0] < section, "\n".join(lines)
    assert re.search(
        r"10 case result\(s\) over 1 .*20 provider call\(s\), 20 paid", lines[final[0]]
    )


def test_progress_is_kept_with_q_and_silenced_with_qq(slow_project: pytest.Pytester) -> None:
    quiet = slow_project.runpytest_subprocess(
        "--cost-eval", "--cost-eval-update-goldens", "-p", "no:randomly", "-q"
    )
    assert any(line.startswith("cost-eval: done: ") for line in quiet.outlines)
    # Re-recorded, so the run is as slow as the first and progress would be due.
    quieter = slow_project.runpytest_subprocess(
        "--cost-eval", "--cost-eval-record-mode", "all", "-p", "no:randomly", "-qq"
    )
    assert quieter.ret == 0
    assert "FLAGGED" in quieter.stdout.str()  # the verdicts are still printed
    assert not any(line.startswith("cost-eval: ") for line in quieter.outlines)
