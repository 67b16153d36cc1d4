"""ROUGE-L: the ``rouge_l`` scorer and the ``RougeL`` evaluate metric behind it.

``evaluate.load("rouge")`` fetches its script from the Hugging Face hub and
fails offline, so the metric is defined here as an ``evaluate.Metric``
subclass. ``evaluate`` takes about two seconds to import and the pytest plugin
imports :mod:`harness.scoring` on every run, so this module imports it only
when the ``rouge_l`` scorer is built or :data:`RougeL` is first looked up
(PEP 562 module ``__getattr__``); ``import harness.scoring`` never does.

Both the scorer and the metric compute through :func:`rouge_l_f1`, so they give
identical numbers.
"""

from __future__ import annotations

import math
import re
from typing import Any

from rapidfuzz.distance import LCSseq

from harness.errors import MissingDependency
from harness.scoring.base import scorers
from harness.scoring.exact import checked_options, extract_option
from harness.scoring.extract import read_pair
from harness.types import Score

_WORD = re.compile(r"\w+")

_DESCRIPTION = """\
ROUGE-L F1: the longest common subsequence of lower-cased word tokens between
prediction and reference, as the harmonic mean of its precision (LCS / prediction
length) and recall (LCS / reference length). Defined in the harness package so it
works offline.
"""

_INPUTS = """
Args:
    predictions: list of predicted texts.
    references: list of reference texts, one per prediction.
Returns:
    rougeL: mean ROUGE-L F1 over the pairs, in [0, 1].
"""


def rouge_l_tokens(text: str) -> list[str]:
    """The tokens ROUGE-L compares: lower-cased runs of word characters."""
    return _WORD.findall(text.lower())


def rouge_l_f1(prediction: str, reference: str) -> float:
    """ROUGE-L F1 of one prediction against one reference.

    Two texts with no tokens at all score 1.0 (they are the same answer);
    one empty text against a non-empty one scores 0.0.

    Args:
        prediction: The text being scored.
        reference: The text it should match.

    Returns:
        F1 of the longest common subsequence of word tokens, in [0, 1].
    """
    pred = rouge_l_tokens(prediction)
    ref = rouge_l_tokens(reference)
    if not pred or not ref:
        return 1.0 if not pred and not ref else 0.0
    # rapidfuzz hashes list items, so this is the LCS over words, in C.
    lcs = LCSseq.similarity(pred, ref)
    if lcs == 0:
        return 0.0
    precision = lcs / len(pred)
    recall = lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


def metric_class() -> type[Any]:
    """The ``RougeL(evaluate.Metric)`` class, defined on the first call.

    Instantiate it like any evaluate metric. It creates a directory under
    ``$HF_HOME/metrics`` (or ``cache_dir``) when instantiated; pass
    ``keep_in_memory=True`` to avoid Arrow cache files as well.

    Raises:
        MissingDependency: ``evaluate`` is not installed.
    """
    # The module global is the cache, so `metric_class()` and
    # `harness.scoring.rouge.RougeL` are always the same class.
    cls = globals().get("RougeL")
    if cls is None:
        cls = globals()["RougeL"] = _define_metric_class()
    return cls


def _define_metric_class() -> type[Any]:
    try:
        import datasets
        import evaluate
    except ImportError:
        raise MissingDependency("The rouge_l scorer", ["evaluate"]) from None

    class RougeL(evaluate.Metric):  # type: ignore[misc]  # evaluate ships no type hints
        """ROUGE-L F1 as an evaluate metric; ``compute`` returns ``{"rougeL": mean F1}``."""

        def _info(self) -> Any:
            return evaluate.MetricInfo(
                description=_DESCRIPTION,
                citation=(
                    "Lin, Chin-Yew. ROUGE: A Package for Automatic Evaluation of Summaries. 2004."
                ),
                inputs_description=_INPUTS,
                features=datasets.Features(
                    {
                        "predictions": datasets.Value("string"),
                        "references": datasets.Value("string"),
                    }
                ),
            )

        def _compute(self, predictions: list[str], references: list[str]) -> dict[str, float]:
            if not predictions:
                raise ValueError("RougeL.compute needs at least one prediction/reference pair.")
            scores = [rouge_l_f1(p, r) for p, r in zip(predictions, references, strict=True)]
            # fsum: the mean does not depend on the order of the pairs.
            return {"rougeL": math.fsum(scores) / len(scores)}

    # Pickle finds classes by qualified name: harness.scoring.rouge.RougeL.
    RougeL.__qualname__ = "RougeL"
    return RougeL


def __getattr__(name: str) -> Any:
    # PEP 562: `from harness.scoring.rouge import RougeL` defines the class
    # (and imports evaluate) only when someone asks for it; afterwards the
    # module global answers and this is not called.
    if name == "RougeL":
        return metric_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@checked_options
class RougeLScorer:
    """ROUGE-L F1 of the output against the reference, in [0, 1].

    Args:
        extract: An extractor applied to output and reference before comparing.
    """

    name: str = "rouge_l"

    def __init__(self, *, extract: str | None = None) -> None:
        self.extractor = extract_option(self.name, extract)
        # Resolve the metric now, not on the first score: a missing evaluate
        # then fails when the suite is loaded, before any model is paid for.
        self.metric_class = metric_class()

    def score(self, output: str, reference: str) -> Score:
        """ROUGE-L F1 of ``output`` against ``reference``."""
        pair = read_pair(self.extractor, output, reference)
        if isinstance(pair, Score):
            return pair
        value = rouge_l_f1(*pair)
        return Score(value=value, rationale=f"ROUGE-L F1 {value:.3f}")


@scorers.register("rouge_l")
def rouge_l() -> type[RougeLScorer]:
    """Factory of the ``rouge_l`` scorer."""
    return RougeLScorer
