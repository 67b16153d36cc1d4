"""Routers: pick the model for each request.

The reference router is ``threshold``: a score function gives each request a
score in [0, 1], the predicted need for the strong model, and the request goes
to ``strong`` when ``score >= threshold``, else to ``weak``. Scores built in:

- ``random``: a seeded pseudo-random score per request (the baseline any real
  router must beat);
- ``length``: the length of the question, ``min(1, characters / scale)``
  (longer questions tend to be harder);
- any ``"package.module:function"`` taking a :class:`~harness.types.Request`
  and returning a float in [0, 1];
- ``trained`` (sweeps only): TF-IDF + logistic regression fitted on the suite,
  each case scored out of fold (:func:`harness.strategies.trained_router.kfold_scores`).

``threshold = "sweep"`` makes the configuration a threshold sweep
(:mod:`harness.engine.router_sweep`): every useful threshold judged from two answers per
case, the cheapest passing one recommended. Its options go in a ``sweep``
table: ``quantiles`` (points at 0, 1/q, ..., 100 % strong calls; default 20),
``thresholds`` (extra thresholds to judge) and ``folds`` (k of the trained
router's cross-validation; default 5).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.config_values import check_keys
from harness.errors import ConfigError, UnknownComponent
from harness.registry import load_import_path
from harness.strategies.base import CallNext, routers
from harness.strategies.options import positive_int, read_options, unit_interval
from harness.types import Request, Response

ScoreFunction = Callable[[Request], float]


def last_user_text(request: Request) -> str:
    """The question: the content of the last user message."""
    for message in reversed(request.messages):
        if message.role == "user":
            return message.content
    return ""


def random_score(seed: int) -> ScoreFunction:
    """A score that is uniform in [0, 1) and fixed for a given seed and question."""

    def score(request: Request) -> float:
        digest = hashlib.sha256(f"{seed}\x00{request.hash()}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    return score


def length_score(scale: int) -> ScoreFunction:
    """``min(1, len(question) / scale)``: longer questions go to the strong model."""

    def score(request: Request) -> float:
        return min(1.0, len(last_user_text(request)) / scale)

    return score


SCORES = ("random", "length", "trained")

SWEEP = "sweep"
"""The ``threshold`` value that makes a configuration a threshold sweep."""
SWEEP_KEYS = ("quantiles", "thresholds", "folds")


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepOptions:
    """The ``sweep`` table of a ``threshold = "sweep"`` router."""

    quantiles: int = 20
    """Points at the quantiles of the router scores giving 0, 1/q, ..., 100 % strong calls."""
    thresholds: tuple[float, ...] = ()
    """Thresholds judged besides the quantiles."""
    folds: int = 5
    """Cross-validation folds of the ``trained`` score."""


def parse_sweep_options(value: Any, *, where: str) -> SweepOptions:
    """Check a router's ``sweep`` table: ``{ quantiles = 20, thresholds = [0.45, 0.53] }``."""
    if value is None:
        return SweepOptions()
    swhere = f"{where}.sweep"
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{swhere}: must be a table like {{ quantiles = 20, thresholds = [0.45, 0.53] }}."
        )
    check_keys(value, SWEEP_KEYS, where=swhere)
    raw = value.get("thresholds", [])
    if not isinstance(raw, list):
        raise ConfigError(f"{swhere}: 'thresholds' must be a list of numbers in [0, 1].")
    return SweepOptions(
        quantiles=positive_int(
            value.get("quantiles", 20), key="quantiles", where=swhere, minimum=1
        ),
        thresholds=tuple(unit_interval(t, key="thresholds", where=swhere) for t in raw),
        folds=positive_int(value.get("folds", 5), key="folds", where=swhere, minimum=2),
    )


def _trained_outside_sweep(request: Request) -> float:
    raise ConfigError(
        "the 'trained' router score is fitted on the suite during a sweep "
        '(threshold = "sweep"); it cannot score single requests.'
    )


class ThresholdRouter:
    """Send a request to ``strong`` when its score is at least ``threshold``."""

    name = "threshold"
    stateful = False

    def __init__(
        self,
        *,
        strong: str,
        weak: str,
        threshold: float,
        score: ScoreFunction,
        score_name: str,
        sweep: SweepOptions | None = None,
        score_detail: str = "",
    ) -> None:
        self.strong = strong
        self.weak = weak
        self.threshold = threshold
        self.score = score
        self.score_name = score_name
        self.score_detail = score_detail
        """The score's settings in words, defaults included (``scale 1,000 characters``)."""
        self.sweep = sweep
        """Set for ``threshold = "sweep"``: evaluated by :mod:`harness.engine.router_sweep`."""
        self.models = (strong, weak)

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        if request.purpose != "answer":
            return await call_next(request)  # a helper call keeps the model it chose
        if self.sweep is not None:
            return Response(
                text="",
                model="router",
                error="a threshold sweep has no single threshold to route with; it is "
                "evaluated by harness.engine.router_sweep",
            )
        try:
            value = float(self.score(request))
        except Exception as exc:  # a user's score function: record, never crash the run
            return Response(
                text="",
                model="router",
                error=f"router score {self.score_name!r} raised {type(exc).__name__}: {exc}",
            )
        if math.isnan(value) or not 0.0 <= value <= 1.0:
            return Response(
                text="",
                model="router",
                error=f"router score {self.score_name!r} returned {value!r}, outside [0, 1]",
            )
        model = self.strong if value >= self.threshold else self.weak
        return await call_next(request.with_model(model))


@routers.register("threshold")
def threshold_router() -> Callable[[Mapping[str, Any], str], ThresholdRouter]:
    """Factory of the ``threshold`` router from its options table."""

    def build(options: Mapping[str, Any], where: str) -> ThresholdRouter:
        opts = read_options(
            options,
            kind="threshold",
            required=("strong", "weak", "threshold"),
            optional=("score", "seed", "scale", "sweep"),
            where=where,
        )
        sweep: SweepOptions | None = None
        if opts["threshold"] == SWEEP:
            sweep = parse_sweep_options(opts.get("sweep"), where=where)
            threshold = math.nan
        else:
            if "sweep" in opts:
                raise ConfigError(
                    f"{where}: a 'sweep' table needs threshold = \"sweep\" (it says how to "
                    f"sweep the threshold), got threshold = {opts['threshold']!r}."
                )
            if isinstance(opts["threshold"], str):
                raise ConfigError(
                    f"{where}: 'threshold' must be a number between 0 and 1, a list of them "
                    f'(one configuration each) or "sweep", got {opts["threshold"]!r}.'
                )
            threshold = unit_interval(opts["threshold"], key="threshold", where=where)
        score_name = str(opts.get("score", "random"))
        score: ScoreFunction
        detail = ""
        if score_name == "trained":
            if sweep is None:
                raise ConfigError(
                    f"{where}: score 'trained' is fitted on the suite by k-fold "
                    'cross-validation, which only a sweep does: set threshold = "sweep".'
                )
            score = _trained_outside_sweep
        elif score_name == "random":
            seed = positive_int(opts.get("seed", 0), key="seed", where=where)
            score, detail = random_score(seed), f"seed {seed}"
        elif score_name == "length":
            scale = positive_int(opts.get("scale", 1000), key="scale", where=where, minimum=1)
            score = length_score(scale)
            detail = f"scale {scale:,} characters: a question that long or longer scores 1"
        elif ":" in score_name:
            loaded = load_import_path(score_name, where=where)
            if not callable(loaded):
                raise ConfigError(f"{where}: {score_name!r} is not callable.")
            score = loaded
        else:
            raise UnknownComponent("router score", score_name, SCORES, where=where)
        for key in ("strong", "weak"):
            if not isinstance(opts[key], str) or ":" not in opts[key]:
                raise ConfigError(
                    f"{where}: {key!r} must be a model spec like 'sim:small', got {opts[key]!r}."
                )
        return ThresholdRouter(
            strong=opts["strong"],
            weak=opts["weak"],
            threshold=threshold,
            score=score,
            score_name=score_name,
            sweep=sweep,
            score_detail=detail,
        )

    return build
