"""The openai embedder, through the real SDK over HTTP to the fake server."""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from harness.embedders import build_embedder
from harness.embedders.base import Embedder
from harness.embedders.openai import OpenAIEmbedder
from harness.errors import MissingDependency, ProviderError
from tests.fakes import PLANTED_KEY, FakeLLMServer, Reply
from tests.fakes.llm_server import hashed_embedding

pytest_plugins = ["tests.fakes.fixtures"]


def embedder(fake: FakeLLMServer, **options: Any) -> OpenAIEmbedder:
    return OpenAIEmbedder(base_url=fake.openai_base_url, api_key=PLANTED_KEY, **options)


def embed(e: OpenAIEmbedder, texts: Sequence[str]) -> npt.NDArray[np.float32]:
    async def go() -> npt.NDArray[np.float32]:
        try:
            return await e.embed(texts)
        finally:
            await e.aclose()

    return asyncio.run(go())


def test_is_an_embedder(fake_llm: FakeLLMServer) -> None:
    e = embedder(fake_llm)
    assert isinstance(e, Embedder)
    assert e.name == "openai:text-embedding-3-small"


def test_vectors_are_unit_float32_rows_in_order(fake_llm: FakeLLMServer) -> None:
    texts = ["How long do refunds take?", "refunds take: how long do", "Ship to Canada?"]
    vectors = embed(embedder(fake_llm), texts)
    assert vectors.dtype == np.float32
    assert vectors.shape == (3, 64)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    for text, row in zip(texts, vectors, strict=True):
        assert np.allclose(row, hashed_embedding(text), atol=1e-6)
    # Same bag of words, same vector; different words, a different one.
    assert float(vectors[0] @ vectors[1]) == pytest.approx(1.0, abs=1e-6)
    assert float(vectors[0] @ vectors[2]) < 0.9
    body = fake_llm.stats.bodies["embeddings"][0]
    assert body["model"] == "text-embedding-3-small"
    assert body["encoding_format"] == "base64"  # the SDK's default, decoded by it


def test_batches_of_256_and_usage_tokens(fake_llm: FakeLLMServer) -> None:
    texts = [f"question number {i} about returns" for i in range(600)]
    e = embedder(fake_llm)
    vectors = embed(e, texts)
    assert vectors.shape == (600, 64)
    assert fake_llm.stats["embeddings"] == 3
    sizes = sorted(len(b["input"]) for b in fake_llm.stats.bodies["embeddings"])
    assert sizes == [88, 256, 256]
    assert e.usage_tokens == sum(math.ceil(len(t) / 4) for t in texts)
    assert e.requests == 3
    assert np.allclose(vectors[599], hashed_embedding(texts[599]), atol=1e-6)


def test_empty_input_and_empty_strings(fake_llm: FakeLLMServer) -> None:
    e = embedder(fake_llm)
    assert embed(e, []).shape == (0, 1536)  # known size of the model, before any call
    vectors = embed(e, ["", "hello"])
    assert vectors.shape == (2, 64)
    assert embed(e, []).shape == (0, 64)  # the size seen since
    assert fake_llm.stats.bodies["embeddings"][0]["input"] == [" ", "hello"]


def test_dimensions_are_sent(fake_llm: FakeLLMServer) -> None:
    vectors = embed(embedder(fake_llm, dimensions=32), ["a b c"])
    assert vectors.shape == (1, 32)
    assert fake_llm.stats.bodies["embeddings"][0]["dimensions"] == 32


def test_retry_then_success(fake_llm: FakeLLMServer) -> None:
    fake_llm.script("embeddings", Reply(429, retry_after_ms=1))
    vectors = embed(embedder(fake_llm), ["hello"])
    assert vectors.shape == (1, 64)
    assert fake_llm.stats["embeddings"] == 2


def test_failure_raises_a_redacted_provider_error(fake_llm: FakeLLMServer) -> None:
    fake_llm.script("embeddings", Reply(401, message=f"Incorrect API key provided: {PLANTED_KEY}"))
    with pytest.raises(ProviderError) as info:
        embed(embedder(fake_llm, max_retries=0), ["hello"])
    assert "AuthenticationError (HTTP 401)" in str(info.value)
    assert PLANTED_KEY not in str(info.value)


def test_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ProviderError, match="OPENAI_API_KEY"):
        OpenAIEmbedder()
    monkeypatch.setitem(sys.modules, "openai", None)
    with pytest.raises(MissingDependency):
        OpenAIEmbedder(api_key=PLANTED_KEY)


def test_built_by_the_registry(fake_llm_env: FakeLLMServer) -> None:
    e = build_embedder({"name": "openai", "model": "text-embedding-3-large"}, where="test")
    assert isinstance(e, OpenAIEmbedder)
    assert e.name == "openai:text-embedding-3-large"
    assert embed(e, ["hi there"]).shape == (1, 64)


def test_the_key_comes_from_the_variable_api_key_env_names(
    fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As for providers: settings name a variable, they never hold the key."""
    from harness.errors import ConfigError

    monkeypatch.setenv("TEAM_EMBED_KEY", PLANTED_KEY)
    spec = {"name": "openai", "base_url": fake_llm.openai_base_url, "api_key_env": "TEAM_EMBED_KEY"}
    e = build_embedder(spec, where="cache")
    embed(e, ["one question"])  # type: ignore[arg-type]
    assert fake_llm.stats.authorization == [f"Bearer {PLANTED_KEY}"]
    monkeypatch.delenv("TEAM_EMBED_KEY")
    with pytest.raises(ProviderError, match="'TEAM_EMBED_KEY', which is not set"):
        build_embedder(spec, where="cache")
    with pytest.raises(ProviderError, match="not the key itself") as pasted:
        build_embedder({**spec, "api_key_env": PLANTED_KEY}, where="cache")
    assert PLANTED_KEY not in str(pasted.value)
    # A key written in the settings is refused, and not repeated.
    with pytest.raises(ConfigError, match="Did you mean 'api_key_env'") as written:
        build_embedder({"name": "openai", "api_key": PLANTED_KEY}, where="cache")
    assert PLANTED_KEY not in str(written.value)
