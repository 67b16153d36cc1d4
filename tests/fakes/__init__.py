"""Fakes for tests: a local OpenAI + Anthropic HTTP server the real SDKs talk to."""

from __future__ import annotations

from .llm_server import (
    BATCH_ITEM,
    CONNECTION_RESET,
    EMPTY_CHOICES,
    MALFORMED_JSON,
    PLANTED_KEY,
    TRUNCATED_BODY,
    TRUNCATED_JSON,
    FakeLLMServer,
    Reply,
    Stats,
)

__all__ = [
    "BATCH_ITEM",
    "CONNECTION_RESET",
    "EMPTY_CHOICES",
    "MALFORMED_JSON",
    "PLANTED_KEY",
    "TRUNCATED_BODY",
    "TRUNCATED_JSON",
    "FakeLLMServer",
    "Reply",
    "Stats",
]
