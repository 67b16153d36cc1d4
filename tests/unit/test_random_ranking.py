"""A router that ranks cases no better than chance is said to, wherever its sweep is shown."""

from __future__ import annotations

from typing import Any

import pytest

from harness.analysis.router_curves import random_ranking_warning
from harness.engine.router_sweep import describe_sweep
from harness.report.sweeps import sweep_view

WARNING = "the router's score ranks the cases no better than chance"


@pytest.mark.parametrize(
    ("apgr", "warned"), [(None, False), (0.756, False), (0.501, False), (0.5, True), (0.3, True)]
)
def test_warned_at_or_under_random(apgr: float | None, warned: bool) -> None:
    text = random_ranking_warning(apgr, 0.5)
    assert (WARNING in text) is warned
    if warned:
        assert f"APGR {apgr:.3f}, random 0.5" in text


def record(apgr: float) -> dict[str, Any]:
    point = {"threshold": 0.4745, "strong_share": 0.93, "cost_per_query": 0.001036}
    return {
        "strong": "sim:frontier",
        "weak": "sim:small",
        "score": "length",
        "n": 30,
        "recommended": point,
        "points": [point],
        "baseline_cost_per_query": 0.0011,
        "apgr": apgr,
        "oracle_apgr": 0.928,
        "random_apgr": 0.5,
    }


def test_the_terminal_line_and_the_report_say_it() -> None:
    line = describe_sweep(record(0.472))
    assert "APGR 0.472 (oracle 0.928, random 0.5). WARNING: " + WARNING in line
    assert sweep_view(0, record(0.472), None).warning.startswith(WARNING)
    assert "WARNING" not in describe_sweep(record(0.756))
    assert sweep_view(0, record(0.756), None).warning == ""
