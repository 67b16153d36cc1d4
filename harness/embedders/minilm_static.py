"""The ``minilm_static`` embedder: all-MiniLM-L6-v2 distilled into one vector per token.

A model2vec-style static model: each of MiniLM's 29,525 WordPiece tokens has
one vector, distilled once from the transformer by
``benchmarks/distill_minilm_static.py`` (which needs torch; this module does not).
A text's vector is the mean of its tokens' vectors, L2-normalized. So it
knows that ``car`` and ``automobile`` are close, which the ``static``
embedder's hashed words cannot, at numpy speed and with no download: the
weights ship inside the package (``harness/embedders/data/minilm_static.npz``,
int8 with one scale per token, a few MB) and load on the first embedding.

Needs numpy only: the tokenizer is BERT's uncased WordPiece in plain Python
(:mod:`harness.embedders.wordpiece`), checked against Hugging Face's
``tokenizers`` by the distilling script.

What it cannot do
    It is a bag of tokens: word order is lost ("dog bites man" = "man bites
    dog"), and a swapped number or an added "not" moves the vector by one
    token in many. Real near-misses (two questions on one topic) are where it
    fails most; the figures on real labelled pairs are in ``docs/caching.md``.

A text whose every token is unknown (an emoji, an unseen script) gets a vector
drawn from a hash of its text: it matches only itself.

With ``static_share`` (say 0.3), each vector is joined with the ``static``
embedder's (512 dimensions), so a pair's cosine is ``0.7 x`` this model's plus
``0.3 x`` the static embedder's: the static embedder's exact numbers, names
and negations correct the bag of tokens. On real near-miss questions this
serves fewer wrong answers than either alone at every hit rate measured
(``docs/caching.md``), at the static embedder's speed.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from harness.embedders.static import StaticEmbedder
from harness.embedders.wordpiece import WordPiece
from harness.errors import CostEvalError

__all__ = ["DEFAULT_WEIGHTS", "MiniLMStaticEmbedder", "StaticModel", "load_static_model"]

DEFAULT_WEIGHTS = Path(__file__).with_name("data") / "minilm_static.npz"
"""The weights shipped with the package."""

STATIC_DIM = 512
"""Dimensions of the ``static`` vector joined on with ``static_share``."""

FORMAT = "harness-static-embedder/1"
"""The ``format`` the weights file declares; another one is refused."""


@dataclass(frozen=True)
class StaticModel:
    """A loaded static model: the tokenizer and one unit-scale vector per token id."""

    tokenizer: WordPiece
    vectors: npt.NDArray[np.float32]
    """Shape ``(vocabulary size, dim)``; row ``i`` is token id ``i``."""
    info: dict[str, object]
    """What the weights file says of itself (teacher, dimensions, how it was made)."""

    @property
    def dim(self) -> int:
        """Dimensions of a vector."""
        return int(self.vectors.shape[1])


def _unreadable(path: Path, why: str) -> CostEvalError:
    return CostEvalError(
        f"The minilm_static weights at {path} cannot be used: {why}. Reinstall the harness "
        "(pip install --force-reinstall cost-eval-harness) or rebuild the file with "
        "benchmarks/distill_minilm_static.py; meanwhile name the fallback embedder, which "
        'needs no weights: embedder = "static" in the cache\'s table, or --embedder static.'
    )


@lru_cache(maxsize=4)
def load_static_model(path: Path = DEFAULT_WEIGHTS) -> StaticModel:
    """Read a weights file written by ``benchmarks/distill_minilm_static.py`` (once per path).

    The file is an ``.npz`` (no pickles) of ``vectors`` (int8, tokens x dim),
    ``scales`` (float32, one per token), ``vocabulary`` (UTF-8, one token a
    line, in id order) and ``info`` (UTF-8 JSON with ``format``).

    Raises:
        CostEvalError: the file is missing, unreadable or inconsistent.
    """
    if not path.is_file():
        raise _unreadable(path, "there is no such file")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError) as exc:
        raise _unreadable(path, f"not a readable .npz file ({exc})") from None
    missing = {"vectors", "scales", "vocabulary", "info"} - set(arrays)
    if missing:
        raise _unreadable(path, f"it has no {', '.join(sorted(missing))}")
    try:
        info = json.loads(arrays["info"].tobytes().decode("utf-8"))
        vocabulary = arrays["vocabulary"].tobytes().decode("utf-8").split("\n")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _unreadable(path, f"its info or vocabulary is not UTF-8 text ({exc})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        found = info.get("format") if isinstance(info, dict) else info
        raise _unreadable(path, f"format {found!r}, expected {FORMAT!r}")
    vectors, scales = arrays["vectors"], arrays["scales"]
    if (
        vectors.ndim != 2
        or vectors.shape[0] != len(vocabulary)
        or scales.shape != (len(vocabulary),)
    ):
        raise _unreadable(
            path,
            f"{len(vocabulary)} tokens but vectors of shape {vectors.shape} and "
            f"scales of shape {scales.shape}",
        )
    try:
        tokenizer = WordPiece(vocabulary)
    except ValueError as exc:
        raise _unreadable(path, str(exc)) from None
    table = vectors.astype(np.float32) * scales.astype(np.float32)[:, None]
    return StaticModel(tokenizer=tokenizer, vectors=table, info=info)


class MiniLMStaticEmbedder:
    """Mean of distilled MiniLM token vectors: semantic, offline, numpy only.

    Args:
        path: A weights file; None means the one shipped with the package.
            Nothing is read until the first :meth:`embed`.
        static_share: Share of the cosine given to the ``static`` embedder's
            vector, joined on (0: none; below 1).

    Raises:
        ValueError: ``static_share`` is outside [0, 1).
    """

    name = "minilm_static"

    def __init__(self, *, path: str | Path | None = None, static_share: float = 0.0) -> None:
        if not 0.0 <= static_share < 1.0:
            raise ValueError(f"static_share must be in [0, 1), got {static_share!r}.")
        self.path = Path(path) if path is not None else DEFAULT_WEIGHTS
        self.static_share = static_share
        self._static = StaticEmbedder(dim=STATIC_DIM) if static_share else None
        if static_share:
            self.name = f"minilm_static+static:{static_share:g}"

    @property
    def model(self) -> StaticModel:
        """The loaded weights (read on first use, shared by every embedder on this path)."""
        return load_static_model(self.path)

    @property
    def usage_tokens(self) -> int:
        """Always 0: a local embedder bills nothing."""
        return 0

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One L2-normalized row per text, shape ``(len(texts), dim)``."""
        return self.embed_sync(texts)

    def embed_sync(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """:meth:`embed` without the event loop (for scripts and sweeps)."""
        model = self.model
        unknown = model.tokenizer.unknown_id
        ids = [[i for i in model.tokenizer.encode(text) if i != unknown] for text in texts]
        out = np.zeros((len(texts), model.dim), dtype=np.float32)
        known = [row for row, found in enumerate(ids) if found]
        if known:
            flat = np.fromiter((i for row in known for i in ids[row]), dtype=np.int64)
            starts = np.cumsum([0] + [len(ids[row]) for row in known[:-1]])
            out[known] = np.add.reduceat(model.vectors[flat], starts, axis=0)
        for row, found in enumerate(ids):
            if not found:
                out[row] = _hashed_vector(texts[row], model.dim)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        zero = norms[:, 0] == 0  # tokens whose vectors cancel out exactly
        for index in np.flatnonzero(zero):
            out[index] = _hashed_vector(texts[int(index)], model.dim)
        norms[zero] = 1.0
        unit: npt.NDArray[np.float32] = out / norms
        if self._static is None:
            return unit
        hashed = self._static.embed_sync(texts)
        joined: npt.NDArray[np.float32] = np.hstack(
            [unit * np.sqrt(1.0 - self.static_share), hashed * np.sqrt(self.static_share)]
        ).astype(np.float32)
        return joined


def _hashed_vector(text: str, dim: int) -> npt.NDArray[np.float32]:
    """A unit vector drawn from a hash of ``text``: the same text, the same vector."""
    rng = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
    vector = rng.standard_normal(dim).astype(np.float32)
    unit: npt.NDArray[np.float32] = vector / np.linalg.norm(vector)
    return unit
