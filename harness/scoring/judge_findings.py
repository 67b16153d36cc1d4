"""What a run says about its judge, per (suite, configuration): figures, doubts, a problem.

From a :class:`~harness.scoring.judge_results.JudgedSuite` (and the suite's
calibration, when ``calibrate = true``), :func:`judge_findings` gives

- ``figures``: the judge's calls and evaluation cost (repeats and calibration
  included), its position consistency and position preferences, its flip rate;
  kept in ``Summary.extras["judge"]`` (stored with the run, printed by
  ``harness summary --json``);
- ``note``: the same as one line, shown with the scorer's warnings in the
  terminal, ``harness summary``, ``summary.md`` and the report;
- ``problem``: why the judge's verdicts decide nothing (position-biased below
  ``min_consistency``, or a failed calibration), passed to the gate
  (:attr:`harness.stats.gates.GateInput.judge_problem`);
- ``warnings``: doubts that do not block (every differing answer a tie).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.formatting import money
from harness.scoring.judge_bias import position_problem, tie_warning
from harness.scoring.judge_calibration import JudgeCalibration
from harness.scoring.judge_results import JudgedSuite

if TYPE_CHECKING:
    from harness.config.prices import PriceTable
    from harness.scoring.judge_scorer import JudgeScorer

__all__ = ["JudgeFindings", "judge_findings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class JudgeFindings:
    """The judge's figures and what they mean for one (suite, configuration)."""

    figures: dict[str, Any] = field(default_factory=dict)
    """JSON-ready: ``model``, ``calls``, ``cost_usd``, ``consistency``, ``compared``,
    ``first_position``, ``second_position``, ``ties``, ``flip_rate``, ``repeat_pairs``,
    ``min_consistency`` and, when calibrated, ``calibration``."""
    note: str = ""
    """The figures as one line."""
    problem: str | None = None
    """Why the judge's verdicts decide no gate, or None."""
    warnings: tuple[str, ...] = ()


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def judge_findings(
    scorer: JudgeScorer,
    judged: JudgedSuite,
    prices: PriceTable,
    *,
    config: str,
    calibration: JudgeCalibration | None = None,
) -> JudgeFindings:
    """The judge's figures, note, problem and warnings for configuration ``config``."""
    consistency = judged.consistency
    noise = judged.noise
    cost = judged.eval_cost(prices)
    calls = judged.calls
    figures: dict[str, Any] = {
        "model": scorer.model,
        "calls": calls,
        "cost_usd": float(cost),
        "consistency": consistency.consistency,
        "compared": consistency.compared,
        "first_position": consistency.first_share,
        "second_position": consistency.second_share,
        "ties": consistency.tie_share,
        "min_consistency": scorer.min_consistency,
        "flip_rate": noise.flip_rate if noise is not None else None,
        "repeat_pairs": noise.pairs if noise is not None else 0,
    }
    parts = [f"{calls} call(s), {money(cost)} evaluation cost"]
    if consistency.compared:
        parts.append(
            f"position consistency {_share(consistency.consistency)} of "
            f"{consistency.compared} case(s) (first position won both orders in "
            f"{_share(consistency.first_share)}, second in {_share(consistency.second_share)})"
        )
    elif not scorer.position_swap:
        parts.append("position consistency not measured (position_swap = false)")
    if noise is not None:
        parts.append(f"flip rate {_share(noise.flip_rate)} over {noise.pairs} repeat(s)")
    problems = [position_problem(consistency, model=scorer.model, minimum=scorer.min_consistency)]
    if calibration is not None:
        calibration_cost = calibration.cost(prices)
        figures["calibration"] = {
            "cases": len(calibration.cases),
            "identical": calibration.identical,
            "identical_ties": calibration.identical_ties,
            "worse": calibration.worse,
            "worse_caught": calibration.worse_caught,
            "errors": calibration.errors,
            "calls": len(calibration.calls),
            "cost_usd": float(calibration_cost),
        }
        parts.append(
            f"{calibration.summary()} ({len(calibration.calls)} call(s), "
            f"{money(calibration_cost)}, once per suite)"
        )
        problems.insert(0, calibration.problem(scorer.min_consistency))
    problem = "; ".join(p for p in problems if p) or None
    warning = tie_warning(consistency, model=scorer.model)
    return JudgeFindings(
        figures=figures,
        note=f"judge {scorer.model!r} on {config!r}: {'; '.join(parts)}",
        problem=problem,
        warnings=(warning,) if warning else (),
    )
