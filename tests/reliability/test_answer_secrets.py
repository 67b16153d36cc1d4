"""A key inside a normal answer is redacted before anything keeps or shows it.

A provider (or a proxy) answering 200 with the caller's key in the text must
not put the key into DuckDB, the journal, goldens, the report or the summary;
and an answer full of terminal escape sequences must print as visible text,
not act on the terminal (set the window title, clear the screen, fake a verdict).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from harness.cli import main
from harness.engine.executor import Executor
from harness.plugin.items import shorten, visible
from harness.providers.redact import REDACTED, configured_keys, redact_answer
from harness.types import Message, Request, Response
from tests.fakes import PLANTED_KEY, FakeLLMServer, Reply
from tests.helpers import MINI_CASES, set_pyproject

TEAM_VALUE = "PLANTEDteamvalue4f9c1e"
"""The key in the variable ``api_key_env`` names (not key-shaped: found by value)."""
OPENAI_VALUE = "PLANTEDopenaivalue77ab"
ANTHROPIC_VALUE = "PLANTEDanthropicvalue31"
SHAPED = PLANTED_KEY
"""Configured nowhere: found by its shape (``sk-...``)."""
NEEDLES = (TEAM_VALUE, OPENAI_VALUE, ANTHROPIC_VALUE, SHAPED, "PLANTED")
HOSTILE = "\x1b]0;pwned\x07\x1b[2J\rall gates PASS\x1b[0m"

PROJECT = """\
[tool.cost-eval]
baseline = "openai:gpt-4o"
volume = "10k/day"

[tool.cost-eval.providers.openai]
base_url = "{base_url}"
api_key_env = "TEAM_OPENAI_KEY"
max_retries = 0

[[tool.cost-eval.configs]]
name = "mini"
model = "openai:gpt-4o-mini"
enforce = true
"""


def answer_with_keys(body: Any) -> Reply:
    """The baseline answers right but leaks every key; the mini model answers with
    escape sequences (and one key), wrong, so its gate fails and shows them."""
    prompt = body["messages"][-1]["content"]
    expected = next(e for _, p, e, _ in MINI_CASES if p in prompt)
    if body["model"] == "gpt-4o":
        text = (
            f"The answer is {expected}. debug: team={TEAM_VALUE} env={OPENAI_VALUE} "
            f"other={ANTHROPIC_VALUE} shaped={SHAPED}"
        )
    else:
        text = f"{HOSTILE} key {TEAM_VALUE}"
    message = {"role": "assistant", "content": text, "refusal": None}
    return Reply(patch={"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})


def leaks(data: str | bytes) -> list[str]:
    raw = data.encode() if isinstance(data, str) else data
    return [needle for needle in NEEDLES if needle.encode() in raw]


def test_keys_in_answers_are_stored_nowhere_and_escapes_print_visibly(
    mini_project: pytest.Pytester,
    fake_llm: FakeLLMServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TEAM_OPENAI_KEY", TEAM_VALUE)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_VALUE)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_VALUE)
    monkeypatch.delenv("CI", raising=False)
    set_pyproject(mini_project, PROJECT.format(base_url=fake_llm.openai_base_url))
    fake_llm.respond("chat.completions", answer_with_keys)

    result = mini_project.runpytest(
        "--cost-eval",
        "--cost-eval-update-goldens",
        "-p",
        "no:cacheprovider",
        "--junitxml=results/junit.xml",
        "-rA",
    )
    out = result.stdout.str() + result.stderr.str()
    result.assert_outcomes(failed=1)
    assert fake_llm.seen_secret(TEAM_VALUE)  # the key really was sent, and echoed back
    assert not leaks(out), f"pytest output leaks {leaks(out)}"
    # The hostile answer shows in the failure text, escaped: nothing for a terminal to run.
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out
    assert "\\x1b]0;pwned\\x07\\x1b[2J all gates PASS" in out
    # 10 baseline answers with 4 keys each, 10 mini answers with 1.
    assert "redacted 50 API key(s) found in answers" in out

    root = Path(mini_project.path)
    with duckdb.connect(str(root / "results" / "cost_eval.duckdb"), read_only=True) as con:
        stored = [t for (t,) in con.execute("SELECT response FROM responses").fetchall()]
        outputs = [o for (o,) in con.execute("SELECT output FROM results").fetchall()]
        counted = con.execute("SELECT redacted FROM runs").fetchall()
    assert len(stored) == 20 and all(REDACTED in t for t in stored)
    # The count is kept with the run, and `harness summary --json` says it.
    assert counted == [(50,)]
    capsys.readouterr()
    assert main(["summary", "--json", "--db", str(root / "results" / "cost_eval.duckdb")]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines and all(line["redacted"] == 50 for line in lines)
    assert all(REDACTED in o for o in outputs if o)
    written = [p for p in root.rglob("*") if p.is_file() and p.name != "pyproject.toml"]
    names = {p.name for p in written}
    assert {"cost_eval.duckdb", "report.html", "summary.md", "junit.xml"} <= names
    assert any(p.suffix == ".jsonl" and "goldens" in p.parts for p in written)
    for path in written:
        assert not leaks(path.read_bytes()), f"{path} leaks {leaks(path.read_bytes())}"


class LeakyProvider:
    """A provider whose answers hold a key (as a proxy might echo one)."""

    remote = True

    async def complete(self, request: Request) -> Response:
        return Response(text=f"4, and your key is {TEAM_VALUE}", model=request.model)


def test_the_journal_and_records_get_the_redacted_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEAM_OPENAI_KEY", TEAM_VALUE)
    journaled: list[str] = []
    old = Response(text=f"recorded before the fix: {SHAPED}", model="openai:gpt-4o")
    request = Request(model="openai:gpt-4o", messages=(Message(role="user", content="2+2?"),))
    other = Request(model="openai:gpt-4o", messages=(Message(role="user", content="1+1?"),))
    executor = Executor(
        {other.hash(): old},
        provider_factory=lambda prefix: LeakyProvider(),  # type: ignore[arg-type,return-value]
        provider_options={"openai": {"api_key_env": "TEAM_OPENAI_KEY"}},
        on_response=lambda key, req, resp: journaled.append(resp.text),
    )

    async def go() -> tuple[Response, Response]:
        return await executor.send(request), await executor.send(other)

    fresh, recorded = asyncio.run(go())
    assert fresh.text == f"4, and your key is {REDACTED}"
    assert journaled == [fresh.text]
    assert executor.new_responses[request.hash()][1].text == fresh.text
    assert recorded.text == f"recorded before the fix: {REDACTED}"
    assert executor.redactor.count == 2


def test_answer_shapes_and_configured_keys() -> None:
    keys = configured_keys(
        {"openai": {"api_key_env": "TEAM"}, "anthropic": {"api_key": "literal-key-123"}},
        environ={"TEAM": TEAM_VALUE, "OPENAI_API_KEY": OPENAI_VALUE, "X": "unrelated"},
    )
    assert set(keys) == {TEAM_VALUE, OPENAI_VALUE, "literal-key-123"}
    for key in (
        "sk-proj-abcDEF123456ghiJKL789",
        "sk-ant-api03-Zx9_aaaaaaaaaaaaaaaa",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + "a1" * 18,
    ):
        assert redact_answer(f"use {key} here", ()) == (f"use {REDACTED} here", 1)
    # Ordinary prose about keys is not a key.
    prose = "Install sk-learn-compatible tools; send Authorization: Bearer <token>."
    assert redact_answer(prose, ()) == (prose, 0)


def test_terminal_text_makes_control_characters_visible() -> None:
    assert visible("a\x1b[2Jb\u202ec\nd\te") == "a\\x1b[2Jb\\u202ec\nd\te"
    assert shorten(f"answer {HOSTILE}") == (
        "answer \\x1b]0;pwned\\x07\\x1b[2J all gates PASS\\x1b[0m"
    )
