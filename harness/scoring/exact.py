"""Scorers that compare a single extracted value: exact text, final number, choice letter.

Also home of :func:`checked_options`, the shared check that turns a misspelt
suite option into a :class:`~harness.errors.ConfigError` instead of a
``TypeError`` traceback. Every built-in scorer class uses it.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar

from harness.errors import ConfigError
from harness.scoring.base import scorers
from harness.types import Score


class _Named(Protocol):
    name: str


_N = TypeVar("_N", bound=_Named)


# --- options: shared by every built-in scorer ------------------------------------


def unknown_option_error(scorer: str, option: str, valid: Iterable[str]) -> ConfigError:
    """The error for an option a scorer does not take.

    Args:
        scorer: The scorer's registered name.
        option: The option the suite gave.
        valid: The options the scorer takes, in the order to show them.

    Returns:
        A :class:`~harness.errors.ConfigError` naming all three, with a
        did-you-mean hint when an option is close to the bad one.
    """
    names = list(valid)
    if not names:
        return ConfigError(
            f"scorer {scorer!r} has no option {option!r}. It takes no options: "
            f"name it alone, e.g. 'scorer: {scorer}'."
        )
    close = difflib.get_close_matches(option, names, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ConfigError(
        f"scorer {scorer!r} has no option {option!r}. Valid options: {', '.join(names)}.{hint}"
    )


def invalid_option_error(scorer: str, option: str, value: object, expected: str) -> ConfigError:
    """The error for an option whose value has the wrong type or range.

    Args:
        scorer: The scorer's registered name.
        option: The option's name.
        value: The value the suite gave.
        expected: What the value should be, as a phrase ("a number between 0 and 1").
    """
    return ConfigError(f"scorer {scorer!r} option {option!r} must be {expected}, got {value!r}.")


def keyword_options(factory: Callable[..., object]) -> tuple[str, ...] | None:
    """The keyword options ``factory`` accepts, in declaration order.

    Returns:
        None when the factory takes ``**kwargs`` (anything goes) or its
        signature cannot be read (a C extension).
    """
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return tuple(
        p.name
        for p in params
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    )


def check_options(scorer: str, factory: Callable[..., object], options: Mapping[str, Any]) -> None:
    """Raise :class:`~harness.errors.ConfigError` if ``factory`` does not take ``options``.

    Args:
        scorer: The scorer's name, for the message.
        factory: The scorer class (or any callable) the options are for.
        options: The keyword arguments a suite gives it.
    """
    valid = keyword_options(factory)
    if valid is None:
        return
    for option in options:
        if option not in valid:
            raise unknown_option_error(scorer, option, valid)


def checked_options(cls: type[_N]) -> type[_N]:
    """Class decorator: unknown keyword options raise ConfigError, not TypeError.

    The registry hands the class itself to the caller, who calls it with the
    suite's options (``scorers.get("fuzzy")(threshold=0.8)``); checking inside
    ``__init__`` is the one place that catches every caller. The class must
    have a ``name`` attribute and take its options keyword-only.
    """
    init = cls.__dict__["__init__"]
    # Read the signature once, at import, not on every construction; from the
    # class, so `self` is not listed as an option.
    valid = keyword_options(cls)
    name = cls.name

    @functools.wraps(init)
    def __init__(self: _N, *args: Any, **kwargs: Any) -> None:
        if valid is not None:
            for option in kwargs:
                if option not in valid:
                    raise unknown_option_error(name, option, valid)
        init(self, *args, **kwargs)

    # setattr: mypy refuses assigning to a method, which is the point here.
    setattr(cls, "__init__", __init__)  # noqa: B010
    return cls


def require_bool(scorer: str, option: str, value: object) -> bool:
    """Return ``value`` if it is a bool, else raise ConfigError for ``option`` of ``scorer``."""
    # YAML gives strings for quoted values ("yes"); refuse them rather than
    # treating every non-empty string as True.
    if not isinstance(value, bool):
        raise invalid_option_error(scorer, option, value, "true or false")
    return value


# --- exact ------------------------------------------------------------------------


def normalize_text(
    text: str,
    *,
    ignore_case: bool = True,
    strip_punctuation: bool = True,
    normalize_whitespace: bool = True,
) -> str:
    """The text as :class:`ExactScorer` compares it.

    Punctuation is deleted everywhere, not only at the end as in the exact
    cache's :func:`~harness.strategies.exact_cache.normalize_prompt`.

    Args:
        text: The text to normalize.
        ignore_case: Case-fold (``"Straße"`` and ``"STRASSE"`` become equal).
        strip_punctuation: Delete Unicode punctuation (categories ``P*``:
            ``.,;:!?'"()-`` but also ``%``, ``#``, ``&``); currency and math
            symbols such as ``$`` and ``+`` stay.
        normalize_whitespace: Collapse runs of whitespace to one space and
            trim both ends.
    """
    if ignore_case:
        text = text.casefold()
    if strip_punctuation:
        # Deleted, not replaced by a space, so "U.S." matches "US" (as in SQuAD).
        text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    if normalize_whitespace:
        text = " ".join(text.split())
    return text


@checked_options
class ExactScorer:
    """1.0 when output and reference are equal after normalization, else 0.0.

    Args:
        ignore_case: Compare case-folded text.
        strip_punctuation: Ignore punctuation.
        normalize_whitespace: Ignore runs of whitespace and leading/trailing space.
    """

    name: str = "exact"

    def __init__(
        self,
        *,
        ignore_case: bool = True,
        strip_punctuation: bool = True,
        normalize_whitespace: bool = True,
    ) -> None:
        self.ignore_case = require_bool(self.name, "ignore_case", ignore_case)
        self.strip_punctuation = require_bool(self.name, "strip_punctuation", strip_punctuation)
        self.normalize_whitespace = require_bool(
            self.name, "normalize_whitespace", normalize_whitespace
        )

    def _normalize(self, text: str) -> str:
        return normalize_text(
            text,
            ignore_case=self.ignore_case,
            strip_punctuation=self.strip_punctuation,
            normalize_whitespace=self.normalize_whitespace,
        )

    def score(self, output: str, reference: str) -> Score:
        """1.0 if the normalized texts are equal, else 0.0."""
        if self._normalize(output) == self._normalize(reference):
            return Score(value=1.0, rationale="exact match")
        return Score(value=0.0, rationale="texts differ")


@scorers.register("exact")
def exact() -> type[ExactScorer]:
    """Factory of the ``exact`` scorer."""
    return ExactScorer


# --- numeric ----------------------------------------------------------------------

_NUMBER = re.compile(
    r"""
    # A sign only where it cannot be a hyphen or a range dash: "3-5" ends in 5, not -5.
    (?P<sign>(?<![\w)\]])[-+\u2212])?
    [$€£¥]?
    (?:
        (?P<int>\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?P<frac>\.\d+)?
      | (?<!\d)(?P<bare_frac>\.\d+)
    )
    (?:[eE](?P<exp>[-+]?\d+))?
    """,
    re.VERBOSE,
)


def final_number(text: str) -> Decimal | None:
    """The last number written in ``text``, or None when there is none.

    Handles thousands separators (``"1,234"``), decimals (``"3.50"``, ``".5"``),
    signs (``"-7"``, ``"−7"``), a currency symbol (``"$12"``, ``"-$12"``),
    exponents (``"1e6"``) and a sentence's closing full stop (``"is 1,234."``).
    A comma not followed by exactly three digits separates numbers.

    Returns:
        The number as a :class:`~decimal.Decimal`, so ``"3.50"`` equals ``"3.5"``
        exactly.
    """
    matches = list(_NUMBER.finditer(text))
    if not matches:
        return None
    last = matches[-1]
    digits = (last["int"] or "").replace(",", "") + (last["frac"] or last["bare_frac"] or "")
    if last["exp"]:
        digits += "e" + last["exp"]
    sign = "-" if last["sign"] in ("-", "\u2212") else ""
    try:
        return Decimal(sign + digits)
    except InvalidOperation:  # pragma: no cover - the regex only matches valid numbers
        return None


@checked_options
class NumericScorer:
    """1.0 when the final numbers of output and reference agree, else 0.0.

    Made for math answers ("... so the answer is 1,234."), where the reasoning
    before the final number is not scored.

    Args:
        tolerance: Largest absolute difference still counted as equal.
    """

    name: str = "numeric"

    def __init__(self, *, tolerance: float = 0.0) -> None:
        if (
            isinstance(tolerance, bool)
            or not isinstance(tolerance, (int, float))
            or not (tolerance >= 0)
        ):
            raise invalid_option_error(self.name, "tolerance", tolerance, "a number >= 0")
        # Through str so 0.01 is the decimal 0.01, not its binary approximation.
        self.tolerance = Decimal(str(tolerance))

    def score(self, output: str, reference: str) -> Score:
        """1.0 if ``|final(output) - final(reference)| <= tolerance``, else 0.0."""
        got = final_number(output)
        if got is None:
            return Score(value=0.0, rationale="no number in output")
        want = final_number(reference)
        if want is None:
            return Score(value=0.0, rationale="no number in reference")
        if abs(got - want) <= self.tolerance:
            return Score(value=1.0, rationale=f"{got} matches {want}")
        return Score(value=0.0, rationale=f"{got} != {want}")


@scorers.register("numeric")
def numeric() -> type[NumericScorer]:
    """Factory of the ``numeric`` scorer."""
    return NumericScorer


# --- choice -----------------------------------------------------------------------

_ALL_LETTERS = "ABCDEFGHIJ"
# Between the keyword and the letter: "is", "would be", "option", colons,
# dashes and markdown emphasis ("**Answer:** B").
_SEP = r"[\s:=*_\-\u2013\u2014]*"


@functools.cache  # one compile per letter set: a suite scores thousands of outputs
def _choice_patterns(letters: str) -> tuple[re.Pattern[str], ...]:
    upper = f"[{letters}]"
    lower = f"[{letters.lower()}]"
    either = f"[{letters}{letters.lower()}]"
    return (
        # "Answer: B", "The correct answer is (c)", "answer would be option D".
        # The keyword is case-insensitive; a bare lower-case letter counts only
        # at the end of a line ("Answer: b"), so "the answer is a trick" is not A.
        re.compile(
            r"(?i:\b(?:answer|option|choice)\b)"
            rf"{_SEP}(?i:(?:is|would\s+be)\b)?{_SEP}(?i:(?:option|choice|letter)\b)?{_SEP}"
            rf"(?:\(({either})\)|\[({either})\]|({upper})\b"
            rf"|({lower})(?=[.)*]*[ \t]*(?:\n|$)))"
        ),
        # The whole output is one letter: "B", "b.", "(C)".
        re.compile(rf"^\W*({either})\W*$"),
        # A letter in parentheses anywhere: "(C)". The last one wins, as the
        # conclusion of a reasoning comes after the options it weighs.
        re.compile(rf"\(({either})\)"),
        # The output starts with a labelled option: "B. Paris", "C) 42".
        re.compile(rf"^\s*({upper})[.):]\s"),
    )


def extract_choice(text: str, letters: str = "ABCD") -> str | None:
    """The answer letter in ``text``, upper case, or None when there is none.

    Args:
        text: A model's answer or a reference.
        letters: The valid option letters, upper case.
    """
    for pattern in _choice_patterns(letters):
        matches = list(pattern.finditer(text))
        if matches:
            # Each pattern has alternatives; exactly one group matched.
            return next(g for g in matches[-1].groups() if g).upper()
    return None


@checked_options
class ChoiceScorer:
    """1.0 when output and reference pick the same multiple-choice letter, else 0.0.

    Args:
        letters: The option letters of the questions, a run of A-J (``"ABCD"``).
    """

    name: str = "choice"

    def __init__(self, *, letters: str = "ABCD") -> None:
        if (
            not isinstance(letters, str)
            or not letters
            or not set(letters.upper()) <= set(_ALL_LETTERS)
            or len(set(letters.upper())) != len(letters)
        ):
            raise invalid_option_error(
                self.name, "letters", letters, "distinct letters from A to J, e.g. 'ABCD'"
            )
        self.letters = letters.upper()

    def score(self, output: str, reference: str) -> Score:
        """1.0 if both texts name the same letter, else 0.0."""
        got = extract_choice(output, self.letters)
        if got is None:
            return Score(value=0.0, rationale="no answer letter in output")
        want = extract_choice(reference, self.letters)
        if want is None:
            return Score(value=0.0, rationale="no answer letter in reference")
        if got == want:
            return Score(value=1.0, rationale=f"both chose {got}")
        return Score(value=0.0, rationale=f"chose {got}, reference {want}")


@scorers.register("choice")
def choice() -> type[ChoiceScorer]:
    """Factory of the ``choice`` scorer."""
    return ChoiceScorer
