"""Offline token counting: quicktok-v1 when installed, ``ceil(chars / 4)`` otherwise."""

from __future__ import annotations

import importlib.util

import pytest

from harness import tokens
from harness.tokens import (
    CompressionStats,
    backend,
    count_message_tokens,
    count_tokens,
    measure_compression,
)
from harness.types import Message

HAS_QUICKTOK = (
    importlib.util.find_spec("quicktok") is not None and tokens._encoding("o200k_base") is not None
)


@pytest.mark.skipif(not HAS_QUICKTOK, reason="optional: quicktok-v1 is not installed")
def test_exact_counts_match_tiktoken_ids() -> None:
    # tiktoken: o200k "hello world" -> [24912, 2375]; cl100k -> [15339, 1917].
    assert count_tokens("hello world") == 2
    assert count_tokens("hello world", "cl100k_base") == 2
    assert count_tokens("") == 0
    # Special-token text is ordinary text, never an error.
    assert count_tokens("<|endoftext|>") > 1
    assert backend() == "quicktok:o200k_base"


def test_estimate_without_quicktok(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_encoding", lambda name: None)
    assert backend() == "chars/4"
    assert count_tokens("") == 0
    assert count_tokens("abcd") == 1
    assert count_tokens("abcde") == 2


def test_unknown_encoding() -> None:
    with pytest.raises(ValueError, match=r"unknown encoding 'p50k_base'"):
        count_tokens("x", "p50k_base")


def test_message_tokens_add_the_chat_framing() -> None:
    messages = (Message(role="system", content="Be brief."), Message(role="user", content="Hi?"))
    content = count_tokens("Be brief.") + count_tokens("Hi?")
    assert count_message_tokens(messages) == content + 2 * 3 + 3
    assert count_message_tokens(()) == 3


def test_measure_compression() -> None:
    long = (Message(role="user", content="word " * 100), Message(role="user", content="Q?"))
    stats = measure_compression(long, long[1:], requested_ratio=0.5)
    assert stats.after < stats.before and stats.ratio < 0.5
    assert stats.on_target is True and stats.saved == stats.before - stats.after
    assert CompressionStats(before=10, after=8, requested_ratio=0.5).on_target is False
    assert CompressionStats(before=0, after=0).ratio == 1.0
    assert CompressionStats(before=10, after=5).on_target is None
