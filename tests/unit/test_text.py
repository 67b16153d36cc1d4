"""The shared word helpers: function words and the light stemmer."""

from __future__ import annotations

import pytest

from harness.embedders.static import STOPWORDS as EMBEDDER_STOPWORDS
from harness.providers.sim import STOPWORDS as SIM_STOPWORDS
from harness.words import FUNCTION_WORDS, stem


@pytest.mark.parametrize(
    ("word", "stemmed"),
    [
        ("datasets", "dataset"),
        ("libraries", "library"),
        ("loading", "load"),
        ("mapped", "map"),
        ("running", "run"),
        ("classes", "class"),
        ("status", "status"),  # -us is no plural
        ("analysis", "analysis"),  # nor is -is
        ("filled", "fill"),  # a doubled l stays
        ("gpt4", "gpt4"),  # words with digits are names, left alone
        ("was", "was"),  # three letters or fewer
    ],
)
def test_stem(word: str, stemmed: str) -> None:
    assert stem(word) == stemmed


def test_every_stopword_list_starts_from_the_function_words() -> None:
    assert FUNCTION_WORDS <= EMBEDDER_STOPWORDS
    assert FUNCTION_WORDS <= SIM_STOPWORDS
    # Negations are never function words: dropping them would flip meanings.
    assert not FUNCTION_WORDS & {"not", "no", "never", "without"}
