"""The ``static`` embedder: hashed words, word pairs and character n-grams, in numpy.

It needs no model weights, no download and no torch, so it works on a fresh
machine with no network; and the same text always gives the same vector, on
every machine (the hash is CRC-32, not Python's salted ``hash``).

How a text becomes a vector
    The text is lowercased and NFKC-normalized, contractions are expanded
    (``doesn't`` -> ``does not``, ``unclear`` -> ``not clear``) and split
    into words. Three kinds of features, each kind L2-normalized and
    weighted, describe its words:

    * **words**: content words (stopwords removed), lightly stemmed
      (``datasets`` -> ``dataset``, ``loading`` -> ``load``), synonyms of the
      formal register paraphrasers use mapped to one word (``utilize``,
      ``employ`` -> ``use``; :data:`SYNONYMS`), weighted by a length-based
      rarity prior (long words are rarer, hence more telling);
    * **pairs**: adjacent content-word pairs (word order, phrases);
    * **characters**: the 3- to 5-grams of every content word, so spelling
      variants and inflections overlap (``tokenize`` / ``tokenization``).

    The **guard set** holds what changes an answer while changing few words:
    the numbers (``2.10.0``, as a multiset), the names (backticked code,
    ``PyTorch``, ``load_dataset``, ``datasets.Dataset``, ALLCAPS, capitalized
    words inside a sentence) and what each negation negates (``not``, ``no``,
    ``never``, ``without``, ``absence``, "too X to": the next content word,
    so "not optional" and "not mandatory" differ; a leading ``No,``/``Yes,``
    answers and is not a negation).

    The vector has two halves (signed feature hashing, ``dim / 2`` each): the
    features hashed as they are (``FREE_SHARE`` of the similarity), and the
    same features hashed again with the guard set as salt (the rest). So the
    cosine of two texts is their word similarity when their guard sets are
    equal, and only ``FREE_SHARE`` of it when not: a near-miss that swaps a
    number or a name or adds a ``not`` falls far below a paraphrase.

What it cannot do
    It matches words, not meanings: beyond :data:`SYNONYMS`, different words
    (``store hours`` / ``shops open``) do not overlap unless they share
    character n-grams. A paraphrase that changes the guard set (drops a
    version number, moves a name to the start of a sentence, says "not
    mandatory" for "optional", "does not have" for "doesn't exist") loses most
    of its similarity: the embedder prefers losing such a hit to serving a
    negation's answer. For paraphrases that reword everything, use a neural
    embedder (``openai``, ``minilm``).

The measured separation on GPTCache's paraphrase pairs with generated hard
negatives is in ``docs/caching.md``.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
import zlib
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from harness.words import FUNCTION_WORDS
from harness.words import stem as stem_word

__all__ = ["StaticEmbedder"]

DEFAULT_DIM = 2048
"""Dimensions of the hashed vector: collisions are rare at this size for short texts."""

# Shares of the word similarity (squared weights), tuned on GPTCache pairs; see docs/caching.md.
WORD_WEIGHT = 0.45
PAIR_WEIGHT = 0.15
CHAR_WEIGHT = 0.40
FREE_SHARE = 0.2
"""Share of the similarity that does not require equal numbers, names and polarity."""

STOPWORDS = FUNCTION_WORDS | frozenset(
    [
        "about",
        "above",
        "after",
        "again",
        "also",
        "am",
        "another",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "could",
        "down",
        "during",
        "either",
        "further",
        "had",
        "has",
        "have",
        "he",
        "her",
        "here",
        "him",
        "his",
        "just",
        "may",
        "might",
        "more",
        "most",
        "must",
        "neither",
        "nor",
        "off",
        "once",
        "only",
        "onto",
        "other",
        "out",
        "over",
        "own",
        "per",
        "same",
        "shall",
        "she",
        "such",
        "their",
        "them",
        "there",
        "they",
        "through",
        "too",
        "under",
        "up",
        "upon",
        "us",
        "use",
        "used",
        "uses",
        "using",
        "very",
        "via",
        "whether",
        "while",
        "whom",
        "whose",
        "within",
    ]
)
"""Words carrying little meaning of their own, left out of the word blocks."""

NEGATIONS = frozenset(
    {
        "not",
        "no",
        "never",
        "none",
        "nothing",
        "nobody",
        "neither",
        "nor",
        "without",
        "absence",
        "absent",
        "lack",
        "lacks",
        "lacking",
    }
)
"""Words that flip the polarity of a text (after contractions are expanded)."""

_CONTRACTIONS = (
    (re.compile(r"\bcan't\b|\bcannot\b"), "can not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bshan't\b"), "shall not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'(re|ve|ll|d|m|s)\b"), " "),
    # Negating prefixes on common words: "unclear" says "not clear".
    (
        re.compile(
            r"\b(?:un(able|available|clear|certain|known|necessary|supported|likely)"
            r"|im(possible)|in(correct|valid|complete))\b"
        ),
        lambda m: "not " + next(g for g in m.groups() if g),
    ),
)
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_WORD = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAME = re.compile(
    r"`[^`\n]+`"
    r"|\b[A-Za-z_][A-Za-z0-9_]*(?:[A-Z0-9_][A-Za-z0-9_]*|(?:\.[A-Za-z_][A-Za-z0-9_]*)+)\b(?!\.\d)"
)
_TOKEN = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*|[,;:.!?()]")
_CLAUSE_END = frozenset(",;:.!?()")
_ANSWER_WORD = re.compile(r"^\s*(?:no|yes)\s*[,.!]")
_CAPITALIZED = re.compile(r"(?<=[^\s.!?]\s)[A-Z][a-z]{2,}\b")


SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("use", "utilize", "utilise", "employ", "leverage"),
    ("get", "obtain", "acquire", "retrieve", "fetch"),
    ("provide", "give", "supply", "furnish", "offer"),
    ("help", "assist", "aid"),
    ("show", "display", "demonstrate", "illustrate"),
    ("create", "make", "generate", "produce", "construct", "build", "craft"),
    ("start", "begin", "commence", "initiate"),
    ("need", "require", "necessary", "mandatory", "needed", "required"),
    ("change", "modify", "alter", "adjust"),
    ("remove", "delete", "eliminate", "discard"),
    ("large", "big", "huge", "enormous"),
    ("small", "little", "tiny"),
    ("fast", "quick", "rapid", "swift", "speedy"),
    ("easy", "simple", "straightforward", "uncomplicated"),
    ("example", "instance", "illustration"),
    ("purpose", "goal", "aim", "objective"),
    ("way", "method", "approach", "technique", "procedure", "manner", "means"),
    ("information", "info", "details", "knowledge"),
    ("guide", "manual", "handbook"),
    ("ask", "inquire", "pose"),
    ("find", "locate", "discover"),
    ("keep", "store", "save", "retain"),
    ("allow", "enable", "permit", "let", "facilitate"),
    ("explain", "describe", "explanation", "description", "clarify"),
    ("specify", "indicate", "designate", "denote"),
    ("recommend", "suggest", "advise"),
    ("important", "significant", "crucial", "essential"),
    ("different", "various", "diverse", "distinct"),
    ("similar", "analogous", "comparable", "alike"),
    ("whole", "entire", "complete", "full"),
    ("many", "numerous", "multiple"),
    ("often", "frequently", "commonly", "generally", "typically", "usually"),
    ("understand", "comprehend", "grasp"),
    ("evaluate", "assess", "appraise"),
    ("process", "handle", "manipulate"),
    ("problem", "issue", "difficulty", "trouble"),
    ("cost", "price", "fee", "charge"),
    ("choose", "select", "pick"),
    ("part", "portion", "section", "division", "segment"),
    ("tool", "utility"),
    ("combine", "merge", "unite"),
    ("run", "execute", "perform"),
    ("new", "fresh", "novel"),
    ("exact", "precise", "accurate"),
    ("basic", "fundamental", "elementary", "basics", "fundamentals"),
    ("beginner", "novice", "newcomer"),
    ("guidance", "advice"),
    ("structure", "layout", "arrangement"),
    ("organize", "arrange"),
    ("share", "distribute", "disseminate"),
    ("include", "contain", "comprise", "encompass"),
    ("benefit", "advantage"),
    ("explore", "investigate", "examine", "inspect"),
    ("refer", "consult"),
)
"""Groups of words that mean the same in the formal rewording paraphrasers use.

Each word (in any inflection) stands for its group's first word, so "utilize"
and "employ" match "use". Only true synonyms: never two words a negative could
swap for one another (no antonyms, no "optional" / "mandatory").
"""

POSSIBILITY = frozenset({"possible", "feasible", "able", "capable"})
"""Words that say "can" (a stopword): "it is possible to" = "you can"."""


def _inflections(word: str) -> set[str]:
    base = word[:-1] if word.endswith("e") else word
    return {word, word + "s", word + "es", word + "d", word + "ed", base + "ed", base + "ing"}


def _build_canonical() -> dict[str, str]:
    out: dict[str, str] = {}
    for group in SYNONYMS:
        head = stem_word(group[0])
        for word in group:
            for form in _inflections(word):
                out.setdefault(stem_word(form), head)
    return out


_CANONICAL = _build_canonical()
"""Stem of every inflection of every word in :data:`SYNONYMS` -> its group's head stem."""


@lru_cache(maxsize=1 << 18)
def _hash(feature: str) -> int:
    """CRC-32 of a feature: stable across processes and machines (unlike ``hash``)."""
    return zlib.crc32(feature.encode("utf-8"))


def normalize(text: str) -> str:
    """Lowercase, NFKC, straight quotes, contractions expanded."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).lower()
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return text


def guard_features(text: str) -> frozenset[str]:
    """The numbers, names and polarity of ``text``: what a near-miss changes.

    Names are backticked code, words with an inner capital, digit, dot or
    underscore (``PyTorch``, ``S3``, ``load_dataset``, ``datasets.Dataset``)
    and ALLCAPS words. Polarity is whether a negation occurs (a leading
    ``No,``/``Yes,`` is an answer, not a negation).
    """
    found: list[str] = []
    raw = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    names = {match.group(0).strip("`").lower() for match in _NAME.finditer(raw)}
    names |= {m.group(0).lower() for m in _CAPITALIZED.finditer(raw)} - STOPWORDS
    found.extend("name:" + name for name in names)
    lowered = normalize(raw)
    # Numbers as a multiset: changing one of two equal numbers changes the set.
    found.extend("num:" + m.group(0).replace(",", "") for m in _NUMBER.finditer(lowered))
    found.extend("not:" + word for word in negated_words(_ANSWER_WORD.sub("", lowered)))
    counts: dict[str, int] = {}
    for feature in found:
        counts[feature] = counts.get(feature, 0) + 1
    return frozenset(f"{k}*{v}" if v > 1 else k for k, v in counts.items())


def negated_words(text: str) -> list[str]:
    """What each negation in normalized ``text`` negates: its next content word, stemmed.

    The scope is the first word after the negation that is neither a stopword
    nor a negation, within the same clause (``""`` when the clause ends first).
    "Is not optional" and "is not mandatory" negate different words, so they
    differ even though both say "not" once; "whether or not" and "not only"
    are not negations.
    """
    tokens = _TOKEN.findall(text)
    out: list[str] = []
    for index, token in enumerate(tokens):
        start = index + 1
        if token == "too" and tokens[index + 2 : index + 3] == ["to"]:
            start = index + 3  # "too large to fit" says "does not fit"
        elif token not in NEGATIONS:
            continue
        before = tokens[index - 1] if index else ""
        if (token == "not" and before == "or") or token in {"neither", "nor"}:
            continue
        scope = ""
        for word in tokens[start:]:
            if word in _CLAUSE_END:
                break
            if word not in STOPWORDS and word not in NEGATIONS:
                scope = _canonical(word)
                break
        out.append(scope)
    return out


def _canonical(word: str) -> str:
    """The stem of ``word``, or its synonym group's head (see :data:`SYNONYMS`)."""
    stem = stem_word(word)
    return _CANONICAL.get(stem, stem)


class StaticEmbedder:
    """Hashed bag-of-features embeddings: offline, deterministic, no weights.

    Args:
        dim: Vector size (at least 64, even). Larger means fewer hash collisions.
    """

    name = "static"

    def __init__(self, *, dim: int = DEFAULT_DIM) -> None:
        if dim < 64 or dim % 2:
            raise ValueError(f"dim must be an even number >= 64, got {dim!r}.")
        self.dim = dim

    @property
    def usage_tokens(self) -> int:
        """Always 0: a local embedder bills nothing."""
        return 0

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One L2-normalized row per text, shape ``(len(texts), dim)``."""
        return self.embed_sync(texts)

    def embed_sync(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """:meth:`embed` without the event loop (for scripts and sweeps)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = self._vector(text)
        return out

    def _text_features(self, text: str) -> tuple[list[str], list[float]]:
        words = [w for w in _WORD.findall(normalize(text)) if w not in STOPWORDS]
        stems = [_canonical(w) for w in words if w not in POSSIBILITY]
        blocks: dict[str, dict[str, float]] = {"w": {}, "p": {}, "c": {}}
        for stem in stems:
            # Rarity prior: without corpus statistics, longer words are rarer.
            weight = min(1.0, 0.35 + 0.1 * len(stem))
            blocks["w"][stem] = blocks["w"].get(stem, 0.0) + weight
            padded = f"<{stem}>"
            grams = [padded[i : i + n] for n in (3, 4, 5) for i in range(len(padded) - n + 1)]
            for gram in grams:
                blocks["c"][gram] = blocks["c"].get(gram, 0.0) + weight / math.sqrt(len(grams))
        for left, right in itertools.pairwise(stems):
            key = f"{left}|{right}"
            blocks["p"][key] = blocks["p"].get(key, 0.0) + 1.0
        if not stems:
            blocks["w"]["<empty>"] = 1.0
            blocks["c"]["<empty>"] = 1.0
        if not blocks["p"]:
            blocks["p"]["<none>"] = 1.0
        names: list[str] = []
        weights: list[float] = []
        for prefix, share in (("w", WORD_WEIGHT), ("p", PAIR_WEIGHT), ("c", CHAR_WEIGHT)):
            feats = blocks[prefix]
            # Sublinear term frequency: a word said twice is not twice as telling.
            values = [1.0 + math.log(v) if v > 1 else v for v in feats.values()]
            norm = math.sqrt(sum(v * v for v in values))
            scale = math.sqrt(share) / norm
            names.extend(f"{prefix}:{key}" for key in feats)
            weights.extend(v * scale for v in values)
        return names, weights

    def _vector(self, text: str) -> npt.NDArray[np.float64]:
        names, weights = self._text_features(text)
        half = self.dim // 2
        hashes = np.fromiter((_hash(n) for n in names), dtype=np.uint64, count=len(names))
        values = np.asarray(weights, dtype=np.float64)
        signs = np.where(hashes >> np.uint64(31) & np.uint64(1), 1.0, -1.0)
        # Free part: the words, wherever the numbers, names and polarity stand.
        free = np.bincount(
            (hashes % np.uint64(half)).astype(np.int64), signs * values, half
        ).astype(np.float64)
        # Guarded part: the same features, hashed anew under the guard set, so it
        # only agrees between texts with equal numbers, names and polarity.
        salt = np.uint64(_hash("|".join(sorted(guard_features(text)))))
        mixed = _mix(hashes ^ (salt << np.uint64(32)))
        gsigns = np.where(mixed >> np.uint64(63) & np.uint64(1), 1.0, -1.0)
        guarded = np.bincount(
            (mixed % np.uint64(half)).astype(np.int64), gsigns * values, half
        ).astype(np.float64)
        vec = np.concatenate(
            (math.sqrt(FREE_SHARE) * _unit(free), math.sqrt(1 - FREE_SHARE) * _unit(guarded))
        )
        return _unit(vec)


def _mix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64's finalizer: every output bit depends on every input bit.

    A weaker mix (one multiply) left two salts' buckets correlated, so texts
    with different guard sets kept ~20 % more similarity than ``FREE_SHARE``.
    """
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _unit(vec: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm > 0 else vec
