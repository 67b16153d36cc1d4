"""Fakes for tests: a local OpenAI + Anthropic HTTP server the real SDKs talk to."""

from __future__ import annotations

from .llm_server import EMPTY_CHOICES, MALFORMED_JSON, FakeLLMServer, Reply, Stats

__all__ = ["EMPTY_CHOICES", "MALFORMED_JSON", "FakeLLMServer", "Reply", "Stats"]
