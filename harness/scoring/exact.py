"""Scorers that compare a single extracted value: exact text, final number, choice letter.

Also home of :func:`checked_options`, the shared check that turns a misspelt
suite option into a :class:`~harness.errors.ConfigError` instead of a
``TypeError`` traceback. Every built-in scorer class uses it. How numbers and
choice letters are read lives in :mod:`harness.scoring.extract` (re-exported
here: :func:`final_number`, :func:`extract_choice`).
"""

from __future__ import annotations

import difflib
import functools
import inspect
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from harness.errors import ConfigError
from harness.scoring.base import scorers
from harness.scoring.extract import (
    ALL_LETTERS,
    Extractor,
    build_extractor,
    extract_choice,
    final_number,
    read_number,
    read_pair,
)
from harness.scoring.memo import PARSED_CACHE, remember_first
from harness.types import Score

__all__ = [
    "ChoiceScorer",
    "ExactScorer",
    "NumericScorer",
    "check_options",
    "checked_options",
    "extract_choice",
    "extract_option",
    "final_number",
    "invalid_option_error",
    "keyword_options",
    "normalize_text",
    "require_bool",
    "unknown_option_error",
]


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
    close = difflib.get_close_matches(option, names, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    # 'extract' is common to every built-in scorer: said apart, after the
    # options that are the scorer's own.
    also = f" It also takes {EXTRACT!r}, like every built-in scorer." if EXTRACT in names else ""
    own = [name for name in names if name != EXTRACT]
    if not own:
        besides = f" besides {EXTRACT!r} (what to score in an answer)" if also else ""
        return ConfigError(
            f"scorer {scorer!r} has no option {option!r}. It takes no options{besides}: "
            f"name it alone, e.g. 'scorer: {scorer}'.{hint}"
        )
    return ConfigError(
        f"scorer {scorer!r} has no option {option!r}. Valid options: {', '.join(own)}.{hint}{also}"
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


EXTRACT = "extract"
"""The option every built-in text scorer takes: the extractor applied to both sides."""


def extract_option(scorer: str, value: object) -> Extractor | None:
    """The extractor named by a scorer's ``extract`` option (None: the whole text).

    Raises:
        ConfigError: the value is not an extractor spec, or its parameter is invalid.
        UnknownComponent: no extractor has that name.
    """
    if value is None:
        return None
    try:
        return build_extractor(value)
    except ConfigError as exc:
        raise ConfigError(f"scorer {scorer!r} option {EXTRACT!r}: {exc}") from None


def require_bool(scorer: str, option: str, value: object) -> bool:
    """Return ``value`` if it is a bool, else raise ConfigError for ``option`` of ``scorer``."""
    # YAML gives strings for quoted values ("yes"); refuse them rather than
    # treating every non-empty string as True.
    if not isinstance(value, bool):
        raise invalid_option_error(scorer, option, value, "true or false")
    return value


# --- exact ------------------------------------------------------------------------


# A decimal point between digits, a minus sign before a number (not a hyphen
# inside a word or a date): deleting them would make "3.5" equal "35".
_NUMBER_PUNCTUATION = re.compile(r"(?<=\d)\.(?=\d)|(?<![\w.])-(?=\.?\d)|(?<![\w.])\.(?=\d)")


class _PunctuationTable(dict[int, int | None]):
    """A `str.translate` table deleting Unicode punctuation (categories ``P*``).

    Filled on first sight of each code point, so a character's
    category is looked up once per process, not once per character of every text.
    """

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.category(chr(code)).startswith("P") else code
        self[code] = kept
        return kept


_NO_PUNCTUATION = _PunctuationTable()


def normalize_text(
    text: str,
    *,
    ignore_case: bool = True,
    strip_punctuation: bool = True,
    normalize_whitespace: bool = True,
) -> str:
    """The text as :class:`ExactScorer` compares it.

    Punctuation is deleted everywhere, not only at the end as in the exact
    cache's :func:`~harness.strategies.exact_cache.normalize_prompt`, except
    where it changes a number: a decimal point between digits and a minus sign
    before one stay, so ``"3.5"`` is not ``"35"`` and ``"-7"`` is not ``"7"``
    (a thousands comma still goes: ``"1,234"`` is ``"1234"``).

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
        # The kept marks split the text; every piece between them loses its
        # punctuation through one `str.translate` (a hot path: every output is
        # normalized, and a per-character Python loop was 14 % of a large run).
        pieces: list[str] = []
        start = 0
        for match in _NUMBER_PUNCTUATION.finditer(text):
            pieces.append(text[start : match.start()].translate(_NO_PUNCTUATION))
            pieces.append(match.group())
            start = match.end()
        pieces.append(text[start:].translate(_NO_PUNCTUATION))
        text = "".join(pieces)
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
        extract: An extractor (:mod:`harness.scoring.extract`) applied to output
            and reference before comparing, e.g. ``"last_number"``.
    """

    name: str = "exact"

    def __init__(
        self,
        *,
        ignore_case: bool = True,
        strip_punctuation: bool = True,
        normalize_whitespace: bool = True,
        extract: str | None = None,
    ) -> None:
        self.extractor = extract_option(self.name, extract)
        self.ignore_case = require_bool(self.name, "ignore_case", ignore_case)
        self.strip_punctuation = require_bool(self.name, "strip_punctuation", strip_punctuation)
        self.normalize_whitespace = require_bool(
            self.name, "normalize_whitespace", normalize_whitespace
        )
        self._normalize = self._normalizer()

    def _normalizer(self) -> Callable[[str], str]:
        # The reference is normalized once per configuration, the same text each time.
        return remember_first(PARSED_CACHE)(
            functools.partial(
                normalize_text,
                ignore_case=self.ignore_case,
                strip_punctuation=self.strip_punctuation,
                normalize_whitespace=self.normalize_whitespace,
            )
        )

    def __getstate__(self) -> dict[str, Any]:
        # Pickled without its memory (a closure): the copy makes its own.
        return {k: v for k, v in self.__dict__.items() if k != "_normalize"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._normalize = self._normalizer()

    def score(self, output: str, reference: str) -> Score:
        """1.0 if the normalized texts (or what the extractor read) are equal, else 0.0."""
        pair = read_pair(self.extractor, output, reference)
        if isinstance(pair, Score):
            return pair
        output, reference = pair
        if self._normalize(output) == self._normalize(reference):
            return _MATCH
        return _DIFFER


_MATCH = Score(value=1.0, rationale="exact match")
_DIFFER = Score(value=0.0, rationale="texts differ")
"""The two verdicts (frozen, so shared: one object per case and configuration was 1 us)."""


@scorers.register("exact")
def exact() -> type[ExactScorer]:
    """Factory of the ``exact`` scorer."""
    return ExactScorer


# --- numeric ----------------------------------------------------------------------


@checked_options
class NumericScorer:
    """1.0 when the final numbers of output and reference agree, else 0.0.

    Made for math answers ("... so the answer is 1,234."), where the reasoning
    before the final number is not scored. Numbers are read as the
    ``last_number`` extractor reads them: a number in the last ``\\boxed{}`` or
    after ``####`` first, and a final range or list ("between 8040 and 8046",
    "2, 3 and 5") is no answer (score 0, the rationale says why).

    Args:
        tolerance: Largest absolute difference still counted as equal.
        extract: An extractor applied to both sides first (e.g. ``"answer_line"``);
            the number is then read from what it returned.
    """

    name: str = "numeric"

    def __init__(self, *, tolerance: float = 0.0, extract: str | None = None) -> None:
        self.extractor = extract_option(self.name, extract)
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
        pair = read_pair(self.extractor, output, reference)
        if isinstance(pair, Score):
            return pair
        got, why = read_number(pair[0])
        if got is None:
            return Score(value=0.0, rationale=_unread("output", why))
        want, why = read_number(pair[1])
        if want is None:
            return Score(value=0.0, rationale=_unread("reference", why))
        if abs(got - want) <= self.tolerance:
            return Score(value=1.0, rationale=f"{got} matches {want}")
        return Score(value=0.0, rationale=f"{got} != {want}")


def _unread(side: str, why: str) -> str:
    return f"no number in {side}" if why == "no number" else f"{side}: {why}"


@scorers.register("numeric")
def numeric() -> type[NumericScorer]:
    """Factory of the ``numeric`` scorer."""
    return NumericScorer


# --- choice -----------------------------------------------------------------------


@checked_options
class ChoiceScorer:
    """1.0 when output and reference pick the same multiple-choice letter, else 0.0.

    Args:
        letters: The option letters of the questions, a run of A-J (``"ABCD"``).
        extract: An extractor applied to both sides first (e.g. ``"answer_line"``);
            the letter is then read from what it returned.
    """

    name: str = "choice"

    def __init__(self, *, letters: str = "ABCD", extract: str | None = None) -> None:
        self.extractor = extract_option(self.name, extract)
        if (
            not isinstance(letters, str)
            or not letters
            or not set(letters.upper()) <= set(ALL_LETTERS)
            or len(set(letters.upper())) != len(letters)
        ):
            raise invalid_option_error(
                self.name, "letters", letters, "distinct letters from A to J, e.g. 'ABCD'"
            )
        self.letters = letters.upper()

    def score(self, output: str, reference: str) -> Score:
        """1.0 if both texts name the same letter, else 0.0."""
        pair = read_pair(self.extractor, output, reference)
        if isinstance(pair, Score):
            return pair
        output, reference = pair
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
