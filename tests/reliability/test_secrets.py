"""API keys and authorization headers never leave the request that carries them.

A key is planted three ways (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY`` and a
literal ``api_key`` in ``[tool.cost-eval.providers.openai]``), whole runs go
against the fake server with failures whose bodies echo the key back (a 401,
a 500, a broken 200), and then everything the runs wrote is searched: the
DuckDB file's bytes, goldens, the report, the summary, the JUnit XML, any
journal, pytest's output and logs at DEBUG level, and the errors raised.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import duckdb
import pytest

from harness.config.settings import parse_settings
from harness.errors import ConfigError, CostEvalError, ProviderError
from harness.providers import make_provider
from harness.types import Message, Request
from tests.fakes import PLANTED_KEY, FakeLLMServer, Reply
from tests.helpers import set_pyproject

OPTIONS_KEY = PLANTED_KEY + "-options"
OPENAI_ENV_KEY = PLANTED_KEY + "-openai-env"
ANTHROPIC_ENV_KEY = PLANTED_KEY + "-anthropic-env"
NEEDLES = ("sk-test-PLANTED", "Bearer ")
"""What must appear in nothing written: every planted key shares the prefix."""

PROJECT = """\
[tool.cost-eval]
baseline = "openai:gpt-4o"
volume = "10k/day"

[tool.cost-eval.providers.openai]
base_url = "{openai}"
api_key = "{key}"
max_retries = 0
max_concurrency = 1

[tool.cost-eval.providers.anthropic]
base_url = "{anthropic}"

[[tool.cost-eval.configs]]
name = "mini"
model = "openai:gpt-4o-mini"
enforce = true

[[tool.cost-eval.configs]]
name = "haiku-batch"
model = "anthropic:claude-3-5-haiku-latest"
batch = true
"""

ECHOES = [
    Reply(401, message=f"Incorrect API key provided: {OPTIONS_KEY}."),
    Reply(500, body=f"<html>upstream said Authorization: Bearer {OPTIONS_KEY}</html>"),
    Reply(200, body=f'{{"id": "{OPTIONS_KEY}", "choices": ['),
]
"""Failures whose bodies echo the key, as a misbehaving proxy or API might."""


def leaks(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [needle for needle in NEEDLES if needle.encode() in data]


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    result = pytester.runpytest(
        "--cost-eval",
        "-p",
        "no:cacheprovider",
        "--junitxml=results/junit.xml",
        "--log-level=DEBUG",
        "-rA",
        *args,
    )
    for stream in (result.stdout.str(), result.stderr.str()):
        assert not leaks(stream), f"pytest output leaks {leaks(stream)}"
    return result


def test_planted_keys_are_written_nowhere(
    mini_project: pytest.Pytester, fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_ENV_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_ENV_KEY)
    monkeypatch.delenv("CI", raising=False)
    set_pyproject(
        mini_project,
        PROJECT.format(
            openai=fake_llm.openai_base_url, anthropic=fake_llm.anthropic_base_url, key=OPTIONS_KEY
        ),
    )
    # Run 1: one golden fails (a suite problem that quotes the error), the rest record.
    fake_llm.script("chat.completions", ECHOES[0])
    first = run(mini_project, "--cost-eval-update-goldens")
    assert "could not be recorded" in first.stdout.str()
    # Run 2: the missing golden records, then three cases of "mini" fail.
    fake_llm.script("chat.completions", Reply(), *ECHOES)
    second = run(mini_project, "--cost-eval-update-goldens")
    second.assert_outcomes(failed=1, passed=1)
    assert "errored" in second.stdout.str()

    # The keys really were sent, each where it belongs.
    assert f"Bearer {OPTIONS_KEY}" in fake_llm.stats.authorization
    assert fake_llm.seen_secret(ANTHROPIC_ENV_KEY)
    root = Path(mini_project.path)
    db = root / "results" / "cost_eval.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        errors = [
            e
            for (e,) in con.execute("SELECT error FROM results WHERE error IS NOT NULL").fetchall()
        ]
        settings_json = [s for (s,) in con.execute("SELECT settings_json FROM runs").fetchall()]
    assert len(errors) == len(ECHOES)
    assert any("[REDACTED]" in e for e in errors)  # the 401's message echoed the key
    # Provider options (base URLs, keys, limits) are not run settings: never stored.
    assert not any("providers" in s or "api_key" in s for s in settings_json)

    written = sorted(p for p in root.rglob("*") if p.is_file())
    names = {p.name for p in written}
    assert {"cost_eval.duckdb", "report.html", "summary.md", "junit.xml"} <= names
    assert any(p.suffix == ".jsonl" and "goldens" in p.parts for p in written)
    for path in written:
        if path.name == "pyproject.toml":
            continue  # where the test itself wrote the key
        assert not leaks(path.read_bytes()), f"{path} leaks {leaks(path.read_bytes())}"


def complete(provider: object, request: Request) -> str | None:
    async def go() -> str | None:
        try:
            response = await provider.complete(request)  # type: ignore[attr-defined]
        finally:
            await provider.aclose()  # type: ignore[attr-defined]
        return response.error  # type: ignore[no-any-return]

    return asyncio.run(go())


def ask() -> Request:
    return Request(model="openai:gpt-4o", messages=(Message(role="user", content="Hi."),))


def test_api_key_env_names_the_variable_holding_the_key(
    fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAM_OPENAI_KEY", OPTIONS_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_ENV_KEY)
    provider = make_provider(
        "openai",
        lookup=lambda key: None,
        options={"base_url": fake_llm.openai_base_url, "api_key_env": "TEAM_OPENAI_KEY"},
    )
    assert complete(provider, ask()) is None
    assert fake_llm.stats.authorization == [f"Bearer {OPTIONS_KEY}"]


def test_api_key_env_errors_never_echo_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEAM_OPENAI_KEY", raising=False)
    options = {"base_url": "http://127.0.0.1:9/v1"}
    with pytest.raises(ProviderError, match="'TEAM_OPENAI_KEY', which is not set"):
        make_provider(
            "openai", lookup=lambda k: None, options={**options, "api_key_env": "TEAM_OPENAI_KEY"}
        )
    # The key pasted where the variable's name goes: refused, and not repeated.
    with pytest.raises(ProviderError) as raised:
        make_provider(
            "openai", lookup=lambda k: None, options={**options, "api_key_env": OPTIONS_KEY}
        )
    assert not leaks(str(raised.value))
    for table, error in (
        ({"api_key_env": OPTIONS_KEY}, "not the key itself"),
        ({"api_key_env": "A", "api_key": OPTIONS_KEY}, "not both"),
        ({"api_key": [OPTIONS_KEY]}, "'api_key' must be a non-empty string"),
    ):
        with pytest.raises(ConfigError, match=error) as raised_config:
            parse_settings(
                {"baseline": "sim:frontier", "providers": {"openai": table}},
                root=Path("/p"),
                source="pyproject.toml",
            )
        assert not leaks(str(raised_config.value))


def test_api_key_in_the_file_is_discouraged() -> None:
    settings = parse_settings(
        {"baseline": "sim:frontier", "providers": {"openai": {"api_key": OPTIONS_KEY}}},
        root=Path("/p"),
        source="pyproject.toml",
    )
    [warning] = settings.warnings
    assert "api_key_env" in warning and not leaks(warning)
    clean = parse_settings(
        {"baseline": "sim:frontier", "providers": {"openai": {"api_key_env": "TEAM_KEY"}}},
        root=Path("/p"),
        source="pyproject.toml",
    )
    assert clean.warnings == ()


@pytest.mark.parametrize("family", ["openai", "anthropic"])
def test_provider_setup_and_call_errors_never_hold_the_key(
    family: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_ENV_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_ENV_KEY)
    base_url = "http://127.0.0.1:9" + ("/v1" if family == "openai" else "")
    provider = make_provider(
        family, lookup=lambda k: None, options={"base_url": base_url, "max_retries": 0}
    )
    assert not leaks(repr(provider))
    error = complete(provider, ask())  # connection refused
    assert error is not None and not leaks(error)
    with pytest.raises(CostEvalError) as raised:
        make_provider(family, lookup=lambda k: None, options={"timeout": -1})
    assert not leaks(str(raised.value))
