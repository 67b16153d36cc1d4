"""The ``openai`` embedder: an OpenAI (or compatible) embeddings endpoint.

``text-embedding-3-small`` by default. The key comes from ``api_key`` or
``OPENAI_API_KEY``, the endpoint from ``base_url`` or ``OPENAI_BASE_URL``.
Texts go in requests of at most ``batch_size`` (256) inputs, a few requests
at a time; vectors come back L2-normalized as float32, and the tokens the API
bills are added to :attr:`OpenAIEmbedder.usage_tokens`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from harness.errors import MissingDependency, ProviderError
from harness.providers.redact import safe_error
from harness.providers.remote import PLACEHOLDER_KEY, LoopBound, describe_error, resolve_api_key

if TYPE_CHECKING:
    from openai import AsyncOpenAI

DEFAULT_MODEL = "text-embedding-3-small"
MAX_BATCH = 2048
"""Most inputs the API takes in one request."""
KNOWN_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
"""Vector size of well-known models (the shape of an empty result before any call)."""


class OpenAIEmbedder:
    """Embeddings through the official async SDK (a paid API: its vectors are stored).

    Args:
        model: Embedding model name.
        base_url: Endpoint; default the SDK's (or ``OPENAI_BASE_URL``).
        api_key: Default ``OPENAI_API_KEY``. Never write a key in a settings file:
            name its variable with ``api_key_env``.
        api_key_env: Name of the environment variable holding the key; it must be set.
        dimensions: Ask the model for shorter vectors (text-embedding-3 models).
        batch_size: Texts per request (at most 2048; default 256).
        max_concurrency: Requests in flight at once.
        timeout: Seconds per HTTP attempt.
        max_retries: SDK retries on 408/409/429/5xx and connection errors.

    Raises:
        ProviderError: no API key and no base URL; or, from :meth:`embed`, a
            call that failed after the SDK's retries (message redacted).
        MissingDependency: the openai package is not installed.
    """

    remote = True
    """A paid API: a run's vectors are kept in the response store and replayed."""

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: str | None = None,
        dimensions: int | None = None,
        batch_size: int = 256,
        max_concurrency: int = 4,
        timeout: float = 60.0,
        max_retries: int = 2,
    ) -> None:
        try:
            import openai  # noqa: F401
        except ImportError:
            raise MissingDependency("The openai embedder", ["openai"]) from None
        if not 1 <= batch_size <= MAX_BATCH:
            raise ProviderError(f"openai embedder: batch_size must be 1..{MAX_BATCH}")
        if max_concurrency < 1:
            raise ProviderError("openai embedder: max_concurrency must be >= 1")
        self.model = model
        self.name = f"openai:{model}"
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        key = resolve_api_key(
            "openai embedder", api_key=api_key, api_key_env=api_key_env, env_key="OPENAI_API_KEY"
        )
        if key is None:
            if self.base_url is None:
                raise ProviderError(
                    "The openai embedder needs an API key: set the OPENAI_API_KEY environment "
                    "variable (or a base_url for a local server). To run offline, use the "
                    "'static' embedder."
                )
            key = PLACEHOLDER_KEY
        self._api_key = key
        self.dimensions = dimensions
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self._usage_tokens = 0
        self.requests = 0
        """Embedding requests sent so far."""
        self._dim: int | None = dimensions
        self._clients: LoopBound[AsyncOpenAI] = LoopBound(self._make_client, _close)

    def __repr__(self) -> str:
        return f"OpenAIEmbedder(model={self.model!r}, base_url={self.base_url!r})"

    @property
    def usage_tokens(self) -> int:
        """Input tokens billed so far."""
        return self._usage_tokens

    def _make_client(self) -> AsyncOpenAI:
        from openai import AsyncOpenAI

        return AsyncOpenAI(
            api_key=self._api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )

    async def aclose(self) -> None:
        """Close the HTTP client now (it is also closed when its event loop shuts down)."""
        await self._clients.aclose()

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One L2-normalized float32 row per text, in order."""
        if not texts:
            dim = self._dim or KNOWN_DIMENSIONS.get(self.model, 0)
            return np.zeros((0, dim), dtype=np.float32)
        client = await self._clients.get()
        semaphore = asyncio.Semaphore(self.max_concurrency)
        chunks = [
            list(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)
        ]

        async def one(chunk: list[str]) -> list[Sequence[float]]:
            async with semaphore:
                return await self._request(client, chunk)

        parts = await asyncio.gather(*(one(chunk) for chunk in chunks))
        rows = np.asarray([row for part in parts for row in part], dtype=np.float64)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        unit: npt.NDArray[np.float32] = (rows / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        self._dim = int(unit.shape[1])
        return unit

    async def _request(self, client: AsyncOpenAI, chunk: list[str]) -> list[Sequence[float]]:
        # The API rejects empty strings; a space embeds as "nothing" just as well.
        inputs = [text if text else " " for text in chunk]
        try:
            if self.dimensions is not None:
                response = await client.embeddings.create(
                    model=self.model, input=inputs, dimensions=self.dimensions
                )
            else:
                response = await client.embeddings.create(model=self.model, input=inputs)
        except Exception as exc:
            raise ProviderError(
                f"openai embedder ({self.model}) failed: {describe_error(exc, (self._api_key,))}"
            ) from None
        self.requests += 1
        if response.usage is not None:
            self._usage_tokens += response.usage.prompt_tokens or 0
        data = sorted(response.data, key=lambda item: item.index)
        if len(data) != len(chunk):
            raise ProviderError(
                safe_error(
                    f"openai embedder ({self.model}) returned {len(data)} vectors for "
                    f"{len(chunk)} texts",
                    (self._api_key,),
                )
            )
        return [item.embedding for item in data]


async def _close(client: AsyncOpenAI) -> None:
    await client.close()


__all__ = ["DEFAULT_MODEL", "OpenAIEmbedder"]
