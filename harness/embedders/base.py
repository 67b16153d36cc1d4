"""The embedder protocol: texts in, unit-length vectors out (semantic caches, scorers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors whose cosine similarity measures closeness of meaning."""

    name: str
    """Registered name or model spec, shown in reports.

    For example ``static`` or ``openai:text-embedding-3-small``.
    """

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One L2-normalized row per text, shape ``(len(texts), dim)``.

        Embedders that call a paid API report what they consumed through
        :attr:`usage_tokens` so caches can net it out of their savings.
        """
        ...

    @property
    def usage_tokens(self) -> int:
        """Input tokens billed so far (0 for local embedders)."""
        ...
