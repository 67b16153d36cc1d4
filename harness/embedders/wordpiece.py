"""BERT's uncased WordPiece tokenizer in plain Python: text in, vocabulary ids out.

The ``minilm_static`` embedder looks its token vectors up by the ids that
all-MiniLM-L6-v2's own tokenizer (Hugging Face ``tokenizers``, a Rust
package) gives. This module gives the same ids without that package, so the
embedder needs numpy only; ``benchmarks/distill_minilm_static.py`` checks that the
two agree on every text it measures on.

The steps, as ``tokenizers``' ``BertNormalizer``, ``BertPreTokenizer`` and
``WordPiece`` model do them:

1. **clean**: drop NUL, U+FFFD and control characters; every whitespace
   character becomes a space;
2. **CJK**: put spaces around each CJK ideograph (each is its own word);
3. **accents**: NFD, then drop the non-spacing marks (``café`` -> ``cafe``);
4. **lowercase**, character by character;
5. **split** on whitespace, and make every punctuation character a word;
6. **WordPiece**: each word becomes the longest vocabulary prefix, then the
   longest ``##``-prefixed continuation, and so on; a word that cannot be
   covered, or is longer than 100 characters, becomes ``[UNK]``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import lru_cache

__all__ = ["WordPiece"]

UNKNOWN = "[UNK]"
"""The token of a word the vocabulary cannot cover."""

MAX_WORD_CHARS = 100
"""Longer words are ``[UNK]`` whole, as in ``tokenizers``."""

_CJK = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B920, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


def _is_cjk(code: int) -> bool:
    return any(low <= code <= high for low, high in _CJK)


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _clean_char(char: str) -> str:
    """One character of the input as the normalizer keeps it ('' when dropped)."""
    if char in "\t\n\r":
        return " "
    if char in "\x00\ufffd" or unicodedata.category(char).startswith("C"):
        return ""
    if char.isspace():
        return " "
    if _is_cjk(ord(char)):
        return f" {char} "
    return char


def bert_normalize(text: str) -> str:
    """``text`` as ``BertNormalizer(lowercase=True)`` leaves it: steps 1-4."""
    if text.isascii() and text.isprintable():
        return text.lower()
    cleaned = "".join(_clean_char(c) for c in text)
    decomposed = unicodedata.normalize("NFD", cleaned)
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return "".join(c.lower() for c in stripped)


def pre_tokenize(text: str) -> list[str]:
    """Normalized ``text`` split into words: step 5."""
    words: list[str] = []
    for chunk in text.split():
        if chunk.isalnum():
            words.append(chunk)
            continue
        start = 0
        for index, char in enumerate(chunk):
            if _is_punctuation(char):
                if index > start:
                    words.append(chunk[start:index])
                words.append(char)
                start = index + 1
        if start < len(chunk):
            words.append(chunk[start:])
    return words


class WordPiece:
    """A WordPiece vocabulary and the tokenizer over it.

    Args:
        vocabulary: The tokens, in id order (the id of a token is its index).

    Raises:
        ValueError: the vocabulary has no ``[UNK]`` token or a token twice.
    """

    def __init__(self, vocabulary: Sequence[str]) -> None:
        self.ids = {token: index for index, token in enumerate(vocabulary)}
        if len(self.ids) != len(vocabulary):
            raise ValueError("the vocabulary holds a token twice.")
        if UNKNOWN not in self.ids:
            raise ValueError(f"the vocabulary has no {UNKNOWN} token.")
        self.unknown_id = self.ids[UNKNOWN]
        self.word_ids = lru_cache(maxsize=1 << 16)(self._word_ids)

    def _word_ids(self, word: str) -> tuple[int, ...]:
        """The ids of one pre-tokenized word (step 6)."""
        if len(word) > MAX_WORD_CHARS:
            return (self.unknown_id,)
        whole = self.ids.get(word)
        if whole is not None:
            return (whole,)
        out: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = self.ids.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return (self.unknown_id,)
            out.append(found)
            start = end
        return tuple(out)

    def encode(self, text: str) -> list[int]:
        """The token ids of ``text``, without special tokens (no ``[CLS]``, ``[SEP]``)."""
        out: list[int] = []
        for word in pre_tokenize(bert_normalize(text)):
            out.extend(self.word_ids(word))
        return out
