"""The report's "Tune" section: each suite's latest ``harness tune`` result, as text cells."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.analysis.tune_model import NOT_ON_FRONTIER, is_winner
from harness.formatting import money, points

__all__ = ["build_tunes"]


def _stack(label: str, batch: bool) -> str:
    return f"{label} + batch" if batch else label


def _interval(value: Mapping[str, Any]) -> str:
    return f"{money(value['estimate'])} [{money(value['low'])}, {money(value['high'])}]"


def build_tunes(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One view per stored tune entry (:func:`harness.store.tunes.load_tunes`)."""
    views = []
    for entry in entries:
        winner, confirmed, best = (
            entry.get("winner"),
            entry.get("confirmed"),
            entry.get("best_looking"),
        )
        view: dict[str, Any] = {
            "suite": entry["suite"],
            "tuned_at": entry.get("tuned_at", ""),
            "n": entry["n"],
            "choose_n": entry["choose_n"],
            "confirm_n": entry["confirm_n"],
            "stacks_searched": entry["stacks_searched"],
            "thresholds_judged": entry["thresholds_judged"],
            "reason": entry["reason"],
            "winner": None,
            "frontier_note": "",
            "not_confirmed": None,
            "toml": entry.get("toml"),
            "frontier": [
                {
                    "stack": _stack(p["label"], p["batch"]),
                    "threshold": f"{p['threshold']:.4g}",
                    "share": f"{p['strong_share']:.1%}",
                    "cost": money(p["cost_per_query"]),
                    "quality": f"{p['quality']:.3f}",
                    "delta": points(p["delta"]),
                    "winner": is_winner(p, winner),
                }
                for p in entry.get("pareto") or []
            ],
            "levers": [
                {
                    "lever": e["lever"],
                    "with": f"{e['savings_with']:.1%}",
                    "without": f"{e['savings_without']:.1%}",
                }
                for e in entry.get("levers") or []
            ],
        }
        if best is not None and not best.get("confirmed"):
            view["not_confirmed"] = (
                f"{_stack(best['label'], best['batch'])} at threshold {best['threshold']:.4g} "
                f"({money(best['cost_per_query'])}/query) passed on the choosing cases only"
            )
        if winner is not None and confirmed is not None:
            frontier = entry.get("pareto") or []
            if frontier and not any(is_winner(p, winner) for p in frontier):
                view["frontier_note"] = NOT_ON_FRONTIER[:1].upper() + NOT_ON_FRONTIER[1:] + "."
            view["winner"] = {
                "stack": _stack(winner["label"], winner["batch"]),
                "threshold": f"{winner['threshold']:.4g}",
                "verdict": confirmed["verdict"],
                "delta": points(confirmed["delta"]),
                "ci": f"[{points(confirmed['ci_low'])}, {points(confirmed['ci_high'])}]",
                "cost": money(confirmed["cost_per_query"]),
                "baseline_cost": money(confirmed["baseline_cost_per_query"]),
                "savings": f"{confirmed['savings']:.1%}",
                "monthly_cost": _interval(confirmed["monthly_cost"]),
                "monthly_savings": _interval(confirmed["monthly_savings"]),
            }
        views.append(view)
    return views
