"""The ``fuzzy`` scorer: string similarity through rapidfuzz."""

from __future__ import annotations

from collections.abc import Callable

from rapidfuzz import fuzz

from harness.scoring.base import scorers
from harness.scoring.exact import (
    checked_options,
    extract_option,
    invalid_option_error,
    require_bool,
)
from harness.scoring.extract import read_pair
from harness.types import Score

_METHODS: dict[str, Callable[..., float]] = {
    "ratio": fuzz.ratio,
    "partial_ratio": fuzz.partial_ratio,
    "token_sort_ratio": fuzz.token_sort_ratio,
    "token_set_ratio": fuzz.token_set_ratio,
}


@checked_options
class FuzzyScorer:
    """Similarity of output and reference in [0, 1], or a pass/fail on it.

    Args:
        threshold: When set, the score is 1.0 if the similarity is at least
            this (in [0, 1]) and 0.0 otherwise; when None, the similarity itself.
        method: The rapidfuzz function: ``ratio``, ``partial_ratio``,
            ``token_sort_ratio`` (word order ignored) or ``token_set_ratio``
            (duplicates and extra words ignored).
        ignore_case: Compare case-folded text.
        extract: An extractor applied to output and reference before comparing.
    """

    name: str = "fuzzy"

    def __init__(
        self,
        *,
        threshold: float | None = None,
        method: str = "token_sort_ratio",
        ignore_case: bool = True,
        extract: str | None = None,
    ) -> None:
        self.extractor = extract_option(self.name, extract)
        if threshold is not None and (
            isinstance(threshold, bool)
            or not isinstance(threshold, (int, float))
            or not 0.0 <= threshold <= 1.0
        ):
            raise invalid_option_error(
                self.name, "threshold", threshold, "a number between 0 and 1"
            )
        if method not in _METHODS:
            raise invalid_option_error(self.name, "method", method, f"one of {', '.join(_METHODS)}")
        self.threshold = None if threshold is None else float(threshold)
        self.method = method
        self.ignore_case = require_bool(self.name, "ignore_case", ignore_case)
        self._similarity = _METHODS[method]

    def similarity(self, output: str, reference: str) -> float:
        """The raw similarity in [0, 1], before any threshold."""
        if self.ignore_case:
            output, reference = output.casefold(), reference.casefold()
        # rapidfuzz disagrees with itself on empty strings (token_set_ratio
        # gives 0 for two empty strings, the others 100): decide here.
        if not output.strip() or not reference.strip():
            return 1.0 if output.strip() == reference.strip() else 0.0
        return self._similarity(output, reference) / 100.0

    def score(self, output: str, reference: str) -> Score:
        """The similarity, or 1.0/0.0 against ``threshold`` when one is set."""
        pair = read_pair(self.extractor, output, reference)
        if isinstance(pair, Score):
            return pair
        sim = self.similarity(*pair)
        if self.threshold is None:
            return Score(value=sim, rationale=f"{self.method} {sim:.3f}")
        passed = sim >= self.threshold
        relation = ">=" if passed else "<"
        return Score(
            value=1.0 if passed else 0.0,
            rationale=f"{self.method} {sim:.3f} {relation} threshold {self.threshold}",
        )


@scorers.register("fuzzy")
def fuzzy() -> type[FuzzyScorer]:
    """Factory of the ``fuzzy`` scorer."""
    return FuzzyScorer
