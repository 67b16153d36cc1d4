"""What the ``judge`` scorer takes and gives: the cases to judge, their scores, the noise.

See :mod:`harness.scoring.judge` for how a case is judged. Every result keeps
the judge calls it took, so the run can price them as *evaluation* cost,
reported apart from what the configuration itself costs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from harness.scoring.judge_bias import PositionConsistency, measure_consistency
from harness.scoring.judge_protocol import Winner
from harness.types import Request, Response, Score, Usage

if TYPE_CHECKING:
    from harness.config.prices import PriceTable

__all__ = ["JudgeItem", "JudgeNoise", "JudgeScore", "JudgedSuite"]


def _calls_cost(prices: PriceTable, calls: Iterable[tuple[Request, Response]]) -> Decimal:
    """USD of judge calls, each priced by its request's model and batch flag."""
    return sum(
        (prices.cost(r.model, resp.usage, batch=r.batch) for r, resp in calls),
        Decimal(0),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class JudgeScore:
    """A judged case: its score (or why there is none) and the judge calls it took."""

    case_id: str
    score: Score | None
    """None when the case could not be judged (see ``error``)."""
    error: str | None = None
    """Why the case could not be judged: record it as an error row, never as a 0."""
    verdicts: tuple[Winner, ...] = ()
    """The winner of each order asked: (candidate as A, candidate as B)."""
    calls: tuple[tuple[Request, Response], ...] = ()
    """Every judge call, retries included (empty for an output identical to the golden)."""

    @property
    def value(self) -> float | None:
        """The score's value, or None."""
        return None if self.score is None else self.score.value

    @property
    def usage(self) -> Usage:
        """Tokens the judge calls consumed."""
        total = Usage()
        for _, response in self.calls:
            total = total + response.usage
        return total

    def cost(self, prices: PriceTable) -> Decimal:
        """USD of the judge calls: evaluation cost, not the configuration's."""
        return _calls_cost(prices, self.calls)


@dataclass(frozen=True, slots=True, kw_only=True)
class JudgeItem:
    """One case to judge: the candidate's output against the golden."""

    case_id: str
    question: str
    """What the judge is told was asked (see :func:`~harness.scoring.judge.case_question`)."""
    output: str
    """The candidate configuration's answer."""
    golden: str
    """The baseline's recorded answer."""
    expected: str | None = None
    """The known correct answer, shown to the judge when there is one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JudgeNoise:
    """How often the judge changes its mind when asked again."""

    flip_rate: float | None
    """Share of (first judgement, repeat) pairs whose scores differ; None when no
    pair could be compared (every repeat errored)."""
    noise: float | None
    """Quality change judge noise alone explains, in score units:
    ``flip_rate * judged_share * SCORE_RANGE``; pass to ``GateInput(noise=...)``."""
    repeats: int
    sampled: tuple[str, ...]
    """Case ids re-judged, in suite order."""
    pairs: int
    """(first, repeat) pairs compared."""
    flipped: tuple[str, ...]
    """Case ids whose score changed in at least one repeat."""
    judged_share: float
    """Share of the cases that needed the judge (not identical to the golden)."""
    errors: int = 0
    """Repeats that could not be judged (left out of the pairs)."""
    calls: tuple[tuple[Request, Response], ...] = ()
    """The repeat calls: evaluation cost too."""

    def cost(self, prices: PriceTable) -> Decimal:
        """USD of the repeat calls."""
        return _calls_cost(prices, self.calls)

    def case_cost(self, case_id: str, prices: PriceTable) -> Decimal:
        """USD of the repeat calls that re-judged ``case_id``."""
        return _calls_cost(prices, (c for c in self.calls if c[0].case_id == case_id))


@dataclass(frozen=True, slots=True, kw_only=True)
class JudgedSuite:
    """Every case of one (suite, configuration), judged, and the judge's noise."""

    scores: Mapping[str, JudgeScore]
    """By case id."""
    noise: JudgeNoise | None
    """None when ``repeats`` is 0 or nothing needed the judge."""

    @property
    def consistency(self) -> PositionConsistency:
        """How often the two orders of a case agreed, and which position won when not."""
        return measure_consistency(s.verdicts for s in self.scores.values())

    @property
    def calls(self) -> int:
        """Judge requests made (retries and noise repeats included)."""
        repeats = len(self.noise.calls) if self.noise is not None else 0
        return sum(len(s.calls) for s in self.scores.values()) + repeats

    def eval_cost(self, prices: PriceTable) -> Decimal:
        """USD of every judge call: the cases' and the noise repeats'."""
        total = sum((s.cost(prices) for s in self.scores.values()), Decimal(0))
        return total + (self.noise.cost(prices) if self.noise is not None else Decimal(0))

    def case_eval_cost(self, case_id: str, prices: PriceTable) -> Decimal:
        """USD of the judge calls about ``case_id``: its judgement and its noise repeats,
        so the cases' evaluation costs add up to :meth:`eval_cost`."""
        score = self.scores.get(case_id)
        own = score.cost(prices) if score is not None else Decimal(0)
        again = self.noise.case_cost(case_id, prices) if self.noise is not None else Decimal(0)
        return own + again
