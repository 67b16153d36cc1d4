"""Scorers: compare an output with a reference and return a quality in [0, 1].

Importing this package registers the built-in scorers (``exact``, ``numeric``,
``choice``, ``fuzzy``, ``rouge_l``, ``evaluate``, ``recorded``, ``judge``) in
:data:`scorers`. It stays cheap: the ``rouge_l`` and ``evaluate`` scorers import
``evaluate`` only when they are built, and the ``judge`` scorer imports no SDK
(its calls go through the run's providers).

Build the scorer a suite names with :func:`build_scorer`::

    build_scorer({"name": "fuzzy", "threshold": 0.8}, where="suites/faq.yaml: scorer")

Every scorer that reads text takes ``extract``, an extractor applied to the
output and the reference before they are compared
(``{name: exact, extract: last_number}``; see :mod:`harness.scoring.extract`
and ``docs/scoring.md``). A user's scorer without such an option gets it too:
:func:`build_scorer` wraps it in an :class:`ExtractingScorer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.errors import ConfigError, UnknownComponent
from harness.scoring.base import Scorer, ScorerFactory, scorers
from harness.scoring.evaluate_metric import EvaluateScorer
from harness.scoring.exact import (
    EXTRACT,
    ChoiceScorer,
    ExactScorer,
    NumericScorer,
    check_options,
    extract_option,
    keyword_options,
)
from harness.scoring.extract import ExtractingScorer, Extractor, build_extractor
from harness.scoring.judge import JudgeScorer
from harness.scoring.recorded import RecordedQuality, RecordedScorer
from harness.scoring.rouge import RougeLScorer, rouge_l_f1
from harness.scoring.similarity import FuzzyScorer

__all__ = [
    "ChoiceScorer",
    "EvaluateScorer",
    "ExactScorer",
    "ExtractingScorer",
    "Extractor",
    "FuzzyScorer",
    "JudgeScorer",
    "NumericScorer",
    "RecordedQuality",
    "RecordedScorer",
    "RougeLScorer",
    "Scorer",
    "ScorerFactory",
    "build_extractor",
    "build_scorer",
    "rouge_l_f1",
    "scorers",
]


def _split_spec(spec: object, where: str) -> tuple[str, dict[str, Any]]:
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, Mapping):
        options = dict(spec)
        name = options.pop("name", None)
        if isinstance(name, str) and name:
            if not all(isinstance(key, str) for key in options):
                raise ConfigError(f"{where}: scorer option names must be strings, got {spec!r}.")
            return name, options
        raise ConfigError(
            f"{where}: scorer table {spec!r} has no 'name'. "
            "Write it as {name: fuzzy, threshold: 0.8} or just the name, e.g. 'exact'."
        )
    raise ConfigError(
        f"{where}: scorer must be a name or a table, got {spec!r}. "
        "Write it as 'exact' or {name: fuzzy, threshold: 0.8}."
    )


def build_scorer(spec: str | Mapping[str, Any], *, where: str) -> Scorer:
    """The scorer a suite names, built with the options it gives.

    Args:
        spec: A name (``"numeric"``), an import path (``"myapp.scoring:MyScorer"``)
            or a table with ``name`` and options (``{"name": "fuzzy", "threshold": 0.8}``).
            ``extract`` works for every scorer: a scorer that does not take it
            itself is wrapped in an :class:`ExtractingScorer`.
        where: Where the spec came from, prefixed to every error message
            (``"suites/faq.yaml: scorer"``).

    Returns:
        A ready scorer.

    Raises:
        UnknownComponent: No scorer (or extractor) has that name; the message
            suggests close ones.
        ConfigError: The spec is malformed, an option is unknown or invalid, or
            the factory did not return a scorer.
    """
    name, options = _split_spec(spec, where)
    factory = scorers.get(name, where=where)
    # Built-in classes check their own options; this also covers user
    # factories, whose bad options would otherwise surface as a TypeError.
    wrap: Extractor | None = None
    try:
        if EXTRACT in options and EXTRACT not in (keyword_options(factory) or ()):
            wrap = extract_option(name, options.pop(EXTRACT))
        check_options(name, factory, options)
        scorer = factory(**options)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except UnknownComponent as exc:
        # An unknown extractor: same message, prefixed like every other error here.
        exc.args = (f"{where}: option {EXTRACT!r}: {exc}",)
        raise
    # A class object has `name` and `score` too, so the Protocol check alone
    # would accept a factory that returned a class instead of an instance.
    if isinstance(scorer, type) or not isinstance(scorer, Scorer):
        raise ConfigError(
            f"{where}: {name!r} built {scorer!r}, which is not a scorer. A scorer needs a "
            "'name' attribute and a 'score(output, reference)' method returning a Score."
        )
    return scorer if wrap is None else ExtractingScorer(scorer, wrap)
