"""The scoring readers' memory keeps the first texts it reads and never evicts them."""

from __future__ import annotations

import pickle

from harness.scoring.exact import ExactScorer
from harness.scoring.extract import extract_choice, final_number
from harness.scoring.memo import remember_first


def test_remembers_the_first_texts_and_reads_the_others_afresh() -> None:
    read: list[str] = []

    @remember_first(3)
    def upper(text: str) -> str:
        read.append(text)
        return text.upper()

    # Three passes over five texts, in the same order each time (as a run reads a
    # suite's references under each configuration): an LRU of 3 would read all 15.
    for _ in range(3):
        assert [upper(t) for t in "abcde"] == list("ABCDE")
    assert read == list("abcde") + ["d", "e"] * 2


def test_readers_answer_the_same_from_memory() -> None:
    texts = [f"The total is {n:,}." for n in range(0, 200_000, 997)]
    first = [final_number(t) for t in texts]
    assert first == [final_number(t) for t in texts]
    assert first[5] == 5 * 997
    assert extract_choice("The answer is (b).", "ABCD") == "B"
    assert extract_choice("The answer is (b).", "ABCD") == "B"
    assert extract_choice("The answer is (E).", "ABCDE") == "E"
    assert extract_choice("The answer is (E).", "ABCD") is None


def test_exact_scorers_with_other_options_do_not_share_their_memory() -> None:
    strict = ExactScorer(ignore_case=False)
    loose = ExactScorer()
    assert loose.score("Paris", "paris").value == 1.0
    assert strict.score("Paris", "paris").value == 0.0
    assert loose.score("Paris", "paris").value == 1.0


def test_an_exact_scorer_pickles_with_its_options_and_a_memory_of_its_own() -> None:
    strict = ExactScorer(ignore_case=False)
    strict.score("Paris", "Paris")
    copy = pickle.loads(pickle.dumps(strict))
    assert copy.score("Paris", "paris").value == 0.0
    assert copy.score("Paris", "Paris").value == 1.0
    assert copy._normalize is not strict._normalize
