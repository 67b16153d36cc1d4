"""Pytest fixtures for the fake LLM server (register with ``pytest_plugins``).

``fake_llm`` is one server per test session, reset before every test.
``fake_llm_env`` also points the SDKs' environment variables at it, with a
planted API key, for tests that build providers the way a user's run does.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .llm_server import PLANTED_KEY, FakeLLMServer


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLLMServer]:
    """The session's fake server (not reset: prefer ``fake_llm``)."""
    server = FakeLLMServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_llm(fake_llm_server: FakeLLMServer) -> Iterator[FakeLLMServer]:
    """The fake OpenAI + Anthropic server, with stats, scripts and options reset."""
    fake_llm_server.reset()
    yield fake_llm_server
    fake_llm_server.reset()


@pytest.fixture
def fake_llm_env(fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> FakeLLMServer:
    """``fake_llm`` with OPENAI_/ANTHROPIC_ BASE_URL and API_KEY pointing at it."""
    monkeypatch.setenv("OPENAI_BASE_URL", fake_llm.openai_base_url)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_llm.anthropic_base_url)
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", PLANTED_KEY)
    return fake_llm
