"""The fault matrix: every way a provider call can go wrong, through the real SDKs.

Each fault ends as a retried success or as an error row (kind, message,
attempts), never as an answer. First through the providers alone (OpenAI and
Anthropic, against the fake server over real HTTP), then through whole
``pytest --cost-eval`` runs: an error row is never scored as a wrong answer, a
configuration with more errors than ``max_error_share`` fails its gate saying
so, and the rerun pays only for the cases that errored.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest

from harness.config.suites import goldens_path, load_suite, write_goldens
from harness.providers import make_provider
from harness.providers.sim import FRONTIER, answer
from harness.types import Golden, Message, Request, Response, Usage
from tests.fakes import (
    CONNECTION_RESET,
    EMPTY_CHOICES,
    MALFORMED_JSON,
    PLANTED_KEY,
    TRUNCATED_BODY,
    TRUNCATED_JSON,
    FakeLLMServer,
    Reply,
)
from tests.helpers import LATEST_RUN, mini_suite_text, set_pyproject

FAMILIES = {
    "openai": ("chat.completions", "openai:gpt-4o"),
    "anthropic": ("messages", "anthropic:claude-sonnet-4-5"),
}
ERROR_SHAPE = re.compile(r"^[A-Z][A-Za-z]+( \(HTTP \d{3}\))?: .+ \(after \d+ attempts?\)$", re.S)
"""Every error row: ``<kind>: <message> (after N attempts)``."""

SLOW = 2000
"""Milliseconds a "timeout" reply waits: well past the short timeout its tests set."""


def retry(status: int, **extra: Any) -> Reply:
    """A retryable HTTP error asking for a 5 ms wait (the SDKs honour retry-after-ms)."""
    return Reply(status, retry_after_ms=5, **extra)


@dataclass(frozen=True)
class Fault:
    """One row of the matrix: what the server does, and how the call must end."""

    name: str
    replies: Callable[[str], list[Reply]]
    """The scripted replies, per provider family."""
    expect: str
    """``"ok"`` (a retried success) or the start of the error text."""
    attempts: int
    """HTTP requests the server must see (the attempts)."""
    options: Mapping[str, Any] = field(default_factory=dict)
    contains: str = ""
    families: tuple[str, ...] = ("openai", "anthropic")


def same(*replies: Reply) -> Callable[[str], list[Reply]]:
    return lambda family: list(replies)


def per_family(openai: list[Reply], anthropic: list[Reply]) -> Callable[[str], list[Reply]]:
    return lambda family: openai if family == "openai" else anthropic


MATRIX = [
    Fault("429 once, retry-after", same(retry(429)), "ok", 2),
    Fault("429 x3 within retries", same(*[retry(429)] * 3), "ok", 4, {"max_retries": 3}),
    Fault("429 beyond retries", same(*[retry(429)] * 3), "RateLimitError (HTTP 429)", 3),
    *[Fault(f"{s} once", same(retry(s)), "ok", 2) for s in (500, 502, 503, 529)],
    *[
        Fault(f"{s} beyond retries", same(*[retry(s)] * 3), "", 3, contains=f"(HTTP {s})")
        for s in (500, 502, 503, 529)
    ],
    Fault(
        "502 html from a proxy, once",
        same(retry(502, body="<html><h1>502 Bad Gateway</h1></html>")),
        "ok",
        2,
    ),
    Fault("timeout once", same(Reply(delay_ms=SLOW)), "ok", 2, {"timeout": 0.6}),
    Fault(
        "timeout beyond retries",
        same(*[Reply(delay_ms=SLOW)] * 2),
        "APITimeoutError",
        2,
        {"timeout": 0.6, "max_retries": 1},
    ),
    Fault("connection reset once", same(CONNECTION_RESET), "ok", 2),
    Fault(
        "connection reset beyond retries",
        same(*[CONNECTION_RESET] * 2),
        "APIConnectionError",
        2,
        {"max_retries": 1},
        contains="ReadError",
    ),
    Fault("body cut off once", same(TRUNCATED_BODY), "ok", 2),
    Fault(
        "body cut off beyond retries",
        same(*[TRUNCATED_BODY] * 2),
        "APIConnectionError",
        2,
        {"max_retries": 1},
    ),
    Fault("malformed JSON", same(MALFORMED_JSON), "InvalidResponse", 1),
    Fault("truncated JSON", same(TRUNCATED_JSON), "InvalidResponse", 1),
    Fault("JSON of another shape", same(Reply(body=[1, 2])), "InvalidResponse", 1),
    Fault(
        "malformed usage",
        per_family(
            [Reply(patch={"usage": {"prompt_tokens": -12}})],
            [Reply(patch={"usage": {"input_tokens": -3}})],
        ),
        "InvalidResponse",
        1,
        contains="usage",
    ),
    Fault(
        "empty choices / no content",
        per_family([EMPTY_CHOICES], [Reply(patch={"content": []})]),
        "EmptyResponse",
        1,
    ),
    Fault(
        "content filter",
        same(Reply(finish_reason="content_filter")),
        "ContentFilter",
        1,
        families=("openai",),
    ),
    Fault("refusal", same(Reply(finish_reason="refusal")), "Refusal", 1, families=("anthropic",)),
    Fault(
        "max tokens (length)",
        per_family([Reply(finish_reason="length")], [Reply(finish_reason="max_tokens")]),
        "Truncated",
        1,
    ),
    Fault("401 is not retried", same(Reply(401)), "AuthenticationError (HTTP 401)", 1),
]


def ask(model: str, index: int = 0) -> Request:
    return Request(
        model=model,
        messages=(Message(role="user", content=f"Compute {index} + 1."),),
        case_id=f"c-{index}",
    )


def complete(
    server: FakeLLMServer, family: str, requests: list[Request], **options: Any
) -> list[Response]:
    """Send ``requests`` at once through the provider a run would build."""
    base_url = server.openai_base_url if family == "openai" else server.anthropic_base_url
    options = {"base_url": base_url, "api_key": PLANTED_KEY, "timeout": 5.0, **options}
    provider = make_provider(family, lookup=lambda key: None, options=options)

    async def go() -> list[Response]:
        try:
            return list(await asyncio.gather(*(provider.complete(r) for r in requests)))
        finally:
            await provider.aclose()  # type: ignore[attr-defined]

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("fault", "family"),
    [pytest.param(f, fam, id=f"{fam}: {f.name}") for f in MATRIX for fam in f.families],
)
def test_fault_matrix(fake_llm: FakeLLMServer, fault: Fault, family: str) -> None:
    route, model = FAMILIES[family]
    fake_llm.script(route, *fault.replies(family))
    [response] = complete(fake_llm, family, [ask(model)], **fault.options)
    assert fake_llm.stats[route] == fault.attempts
    assert fake_llm.pending(route) == 0
    if fault.expect == "ok":
        assert response.error is None
        assert response.text == answer(FRONTIER, ask(model).messages)
        return
    error = response.error
    assert error is not None, "a failed call must be an error row"
    assert response.text == "", "an error row carries no answer to score"
    assert error.startswith(fault.expect)
    assert fault.contains in error
    plural = "attempt" if fault.attempts == 1 else "attempts"
    assert error.endswith(f"(after {fault.attempts} {plural})")
    assert ERROR_SHAPE.match(error), error
    assert PLANTED_KEY not in error


@pytest.mark.parametrize("family", ["openai", "anthropic"])
def test_429_storm_every_request_retried_to_success(fake_llm: FakeLLMServer, family: str) -> None:
    """Ten requests in flight, and the first attempt of each is rate-limited."""
    route, model = FAMILIES[family]
    fake_llm.script(route, *[retry(429)] * 10)
    requests = [ask(model, i) for i in range(10)]
    responses = complete(fake_llm, family, requests, max_retries=10, max_concurrency=10)
    assert [r.error for r in responses] == [None] * 10
    assert [r.text for r in responses] == [answer(FRONTIER, r.messages) for r in requests]
    assert fake_llm.stats[route] == 20


@pytest.mark.parametrize("family", ["openai", "anthropic"])
def test_retry_after_seconds_is_honoured(fake_llm: FakeLLMServer, family: str) -> None:
    route, model = FAMILIES[family]
    fake_llm.script(route, Reply(429, retry_after=1))
    [response] = complete(fake_llm, family, [ask(model)])
    assert response.error is None
    assert response.latency_ms >= 1000
    assert fake_llm.stats[route] == 2


@pytest.mark.parametrize("family", ["openai", "anthropic"])
def test_unencodable_answer_text_is_repaired(fake_llm: FakeLLMServer, family: str) -> None:
    """Half a surrogate pair (valid JSON, not UTF-8) would fail goldens, journal and DuckDB."""
    route, model = FAMILIES[family]
    text = "It is 4 \ud800."
    if family == "openai":
        message = {"role": "assistant", "content": text, "refusal": None}
        patch: dict[str, Any] = {
            "choices": [{"index": 0, "finish_reason": "stop", "message": message}]
        }
    else:
        patch = {"content": [{"type": "text", "text": text}]}
    fake_llm.script(route, Reply(patch=patch))
    [response] = complete(fake_llm, family, [ask(model)])
    assert response.error is None
    assert response.text == "It is 4 \ufffd."
    response.text.encode("utf-8")


def test_truncated_answer_keeps_its_cost(fake_llm: FakeLLMServer) -> None:
    """A call cut at max_tokens was paid for: the error row carries its usage."""
    fake_llm.script("chat.completions", Reply(finish_reason="length"))
    [response] = complete(fake_llm, "openai", [ask("openai:gpt-4o")])
    assert response.error is not None and response.error.startswith("Truncated")
    assert response.usage.output_tokens > 0
    assert response.usage.input_tokens > 0


# --------------------------------------------------------------------------- whole runs

BASELINE = "openai:gpt-4o"
CASES = [(f"f-{i:02d}", f"Compute {i} + {i + 1}.", str(2 * i + 1), "easy") for i in range(16)]
PROJECT = """\
[tool.cost-eval]
baseline = "{baseline}"
volume = "10k/day"

[tool.cost-eval.providers.openai]
base_url = "{base_url}"
max_retries = {retries}
max_concurrency = {concurrency}
timeout = 1.0

[[tool.cost-eval.configs]]
name = "mini"
model = "openai:gpt-4o-mini"
enforce = {enforce}
"""


def fault_project(
    pytester: pytest.Pytester,
    server: FakeLLMServer,
    *,
    retries: int,
    concurrency: int,
    enforce: bool,
) -> Path:
    """A project on the fake server whose baseline goldens are already recorded."""
    set_pyproject(
        pytester,
        PROJECT.format(
            baseline=BASELINE,
            base_url=server.openai_base_url,
            retries=retries,
            concurrency=concurrency,
            enforce=str(enforce).lower(),
        ),
    )
    root = pytester.path
    (root / "suites" / "mini.yaml").write_text(mini_suite_text(CASES))
    # The goldens are what the fake answers for gpt-4o (the simulated frontier
    # model): the runs below call only the configuration's model.
    suite = load_suite(root / "suites" / "mini.yaml")
    goldens = []
    for case in suite.cases:
        request = suite.request(case, BASELINE)
        goldens.append(
            Golden(
                case_id=case.id,
                model=BASELINE,
                request_hash=request.hash(),
                text=answer(FRONTIER, request.messages),
                usage=Usage(input_tokens=12, output_tokens=20),
                latency_ms=1.0,
                recorded_at="2026-01-01T00:00:00+00:00",
            )
        )
    write_goldens(goldens_path(root / "goldens", suite.name, BASELINE), goldens)
    return root


@pytest.fixture
def fault_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def latest_rows(root: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (with ``{run}`` standing for the latest run id)."""
    with duckdb.connect(str(root / "results" / "cost_eval.duckdb"), read_only=True) as con:
        return con.execute(sql.format(run=LATEST_RUN)).fetchall()


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("--cost-eval", "-p", "no:cacheprovider", *args)


TRANSIENT = [
    # No retry-after on these three: the SDK backs off about half a second, so
    # they go first, to the first attempts of requests sent side by side.
    CONNECTION_RESET,
    TRUNCATED_BODY,
    Reply(delay_ms=2500),  # past the 1 s timeout
    *[retry(429)] * 4,
    retry(500),
    retry(502, body="<html>Bad gateway</html>"),
    retry(503),
    retry(529),
]


@pytest.mark.usefixtures("fault_env")
def test_run_retries_transient_faults_and_loses_nothing(
    mini_project: pytest.Pytester, fake_llm: FakeLLMServer
) -> None:
    root = fault_project(
        mini_project, fake_llm, retries=len(TRANSIENT), concurrency=4, enforce=False
    )
    fake_llm.script("chat.completions", *TRANSIENT)
    result = run(mini_project)
    result.assert_outcomes(passed=1)
    assert fake_llm.pending("chat.completions") == 0
    # One request per case, plus one retry per fault.
    assert fake_llm.stats["chat.completions"] == len(CASES) + len(TRANSIENT)
    result.stdout.fnmatch_lines([f"*; {len(CASES)} provider call(s), {len(CASES)} of them*"])
    rows = latest_rows(
        root, "SELECT error, score FROM results WHERE run_id = {run} AND config = 'mini'"
    )
    assert len(rows) == len(CASES)
    assert all(error is None and score is not None for error, score in rows)
    [(n, errors)] = latest_rows(root, "SELECT n, errors FROM summaries WHERE run_id = {run}")
    assert (n, errors) == (len(CASES), 0)


# Served one request at a time (max_concurrency = 1, max_retries = 1): each
# fault below meets one case, whatever the order the cases are sent in.
FATAL: list[tuple[list[Reply], str, int]] = [
    ([retry(429)] * 2, "RateLimitError (HTTP 429)", 2),
    ([retry(500)] * 2, "InternalServerError (HTTP 500)", 2),
    ([retry(502)] * 2, "InternalServerError (HTTP 502)", 2),
    ([retry(503)] * 2, "InternalServerError (HTTP 503)", 2),
    ([retry(529)] * 2, "InternalServerError (HTTP 529)", 2),
    ([Reply(delay_ms=2500)] * 2, "APITimeoutError", 2),
    ([CONNECTION_RESET] * 2, "APIConnectionError", 2),
    ([TRUNCATED_BODY] * 2, "APIConnectionError", 2),
    ([MALFORMED_JSON], "InvalidResponse", 1),
    ([TRUNCATED_JSON], "InvalidResponse", 1),
    ([EMPTY_CHOICES], "EmptyResponse", 1),
    ([Reply(finish_reason="content_filter")], "ContentFilter", 1),
    ([Reply(finish_reason="length")], "Truncated", 1),
]


def kind_of(error: str) -> str:
    """``"InternalServerError (HTTP 500): ... (after 2 attempts)"`` -> the part before ':'."""
    return error.split(": ", 1)[0]


@pytest.mark.usefixtures("fault_env")
def test_run_records_failed_calls_as_error_rows_and_fails_the_gate(
    mini_project: pytest.Pytester, fake_llm: FakeLLMServer
) -> None:
    root = fault_project(mini_project, fake_llm, retries=1, concurrency=1, enforce=True)
    for replies, _, _ in FATAL:
        fake_llm.script("chat.completions", *replies)
    result = run(mini_project)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    errored = len(FATAL)
    assert f"{errored} of {len(CASES)} cases errored" in out
    assert "above the 2% limit" in out
    assert "Traceback" not in out
    assert fake_llm.pending("chat.completions") == 0
    clean = len(CASES) - errored
    assert fake_llm.stats["chat.completions"] == sum(a for _, _, a in FATAL) + clean

    rows = latest_rows(
        root,
        "SELECT case_id, error, score, delta, flagged, cost_usd FROM results "
        "WHERE run_id = {run} AND config = 'mini'",
    )
    failed = [r for r in rows if r[1] is not None]
    answered = [r for r in rows if r[1] is None]
    # An error is never scored (not even as 0): no score, no delta, never "degraded".
    assert all(
        score is None and delta is None and not flagged for _, _, score, delta, flagged, _ in failed
    )
    assert all(score is not None for _, _, score, _, _, _ in answered)
    assert len(answered) == clean
    for _, error, *_ in failed:
        assert ERROR_SHAPE.match(error), error
        assert PLANTED_KEY not in error
    assert Counter(kind_of(r[1]) for r in failed) == Counter(kind for _, kind, _ in FATAL)
    attempts = Counter(int(re.search(r"after (\d+) attempt", r[1]).group(1)) for r in failed)  # type: ignore[union-attr]
    assert attempts == Counter(a for _, _, a in FATAL)
    truncated = [r for r in failed if r[1].startswith("Truncated")]
    assert truncated and truncated[0][5] > 0, "the cut-off answer was paid for: its cost counts"

    [(n, errors, verdict, reasons)] = latest_rows(
        root, "SELECT n, errors, verdict, reasons_json FROM summaries WHERE run_id = {run}"
    )
    assert (n, errors, verdict) == (clean, errored, "fail")
    assert f"{errored} of {len(CASES)} cases errored" in reasons

    # The rerun pays only for what errored: answers are stored, errors never are.
    fake_llm.reset()
    rerun = run(mini_project)
    assert fake_llm.stats["chat.completions"] == errored
    assert "errored" not in rerun.stdout.str()
    rows = latest_rows(root, "SELECT count(*) FROM results WHERE run_id = {run} AND error IS NULL")
    assert rows == [(len(CASES),)]
