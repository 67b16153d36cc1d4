"""A cache-evaluation suite from paraphrase pairs plus generated hard negatives.

Paraphrase data such as GPTCache's ``mock_data.json`` (``[{"origin": ...,
"similar": ...}, ...]``) only holds true paraphrases: a cache that answers
everything would look perfect on it. :func:`build_cache_suite` adds **hard
negatives**, derived from each origin so they stay on the same topic and share
most of its words, but mean something else:

* ``number``: one number changed (``version 2.10.0`` -> ``version 2.10.1``,
  ``50k models`` -> ``57k models``);
* ``entity``: one name swapped for another name from the same data
  (``PyTorch`` -> ``TensorFlow``, ``\\`map\\``` -> ``\\`filter\\```);
* ``negation``: a negation added after the first auxiliary verb
  (``is`` -> ``is not``, ``can`` -> ``cannot``) or an existing one removed.

Each case carries its label in ``category`` (``origin``, ``paraphrase``,
``negative:number``, ...) and its correct answer in ``expected``: paraphrases
share their origin's answer, a negative has its own. So a cache evaluation can
count a hit on a negative as a false hit. Everything is deterministic for a
given ``seed``.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import SuiteError
from harness.types import Case

__all__ = [
    "NEGATIVE_KINDS",
    "CacheSuite",
    "build_cache_suite",
    "load_pairs",
    "negate",
    "swap_entity",
    "swap_number",
]

NEGATIVE_KINDS: tuple[str, ...] = ("number", "entity", "negation")
"""The kinds of hard negative :func:`build_cache_suite` can generate."""

_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)*")
_BACKTICK = re.compile(r"`[^`\s]{2,40}`")
# A name: CamelCase, ALLCAPS (2+ letters), a word with a digit or a capital after
# its first letter, or a capitalized word that does not start a sentence.
_NAME = re.compile(r"\b[A-Z][A-Za-z0-9]*[A-Z0-9][A-Za-z0-9]*\b|(?<=[a-z,;:] )[A-Z][a-z]{2,}\b")
_AUXILIARY = re.compile(
    r"\b(is|are|was|were|can|could|will|would|should|must|does|do|did|has|have|may|might)\b"
    r"(?! not\b)"
)
_NEGATION = re.compile(
    r"\b(?:cannot|can't|won't|isn't|aren't|doesn't|don't|didn't|wasn't|weren't|hasn't|"
    r"haven't|shouldn't|wouldn't|couldn't|mustn't)\b|\b(?:is|are|was|were|does|do|did|"
    r"can|could|will|would|should|must|has|have|may|might) not\b",
    re.IGNORECASE,
)
_UNDO_CONTRACTION = {
    "cannot": "can",
    "can't": "can",
    "won't": "will",
    "mustn't": "must",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheSuite:
    """Cases in stream order, each labelled, with the answer that is correct for it."""

    cases: tuple[Case, ...]
    """Origins, paraphrases and negatives, in the (seeded) order they arrive."""
    pairs: int
    """Paraphrase pairs the suite was built from."""
    negatives: Mapping[str, int]
    """Negatives generated, by kind (``number``, ``entity``, ``negation``)."""
    _by_id: Mapping[str, Case] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {case.id: case for case in self.cases})

    def judge(self, served: str, query: str) -> bool | None:
        """Whether serving case ``served``'s answer to case ``query`` is right, by the labels.

        - Same paraphrase group (origin and paraphrases of one pair, or of pairs
          sharing a text), or the same negative text: correct.
        - A generated negative and another case of *its own* pair (its origin,
          the paraphrase, another negative): false. It was made to mean
          something else than they do.
        - Any two cases of different pairs, negatives included: None.
          Paraphrase data does not say whether two pairs mean the same, and
          GPTCache's pairs hold many near-duplicates ("The Datasets
          documentation provides information on how to use the Datasets
          library." appears in two pairs with different wording). A negative
          can even say what another pair says: swapping the page name in
          "No, the X page doesn't exist in version 2.10.0." gave "No, the CACH
          page doesn't exist in version 2.10.0.", which another pair's origin
          states. Counting such hits as false would be label noise.
        """
        a, b = self._by_id[served], self._by_id[query]
        if a.expected == b.expected:
            return True
        if _pair_of(a.id) != _pair_of(b.id):
            return None
        negative = a.category.startswith("negative:") or b.category.startswith("negative:")
        return False if negative else None

    def family(self, case: Case) -> str:
        """The paraphrase family of a case (its pair id): a namespace for isolated evaluation."""
        return _pair_of(case.id)

    @property
    def answers(self) -> dict[str, str]:
        """The correct answer of each case, by case id (its ``expected``)."""
        return {case.id: case.expected or "" for case in self.cases}

    def to_suite(self, name: str | None = None) -> dict[str, Any]:
        """The suite as the mapping a ``suites/*.yaml`` file holds (``reference: expected``)."""
        rows: list[dict[str, Any]] = []
        for case in self.cases:
            row: dict[str, Any] = {
                "id": case.id,
                "category": case.category,
                "prompt": case.prompt,
                "expected": case.expected,
            }
            if case.paraphrase_of is not None:
                row["paraphrase_of"] = case.paraphrase_of
            if case.tags:
                row["tags"] = list(case.tags)
            rows.append(row)
        return {
            "suite": name or (self.cases[0].suite if self.cases else "cache"),
            "version": 1,
            "description": (
                f"{self.pairs} paraphrase pairs with generated hard negatives "
                f"({', '.join(f'{k}: {v}' for k, v in self.negatives.items())})."
            ),
            "scorer": "exact",
            "reference": "expected",
            "cases": rows,
        }


def _pair_of(case_id: str) -> str:
    return case_id.split("-", 1)[0]


def load_pairs(path: str | Path) -> list[tuple[str, str]]:
    """Read ``[{"origin": ..., "similar": ...}, ...]`` (GPTCache's ``mock_data.json``).

    Raises:
        SuiteError: the file is missing, not JSON or not a list of such pairs.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SuiteError(f"{path}: cannot read the paraphrase pairs: {exc.strerror}.") from None
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{path}: not valid JSON at line {exc.lineno}: {exc.msg}.") from None
    if not isinstance(data, list):
        raise SuiteError(f"{path}: expected a list of {{origin, similar}} pairs.")
    pairs: list[tuple[str, str]] = []
    for index, row in enumerate(data):
        if (
            not isinstance(row, Mapping)
            or not isinstance(row.get("origin"), str)
            or not isinstance(row.get("similar"), str)
        ):
            raise SuiteError(
                f"{path}: pair #{index + 1} must be {{'origin': text, 'similar': text}}, "
                f"got {row!r:.80}."
            )
        pairs.append((row["origin"], row["similar"]))
    return pairs


# --------------------------------------------------------------------- negatives


def swap_number(text: str, rng: random.Random) -> str | None:
    """``text`` with one number changed, or None when it has no number."""
    matches = list(_NUMBER.finditer(text))
    if not matches:
        return None
    match = rng.choice(matches)
    number = match.group(0)
    parts = number.split(".")
    last = parts[-1]
    # Change the last component by 1..9 (never to the same value, never negative).
    step = rng.randint(1, 9)
    value = int(last) + step if int(last) < step or rng.random() < 0.5 else int(last) - step
    if value == int(last):  # pragma: no cover - step >= 1 makes this impossible
        value += 1
    parts[-1] = (
        str(value).zfill(len(last)) if last.startswith("0") and len(last) > 1 else str(value)
    )
    return text[: match.start()] + ".".join(parts) + text[match.end() :]


def _shape(name: str) -> str:
    """The kind of a name, so a swap keeps it: code, ALLCAPS, MixedCase or Capitalized."""
    if name.startswith("`"):
        return "code"
    if name.isupper():
        return "caps"
    if any(c.isupper() or c.isdigit() for c in name[1:]):
        return "mixed"
    return "capitalized"


def _names(text: str) -> list[re.Match[str]]:
    found = list(_BACKTICK.finditer(text))
    taken = [(m.start(), m.end()) for m in found]
    for match in _NAME.finditer(text):
        if all(match.end() <= a or match.start() >= b for a, b in taken):
            found.append(match)
    return sorted(found, key=lambda m: m.start())


def swap_entity(text: str, pool: Sequence[str], rng: random.Random) -> str | None:
    """``text`` with one name replaced by another name of the same kind from ``pool``.

    Names are backticked code (``\\`map\\```), CamelCase or ALLCAPS words, words
    with an inner capital or digit, and capitalized words inside a sentence.
    Returns None when ``text`` has no name or ``pool`` has no other of its kind.
    """
    matches = _names(text)
    if not matches:
        return None
    match = rng.choice(matches)
    name = match.group(0)
    shape = _shape(name)
    present = {m.group(0).lower() for m in matches}
    choices = [
        other
        for other in pool
        if _shape(other) == shape
        and other.lower() not in present
        and other.lower() not in text.lower()
    ]
    if not choices:
        return None
    return text[: match.start()] + rng.choice(choices) + text[match.end() :]


def negate(text: str) -> str | None:
    """``text`` with its meaning negated, or None when no rule applies.

    Removes the first negation when there is one (``does not`` -> ``does``,
    ``can't`` -> ``can``; a leading ``No,`` becomes ``Yes,``), else adds one
    after the first auxiliary verb (``is`` -> ``is not``, ``can`` -> ``cannot``).
    """
    text = text.replace("\u2019", "'")
    negation = _NEGATION.search(text)
    if negation is not None:
        word = negation.group(0)
        lower = word.lower()
        if lower in _UNDO_CONTRACTION:
            plain = _UNDO_CONTRACTION[lower]
        elif lower.endswith("n't"):
            plain = lower[:-3]
        else:
            plain = lower[: -len(" not")]
        if word[0].isupper():
            plain = plain.capitalize()
        out = text[: negation.start()] + plain + text[negation.end() :]
        return re.sub(r"^No\b", "Yes", out)
    auxiliary = _AUXILIARY.search(text)
    if auxiliary is None:
        return None
    word = auxiliary.group(0)
    negated = "cannot" if word == "can" else f"{word} not"
    return text[: auxiliary.start()] + negated + text[auxiliary.end() :]


# ------------------------------------------------------------------------- suite


def _groups(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Text -> the canonical answer of its paraphrase group (union-find over pairs).

    A text that appears in several pairs links them: all are paraphrases of one
    another, so they share one answer (the first origin of the group).
    """
    parent: dict[str, str] = {}

    def find(text: str) -> str:
        parent.setdefault(text, text)
        while parent[text] != text:
            parent[text] = parent[parent[text]]
            text = parent[text]
        return text

    for origin, similar in pairs:
        a, b = find(origin), find(similar)
        if a != b:
            parent[b] = a
    return {text: find(text) for text in parent}


def _name_pool(texts: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for text in texts:
        for match in _names(text):
            seen.setdefault(match.group(0), None)
    return sorted(seen)


def build_cache_suite(
    pairs: Sequence[tuple[str, str]],
    *,
    name: str = "cache",
    negatives: Sequence[str] = NEGATIVE_KINDS,
    seed: int = 0,
    limit: int | None = None,
) -> CacheSuite:
    """Cases for a cache evaluation: every pair's origin and paraphrase, plus negatives.

    The stream order is seeded and realistic: each origin arrives at a random
    time, and its paraphrase and negatives at random times after it, so they
    interleave with other topics.

    Args:
        pairs: ``(origin, similar)`` paraphrase pairs.
        name: The suite name given to the cases.
        negatives: Which kinds of hard negative to generate (see :data:`NEGATIVE_KINDS`).
        seed: Seed of every random choice.
        limit: Use only the first ``limit`` pairs.

    Returns:
        The cases with ids ``p0001-o`` (origin), ``p0001-p`` (paraphrase,
        ``paraphrase_of`` the origin), ``p0001-n-number`` ... (negatives).

    Raises:
        SuiteError: an unknown negative kind, or no pairs.
    """
    unknown = [kind for kind in negatives if kind not in NEGATIVE_KINDS]
    if unknown:
        raise SuiteError(
            f"unknown negative kind {unknown[0]!r}; choose from {', '.join(NEGATIVE_KINDS)}."
        )
    pairs = list(pairs[:limit] if limit is not None else pairs)
    if not pairs:
        raise SuiteError("a cache suite needs at least one paraphrase pair.")
    rng = random.Random(seed)
    answer_of = _groups(pairs)
    pool = _name_pool(text for pair in pairs for text in pair)
    known = set(answer_of)
    counts = dict.fromkeys(negatives, 0)
    timed: list[tuple[float, int, Case]] = []
    width = max(4, len(str(len(pairs))))
    for index, (origin, similar) in enumerate(pairs):
        pid = f"p{index + 1:0{width}d}"
        start = rng.random()
        origin_case = Case(
            id=f"{pid}-o",
            suite=name,
            prompt=origin,
            category="origin",
            expected=answer_of[origin],
        )
        timed.append((start, len(timed), origin_case))
        after = start + (1.0 - start) * rng.random()
        timed.append(
            (
                after,
                len(timed),
                Case(
                    id=f"{pid}-p",
                    suite=name,
                    prompt=similar,
                    category="paraphrase",
                    expected=answer_of[similar],
                    paraphrase_of=origin_case.id,
                ),
            )
        )
        for kind in negatives:
            if kind == "number":
                text = swap_number(origin, rng)
            elif kind == "entity":
                text = swap_entity(origin, pool, rng)
            else:
                text = negate(origin)
            # A "negative" that happens to be another pair's text is no negative.
            if text is None or text == origin or text in known:
                continue
            counts[kind] += 1
            after = start + (1.0 - start) * rng.random()
            timed.append(
                (
                    after,
                    len(timed),
                    Case(
                        id=f"{pid}-n-{kind}",
                        suite=name,
                        prompt=text,
                        category=f"negative:{kind}",
                        expected=text,
                        tags=(f"negative_of:{origin_case.id}",),
                    ),
                )
            )
    timed.sort(key=lambda item: (item[0], item[1]))
    return CacheSuite(cases=tuple(case for _, _, case in timed), pairs=len(pairs), negatives=counts)
