"""The ``evaluate`` scorer: any Hugging Face ``evaluate`` metric as a quality in [0, 1].

A suite names a metric and the key of its result that is the score::

    scorer: {name: evaluate, metric: metrics/word_f1.py, key: f1}
    scorer: {name: evaluate, metric: exact_match, key: exact_match, args: {ignore_case: true}}
    scorer: {name: evaluate, metric: sacrebleu, key: score, scale: 100}

How a metric's result becomes a score, for one output against one reference:

1. ``metric.compute(predictions=[output], references=[reference], **args)``
   (the reference wrapped in a list when the metric's ``references`` feature
   is a sequence, as for BLEU);
2. the value under ``key`` (optional when the result holds exactly one
   number), divided by ``scale`` (default 1; 100 for metrics that report
   percentages);
3. clipped to [0, 1]; a clipped or non-finite value says so in the rationale
   (NaN scores 0).

``metric`` is a local metric script (a ``.py`` file, or a folder holding
``<folder name>.py``; relative paths from the folder pytest or the CLI runs
in, the project folder) or the name of a metric in the local ``evaluate``
cache. The harness never downloads: modules are loaded in offline mode, and a
metric that is not cached is one line with the command that fetches it.
``evaluate`` is imported when the scorer is built, not with this package (it
takes about two seconds to import).
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, MissingDependency
from harness.scoring.base import scorers
from harness.scoring.exact import checked_options, extract_option, invalid_option_error
from harness.scoring.extract import read_pair
from harness.types import Score

__all__ = ["EvaluateScorer", "load_metric"]


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """``evaluate`` and ``huggingface_hub`` in offline mode for one load, then as they were.

    Both read their offline setting from the environment once, at import;
    the module flags are set only around the load so the user's own code in
    the same process keeps its settings.
    """
    import evaluate.config
    import huggingface_hub.constants as hub

    saved = (evaluate.config.HF_EVALUATE_OFFLINE, hub.HF_HUB_OFFLINE)
    evaluate.config.HF_EVALUATE_OFFLINE = hub.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        evaluate.config.HF_EVALUATE_OFFLINE, hub.HF_HUB_OFFLINE = saved


def load_metric(metric: str) -> Any:
    """The ``evaluate`` module named by ``metric`` (a local script or folder, or a cached name).

    Raises:
        MissingDependency: ``evaluate`` is not installed.
        ConfigError: the script does not exist or does not load, or the named
            metric is not in the local cache.
    """
    try:
        import evaluate
    except ImportError:
        raise MissingDependency("The evaluate scorer", ["evaluate"]) from None
    local = Path(metric).expanduser()
    is_path = metric.endswith(".py") or "/" in metric or "\\" in metric
    if is_path and not local.exists():
        raise ConfigError(
            f"scorer 'evaluate' option 'metric': no metric script at {str(local)!r} "
            f"(looked from {Path.cwd()}). Give the path of a .py file defining an "
            "evaluate.Metric, or a folder holding <folder name>.py."
        )
    with _offline():
        try:
            return evaluate.load(str(local) if is_path else metric, keep_in_memory=True)
        except Exception as exc:  # a third-party boundary: any failure becomes one line
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            if is_path:
                raise ConfigError(
                    f"scorer 'evaluate' option 'metric': cannot load {metric!r}: {reason}. "
                    "Fix the script (it must define one evaluate.Metric subclass)."
                ) from None
            raise ConfigError(
                f"scorer 'evaluate' option 'metric': {metric!r} is not in the local evaluate "
                f"cache and the harness never downloads ({reason}). Fetch it once with "
                f'python -c "import evaluate; evaluate.load({metric!r})", or give the '
                "path of a local metric script."
            ) from None


def _wants_reference_lists(module: Any) -> bool:
    """Whether every input format of the metric takes a list of references per prediction."""
    import datasets

    features = module.features if isinstance(module.features, list) else [module.features]
    return bool(features) and all(
        isinstance(f.get("references"), datasets.Sequence | list) for f in features
    )


@checked_options
class EvaluateScorer:
    """An ``evaluate`` metric's score of the output against the reference, in [0, 1].

    Args:
        metric: A local metric script or folder, or the name of a cached metric.
        key: The key of the metric's result that is the score; optional when
            the result holds exactly one number.
        scale: The result is divided by this (100 for percentages), > 0.
        args: Extra keyword arguments of ``compute`` (``{ignore_case: true}``).
        extract: An extractor applied to output and reference first.
    """

    name: str = "evaluate"

    def __init__(
        self,
        *,
        metric: str | None = None,
        key: str | None = None,
        scale: float = 1.0,
        args: Mapping[str, Any] | None = None,
        extract: str | None = None,
    ) -> None:
        if not isinstance(metric, str) or not metric.strip():
            raise invalid_option_error(self.name, "metric", metric, "a metric name or a path")
        if key is not None and not isinstance(key, str):
            raise invalid_option_error(self.name, "key", key, "the name of a result key")
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 0:
            raise invalid_option_error(self.name, "scale", scale, "a number > 0")
        if args is not None and not isinstance(args, Mapping):
            raise invalid_option_error(self.name, "args", args, "a table of compute arguments")
        self.metric = metric
        self.key = key
        self.scale = float(scale)
        self.args = dict(args or {})
        self.extractor = extract_option(self.name, extract)
        # Loaded now, not on the first score: a missing metric fails when the
        # suite is loaded, before any model is paid for.
        self.module = load_metric(metric)
        self.reference_lists = _wants_reference_lists(self.module)

    def score(self, output: str, reference: str) -> Score:
        """The metric's value for ``output`` against ``reference``, scaled and clipped."""
        pair = read_pair(self.extractor, output, reference)
        if isinstance(pair, Score):
            return pair
        prediction, ref = pair
        try:
            result = self.module.compute(
                predictions=[prediction],
                references=[[ref] if self.reference_lists else ref],
                **self.args,
            )
        except Exception as exc:  # the user's metric code: report it, not a traceback
            raise ConfigError(
                f"scorer 'evaluate': metric {self.metric!r} failed on an output "
                f"({type(exc).__name__}: {exc}). Fix the metric or its 'args'."
            ) from None
        raw = self._value(result)
        value = raw / self.scale
        if not math.isfinite(value):
            return Score(value=0.0, rationale=f"{self.metric} gave {raw!r}: scored 0")
        clipped = min(1.0, max(0.0, value))
        note = "" if clipped == value else f", clipped from {value:.4g}"
        label = self.key or "score"
        return Score(value=clipped, rationale=f"{self.metric} {label} {raw:.4g}{note}")

    def _value(self, result: Any) -> float:
        """The number under ``key`` in the metric's result."""
        if not isinstance(result, Mapping):
            raise ConfigError(
                f"scorer 'evaluate': metric {self.metric!r} returned {result!r}, not a "
                "mapping of results."
            )
        # numbers.Real also admits numpy scalars, which metrics often return.
        values = {
            k: v
            for k, v in result.items()
            if isinstance(v, numbers.Real) and not isinstance(v, bool)
        }
        if self.key is None:
            if len(values) != 1:
                raise ConfigError(
                    f"scorer 'evaluate': metric {self.metric!r} returns "
                    f"{', '.join(map(str, result)) or 'nothing'}; say which is the score with "
                    "the option key: <name>."
                )
            return float(next(iter(values.values())))
        if self.key not in values:
            raise ConfigError(
                f"scorer 'evaluate': metric {self.metric!r} has no numeric result "
                f"{self.key!r}; it returns {', '.join(map(str, result)) or 'nothing'}. "
                "Fix the option key."
            )
        return float(values[self.key])


@scorers.register("evaluate")
def evaluate_scorer() -> type[EvaluateScorer]:
    """Factory of the ``evaluate`` scorer."""
    return EvaluateScorer
