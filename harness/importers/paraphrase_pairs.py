"""A cache-evaluation suite from labelled or paraphrase pairs, with real or generated negatives.

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

Labelled pairs (``labels``: 1 = same question, 0 = different, e.g. Quora
Question Pairs read by :mod:`harness.importers.labelled_pairs`) bring **real
negatives**: the second text of a label-0 pair is a near-miss people asked, and
is used as it is (``negative:labelled``; ``negative:mined`` for pairs mined
from a suite). Negatives are generated only when asked for, and only from
paraphrase pairs.

Each case carries its label in ``category`` (``origin``, ``paraphrase``,
``negative:labelled``, ``negative:number``, ...) and its correct answer in
``expected``: paraphrases share their origin's answer, a negative has its own.
So a cache evaluation can count a hit on a negative as a false hit.
:func:`describe_negatives` says which kind a suite holds, so generated figures
are never mistaken for real ones. Everything is deterministic for a given
``seed``.
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
    "LABELLED",
    "MINED",
    "NEGATIVE_KINDS",
    "CacheSuite",
    "build_cache_suite",
    "describe_negatives",
    "describe_suite_negatives",
    "load_pairs",
    "negate",
    "negative_sources",
    "swap_entity",
    "swap_number",
]

NEGATIVE_KINDS: tuple[str, ...] = ("number", "entity", "negation")
"""The kinds of hard negative :func:`build_cache_suite` can generate."""

LABELLED = "labelled"
"""Negatives people labelled (label-0 pairs of the data): real near-misses."""

MINED = "mined"
"""Negatives mined from a suite: nearest neighbours whose goldens differ."""

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
        - The two texts of a label-0 pair (labelled or mined): false, even when
          label-1 pairs link them (A same as B, B same as C, A not C: the
          direct label wins).
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
        same_pair = _pair_of(a.id) == _pair_of(b.id)
        if same_pair and a.id != b.id and _is_real_negative(a, b):
            return False  # the pair's own label wins over links through other pairs
        if a.expected == b.expected:
            return True
        if not same_pair:
            return None
        negative = a.category.startswith("negative:") or b.category.startswith("negative:")
        return False if negative else None

    @property
    def negative_source(self) -> str:
        """Which negatives the suite holds: ``labelled``, ``mined``, ``generated``, joined
        with `` + `` when several, or ``none``."""
        return " + ".join(negative_sources(self.negatives)) or "none"

    def describe_negatives(self) -> str:
        """The negatives in words, by source and count (what a header or a report says)."""
        return describe_negatives(self.negatives)

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
            "description": f"{self.pairs} pairs; {self.describe_negatives()}.",
            "scorer": "exact",
            "reference": "expected",
            "cases": rows,
        }


def _pair_of(case_id: str) -> str:
    return case_id.split("-", 1)[0]


def _is_real_negative(a: Case, b: Case) -> bool:
    real = (f"negative:{LABELLED}", f"negative:{MINED}")
    return a.category in real or b.category in real


def negative_sources(counts: Mapping[str, int]) -> dict[str, int]:
    """Negatives by source: ``labelled``, ``mined`` and ``generated`` (every generated kind).

    ``counts`` maps a kind (``labelled``, ``mined``, ``number``, ``entity``,
    ``negation``, or a case category ``negative:<kind>``) to a count; sources
    with none are left out.
    """
    out: dict[str, int] = {}
    for kind, count in counts.items():
        kind = kind.removeprefix("negative:")
        source = kind if kind in (LABELLED, MINED) else "generated"
        if count:
            out[source] = out.get(source, 0) + count
    return {source: out[source] for source in (LABELLED, MINED, "generated") if source in out}


def describe_suite_negatives(cases: Iterable[Case]) -> str | None:
    """What :func:`describe_negatives` says of a suite's ``negative:*`` cases; None without any.

    A suite written from pairs (:meth:`CacheSuite.to_suite`) keeps each case's
    category, so a run's report can say which negatives its cache sweep met.
    """
    counts: dict[str, int] = {}
    for case in cases:
        if case.category.startswith("negative:"):
            counts[case.category] = counts.get(case.category, 0) + 1
    return describe_negatives(counts) if counts else None


def describe_negatives(counts: Mapping[str, int]) -> str:
    """Negatives by source in words, generated ones flagged as made up.

    ``{"labelled": 3000}`` -> ``"negatives: 3,000 labelled (real near-misses)"``;
    ``{"number": 75, "entity": 726}`` -> ``"negatives: 801 generated (number 75,
    entity 726; made up: figures on them overstate what real traffic gets)"``.
    """
    sources = negative_sources(counts)
    if not sources:
        return "negatives: none (no hit can be judged false: wrong hits are not measured)"
    generated = ", ".join(
        f"{kind} {count:,}"
        for kind, count in counts.items()
        if kind.removeprefix("negative:") not in (LABELLED, MINED) and count
    )
    words = {
        LABELLED: "labelled (real near-misses)",
        MINED: "mined (nearest neighbours with different goldens)",
        "generated": f"generated ({generated}; made up: figures on them overstate what "
        "real traffic gets)",
    }
    return "negatives: " + " + ".join(f"{n:,} {words[s]}" for s, n in sources.items())


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
    labels: Sequence[int] | None = None,
    labelled_as: str = LABELLED,
) -> CacheSuite:
    """Cases for a cache evaluation: every pair's two texts, plus generated negatives.

    The stream order is seeded and realistic: each origin arrives at a random
    time, and its paraphrase and negatives at random times after it, so they
    interleave with other topics.

    Args:
        pairs: ``(origin, similar)`` pairs (``(text_a, text_b)``).
        name: The suite name given to the cases.
        negatives: Which kinds of hard negative to generate (see :data:`NEGATIVE_KINDS`)
            from the origin of each paraphrase pair; ``()`` generates none.
        seed: Seed of every random choice.
        limit: Use only the first ``limit`` pairs.
        labels: One label per pair: 1 = the two texts ask the same (a
            paraphrase), 0 = they do not (a real negative: ``text_b`` is a
            near-miss of ``text_a``). Default: every pair is a paraphrase
            (GPTCache's data). Negatives are generated from paraphrase pairs only.
        labelled_as: Where the label-0 pairs come from: ``labelled`` (people
            labelled them) or ``mined`` (nearest neighbours whose goldens differ);
            their second text gets the category ``negative:<labelled_as>``.

    Returns:
        The cases with ids ``p0001-o`` (origin), ``p0001-p`` (paraphrase,
        ``paraphrase_of`` the origin), ``p0001-n-labelled`` (the second text of
        a label-0 pair), ``p0001-n-number`` ... (generated negatives).

    Raises:
        SuiteError: an unknown negative kind, labels that are not one 0 or 1
            per pair, or no pairs.
    """
    unknown = [kind for kind in negatives if kind not in NEGATIVE_KINDS]
    if unknown:
        raise SuiteError(
            f"unknown negative kind {unknown[0]!r}; choose from {', '.join(NEGATIVE_KINDS)}."
        )
    if labels is not None and (
        len(labels) != len(pairs) or any(label not in (0, 1) for label in labels)
    ):
        raise SuiteError(f"need one label (0 or 1) per pair: {len(pairs)} pairs.")
    flags = [bool(x) for x in labels] if labels is not None else [True] * len(pairs)
    pairs = list(pairs[:limit] if limit is not None else pairs)
    if not pairs:
        raise SuiteError("a cache suite needs at least one paraphrase pair.")
    rng = random.Random(seed)
    answer_of = _groups([pair for pair, same in zip(pairs, flags, strict=False) if same])
    for member in (member for pair in pairs for member in pair):
        answer_of.setdefault(member, member)
    pool = _name_pool(text for pair in pairs for text in pair) if "entity" in negatives else []
    known = set(answer_of)
    counts = dict.fromkeys(negatives, 0)
    if not all(flags[: len(pairs)]):
        counts[labelled_as] = flags[: len(pairs)].count(False)
    timed: list[tuple[float, int, Case]] = []
    width = max(4, len(str(len(pairs))))
    for index, (origin, similar) in enumerate(pairs):
        pid = f"p{index + 1:0{width}d}"
        if not flags[index]:
            start = rng.random()
            first = Case(
                id=f"{pid}-o", suite=name, prompt=origin, category="origin",
                expected=answer_of[origin],
            )  # fmt: skip
            timed.append((start, len(timed), first))
            second = Case(
                id=f"{pid}-n-{labelled_as}",
                suite=name,
                prompt=similar,
                category=f"negative:{labelled_as}",
                expected=answer_of[similar],
                tags=(f"negative_of:{first.id}",),
            )
            timed.append((start + (1.0 - start) * rng.random(), len(timed), second))
            continue
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
