"""Synthetic runs for the storage and report benchmarks: realistic rows, no model calls.

Each case result looks like one of a nightly suite: a short answer, a score
of 1 or 0, about 5 % flagged (worse than the baseline), 0.5 % errors, ten
categories and Decimal costs. Summaries carry per-category rows like the
pipeline's.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

from harness.config.settings import Settings, parse_settings
from harness.config.suites import now_iso
from harness.engine.metadata import new_run_id
from harness.engine.run_data import RunOutcome
from harness.store.runs import StoredRun
from harness.types import CaseResult, CategorySummary, Summary, Usage

CATEGORIES = tuple(f"category-{i}" for i in range(10))
SUITE = "nightly"


def settings(root: Path, configs: Sequence[str]) -> Settings:
    """Settings naming the configurations (all on one made-up model)."""
    table = {
        "baseline": "openai:gpt-bench-strong",
        "prices": {"openai:gpt-bench-strong": {"input": 2.5, "output": 10.0}},
        "configs": [{"name": name, "model": "openai:gpt-bench-strong"} for name in configs],
    }
    return parse_settings(table, root=root, source="benchmark")


def case_results(cases: int, configs: Sequence[str], seed: int = 0) -> Iterator[CaseResult]:
    """``cases`` results for each configuration."""
    rng = random.Random(seed)
    base_cost = Decimal("0.000125")
    for config in configs:
        for i in range(cases):
            roll = rng.random()
            error = (
                "APITimeoutError: Request timed out. (after 3 attempts)" if roll < 0.005 else None
            )
            flagged = error is None and roll < 0.055
            score = None if error else (0.0 if flagged else 1.0)
            answer = f"ANSWER: {rng.randint(0, 999_999)}"
            yield CaseResult(
                suite=SUITE,
                config=config,
                case_id=f"q{i:07d}",
                category=CATEGORIES[i % len(CATEGORIES)],
                model="openai:gpt-bench-strong",
                output="" if error else (answer + " because " + "x" * 60 if flagged else answer),
                reference=answer,
                expected=answer,
                score=score,
                baseline_score=1.0,
                delta=None if score is None else score - 1.0,
                cost_usd=base_cost * rng.randint(1, 9),
                baseline_cost_usd=base_cost * 10,
                usage=Usage(input_tokens=rng.randint(20, 60), output_tokens=rng.randint(3, 40)),
                latency_ms=rng.uniform(80, 900),
                cache_hit=False,
                calls=0 if error else 1,
                error=error,
                flagged=flagged,
            )


def summaries(results: Sequence[CaseResult], configs: Sequence[str]) -> list[Summary]:
    """One summary per configuration, from its results (counts; fixed statistics)."""
    out = []
    for config in configs:
        rows = [r for r in results if r.config == config]
        scored = [r for r in rows if r.score is not None]
        quality = sum(r.score or 0.0 for r in scored) / len(scored)
        cost = sum((r.cost_usd for r in rows), Decimal(0)) / len(rows)
        base = sum((r.baseline_cost_usd for r in rows), Decimal(0)) / len(rows)
        categories = []
        for category in CATEGORIES:
            members = [r for r in scored if r.category == category]
            cat_quality = sum(r.score or 0.0 for r in members) / len(members)
            categories.append(
                CategorySummary(
                    category=category,
                    n=len(members),
                    quality=cat_quality,
                    baseline_quality=1.0,
                    delta=cat_quality - 1.0,
                    failed=False,
                    p_value=0.5,
                )
            )
        out.append(
            Summary(
                suite=SUITE,
                config=config,
                n=len(scored),
                errors=len(rows) - len(scored),
                quality=quality,
                baseline_quality=1.0,
                delta=quality - 1.0,
                ci_low=quality - 1.0 - 0.003,
                ci_high=quality - 1.0 + 0.003,
                margin=0.02,
                verdict="fail",
                reasons=("the quality drop can exceed the 2.0-point margin",),
                enforced=False,
                cost_per_query=cost,
                baseline_cost_per_query=base,
                savings_pct=float(1 - cost / base) * 100,
                monthly_cost=cost * 3_000_000,
                baseline_monthly_cost=base * 3_000_000,
                flagged_cases=sum(1 for r in rows if r.flagged),
                categories=tuple(categories),
                p_value=0.001,
                test="mcnemar",
                min_detectable_drop=0.004,
            )
        )
    return out


def outcome(root: Path, cases: int, configs: Sequence[str]) -> RunOutcome:
    """A finished run of ``cases`` x ``configs`` results, ready for ``storage.write_run``."""
    results = list(case_results(cases, configs))
    run = RunOutcome(
        run_id=new_run_id(),
        started_at=now_iso(),
        finished_at=now_iso(),
        settings=settings(root, configs),
        metadata={"git_sha": "0" * 40, "git_branch": "main", "harness_version": "bench"},
    )
    run.results = results
    run.summaries = summaries(results, configs)
    return run


def stored_run(cases: int, configs: Sequence[str]) -> StoredRun:
    """The same run as read back from the database (what the report renders)."""
    results = tuple(case_results(cases, configs))
    return StoredRun(
        run={
            "run_id": new_run_id(),
            "started_at": now_iso(),
            "finished_at": now_iso(),
            "git_sha": "0" * 40,
            "git_branch": "main",
            "harness_version": "bench",
            "python_version": "3.11",
            "baseline": "openai:gpt-bench-strong",
            "volume": "100k/day",
            "seed": 20261126,
            "settings_json": "{}",
            "prices_json": "{}",
            "calls": len(results),
        },
        summaries=tuple(summaries(results, configs)),
        results=results,
        problems={},
    )
