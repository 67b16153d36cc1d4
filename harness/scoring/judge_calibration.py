"""The judge's calibration (``calibrate = true``): is it right where the answer is known?

Before a suite's configurations are judged, on a seeded sample of its cases
(the ``sample`` share, at least :data:`MIN_CASES`), the judge is asked two
questions whose answers are known, each in both orders:

- the baseline's golden against **itself**: a tie, both times;
- the golden against a **non-answer** (:data:`NON_ANSWER`): the golden wins,
  both times.

A judge that calls identical answers anything but a tie follows the position or
the noise; one that cannot prefer an answer to "I don't know." calls everything
a tie (and would pass every configuration at 1.000). Either, on fewer than the
judge's ``min_consistency`` share of the sample, is a problem reported before
any verdict: every gate of the suite is ``inconclusive``
(:attr:`harness.stats.gates.GateInput.judge_problem`).

The calibration requests go through the executor like every judge request (stored,
replayed, paid once for the whole run); their cost is evaluation cost, shown with
the judge's figures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from harness.scoring.judge_bias import Preferred, candidate_view
from harness.scoring.judge_noise import choose_noise_sample
from harness.scoring.judge_protocol import Send
from harness.scoring.judge_results import JudgeItem
from harness.types import Request, Response

if TYPE_CHECKING:
    from harness.config.prices import PriceTable
    from harness.scoring.judge_scorer import JudgeScorer

__all__ = ["MIN_CASES", "NON_ANSWER", "JudgeCalibration", "calibrate_judge"]

MIN_CASES = 5
"""Fewest cases calibrated (all of them in a smaller suite): one or two cases say little."""

NON_ANSWER = "I don't know."
"""The answer known to be worse than any golden that answers the question."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JudgeCalibration:
    """What the judge made of answers whose verdict is known."""

    model: str
    cases: tuple[str, ...]
    """Case ids calibrated, in suite order."""
    identical: int
    """Golden-against-itself pairs asked in both orders with readable verdicts."""
    identical_ties: int
    """Of those, called a tie in both orders (right)."""
    worse: int
    """Golden-against-a-non-answer pairs asked in both orders with readable verdicts."""
    worse_caught: int
    """Of those, where the golden won both orders (right)."""
    errors: int = 0
    """Pairs the judge could not answer (left out)."""
    calls: tuple[tuple[Request, Response], ...] = ()

    def cost(self, prices: PriceTable) -> Decimal:
        """USD of the calibration calls (evaluation cost)."""
        return sum(
            (prices.cost(r.model, resp.usage, batch=r.batch) for r, resp in self.calls),
            Decimal(0),
        )

    def problem(self, minimum: float) -> str | None:
        """Why the judge's verdicts cannot decide a gate, or None when it passed."""
        if self.identical == 0 and self.worse == 0:
            if not self.errors:
                return None
            return (
                f"judge {self.model!r} could not be calibrated: all {self.errors} calibration "
                "question(s) failed (see the judge's errors); its verdicts decide no gate until "
                "it answers"
            )
        wrong: list[str] = []
        if self.identical and self.identical_ties / self.identical < minimum:
            wrong.append(
                f"it called the golden against itself a tie in both orders in only "
                f"{self.identical_ties} of {self.identical} case(s)"
            )
        if self.worse and self.worse_caught / self.worse < minimum:
            wrong.append(
                f"it preferred the golden to the non-answer {NON_ANSWER!r} in both orders in "
                f"only {self.worse_caught} of {self.worse} case(s)"
            )
        if not wrong:
            return None
        return (
            f"judge {self.model!r} failed its calibration: {'; '.join(wrong)} "
            f"(min_consistency {minimum:g}). A judge that cannot see that identical answers tie "
            "and a non-answer loses cannot show a configuration's change: use a stronger judge "
            "model or clearer criteria"
        )

    def summary(self) -> str:
        """``calibration: identical answers tied 5/5, a non-answer lost 5/5``."""
        return (
            f"calibration: identical answers tied {self.identical_ties}/{self.identical}, "
            f"a non-answer lost {self.worse_caught}/{self.worse}"
        )


async def calibrate_judge(
    scorer: JudgeScorer, items: Sequence[JudgeItem], send: Send, *, seed: int
) -> JudgeCalibration:
    """Ask the judge the known questions on a seeded sample of ``items`` (see the module).

    Args:
        scorer: The suite's judge.
        items: One per case with a golden (``output`` is not used).
        send: The executor's ``send``.
        seed: Chooses the sample (derive it apart from the noise sample's seed: the
            two measure different things).
    """
    usable = [i for i in items if i.golden.strip() and i.golden.strip() != NON_ANSWER]
    share = scorer.sample
    if usable:
        share = max(share, min(1.0, MIN_CASES / len(usable)))
    chosen = set(
        choose_noise_sample([i.case_id for i in usable], share=share, seed=seed) if usable else ()
    )
    sample = [i for i in usable if i.case_id in chosen]

    async def ask(
        item: JudgeItem, other: str
    ) -> tuple[tuple[Preferred, ...] | None, list[tuple[Request, Response]]]:
        verdicts, error, calls = await scorer.ask_orders(
            case_id=item.case_id,
            question=item.question,
            first=item.golden,
            second=other,
            expected=item.expected,
            nonce=0,
            send=send,
        )
        if error is not None:
            return None, calls
        return candidate_view([v.winner for v in verdicts]), calls

    answers = await asyncio.gather(
        *(ask(i, i.golden) for i in sample), *(ask(i, NON_ANSWER) for i in sample)
    )
    same, worse = answers[: len(sample)], answers[len(sample) :]
    # The golden against itself is one request in both orders: the executor sends it
    # once, so it is counted (and priced) once.
    calls = tuple({c[0].hash(): c for _, made in answers for c in made}.values())
    return JudgeCalibration(
        model=scorer.model,
        cases=tuple(i.case_id for i in sample),
        identical=sum(1 for views, _ in same if views is not None),
        identical_ties=sum(1 for views, _ in same if views and set(views) == {"tie"}),
        worse=sum(1 for views, _ in worse if views is not None),
        worse_caught=sum(1 for views, _ in worse if views and set(views) == {"candidate"}),
        errors=sum(1 for views, _ in answers if views is None),
        calls=calls,
    )
