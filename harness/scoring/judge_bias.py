"""The judge's position bias: do its two orders agree, and which position does it favour?

Every judged case is asked twice, the candidate shown first and then second
(:mod:`harness.scoring.judge`). Read from the candidate's side, the two verdicts
*agree* when they name the same thing: the candidate, the golden, or a tie. A
case whose two orders disagree followed the position, not the answers, so it is
scored as a tie (no evidence either way), and how often that happens is measured
here, per (suite, configuration):

- **position consistency**: the share of the cases asked in both orders whose
  two verdicts agree (MT-Bench's "consistency", Zheng et al. 2023);
- **first-position preference**: the share of those cases where the judge
  picked answer A both times, whatever A was; **second-position** likewise B;
- **ties**: the share called a tie in both orders.

Below the judge's ``min_consistency`` (default :data:`MIN_CONSISTENCY`) the
suite's verdicts cannot be trusted to show a change either way:
:func:`position_problem` says so, and the gate is ``inconclusive``
(:attr:`harness.stats.gates.GateInput.judge_problem`). A judge that calls
every differing answer a tie is consistent but may see no difference at all:
:func:`tie_warning` says so (the ``calibrate`` option tests it, see
:mod:`harness.scoring.judge_calibration`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from harness.scoring.judge_protocol import Winner

__all__ = [
    "MIN_CONSISTENCY",
    "TIE_WARNING_CASES",
    "PositionConsistency",
    "Preferred",
    "candidate_view",
    "measure_consistency",
    "position_problem",
    "tie_warning",
]

MIN_CONSISTENCY = 0.8
"""Default ``min_consistency``: below it a judge's verdicts decide no gate. MT-Bench reports
GPT-4 consistent on 65 % of pairs and Claude-v1 on 24 %, with most of the rest favouring the
first position; 0.8 keeps a judge that mostly reads the answers and rejects those."""

TIE_WARNING_CASES = 5
"""Differing answers a judge must call all ties before :func:`tie_warning` speaks: fewer
is too little to tell a judge that sees no difference from answers that have none."""

Preferred = Literal["candidate", "golden", "tie"]
"""What one verdict prefers, read from the candidate's side."""


def candidate_view(verdicts: Sequence[Winner]) -> tuple[Preferred, ...]:
    """The verdicts of (candidate as A, candidate as B) as what each prefers."""
    views: list[Preferred] = []
    for index, winner in enumerate(verdicts):
        if winner == "tie":
            views.append("tie")
        elif (winner == "A") == (index == 0):
            views.append("candidate")
        else:
            views.append("golden")
    return tuple(views)


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionConsistency:
    """How a judge's two orders compared over the cases of one (suite, configuration)."""

    compared: int
    """Cases asked in both orders that got two readable verdicts."""
    consistent: int
    """Of those, cases whose two verdicts agree."""
    first: int
    """Cases judged ``A`` in both orders: the first position won, whatever it held."""
    second: int
    """Cases judged ``B`` in both orders."""
    ties: int
    """Cases judged a tie in both orders."""

    def _share(self, count: int) -> float | None:
        # Every share is over the compared cases; with none compared there is no share.
        return count / self.compared if self.compared else None

    @property
    def consistency(self) -> float | None:
        """Share of the compared cases whose orders agree; None when none was compared."""
        return self._share(self.consistent)

    @property
    def first_share(self) -> float | None:
        """Share of the compared cases where the answer shown first won both times."""
        return self._share(self.first)

    @property
    def second_share(self) -> float | None:
        """Share of the compared cases where the answer shown second won both times."""
        return self._share(self.second)

    @property
    def tie_share(self) -> float | None:
        """Share of the compared cases called a tie in both orders."""
        return self._share(self.ties)


def measure_consistency(verdicts: Iterable[Sequence[Winner]]) -> PositionConsistency:
    """Count agreement and position preference over each case's (first, second) verdicts.

    Cases with fewer than two verdicts (identical to the golden, ``position_swap =
    false``, or an error) are left out.
    """
    compared = consistent = first = second = ties = 0
    for pair in verdicts:
        if len(pair) < 2:
            continue
        compared += 1
        one, two = candidate_view(pair[:2])
        consistent += one == two
        first += tuple(pair[:2]) == ("A", "A")
        second += tuple(pair[:2]) == ("B", "B")
        ties += tuple(pair[:2]) == ("tie", "tie")
    return PositionConsistency(
        compared=compared, consistent=consistent, first=first, second=second, ties=ties
    )


def _percent(share: float | None) -> str:
    return "n/a" if share is None else f"{share:.0%}"


def position_problem(measured: PositionConsistency, *, model: str, minimum: float) -> str | None:
    """Why the judge's verdicts decide nothing (its orders agree too rarely), or None."""
    share = measured.consistency
    if share is None or share >= minimum:
        return None
    return (
        f"judge {model!r} is position-biased: its two orders agree on only {_percent(share)} "
        f"of {measured.compared} case(s) (min_consistency {minimum:g}); the answer shown "
        f"first won both orders in {_percent(measured.first_share)}, the answer shown second "
        f"in {_percent(measured.second_share)}. Its verdicts followed the position, not the "
        "answers, so they can show neither a pass nor a drop: use a stronger judge model or "
        "clearer criteria (the scorer's min_consistency option sets this limit)"
    )


def tie_warning(measured: PositionConsistency, *, model: str) -> str | None:
    """A doubt when the judge called every differing answer a tie, or None."""
    if measured.compared < TIE_WARNING_CASES or measured.ties < measured.compared:
        return None
    return (
        f"judge {model!r} called all {measured.compared} differing answers a tie in both "
        "orders: either they are all as good as the baseline's, or the judge cannot tell "
        "answers apart; set calibrate = true on the judge scorer to test it on an answer "
        "known to be worse"
    )
