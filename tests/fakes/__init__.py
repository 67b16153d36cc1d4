"""Fakes for tests: a local OpenAI + Anthropic HTTP server the real SDKs talk to."""

from __future__ import annotations

from .llm_server import (
    BATCH_ITEM,
    EMPTY_CHOICES,
    MALFORMED_JSON,
    PLANTED_KEY,
    FakeLLMServer,
    Reply,
    Stats,
)

__all__ = [
    "BATCH_ITEM",
    "EMPTY_CHOICES",
    "MALFORMED_JSON",
    "PLANTED_KEY",
    "FakeLLMServer",
    "Reply",
    "Stats",
]
