"""Example verifiers for a semantic cache's ``verify`` option (see docs/caching.md).

A verifier is called with ``(new_question, stored_question, stored_answer)`` for
every candidate hit at or above the threshold, and returns True/False (serve or
not) or a score compared with ``verify.threshold``. ``stored_answer`` is ``""``
when the answers are only labels (``harness cache --pairs``).

Try them on real near-miss questions, from the project folder::

    PYTHONPATH=docs/examples harness cache --pairs ../shared/data/qqp/dev_pairs.jsonl \\
        --verify cache_verifiers:same_content_words

They are lexical checks, shown for the interface and for what they cannot do:
they see the words the embedder saw. A cross-encoder or an LLM judge
(``verify = { kind = "judge", model = ... }``) is the second stage that reads
meaning; wrap a cross-encoder the same way (``kind = "myapp.verify:score"``,
``threshold = 0.5``).
"""

from __future__ import annotations

import re

from harness.words import FUNCTION_WORDS, stem

_WORD = re.compile(r"[a-z0-9]+")


def content_words(text: str) -> set[str]:
    """The stemmed words of ``text`` that are not function words."""
    return {stem(w) for w in _WORD.findall(text.lower()) if w not in FUNCTION_WORDS}


def same_content_words(new_question: str, stored_question: str, stored_answer: str) -> bool:
    """Serve only when both questions use the same content words (in any order)."""
    return content_words(new_question) == content_words(stored_question)


def content_overlap(new_question: str, stored_question: str, stored_answer: str) -> float:
    """The share of content words the two questions have in common (Jaccard): a score."""
    new, stored = content_words(new_question), content_words(stored_question)
    union = new | stored
    return len(new & stored) / len(union) if union else 1.0
