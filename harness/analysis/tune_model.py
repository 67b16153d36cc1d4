"""What ``harness tune`` computes, as data: stacks, choices, the confirmation, the result.

The arithmetic is in :mod:`harness.analysis.tune`; these are its frozen inputs
and outputs and their JSON (``harness tune --json``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.analysis.router_input import SweepInput
from harness.analysis.router_sweep import SweepPoint

__all__ = [
    "NOT_ON_FRONTIER",
    "Confirmed",
    "FrontierPoint",
    "Interval",
    "LeverEffect",
    "StackChoice",
    "StackInput",
    "Step",
    "TuneResult",
    "is_winner",
    "vars_of",
]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class StackInput:
    """One router candidate's per-case numbers (every candidate: the same cases, same order)."""

    label: str
    inp: SweepInput
    """Scores and regular (non-batch) costs; router scores set."""
    strong_batch_factor: float = 1.0
    """What a batch call of the strong model costs relative to a regular one."""
    weak_batch_factor: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class StackChoice:
    """A stack and the threshold the choosing part gave it."""

    router: int
    """Index of the router candidate."""
    label: str
    batch: bool
    threshold: float | None
    """The cheapest passing threshold on the choosing part; None when none passed."""
    strong_share: float | None
    cost_per_query: float | None
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    thresholds: tuple[float, ...]
    """Every threshold judged on the choosing part."""
    passing: tuple[SweepPoint, ...] = ()
    """Every threshold that passed on the choosing part (the confirmation walks them)."""

    @property
    def passed(self) -> bool:
        """Whether some threshold passed the gate on the choosing part."""
        return self.threshold is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Interval:
    """An estimate with its bootstrap interval."""

    estimate: float
    low: float
    high: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Confirmed:
    """The winner judged once on the confirming part."""

    verdict: str
    reasons: tuple[str, ...]
    n: int
    strong_share: float
    quality: float
    baseline_quality: float
    delta: float
    ci_low: float
    ci_high: float
    cost_per_query: float
    baseline_cost_per_query: float
    savings: float
    """Share of the baseline's cost saved."""
    monthly_cost: Interval
    monthly_savings: Interval

    @property
    def confirmed(self) -> bool:
        """Whether the winner passes the gate on cases it was not chosen on."""
        return self.verdict == "pass"


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One step of the confirmation walk: a (stack, threshold) judged on the confirming part."""

    label: str
    batch: bool
    threshold: float
    cost_per_query: float
    """On the choosing part (what ordered the walk)."""
    verdict: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FrontierPoint:
    """A (stack, threshold) on the Pareto frontier of cost and quality (confirming part)."""

    label: str
    batch: bool
    threshold: float
    strong_share: float
    cost_per_query: float
    quality: float
    delta: float


@dataclass(frozen=True, slots=True, kw_only=True)
class LeverEffect:
    """What one lever of the winner contributes: savings with it and without it."""

    lever: str
    savings_with: float
    savings_without: float
    quality_with: float
    quality_without: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TuneResult:
    """The search over one suite: every stack's choice, the winner and its confirmation."""

    n: int
    choose_n: int
    confirm_n: int
    stacks_searched: int
    thresholds_judged: int
    choices: tuple[StackChoice, ...]
    winner: StackChoice | None
    """The cheapest confirmed (stack, threshold); None when nothing is confirmed."""
    confirmed: Confirmed | None
    """The winner's figures on the confirming part."""
    best_looking: StackChoice | None
    """The cheapest stack on the choosing part (what a search without confirmation ships)."""
    best_confirmed: bool
    """Whether the best-looking stack is confirmed (False: it passed only on the choosing
    part, and is reported as not confirmed)."""
    steps: tuple[Step, ...]
    """The confirmation walk, in order."""
    reason: str
    frontier: tuple[FrontierPoint, ...]
    levers: tuple[LeverEffect, ...]

    def to_json(self) -> dict[str, Any]:
        """The result as plain JSON values."""
        return {
            "n": self.n,
            "choose_n": self.choose_n,
            "confirm_n": self.confirm_n,
            "stacks_searched": self.stacks_searched,
            "thresholds_judged": self.thresholds_judged,
            "winner": None if self.winner is None else _choice_json(self.winner),
            "confirmed": None if self.confirmed is None else _confirmed_json(self.confirmed),
            "best_looking": None
            if self.best_looking is None
            else {**_choice_json(self.best_looking), "confirmed": self.best_confirmed},
            "confirmation_steps": [_plain(vars_of(step)) for step in self.steps],
            "reason": self.reason,
            "stacks": [_choice_json(c) for c in self.choices],
            "pareto": [_plain(vars_of(p)) for p in self.frontier],
            "levers": [_plain(vars_of(e)) for e in self.levers],
        }


def vars_of(obj: Any) -> dict[str, Any]:
    """A slotted dataclass's fields as a dict."""
    return {name: getattr(obj, name) for name in obj.__slots__}


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _choice_json(choice: StackChoice) -> dict[str, Any]:
    data = vars_of(choice)
    data.pop("thresholds")
    data.pop("passing")
    data["passed"] = choice.passed
    data["thresholds_judged"] = len(choice.thresholds)
    return dict(_plain(data))


def _confirmed_json(confirmed: Confirmed) -> dict[str, Any]:
    data = vars_of(confirmed)
    data["confirmed"] = confirmed.confirmed
    data["monthly_cost"] = vars_of(confirmed.monthly_cost)
    data["monthly_savings"] = vars_of(confirmed.monthly_savings)
    return dict(_plain(data))


def is_winner(point: Mapping[str, Any], winner: Mapping[str, Any] | None) -> bool:
    """Whether a frontier point (as stored, JSON) is the winner's stack at its threshold."""
    if winner is None:
        return False
    return all(point.get(key) == winner.get(key) for key in ("label", "batch", "threshold"))


NOT_ON_FRONTIER = (
    "the winner, chosen on the other cases, is not on this frontier: on these held-out "
    "cases another point is as cheap and at least as good"
)
"""Said under the frontier when the winner is not on it (every view: terminal, report)."""
