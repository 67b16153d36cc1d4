"""The report's "Router sweeps" section: one curve, table and summary per sweep.

Reads the records :func:`harness.engine.router_sweep.sweep_record` stored (plain JSON),
so a report re-rendered from the database alone shows the same section.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from markupsafe import Markup

from harness.analysis.router_curves import random_ranking_warning
from harness.engine.router_sweep import threshold_text
from harness.formatting import money
from harness.report.charts import SweepChart, sweep_curve_svg
from harness.report.footnotes import Reason, say_once


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepPointView:
    """One row of a sweep's table, formatted."""

    threshold: str
    share: str
    cost: str
    quality: str
    delta: str
    ci: str
    verdict: str
    """``pass``, ``fail``, ``inconclusive``, ``error`` or ``—`` (not judged)."""
    css: str
    """Badge class of the verdict (empty when not judged)."""
    reasons: tuple[str, ...]
    why: Reason | None = None
    """The first reason as the table shows it: said in the row, or a numbered note of
    the sweep when other thresholds give the same one."""
    recommended: bool
    pareto: bool
    share_value: float
    cost_value: float
    quality_value: float
    delta_value: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepView:
    """The sweep of one (suite, configuration)."""

    index: int
    """Position among the sweeps: anchors and chart ids."""
    suite: str
    config: str
    pair_index: int | None
    """Row of the pair in the verdict table (for a link), when it has one."""
    strong: str
    weak: str
    score: str
    n: int
    errors: int
    first_error: str | None
    error: str | None
    """Why the sweep could not be computed (then nothing else is shown)."""
    svg: Markup | None
    points: tuple[SweepPointView, ...]
    recommended: SweepPointView | None
    reason: str
    savings: str
    """The recommended point's saving against the baseline, e.g. ``32.4%``."""
    baseline_cost: str
    strong_quality: str
    weak_quality: str
    apgr: str
    oracle_apgr: str
    random_apgr: str
    cpt: tuple[tuple[str, str], ...]
    """(``CPT(50%)``, ``21.2%``) pairs."""
    oracle_cpt: tuple[tuple[str, str], ...]
    ci_policy: str
    notes: tuple[str, ...] = ()
    warning: str = ""
    """Said beside the APGR when the router ranks cases no better than chance."""
    """Reasons more than one threshold gives, said once under the table (numbered)."""


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _pct(value: Any, decimals: int = 1) -> str:
    number = _num(value)
    return "—" if number is None else f"{number * 100:.{decimals}f}%"


def _fixed(value: Any, decimals: int = 3) -> str:
    number = _num(value)
    return "—" if number is None else f"{number:.{decimals}f}"


def _pts(value: Any) -> str:
    number = _num(value)
    if number is None:
        return "—"
    text = f"{number * 100:+.1f}"
    return "+0.0" if text == "-0.0" else text


def _point_view(point: Mapping[str, Any], recommended: bool) -> SweepPointView:
    verdict = point.get("verdict")
    return SweepPointView(
        threshold=threshold_text(point.get("threshold"), point.get("strong_calls")),
        share=_pct(point.get("strong_share")),
        cost=money(_num(point.get("cost_per_query")) or 0.0),
        quality=_fixed(point.get("quality")),
        delta=_pts(point.get("delta")),
        ci=(
            f"[{_pts(point.get('ci_low'))}, {_pts(point.get('ci_high'))}]"
            if _num(point.get("ci_low")) is not None
            else ""
        ),
        verdict=str(verdict) if verdict else "—",
        css={"pass": "pass", "fail": "fail", "error": "fail", "inconclusive": "inconclusive"}.get(
            str(verdict), ""
        ),
        reasons=tuple(str(r) for r in point.get("reasons") or ()),
        recommended=recommended,
        pareto=bool(point.get("pareto")),
        share_value=_num(point.get("strong_share")) or 0.0,
        cost_value=_num(point.get("cost_per_query")) or 0.0,
        quality_value=_num(point.get("quality")) or 0.0,
        delta_value=_num(point.get("delta")) or 0.0,
    )


def _cpt(values: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(values, Mapping):
        return ()
    return tuple((f"CPT({key}%)", _pct(value)) for key, value in values.items())


def sweep_view(index: int, record: Mapping[str, Any], pair_index: int | None) -> SweepView:
    """Format one stored sweep (and draw its curve)."""
    suite, config = str(record.get("suite", "")), str(record.get("config", ""))
    raw_points = [p for p in record.get("points") or () if isinstance(p, Mapping)]
    rec_index = record.get("recommended_index")
    plain = [_point_view(p, i == rec_index) for i, p in enumerate(raw_points)]
    # The table shows each point's first reason; one that repeats is said once.
    whys, notes = say_once([p.reasons[:1] for p in plain])
    points = tuple(
        replace(p, why=why[0] if why else None) for p, why in zip(plain, whys, strict=True)
    )
    recommended = (
        points[rec_index] if isinstance(rec_index, int) and rec_index < len(points) else None
    )
    baseline_cost = _num(record.get("baseline_cost_per_query"))
    savings = "—"
    if recommended is not None and baseline_cost:
        savings = f"{(1 - recommended.cost_value / baseline_cost) * 100:.1f}%"
    error = record.get("error")
    svg: Markup | None = None
    if not error and len(points) > 1:
        oracle = record.get("oracle") or {}
        baseline_quality = _num(record.get("baseline_quality"))
        margin = _num(record.get("margin"))
        note = ""
        if recommended is not None:
            note = (
                f"recommended: threshold {recommended.threshold}\n"
                f"{recommended.share} strong, {recommended.cost}/query"
                + (f", {savings} saved" if savings != "—" else "")
            )
        chart = SweepChart(
            shares=[p.share_value for p in points],
            quality=[p.quality_value for p in points],
            verdicts=[p.get("verdict") for p in raw_points],
            oracle_shares=[float(v) for v in oracle.get("shares") or ()],
            oracle_quality=[float(v) for v in oracle.get("quality") or ()],
            weak_quality=_num(record.get("weak_quality")) or 0.0,
            strong_quality=_num(record.get("strong_quality")) or 0.0,
            floor=(
                baseline_quality - margin
                if baseline_quality is not None and margin is not None
                else None
            ),
            recommended=rec_index if recommended is not None else None,
            note=note,
            strong=str(record.get("strong", "strong model")),
        )
        svg = Markup(
            sweep_curve_svg(
                chart,
                title=f"{suite} :: {config}: quality vs strong-call share",
                id_prefix=f"s{index}-",
            )
        )
    return SweepView(
        index=index,
        suite=suite,
        config=config,
        pair_index=pair_index,
        strong=str(record.get("strong", "")),
        weak=str(record.get("weak", "")),
        score=str(record.get("score", "")),
        n=int(record.get("n") or 0),
        errors=int(record.get("errors") or 0),
        first_error=record.get("first_error"),
        error=str(error) if error else None,
        svg=svg,
        points=points,
        recommended=recommended,
        reason=str(record.get("recommendation_reason", "")),
        savings=savings,
        baseline_cost=money(baseline_cost or 0.0),
        strong_quality=_fixed(record.get("strong_quality")),
        weak_quality=_fixed(record.get("weak_quality")),
        apgr=_fixed(record.get("apgr")),
        oracle_apgr=_fixed(record.get("oracle_apgr")),
        random_apgr=_fixed(record.get("random_apgr", 0.5), 1),
        cpt=_cpt(record.get("cpt")),
        oracle_cpt=_cpt((record.get("oracle") or {}).get("cpt")),
        ci_policy=str(record.get("ci_policy", "")),
        notes=tuple(notes),
        warning=random_ranking_warning(record.get("apgr"), record.get("random_apgr", 0.5)),
    )


def build_sweeps(
    sweeps: Mapping[tuple[str, str], Mapping[str, Any]], pairs: Sequence[tuple[str, str]]
) -> list[SweepView]:
    """One view per stored sweep, in the order of the run's summaries (``pairs``)."""
    rank = {pair: i for i, pair in enumerate(pairs)}
    ordered = sorted(sweeps.items(), key=lambda item: rank.get(item[0], len(rank)))
    return [
        sweep_view(number, record, rank.get(pair)) for number, (pair, record) in enumerate(ordered)
    ]
