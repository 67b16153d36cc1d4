"""Extractors: what of an answer is scored, read the same way from the output and the reference.

Real answers reason first and conclude last ("... so she makes $18 every day."),
and a scorer comparing the whole text scores the reasoning, not the answer. A
suite names an extractor in its scorer spec::

    scorer: {name: exact, extract: last_number}

and every built-in text scorer applies it to the output *and* to the reference
before comparing them. An answer the extractor cannot read scores 0, with a
rationale saying why; it never raises. Built-in extractors (see
``docs/scoring.md`` for a table of examples):

- ``last_number``: the final number, as a plain decimal ("1,234.50" -> "1234.5").
  A number in the last ``\\boxed{}`` or after the last ``####`` wins over the rest
  of the text. A final number that closes a range ("between 8040 and 8046",
  "3-5") or a list ("2, 3 and 5", "4 or 5") is *not* read as the answer: the
  answer gives several numbers, so the extractor reports it cannot read it.
- ``boxed``: the content of the last ``\\boxed{...}`` (nested braces kept).
- ``yes_no``: a final Yes/No verdict ("[[Yes]]", "Answer: no", "No, because ..."),
  as ``yes`` or ``no``.
- ``choice`` (``choice:ABCDE`` for other letters): a choice letter ("(B)",
  "Answer: B", "the answer is B.", "[[B]]").
- ``answer_line``: the text of the last ``ANSWER:`` / ``Final answer:`` / ``####`` line.
- ``json:<path>``: a field of the last JSON object in the answer, by dotted path
  (``json:result.items.0.name``; a number indexes a list).
- ``regex:<pattern>``: the one group of the pattern's last match.
- ``package.module:function``: your own, a function from text to ``str | None``.

Build one with :func:`build_extractor`; :func:`read_pair` applies it to both sides.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from harness.errors import ConfigError, UnknownComponent
from harness.registry import load_import_path
from harness.scoring.base import Scorer
from harness.scoring.memo import PARSED_CACHE, remember_first
from harness.types import Score

__all__ = [
    "ALL_LETTERS",
    "EXTRACTORS",
    "ExtractingScorer",
    "Extractor",
    "Reading",
    "build_extractor",
    "extract_choice",
    "final_number",
    "read_number",
    "read_pair",
]


@dataclass(frozen=True, slots=True)
class Reading:
    """What an extractor read in one answer."""

    value: str | None
    """The text to score, or None when the answer could not be read."""
    reason: str = ""
    """Why the answer could not be read (when ``value`` is None)."""


@dataclass(frozen=True, slots=True)
class Extractor:
    """A named way to read the answer out of a text."""

    name: str
    """The spec as the suite wrote it (``"last_number"``, ``"json:answer"``)."""
    read: Callable[[str], Reading]
    """Reads one text."""

    def __reduce__(self) -> tuple[Callable[[str], Extractor], tuple[str]]:
        # `read` may be a closure (json:, regex:, choice:), which pickle cannot
        # carry: rebuild from the spec instead.
        return build_extractor, (self.name,)


# --- numbers ------------------------------------------------------------------------

_CURRENCY = "$€£¥"
_NUMBER = re.compile(
    rf"""
    # A sign only where it cannot be a hyphen or a range dash: "3-5" ends in 5, not -5.
    (?P<sign>(?<![\w)\]])[-+\u2212])?
    [{_CURRENCY}]?
    (?:
        (?P<int>\d{{1,3}}(?:,\d{{3}})+(?!\d)|\d+)(?P<frac>\.\d+)?
      | (?<!\d)(?P<bare_frac>\.\d+)
    )
    (?:[eE](?P<exp>[-+]?\d+))?
    """,
    re.VERBOSE,
)

# A number glued to a letter on its left names something ("H2O", "COVID19",
# "gpt-4", "Q3"), it is not a quantity.
_NAME_BEFORE = re.compile(r"[A-Za-z_]-?$")

# One item of a range or a list: a number with its currency, percent sign or
# markdown emphasis, and (for ranges only) a unit word: "between 5 km and 7 km".
_ITEM = rf"[*_]*[-+\u2212]?[{_CURRENCY}]?(?:\d[\d,]*(?:\.\d+|/\d+)?|\.\d+)%?[*_]*"
_UNIT = r"(?:\s*[A-Za-z]{1,12})?"
_RANGE_BEFORE = re.compile(
    rf"""(?ix)
    (?: \bbetween\s+{_ITEM}{_UNIT}\s+and            # between 8040 and 8046
      | \bfrom\s+{_ITEM}{_UNIT}\s+(?:to|through)\b  # from 3 to 5 (a span, or a change)
      | (?<![\w.,]){_ITEM}{_UNIT}\s*(?:to|through)  # 3 to 5, 3 km to 5 km
      | (?<![\d.,]){_ITEM}[-\u2013\u2014]            # 3-5, 3–5 (not "7 - 5": spaced, a sum)
      | {_ITEM}\s*(?:\u00b1|\+/-)                   # 5 ± 2
    )\s*$
    """
)
_LIST_BEFORE = re.compile(
    rf"""(?ix)
    (?: (?:{_ITEM}\s*,\s*)*{_ITEM}\s*,?\s*(?:and|or|&)  # 2 and 3, 2, 3, or 5, 4 or 5
      | (?:{_ITEM}\s*,\s*){{2,}}                     # 2, 3, 5 (three or more, no "and")
    )\s*$
    """
)
# "3/4" is one number, not a 4; "1/2/2024" (a date) is not a fraction.
_NUMERATOR_BEFORE = re.compile(
    r"(?<![\w/.,])(?P<sign>(?<![\w)\]])[-\u2212])?(?P<num>\d+(?:\.\d+)?)/$"
)
_LATEX_FRACTION = re.compile(r"\\[dt]?frac\s*\{\s*(-?\d+)\s*\}\s*\{\s*(\d+)\s*\}")
_BOXED = re.compile(r"\\boxed\s*\{")
_HASHES = re.compile(r"^[ \t]*####[ \t]*(.*)$", re.MULTILINE)


def _numbers(text: str) -> list[re.Match[str]]:
    return [m for m in _NUMBER.finditer(text) if not _NAME_BEFORE.search(text[: m.start()])]


def _to_decimal(match: re.Match[str]) -> Decimal:
    digits = (match["int"] or "").replace(",", "") + (match["frac"] or match["bare_frac"] or "")
    if match["exp"]:
        digits += "e" + match["exp"]
    sign = "-" if match["sign"] in ("-", "\u2212") else ""
    try:
        return Decimal(sign + digits)
    except InvalidOperation:  # pragma: no cover - the regex only matches valid numbers
        return Decimal(0)


@remember_first(PARSED_CACHE)
def final_number(text: str) -> Decimal | None:
    """The last number written in ``text``, or None when there is none.

    A plain reading that does not look at what surrounds the number (so the last
    item of a range or a list counts); :func:`read_number` is the careful one.
    Handles thousands separators (``"1,234"``), decimals (``"3.50"``, ``".5"``),
    signs (``"-7"``, ``"−7"``), a currency symbol (``"$12"``, ``"-$12"``),
    exponents (``"1e6"``) and a sentence's closing full stop (``"is 1,234."``).
    A comma not followed by exactly three digits separates numbers.

    Returns:
        The number as a :class:`~decimal.Decimal`, so ``"3.50"`` equals ``"3.5"``
        exactly.
    """
    matches = list(_NUMBER.finditer(text))
    return _to_decimal(matches[-1]) if matches else None


def _last_box(text: str) -> str | None:
    """The content of the last balanced ``\\boxed{...}``, or None."""
    found = None
    for match in _BOXED.finditer(text):
        depth, start = 1, match.end()
        for i in range(start, len(text)):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    found = text[start:i]
                    break
    return found


@remember_first(PARSED_CACHE)
def read_number(text: str) -> tuple[Decimal | None, str]:
    """The answer's number, as :func:`last_number` reads it.

    Returns:
        ``(number, "")``, or ``(None, why)`` when there is no number or the
        last one closes a range or a list.
    """
    scope, where = text, ""
    box = _last_box(text)
    hashes = _HASHES.findall(text)
    if box is not None:
        scope, where = box, " in the last \\boxed{}"
    elif hashes and hashes[-1].strip():
        scope, where = hashes[-1], " after the last '####'"
    scope = _LATEX_FRACTION.sub(r"\1/\2", scope)
    matches = _numbers(scope)
    if not matches:
        return None, f"no number{where}"
    last = matches[-1]
    start, value = last.start(), _to_decimal(last)
    fraction = _NUMERATOR_BEFORE.search(scope[:start])
    plain = last["int"] and not (last["sign"] or last["frac"] or last["exp"] or "," in last["int"])
    if fraction and _NAME_BEFORE.search(scope[: fraction.start()]):
        fraction = None  # "gpt-4/5": a name, then a number
    if fraction and plain and scope[last.end() : last.end() + 1] != "/":
        if value == 0:
            return None, f"the last number{where} is a fraction over 0"
        sign = -1 if fraction["sign"] else 1
        start, value = fraction.start(), sign * Decimal(fraction["num"]) / value
    before = scope[:start]
    shown = scope[start : last.end()].strip()
    for pattern, kind in ((_RANGE_BEFORE, "a range"), (_LIST_BEFORE, "a list")):
        found = pattern.search(before)
        if found:
            written = " ".join((found.group(0) + shown).split())
            return None, (
                f"the last number{where} ends {kind} ({written!r}), not one answer; "
                "ask for a single final number or use another extractor"
            )
    return value, ""


def number_text(number: Decimal) -> str:
    """``number`` as plain decimal text: ``"1234.5"``, ``"-7"``, ``"1000000"``."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def last_number(text: str) -> Reading:
    """The final number of the answer (see :func:`read_number`), as plain decimal text."""
    number, why = read_number(text)
    return Reading(None, why) if number is None else Reading(number_text(number))


# --- boxed, answer lines ------------------------------------------------------------


@remember_first(PARSED_CACHE)
def boxed(text: str) -> Reading:
    """The content of the last ``\\boxed{...}``, braces inside it kept."""
    box = _last_box(text)
    if box is None:
        return Reading(None, "no \\boxed{...} with balanced braces")
    if not box.strip():
        return Reading(None, "the last \\boxed{} is empty")
    return Reading(box.strip())


_ANSWER_LINE = re.compile(
    r"""(?imx)
    ^[ \t>#*_]*                                     # markdown: > quote, ## heading, **bold**
    (?:the\s+)?(?:final\s+)?answer(?:\s+is)?
    [ \t*_]*[:：][ \t*_]*(?P<rest>.*)$
    | ^[ \t]*\#\#\#\#[ \t]*(?P<hashes>.*)$           # GSM8K: "#### 72"
    """
)


@remember_first(PARSED_CACHE)
def answer_line(text: str) -> Reading:
    """The text after the last ``ANSWER:``, ``Final answer:`` or ``####`` at a line start.

    When the label ends its line ("Final answer:" then the answer below), the
    next non-empty line is the answer.
    """
    matches = list(_ANSWER_LINE.finditer(text))
    if not matches:
        return Reading(None, "no line starting with 'Answer:', 'Final answer:' or '####'")
    last = matches[-1]
    rest = (last["rest"] if last["rest"] is not None else last["hashes"]).strip(" \t*_")
    if not rest:
        below = [line for line in text[last.end() :].splitlines() if line.strip()]
        rest = below[0].strip(" \t*_") if below else ""
    if not rest:
        return Reading(None, "the last answer line is empty")
    return Reading(rest)


# --- yes / no ---------------------------------------------------------------------

# After the verdict: end of text or line, punctuation, or a closing bracket, so
# "no one", "no longer" and "yes or no" are not verdicts.
_VERDICT_END = r"(?=[ \t]*(?:[.!,;:)\]*_]|$))"
_YES_NO_PATTERNS = (
    # [[Yes]], [No], **YES**, (no): a verdict set apart.
    re.compile(r"(?i)(?:\[\[|\[|\*\*|\()[ \t]*(yes|no)[ \t.!]*(?:\]\]|\]|\*\*|\))"),
    # Answer: yes / My verdict is no. / Final answer - No, because ...
    re.compile(
        r"(?im)\b(?:answer|verdict|conclusion|decision|judge?ment|response)\b"
        r"[ \t*_]*(?:(?:is|would\s+be)\b)?[ \t*_:=\-\u2013\u2014]*"
        rf"(yes|no)\b{_VERDICT_END}"
    ),
    # A line or a last sentence opening with the verdict: "No, the premise is false."
    # or "... So, yes." at the very end.
    re.compile(rf"(?im)^[ \t>*_]*(yes|no)\b{_VERDICT_END}"),
    re.compile(r"(?i)(?:^|[,:;.?!][ \t]+)(yes|no)[ \t*_]*[.!]?[ \t*_]*\Z"),
)


@remember_first(PARSED_CACHE)
def yes_no(text: str) -> Reading:
    """The final Yes/No verdict, as ``"yes"`` or ``"no"`` (any case, bracketed or not).

    A verdict set apart ("[[Yes]]", "**No**") wins over a labelled one
    ("Answer: yes"), which wins over a line or last sentence that opens with it;
    within each, the last one counts.
    """
    for pattern in _YES_NO_PATTERNS:
        matches = list(pattern.finditer(text.rstrip()))
        if matches:
            return Reading(matches[-1].group(1).lower())
    return Reading(None, "no final Yes/No verdict")


# --- choice letters ---------------------------------------------------------------

ALL_LETTERS = "ABCDEFGHIJ"
"""Every option letter a choice question may use."""
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
        # A verdict in double brackets, as judges write it: "[[B]]".
        re.compile(rf"\[\[\s*({either})\s*\]\]"),
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
    return _remembered_choice((text, letters))


@remember_first(PARSED_CACHE)
def _remembered_choice(key: tuple[str, str]) -> str | None:
    text, letters = key
    for pattern in _choice_patterns(letters):
        matches = list(pattern.finditer(text))
        if matches:
            # Each pattern has alternatives; exactly one group matched.
            return next(g for g in matches[-1].groups() if g).upper()
    return None


def _choice_extractor(letters: str, spec: str) -> Extractor:
    wanted = letters.upper()
    if not wanted or not set(wanted) <= set(ALL_LETTERS) or len(set(wanted)) != len(wanted):
        raise ConfigError(
            f"extractor {spec!r}: the letters after 'choice:' must be distinct letters from "
            f"A to J, e.g. 'choice:ABCDE', got {letters!r}."
        )

    def read(text: str) -> Reading:
        letter = extract_choice(text, wanted)
        if letter is None:
            return Reading(None, f"no answer letter ({', '.join(wanted)})")
        return Reading(letter)

    return Extractor(spec, read)


# --- json and regex ---------------------------------------------------------------

_DECODER = json.JSONDecoder()


def _json_objects(text: str) -> list[object]:
    """Every top-level JSON object or array in ``text``, in order."""
    try:
        return [json.loads(text)]
    except ValueError:
        pass
    found: list[object] = []
    i = 0
    while True:
        starts = [p for p in (text.find("{", i), text.find("[", i)) if p >= 0]
        if not starts:
            return found
        start = min(starts)
        try:
            value, end = _DECODER.raw_decode(text, start)
        except ValueError:
            i = start + 1
            continue
        if isinstance(value, (dict, list)):
            found.append(value)
        i = end


def _json_text(value: object) -> str:
    # A string is the answer itself; anything else in canonical JSON, so equal
    # objects written in another key order compare equal.
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _json_extractor(path: str, spec: str) -> Extractor:
    keys = path.split(".")
    if not path or any(not key for key in keys):
        raise ConfigError(
            f"extractor {spec!r}: give the field's dotted path after 'json:', "
            "e.g. 'json:answer' or 'json:result.items.0.name'."
        )

    def read(text: str) -> Reading:
        objects = _json_objects(text)
        if not objects:
            return Reading(None, "no JSON object in the answer")
        value: object = objects[-1]
        for depth, key in enumerate(keys):
            if isinstance(value, Mapping) and key in value:
                value = value[key]
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                value = value[int(key)]
            else:
                field = ".".join(keys[: depth + 1])
                return Reading(None, f"the last JSON object in the answer has no {field!r}")
        return Reading(_json_text(value))

    return Extractor(spec, read)


def _regex_extractor(pattern: str, spec: str) -> Extractor:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ConfigError(
            f"extractor {spec!r}: {pattern!r} is not a valid regex ({exc})."
        ) from None
    if compiled.groups != 1:
        raise ConfigError(
            f"extractor {spec!r}: the pattern must have exactly one group, the part to "
            f"score, e.g. 'regex:Total: (\\d+)'; {pattern!r} has {compiled.groups}. "
            "Make the others non-capturing: (?:...)."
        )

    def read(text: str) -> Reading:
        found = [m.group(1) for m in compiled.finditer(text) if m.group(1) is not None]
        if not found:
            return Reading(None, f"no match of {pattern!r}")
        return Reading(found[-1].strip())

    return Extractor(spec, read)


def _user_extractor(path: str) -> Extractor:
    function = load_import_path(path, where=f"extractor {path!r}")
    if not callable(function):
        raise ConfigError(f"extractor {path!r} is not a function from text to str or None.")

    def read(text: str) -> Reading:
        value = function(text)
        if value is None:
            return Reading(None, f"{path} returned None")
        return Reading(str(value))

    return Extractor(path, read)


# --- the registry -----------------------------------------------------------------

EXTRACTORS: dict[str, Callable[[str], Reading]] = {
    "last_number": last_number,
    "boxed": boxed,
    "yes_no": yes_no,
    "answer_line": answer_line,
}
"""The built-in extractors without a parameter, by name (``choice``, ``json:``
and ``regex:`` are built by :func:`build_extractor`)."""

_SHOWN = sorted([*EXTRACTORS, "choice", "json:<path>", "regex:<pattern>", "pkg.module:function"])


def build_extractor(spec: object) -> Extractor:
    """The extractor named by ``spec``.

    Args:
        spec: ``"last_number"``, ``"boxed"``, ``"yes_no"``, ``"choice"`` (or
            ``"choice:ABCDE"``), ``"answer_line"``, ``"json:<dotted.path>"``,
            ``"regex:<pattern with one group>"`` or ``"package.module:function"``.

    Raises:
        UnknownComponent: No extractor has that name; the message suggests close ones.
        ConfigError: The spec is not a string, or its parameter is invalid.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(
            f"an extractor is named by a string, e.g. 'last_number' or 'json:answer', got {spec!r}."
        )
    head, colon, rest = spec.partition(":")
    if colon and head == "json":
        return _json_extractor(rest, spec)
    if colon and head == "regex":
        return _regex_extractor(rest, spec)
    if colon and head == "choice":
        return _choice_extractor(rest, spec)
    if colon:
        return _user_extractor(spec)
    if spec == "choice":
        return _choice_extractor("ABCD", spec)
    if spec not in EXTRACTORS:
        raise UnknownComponent("extractor", spec, _SHOWN)
    return Extractor(spec, EXTRACTORS[spec])


def read_pair(extractor: Extractor | None, output: str, reference: str) -> tuple[str, str] | Score:
    """Both sides as ``extractor`` reads them, or the 0 score of a side it cannot read.

    Args:
        extractor: The suite's extractor; None passes both texts through.
        output: The answer being scored.
        reference: The golden or expected answer.

    Returns:
        ``(output, reference)`` as extracted, or a :class:`~harness.types.Score`
        of 0.0 whose rationale names the side and why it could not be read.
    """
    if extractor is None:
        return output, reference
    got = extractor.read(output)
    if got.value is None:
        return Score(value=0.0, rationale=f"{extractor.name} cannot read the output: {got.reason}")
    want = extractor.read(reference)
    if want.value is None:
        return Score(
            value=0.0, rationale=f"{extractor.name} cannot read the reference: {want.reason}"
        )
    return got.value, want.value


class ExtractingScorer:
    """A scorer without an ``extract`` option of its own, with an extractor applied around it.

    :func:`harness.scoring.build_scorer` wraps a user's scorer in this when the
    suite gives ``extract``, so the option works for every scorer; other
    attributes are the wrapped scorer's.

    Args:
        inner: The scorer that compares what the extractor read.
        extractor: Applied to output and reference before ``inner`` sees them.
    """

    def __init__(self, inner: Scorer, extractor: Extractor) -> None:
        self.inner = inner
        self.extractor = extractor
        self.name = inner.name

    def score(self, output: str, reference: str) -> Score:
        """The wrapped scorer's score of what the extractor read on both sides."""
        pair = read_pair(self.extractor, output, reference)
        if isinstance(pair, Score):
            return pair
        return self.inner.score(*pair)

    def __getattr__(self, name: str) -> object:
        # Only called for attributes this wrapper lacks: the scorer's own. Not for
        # `inner` itself (unset while copy or pickle rebuilds the wrapper).
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)
