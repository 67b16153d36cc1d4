"""Word-level helpers shared by the offline text tools: function words and a light stemmer.

The static embedder, the BM25 retriever, the simulated models and the
heuristic judge all drop the words that carry little meaning of their own.
They start from :data:`FUNCTION_WORDS` and add what suits each: the embedder
drops many more (it compares meanings), BM25 hardly any more (a rare word
decides retrieval), the judge keeps negations out of its overlap.
"""

from __future__ import annotations

__all__ = ["FUNCTION_WORDS", "stem"]

FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "if",
        "as",
        "so",
        "than",
        "then",
        "of",
        "in",
        "on",
        "at",
        "by",
        "for",
        "to",
        "from",
        "with",
        "into",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "do",
        "does",
        "did",
        "can",
        "will",
        "would",
        "should",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "i",
        "my",
        "me",
        "you",
        "your",
        "we",
        "our",
        "what",
        "which",
        "who",
        "how",
        "when",
        "where",
        "why",
        "any",
        "some",
        "all",
        "each",
    ]
)
"""Articles, conjunctions, prepositions, auxiliaries, pronouns and question words."""


def stem(word: str) -> str:
    """A light suffix stripper: enough for plurals and common verb endings.

    ``datasets`` -> ``dataset``, ``loading`` -> ``load``, ``mapped`` -> ``map``,
    ``libraries`` -> ``library``. Words of three letters or fewer and words
    with digits are returned as they are.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ingly", "edly", "ing", "ed", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # running -> run, mapped -> map
            break
    return word
