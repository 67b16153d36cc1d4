"""The threshold tune writes: the simplest number that routes the suite's cases alike."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.analysis.router_points import simplest_threshold

SCORES = np.array([0.1, 0.2, 0.47, 0.5, 0.93])


@pytest.mark.parametrize(
    ("threshold", "simplest"),
    [
        (0.47000000000000003, 0.5),  # np.quantile's kind of number: 0.47 would move a case
        (0.46, 0.4),  # the nearest of the one-decimal numbers between 0.2 and 0.47
        (0.2, 0.2),
        (0.95, 1.0),  # nothing strong: within a typical step past the highest score
        (float(np.nextafter(0.93, 1.0)), 1.0),  # a share-0 point of the sweep
        (0.05, 0.1),  # everything strong: not under the threshold
        (0.1, 0.1),
    ],
)
def test_the_fewest_decimals_that_route_alike(threshold: float, simplest: float) -> None:
    assert simplest_threshold(SCORES, threshold) == simplest


def test_negative_scores() -> None:
    scores = np.array([-3.2, -1.5])
    assert simplest_threshold(scores, -4.0) == -4.0
    assert simplest_threshold(scores, -2.0) == -2.0
    assert simplest_threshold(scores, -2.4) == -2.0
    assert simplest_threshold(scores, 0.3) == 0.0
    assert simplest_threshold(np.array([-1001.0]), -1.0) == -1.0


@settings(max_examples=300, deadline=None)
@given(
    scores=st.lists(
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=40
    ),
    threshold=st.floats(min_value=-2e6, max_value=2e6, allow_nan=False),
)
def test_every_case_is_routed_as_before(scores: list[float], threshold: float) -> None:
    values = np.array(scores)
    simple = simplest_threshold(values, threshold)
    assert ((values >= simple) == (values >= threshold)).all()
    assert len(repr(simple)) <= len(repr(threshold)) + 2  # never a longer number to paste
    # Under the first score, it stays between the threshold and that score.
    if (values >= threshold).all():
        assert threshold <= simple <= values.min()
