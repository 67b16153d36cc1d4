"""The progress line's rate and ETA; the pairs a comparison could not compare."""

from __future__ import annotations

from harness.analysis.compare import Uncompared, describe_uncompared
from harness.engine.run import pace


def test_pace_gives_rate_and_eta_once_a_case_is_done() -> None:
    assert pace(0, 10, 3.0) == ""
    assert pace(4, 10, 2.0) == ", 2.0 cases/s, about 3 s left"
    assert pace(1, 1000, 2.0) == ", 0.5 cases/s, about 33 min left"


def test_describe_uncompared_names_both_sides_and_clips_long_lists() -> None:
    assert describe_uncompared(Uncompared()) is None
    both = Uncompared(before_only=(("s", "a"), ("s", "b")), now_only=(("t", "c"),))
    assert describe_uncompared(both) == (
        "3 configuration(s) not compared: in the earlier run only: s :: a, s :: b; "
        "in this run only: t :: c"
    )
    many = Uncompared(before_only=tuple(("s", f"c{i}") for i in range(13)))
    text = describe_uncompared(many, shown=10)
    assert text is not None and text.endswith("s :: c9 and 3 more")
    assert [row["only_in"] for row in both.to_json()] == ["earlier run", "earlier run", "this run"]
