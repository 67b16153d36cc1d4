"""Deadlines: ``timeout`` bounds a whole call, from connecting to the last byte.

The SDKs' own timeout bounds each phase and each gap between bytes: a server
sending one byte a second never trips it (the call took ~250 s, then counted as
a success). Against such a server (``Reply(trickle_s=1)``), the call is now an
error row saying the deadline passed, after the SDK's retries.
"""

from __future__ import annotations

import time

import pytest

from harness.providers.sdk_http import DEADLINE_NOTE
from tests.fakes import FakeLLMServer, Reply
from tests.helpers import set_pyproject
from tests.reliability.test_faults import (
    CASES,
    ERROR_SHAPE,
    FAMILIES,
    ask,
    complete,
    fault_env,
    fault_project,
    latest_rows,
    run,
)

__all__ = ["fault_env"]  # the fixture, imported for usefixtures


@pytest.mark.parametrize("family", list(FAMILIES))
def test_a_trickling_answer_is_stopped_at_the_deadline(
    fake_llm: FakeLLMServer, family: str
) -> None:
    route, model = FAMILIES[family]
    fake_llm.script(route, Reply(trickle_s=0.5), Reply(trickle_s=0.5))
    started = time.monotonic()
    [response] = complete(fake_llm, family, [ask(model)], timeout=1.5, max_retries=1)
    elapsed = time.monotonic() - started
    # Two attempts of 1.5 s and the SDK's back-off; the body alone takes > 100 s.
    assert elapsed < 6, elapsed
    assert fake_llm.stats[route] == 2
    assert response.text == ""
    error = response.error
    assert error is not None and error.startswith("APITimeoutError")
    assert DEADLINE_NOTE in error and "timeout = 1.5 s" in error
    assert error.endswith("(after 2 attempts)")
    assert ERROR_SHAPE.match(error), error


@pytest.mark.usefixtures("fault_env")
def test_timeout_3_against_a_one_byte_a_second_server_is_an_error_row_within_10_s(
    mini_project: pytest.Pytester, fake_llm: FakeLLMServer
) -> None:
    root = fault_project(mini_project, fake_llm, retries=1, concurrency=1, enforce=False)
    pyproject = (root / "pyproject.toml").read_text()
    assert "timeout = 1.0" in pyproject
    set_pyproject(mini_project, pyproject.replace("timeout = 1.0", "timeout = 3"))
    # The first case's two attempts trickle; every other case is answered at once.
    fake_llm.script("chat.completions", Reply(trickle_s=1), Reply(trickle_s=1))
    started = time.monotonic()
    result = run(mini_project)
    elapsed = time.monotonic() - started
    assert elapsed < 10, elapsed
    assert "Traceback" not in result.stdout.str()
    assert fake_llm.stats["chat.completions"] == len(CASES) + 1
    rows = latest_rows(
        root,
        "SELECT error, score FROM results WHERE run_id = {run} AND config = 'mini' "
        "AND error IS NOT NULL",
    )
    assert len(rows) == 1, "the slow answer is an error row, never a success"
    [(error, score)] = rows
    assert score is None
    assert error.startswith("APITimeoutError") and DEADLINE_NOTE in error, error
    assert "timeout = 3 s" in error and error.endswith("(after 2 attempts)")
    [(answered,)] = latest_rows(
        root,
        "SELECT count(*) FROM results WHERE run_id = {run} AND config = 'mini' AND error IS NULL",
    )
    assert answered == len(CASES) - 1
