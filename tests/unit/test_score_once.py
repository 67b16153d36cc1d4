"""Scoring once (issue 18): the golden scored once per run, parsing cached, normalisation fast.

The fast :func:`normalize_text` must give exactly what the per-character
version gave; the caches must not change any score; and the baseline's golden is
scored once per (suite, case), not once per configuration.
"""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.scoring.exact import _NUMBER_PUNCTUATION, normalize_text
from harness.scoring.extract import final_number, read_number
from harness.types import CaseResult, Score
from tests.unit.tiny_project import CASES, evaluate, make_settings, write_suite


def reference_normalize(
    text: str,
    *,
    ignore_case: bool = True,
    strip_punctuation: bool = True,
    normalize_whitespace: bool = True,
) -> str:
    """The per-character normalisation as it was before (the specification)."""
    if ignore_case:
        text = text.casefold()
    if strip_punctuation:
        kept = {m.start() for m in _NUMBER_PUNCTUATION.finditer(text)}
        text = "".join(
            ch
            for i, ch in enumerate(text)
            if i in kept or not unicodedata.category(ch).startswith("P")
        )
    if normalize_whitespace:
        text = " ".join(text.split())
    return text


# Digits, signs, points and every kind of punctuation, ASCII and not, that
# the number rule and the deletion meet: "«-3.5»", "U.S.", "¿qué?", "1,234".
ALPHABET = (
    "0123456789 .-,+$%#&!?'\"()[]{}:;/_@*\\^`|~<=>\t\n"
    "aZßẞİıﬁΣς"
    "«»¿¡–—―‐‑‘’“”„…·•†‡※‰′″、。「」《》！？，．－＿"
    "\u00a0\u2009\u3000\u2028\u0301\u05be\u066b\u066c\u2212\u2010\U0001f600\U00010100"
)


@settings(max_examples=400, deadline=None)
@given(
    text=st.text(alphabet=ALPHABET, max_size=40) | st.text(max_size=40),
    ignore_case=st.booleans(),
    strip_punctuation=st.booleans(),
    normalize_whitespace=st.booleans(),
)
def test_normalize_text_equals_the_per_character_version(
    text: str, ignore_case: bool, strip_punctuation: bool, normalize_whitespace: bool
) -> None:
    options = {
        "ignore_case": ignore_case,
        "strip_punctuation": strip_punctuation,
        "normalize_whitespace": normalize_whitespace,
    }
    assert normalize_text(text, **options) == reference_normalize(text, **options)


def test_normalize_text_equals_the_per_character_version_on_random_unicode() -> None:
    rng = random.Random(18)
    # Every code point of the Basic Multilingual Plane is seen at least once.
    points = list(range(0x10000))
    rng.shuffle(points)
    texts = ["".join(chr(p) for p in points[i : i + 64]) for i in range(0, len(points), 64)]
    texts += ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 30))) for _ in range(5000)]
    for text in texts:
        assert normalize_text(text) == reference_normalize(text), repr(text)


def test_cached_readers_give_the_same_answer_again() -> None:
    for text in ["so the answer is 1,234.", "between 3 and 5", "\\boxed{7}", "none"]:
        first = (read_number(text), final_number(text))
        assert (read_number(text), final_number(text)) == first
    assert read_number("so the answer is 1,234.")[0] == 1234
    assert read_number("between 3 and 5")[0] is None


COUNTED: list[tuple[str, str]] = []


class CountingScorer:
    """Exact match that records every (output, reference) it is asked to score."""

    name = "counting"

    def score(self, output: str, reference: str) -> Score:
        COUNTED.append((output, reference))
        return Score(value=float(output.strip() == reference.strip()))


def counted_run(root: Path, configs: int) -> tuple[int, list[CaseResult]]:
    """Scorer calls of a run of the tiny suite with ``configs`` configurations."""
    root.mkdir()
    write_suite(root)
    suite = root / "suites" / "tiny.yaml"
    text = suite.read_text(encoding="utf-8")
    suite.write_text(
        text.replace("scorer: numeric", "scorer: tests.unit.test_score_once:CountingScorer"),
        encoding="utf-8",
    )
    specs = [{"name": f"small-{i}", "model": "sim:small"} for i in range(configs)]
    COUNTED.clear()
    outcome = evaluate(make_settings(root, specs), update_goldens="new")
    assert len(outcome.results) == configs * len(CASES)
    return len(COUNTED), outcome.results


def test_the_golden_is_scored_once_per_run_not_once_per_configuration(tmp_path: Path) -> None:
    one, _ = counted_run(tmp_path / "one", 1)
    four, results = counted_run(tmp_path / "four", 4)
    # Each configuration added scores its own outputs only: the goldens' scores
    # (against the expected answers) are reused, not computed again (was 2 per case).
    assert four - one == 3 * len(CASES)
    by_case: dict[str, set[float | None]] = {}
    for result in results:
        by_case.setdefault(result.case_id, set()).add(result.baseline_score)
    assert sorted(by_case) == sorted(case_id for case_id, *_ in CASES)
    assert all(len(scores) == 1 and None not in scores for scores in by_case.values())
