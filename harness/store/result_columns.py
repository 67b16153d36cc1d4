"""A batch of case results as the ``results`` table's columns (no dict per result).

Shared by :func:`harness.store.runs.write_run` (results held in memory) and the
run's spool (:mod:`harness.store.result_spool`), which keeps them on disk as these
columns until the run is stored.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from harness.store.database import USAGE_FIELDS, stored_money
from harness.types import SCHEMA_VERSION, CaseResult

RESULT_FIELDS = (
    "suite",
    "config",
    "case_id",
    "category",
    "model",
    "output",
    "reference",
    "expected",
    "score",
    "baseline_score",
    "delta",
    "latency_ms",
    "cache_hit",
    "calls",
    "error",
    "flagged",
    "rationale",
    "cost_source",
    "baseline_cost_source",
    "prompt",
    "prompt_context",
)
"""The result columns that are :class:`CaseResult` fields of the same name."""

RESULT_MONEY = ("cost_usd", "baseline_cost_usd", "eval_cost_usd")
"""The result columns holding money (quantized to the column's 12 decimals)."""


def result_columns(
    results: Sequence[CaseResult], *, money_text: bool = False
) -> dict[str, list[Any]]:
    """The columns of ``results`` (without ``run_id`` and ``schema_version``).

    ``money_text``: amounts as their text (for the spool's file, which holds plain
    values only); otherwise as :class:`~decimal.Decimal`.
    """
    money: Any = (lambda v: str(stored_money(v))) if money_text else stored_money
    money_columns = _transposed(_MONEY_OF, results, RESULT_MONEY)
    return {
        **_transposed(_FIELDS_OF, results, RESULT_FIELDS),
        **{name: [money(v) for v in values] for name, values in money_columns.items()},
        **_transposed(_USAGE_OF, [r.usage for r in results], USAGE_FIELDS),
    }


def _transposed(
    fields_of: Callable[[Any], tuple[Any, ...]], items: Sequence[Any], names: Sequence[str]
) -> dict[str, list[Any]]:
    # Each item's fields as one tuple, then the tuples turned into columns: both
    # loops run in C (a comprehension per column cost 4 % of a 250,000-result run).
    rows = list(map(fields_of, items))
    if not rows:
        return {name: [] for name in names}
    return dict(zip(names, map(list, zip(*rows, strict=True)), strict=True))


_FIELDS_OF = operator.attrgetter(*RESULT_FIELDS)
_MONEY_OF = operator.attrgetter(*RESULT_MONEY)
_USAGE_OF = operator.attrgetter(*USAGE_FIELDS)


def with_run(columns: dict[str, list[Any]], run_id: str) -> dict[str, list[Any]]:
    """``columns`` with the ``run_id`` and ``schema_version`` of every row."""
    n = len(columns["case_id"])
    return {"schema_version": [SCHEMA_VERSION] * n, "run_id": [run_id] * n, **columns}


__all__ = ["RESULT_FIELDS", "RESULT_MONEY", "result_columns", "with_run"]
