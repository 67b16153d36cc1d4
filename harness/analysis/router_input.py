"""The input of a router sweep: per-case scores, costs and router scores, validated.

A threshold router sweep (:mod:`harness.analysis.router_sweep`) needs, per case,
the quality and cost of the strong and of the weak model's answer, the
baseline's quality and cost, the router score and the category.
:class:`SweepInput` holds them as read-only numpy arrays and checks them;
:func:`sweep_input_from_labels` builds one from recorded quality labels
(:class:`~harness.scoring.recorded.RecordedQuality`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from harness.errors import CostEvalError
from harness.scoring.recorded import RecordedLabel, RecordedQuality
from harness.types import Usage

__all__ = ["SweepInput", "sweep_input_from_labels"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _as_array(values: Any, name: str, n: int | None) -> FloatArray:
    try:
        arr = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CostEvalError(f"sweep input: {name} must be numbers ({exc}).") from None
    if arr.ndim != 1:
        raise CostEvalError(
            f"sweep input: {name} must be one value per case, got shape {arr.shape}."
        )
    if n is not None and arr.size != n:
        raise CostEvalError(
            f"sweep input: {name} has {arr.size} values but there are {n} cases; "
            "give one value per case, in the same order."
        )
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class SweepInput:
    """Per-case numbers a sweep needs, as read-only numpy arrays (one entry per case).

    Build it with :meth:`build`, which fills the defaults; constructing it
    directly validates too. Every array has one value per case, in the order of
    ``case_ids``.

    Raises:
        CostEvalError: empty input, arrays of different lengths, a quality
            outside [0, 1], a negative or non-finite cost, a router score that
            is NaN or outside [0, 1] (the message names the case and the value),
            duplicate case ids.
    """

    case_ids: tuple[str, ...]
    """Names of the cases, for error messages."""
    strong_score: FloatArray
    """Quality of the strong model's answer, in [0, 1]."""
    weak_score: FloatArray
    """Quality of the weak model's answer, in [0, 1]."""
    strong_cost: FloatArray
    """USD the strong model's answer costs."""
    weak_cost: FloatArray
    """USD the weak model's answer costs."""
    baseline_score: FloatArray
    """Quality of the baseline's answer (usually the strong model's), in [0, 1]."""
    baseline_cost: FloatArray
    """USD the baseline's answer costs (usually the strong model's)."""
    router_score: FloatArray | None
    """Predicted need for the strong model, in [0, 1]; None for a cascade-only input."""
    categories: tuple[str, ...]
    """Category of each case (for per-category gate checks)."""

    def __post_init__(self) -> None:
        n = len(self.case_ids)
        if n == 0:
            raise CostEvalError("sweep input is empty: a sweep needs at least one case.")
        ids = tuple(str(c) for c in self.case_ids)
        if len(set(ids)) != n:
            seen: set[str] = set()
            for case_id in ids:
                if case_id in seen:
                    raise CostEvalError(
                        f"sweep input: case id {case_id!r} appears twice; ids must be unique."
                    )
                seen.add(case_id)
        object.__setattr__(self, "case_ids", ids)
        for name in ("strong_score", "weak_score", "baseline_score"):
            arr = _as_array(getattr(self, name), name, n)
            bad = ~(np.isfinite(arr) & (arr >= 0.0) & (arr <= 1.0))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise CostEvalError(
                    f"sweep input: case {ids[i]!r}: {name} {float(arr[i])!r} is not a quality "
                    "in [0, 1]. Normalize scores to [0, 1] (e.g. a 1-10 judge score / 10)."
                )
            object.__setattr__(self, name, arr)
        for name in ("strong_cost", "weak_cost", "baseline_cost"):
            arr = _as_array(getattr(self, name), name, n)
            bad = ~(np.isfinite(arr) & (arr >= 0.0))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise CostEvalError(
                    f"sweep input: case {ids[i]!r}: {name} {float(arr[i])!r} is not a cost "
                    "(a finite number of USD >= 0)."
                )
            object.__setattr__(self, name, arr)
        if self.router_score is not None:
            arr = _as_array(self.router_score, "router_score", n)
            _check_unit(arr, ids, "router score", "the predicted need for the strong model")
            object.__setattr__(self, "router_score", arr)
        categories = tuple(str(c) for c in self.categories) if self.categories else ("default",) * n
        if len(categories) != n:
            raise CostEvalError(
                f"sweep input: {len(categories)} categories but {n} cases; "
                "give one category per case."
            )
        object.__setattr__(self, "categories", categories)

    @classmethod
    def build(
        cls,
        *,
        strong_score: Any,
        weak_score: Any,
        strong_cost: Any,
        weak_cost: Any,
        router_score: Any = None,
        baseline_score: Any = None,
        baseline_cost: Any = None,
        case_ids: Sequence[str] | None = None,
        categories: Sequence[str] | None = None,
    ) -> SweepInput:
        """A validated input; the baseline defaults to the strong model, ids to ``#1, #2 ...``.

        ``strong_cost``/``weak_cost`` may be a single number (the same cost for every case).
        """
        strong = np.asarray(strong_score, dtype=np.float64)
        n = int(strong.size)

        def per_case(value: Any) -> Any:
            if np.ndim(value) == 0:
                return np.full(n, float(value))
            return value

        ids = tuple(case_ids) if case_ids is not None else tuple(f"#{i + 1}" for i in range(n))
        return cls(
            case_ids=ids,
            strong_score=strong,
            weak_score=weak_score,
            strong_cost=per_case(strong_cost),
            weak_cost=per_case(weak_cost),
            baseline_score=strong if baseline_score is None else baseline_score,
            baseline_cost=per_case(strong_cost if baseline_cost is None else baseline_cost),
            router_score=router_score,
            categories=tuple(categories) if categories is not None else (),
        )

    @property
    def n(self) -> int:
        """Number of cases."""
        return len(self.case_ids)

    def with_router_score(self, router_score: Any) -> SweepInput:
        """A copy with other router scores (validated)."""
        return replace(self, router_score=router_score)

    def checked_confidence(self, confidence: Any) -> FloatArray:
        """A cascade's confidences as a read-only array, one per case, each in [0, 1].

        Raises:
            CostEvalError: a confidence that is NaN or outside [0, 1] (naming the
                case), or a confidence count different from the number of cases.
        """
        conf = _as_array(confidence, "confidence", self.n)
        _check_unit(conf, self.case_ids, "confidence", "how sure the weak model is of its answer")
        return conf


def _check_unit(arr: FloatArray, ids: Sequence[str], what: str, meaning: str) -> None:
    bad = ~(np.isfinite(arr) & (arr >= 0.0) & (arr <= 1.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        value = float(arr[i])
        problem = "is NaN" if math.isnan(value) else "is outside [0, 1]"
        raise CostEvalError(
            f"case {ids[i]!r}: {what} {value!r} {problem}. A {what} is {meaning}, a number "
            "in [0, 1]; fix the score function (or normalize its output)."
        )


def sweep_input_from_labels(
    labels: RecordedQuality,
    *,
    strong: str,
    weak: str,
    router_score: Any = None,
    baseline: str | None = None,
    case_ids: Sequence[str] | None = None,
    cost: Callable[[str, Usage], float] | None = None,
) -> SweepInput:
    """A :class:`SweepInput` from the recorded labels of two models.

    Args:
        labels: The recorded quality labels (a loaded sidecar file).
        strong: The strong model's spec.
        weak: The weak model's spec.
        router_score: Router score per case, in the order of ``case_ids``.
        baseline: The baseline model (default: ``strong``).
        case_ids: The cases, in order (default: every case both models answered).
        cost: USD of a call from its model and usage, for labels recorded
            without ``cost_usd``.

    Raises:
        CostEvalError: a case lacks a label for one of the models, a quality,
            or a cost (with no ``cost`` function).
    """
    baseline = baseline or strong
    if case_ids is None:
        weak_ids = set(labels.case_ids(weak))
        case_ids = [c for c in labels.case_ids(strong) if c in weak_ids]
    quality: dict[str, list[float]] = {strong: [], weak: [], baseline: []}
    costs: dict[str, list[float]] = {strong: [], weak: [], baseline: []}
    categories: list[str] = []
    for case_id in case_ids:
        found: dict[str, RecordedLabel] = {}
        for model in quality:
            label = labels.record(case_id, model)
            if label is None or label.quality is None:
                what = "no label" if label is None else "a label without quality"
                if label is not None and label.error is not None:
                    what = f"an unusable label ({label.error})"
                raise CostEvalError(
                    f"{labels.source or 'recorded labels'}: case {case_id!r} has {what} "
                    f"for model {model!r}; a sweep needs the quality of both models' answers."
                )
            found[model] = label
        for model, label in found.items():
            assert label.quality is not None  # checked above
            quality[model].append(label.quality)
            if label.cost_usd is not None:
                costs[model].append(label.cost_usd)
            elif cost is not None:
                costs[model].append(float(cost(model, label.usage)))
            else:
                raise CostEvalError(
                    f"case {case_id!r}, model {model!r}: no recorded cost_usd; pass a "
                    "cost function (model, usage) -> USD, e.g. from the price table."
                )
        categories.append(found[strong].category)
    return SweepInput.build(
        case_ids=list(case_ids),
        strong_score=quality[strong],
        weak_score=quality[weak],
        baseline_score=quality[baseline],
        strong_cost=costs[strong],
        weak_cost=costs[weak],
        baseline_cost=costs[baseline],
        router_score=router_score,
        categories=categories,
    )
