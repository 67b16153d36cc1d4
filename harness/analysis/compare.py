"""Compare two stored runs: what changed per configuration, and which cases flipped.

Cases are paired by id across the two runs, so the change in quality is a
paired per-case difference with a bootstrap interval, like the gate's delta.
A pair *regressed* when its quality or its cost regressed:

- quality: that interval lies wholly below zero (the drop is not noise) or its
  verdict was pass and no longer is;
- cost: its cost per query, as a share of the baseline's cost per query (both
  over answered cases), rose by more than ``max_cost_increase`` (the gate key of
  that name, 0.05 by default): a sweep whose recommended threshold saved 15 %
  and now saves nothing lost 15 % of the baseline's cost. Measured against the
  baseline so that a price change of every model is not taken for the lever's
  doing; when a run has no baseline cost, against the earlier run's cost per query.

A case *flipped* when its score fell by at least ``flip_drop`` (it passed before
and fails now).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from harness.formatting import money, points
from harness.stats.bootstrap import DEFAULT_SEED, derive_seed, paired_bootstrap_ci
from harness.stats.gates import GateSpec
from harness.types import Summary

DEFAULT_MAX_COST_INCREASE = GateSpec().max_cost_increase
"""The cost margin of a comparison when nothing else says (the gate's default)."""


class ScoredCase(Protocol):
    """What a comparison reads of a case: a stored :class:`~harness.types.CaseResult`
    or a :class:`~harness.store.runs.CaseScore`."""

    @property
    def suite(self) -> str: ...
    @property
    def config(self) -> str: ...
    @property
    def case_id(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def score(self) -> float | None: ...


class SummarizedRun(Protocol):
    """A run's summaries: which (suite, configuration) pairs it has and their verdicts."""

    @property
    def summaries(self) -> tuple[Summary, ...]: ...


class ComparableRun(SummarizedRun, Protocol):
    """A run's summaries and case scores: a :class:`~harness.store.runs.StoredRun` or
    :class:`~harness.store.runs.RunScores` (the cheaper read)."""

    @property
    def results(self) -> Sequence[ScoredCase]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class FlippedCase:
    """A case that got worse between the two runs."""

    case_id: str
    category: str
    score_before: float
    score_now: float


@dataclass(frozen=True, slots=True, kw_only=True)
class PairChange:
    """How one (suite, configuration) changed between two runs."""

    suite: str
    config: str
    n: int
    """Cases scored in both runs."""
    quality_before: float
    quality_now: float
    change: float
    """Mean per-case score change (now − before), in [−1, 1]."""
    ci_low: float
    ci_high: float
    cost_before: Decimal
    cost_now: Decimal
    verdict_before: str
    verdict_now: str
    flipped: tuple[FlippedCase, ...]
    regressed: bool
    """Any regression: quality, cost or both."""
    quality_regressed: bool = False
    cost_regressed: bool = False
    reasons: tuple[str, ...] = ()
    """Why it regressed, one sentence per kind (``quality: ...``, ``cost: ...``)."""
    savings_before: float | None = None
    """Share of the baseline's cost per query saved, in percent (None: no baseline cost)."""
    savings_now: float | None = None
    answered_before: int | None = None
    """Cases answered (not errored) in the earlier run; 0: nothing to compare."""
    answered_now: int | None = None
    max_cost_increase: float = DEFAULT_MAX_COST_INCREASE
    """The cost margin this pair was judged with."""

    @property
    def cost_change_pct(self) -> float:
        """Relative change of cost per query, in percent."""
        if not self.cost_before:
            return 0.0
        return float((self.cost_now - self.cost_before) / self.cost_before * 100)

    @property
    def kind(self) -> str:
        """``quality``, ``cost``, ``quality and cost``, or ``""`` when nothing regressed."""
        kinds = [
            k
            for k, hit in (("quality", self.quality_regressed), ("cost", self.cost_regressed))
            if hit
        ]
        return " and ".join(kinds)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready object."""
        return {
            "suite": self.suite,
            "config": self.config,
            "compared": True,
            "n": self.n,
            "quality_before": self.quality_before,
            "quality_now": self.quality_now,
            "change": self.change,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "cost_before": float(self.cost_before),
            "cost_now": float(self.cost_now),
            "cost_change_pct": self.cost_change_pct,
            "verdict_before": self.verdict_before,
            "verdict_now": self.verdict_now,
            "regressed": self.regressed,
            "quality_regressed": self.quality_regressed,
            "cost_regressed": self.cost_regressed,
            "reasons": list(self.reasons),
            "savings_before": self.savings_before,
            "savings_now": self.savings_now,
            "answered_before": self.answered_before,
            "answered_now": self.answered_now,
            "max_cost_increase": self.max_cost_increase,
            "flipped": [
                {
                    "case_id": f.case_id,
                    "category": f.category,
                    "score_before": f.score_before,
                    "score_now": f.score_now,
                }
                for f in self.flipped
            ],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PairedScores:
    """One (suite, configuration)'s cases scored in both runs: all a comparison reads of them.

    Made from two runs' case scores by :func:`compare_runs`, or by a SQL join of
    the stored results (:func:`harness.store.run_queries.load_paired_scores`),
    so a comparison of two large stored runs holds no object per case.
    """

    diffs: Sequence[float]
    """Per case scored in both: its score now minus before, in the later run's order."""
    flipped: tuple[FlippedCase, ...]
    """The cases whose score fell by at least the flip drop, by case id."""


def compare_runs(
    before: ComparableRun,
    now: ComparableRun,
    *,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
    flip_drop: float = 0.1,
    max_cost_increase: float = DEFAULT_MAX_COST_INCREASE,
    cost_margins: Mapping[str, float] | None = None,
) -> list[PairChange]:
    """The change of every (suite, configuration) present in both runs, in ``now``'s order.

    Args:
        max_cost_increase: The cost margin (see the module docstring).
        cost_margins: A configuration's own margin, by configuration name (its
            gate table's ``max_cost_increase``), over ``max_cost_increase``.
    """
    old_cases = _by_pair(before.results)
    new_cases = _by_pair(now.results)
    paired = {
        key: _paired(old_cases.get(key, {}), cases, flip_drop) for key, cases in new_cases.items()
    }
    return compare_paired(
        before.summaries,
        now.summaries,
        paired,
        seed=seed,
        confidence=confidence,
        max_cost_increase=max_cost_increase,
        cost_margins=cost_margins,
    )


def compare_paired(
    before: Sequence[Summary],
    now: Sequence[Summary],
    paired: Mapping[tuple[str, str], PairedScores],
    *,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
    max_cost_increase: float = DEFAULT_MAX_COST_INCREASE,
    cost_margins: Mapping[str, float] | None = None,
) -> list[PairChange]:
    """:func:`compare_runs` from the runs' summaries and their cases already paired.

    ``paired`` holds each (suite, configuration)'s :class:`PairedScores`; a pair
    missing from it had no case scored in both runs.
    """
    margins = cost_margins or {}
    old_summaries = {(s.suite, s.config): s for s in before}
    changes: list[PairChange] = []
    for summary in now:
        key = (summary.suite, summary.config)
        old = old_summaries.get(key)
        if old is None:
            continue
        changes.append(
            _pair_change(
                old,
                summary,
                paired.get(key, PairedScores(diffs=(), flipped=())),
                seed=derive_seed(seed, "compare", *key),
                confidence=confidence,
                max_cost_increase=margins.get(summary.config, max_cost_increase),
            )
        )
    return changes


def run_cost_margin(run: Mapping[str, Any]) -> float:
    """The ``max_cost_increase`` a stored run was made with (its ``settings_json`` gate),
    else the default: the margin to judge that run's costs with."""
    try:
        gate = json.loads(str(run.get("settings_json") or "{}")).get("gate") or {}
        return float(gate.get("max_cost_increase", DEFAULT_MAX_COST_INCREASE))
    except (ValueError, TypeError, AttributeError):
        return DEFAULT_MAX_COST_INCREASE


@dataclass(frozen=True, slots=True, kw_only=True)
class Uncompared:
    """The (suite, configuration) pairs that only one of the two runs has.

    A run limited with ``-k`` (or a configuration added or removed since) leaves
    pairs that cannot be compared; a comparison names them instead of counting
    only what it could compare.
    """

    before_only: tuple[tuple[str, str], ...] = ()
    """In the earlier run only: missing from this run."""
    now_only: tuple[tuple[str, str], ...] = ()
    """In this run only: new since the earlier run."""

    @property
    def count(self) -> int:
        """How many pairs could not be compared."""
        return len(self.before_only) + len(self.now_only)

    def to_json(self) -> list[dict[str, Any]]:
        """One JSON-ready object per pair: ``{"suite", "config", "compared": false,
        "only_in": "earlier run" | "this run"}`` (beside :meth:`PairChange.to_json`'s
        ``"compared": true`` objects)."""
        return [
            {"suite": suite, "config": config, "compared": False, "only_in": where}
            for where, pairs in (("earlier run", self.before_only), ("this run", self.now_only))
            for suite, config in pairs
        ]


def uncompared_pairs(before: SummarizedRun, now: SummarizedRun) -> Uncompared:
    """The pairs :func:`compare_runs` leaves out: present in one run but not the other."""
    old = [(s.suite, s.config) for s in before.summaries]
    new = [(s.suite, s.config) for s in now.summaries]
    old_set, new_set = set(old), set(new)
    return Uncompared(
        before_only=tuple(pair for pair in old if pair not in new_set),
        now_only=tuple(pair for pair in new if pair not in old_set),
    )


def describe_uncompared(uncompared: Uncompared, *, shown: int = 10) -> str | None:
    """``5 configuration(s) not compared: in the earlier run only: s :: a, s :: b; in this
    run only: s :: c`` (None when every pair was compared)."""
    if not uncompared.count:
        return None

    def names(pairs: tuple[tuple[str, str], ...]) -> str:
        listed = ", ".join(f"{suite} :: {config}" for suite, config in pairs[:shown])
        more = f" and {len(pairs) - shown} more" if len(pairs) > shown else ""
        return listed + more

    parts = []
    if uncompared.before_only:
        parts.append(f"in the earlier run only: {names(uncompared.before_only)}")
    if uncompared.now_only:
        parts.append(f"in this run only: {names(uncompared.now_only)}")
    return f"{uncompared.count} configuration(s) not compared: " + "; ".join(parts)


def _by_pair(results: Sequence[ScoredCase]) -> dict[tuple[str, str], dict[str, ScoredCase]]:
    grouped: dict[tuple[str, str], dict[str, ScoredCase]] = {}
    for result in results:
        grouped.setdefault((result.suite, result.config), {})[result.case_id] = result
    return grouped


def _paired(
    old_cases: dict[str, ScoredCase], new_cases: dict[str, ScoredCase], flip_drop: float
) -> PairedScores:
    """The cases scored in both runs, as :class:`PairedScores`."""
    paired = [
        (old_cases[case_id], result)
        for case_id, result in new_cases.items()
        if case_id in old_cases
        and result.score is not None
        and old_cases[case_id].score is not None
    ]
    return PairedScores(
        diffs=[float(n.score) - float(o.score) for o, n in paired],  # type: ignore[arg-type]
        flipped=tuple(
            FlippedCase(
                case_id=n.case_id,
                category=n.category,
                score_before=float(o.score or 0.0),
                score_now=float(n.score or 0.0),
            )
            for o, n in sorted(paired, key=lambda pair: pair[1].case_id)
            if float(o.score or 0.0) - float(n.score or 0.0) >= flip_drop
        ),
    )


def _pair_change(
    old: Summary,
    new: Summary,
    paired: PairedScores,
    *,
    seed: int,
    confidence: float,
    max_cost_increase: float,
) -> PairChange:
    diffs, flipped = paired.diffs, paired.flipped
    if len(diffs):
        change, low, high = paired_bootstrap_ci(diffs, confidence=confidence, seed=seed)
    else:
        change = low = high = 0.0
    reasons: list[str] = []
    # A drop the interval says is real, or a gate that passed and no longer does.
    if len(diffs) and high < 0:
        reasons.append(
            f"quality: {points(change)} pts, CI [{points(low)}, {points(high)}] wholly below zero"
        )
    elif old.verdict == "pass" and new.verdict != "pass":
        reasons.append(f"quality: verdict pass -> {new.verdict}")
    quality_regressed = bool(reasons)
    cost_reason = _cost_regression(old, new, max_cost_increase)
    if cost_reason is not None:
        reasons.append(cost_reason)
    return PairChange(
        suite=new.suite,
        config=new.config,
        n=len(diffs),
        quality_before=old.quality,
        quality_now=new.quality,
        change=change,
        ci_low=low,
        ci_high=high,
        cost_before=old.cost_per_query,
        cost_now=new.cost_per_query,
        verdict_before=old.verdict,
        verdict_now=new.verdict,
        flipped=flipped,
        regressed=bool(reasons),
        quality_regressed=quality_regressed,
        cost_regressed=cost_reason is not None,
        reasons=tuple(reasons),
        savings_before=_savings(old),
        savings_now=_savings(new),
        answered_before=old.n,
        answered_now=new.n,
        max_cost_increase=max_cost_increase,
    )


def _savings(summary: Summary) -> float | None:
    """Percent of the baseline's cost per query saved (None: no baseline cost, or no answer)."""
    if not summary.n or not summary.baseline_cost_per_query:
        return None
    return float((1 - summary.cost_per_query / summary.baseline_cost_per_query) * 100)


def _cost_regression(old: Summary, new: Summary, margin: float) -> str | None:
    """``cost: ...`` when ``new`` lost more than ``margin`` of its savings, else None.

    Nothing is said when either run answered no case: an all-errored pair has no
    cost to compare (its quality side says what happened), and errors never count
    as savings.
    """
    if not old.n or not new.n:
        return None
    before, now = _savings(old), _savings(new)
    if before is not None and now is not None:
        if (before - now) / 100 > margin:
            before_text = f"{before:.0f}%".replace("-0%", "0%")
            now_text = (
                f"{now:.0f}%".replace("-0%", "0%")
                if now > -0.5
                else f"costs {-now:.0f}% more than the baseline"
            )
            return (
                f"cost: saved {before_text} of the baseline's cost per query, now {now_text} "
                f"({money(old.cost_per_query)} -> {money(new.cost_per_query)}/query), more "
                f"than max_cost_increase = {margin:g} lost"
            )
        return None
    if old.cost_per_query and new.cost_per_query > old.cost_per_query:
        rise = float(new.cost_per_query / old.cost_per_query - 1)
        if rise > margin:
            return (
                f"cost: {money(old.cost_per_query)} -> {money(new.cost_per_query)}/query "
                f"(+{rise:.0%}), more than max_cost_increase = {margin:g}"
            )
    return None


def describe_change(change: PairChange, *, shown: int = 5) -> list[str]:
    """A few lines for the terminal: the change with its interval, its savings, why it
    regressed and the flipped cases.

    A run that answered no case shows ``no answers``, never a quality of 0.000 at $0.
    """

    mark = "REGRESSED" if change.regressed else "changed" if _moved(change) else "same"
    head = f"  {mark:<10} {change.suite} :: {change.config}: "
    verdicts = f"verdict {change.verdict_before} -> {change.verdict_now}"
    if change.answered_before == 0 or change.answered_now == 0:
        side = "the earlier run" if change.answered_before == 0 else "this run"
        lines = [f"{head}no answers in {side} (every case errored): nothing to compare; {verdicts}"]
    else:
        lines = [
            f"{head}quality {change.quality_before:.3f} -> {change.quality_now:.3f} "
            f"({points(change.change)} pts, CI [{points(change.ci_low)}, "
            f"{points(change.ci_high)}], n = {change.n}); cost {money(change.cost_before)} -> "
            f"{money(change.cost_now)}/query{_savings_text(change)}; {verdicts}"
        ]
    lines.extend(f"      why: {reason}" for reason in change.reasons)
    for flipped in change.flipped[:shown]:
        lines.append(
            f"      flipped {flipped.case_id} [{flipped.category}]: "
            f"{flipped.score_before:.2f} -> {flipped.score_now:.2f}"
        )
    if len(change.flipped) > shown:
        lines.append(f"      ... and {len(change.flipped) - shown} more flipped cases")
    return lines


def describe_regressions(changes: Sequence[PairChange]) -> str:
    """``2 regressed (1 quality, 1 cost)``; a pair regressed on both counts in both."""
    regressed = sum(1 for change in changes if change.regressed)
    if not regressed:
        return "0 regressed"
    quality = sum(1 for change in changes if change.quality_regressed)
    cost = sum(1 for change in changes if change.cost_regressed)
    return f"{regressed} regressed ({quality} quality, {cost} cost)"


def _savings_text(change: PairChange) -> str:
    """`` (saved 28% -> 0% of the baseline's cost)``; nothing without a baseline cost."""
    if change.savings_before is None or change.savings_now is None:
        return ""
    before, now = (
        f"{share:.0f}%".replace("-0%", "0%")
        for share in (change.savings_before, change.savings_now)
    )
    return f" (saved {before} -> {now} of the baseline's)"


def _moved(change: PairChange) -> bool:
    """Flipped cases, or savings that moved by a point or more."""
    if change.flipped:
        return True
    if change.savings_before is None or change.savings_now is None:
        return False
    return abs(change.savings_before - change.savings_now) >= 1
