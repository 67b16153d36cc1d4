"""RunOutcome to and from plain JSON-like data, for pytest-xdist workers.

Under ``pytest -n N`` each worker evaluates its share of the (suite,
configuration) pairs, and only the controller writes DuckDB (one writer per
file). Workers hand their outcome to the controller through
``config.workeroutput``, which carries plain data only; this module converts.
Statistics are seeded per pair, so which worker ran a pair does not change it.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from harness.config.settings import Settings
from harness.engine.run_data import RunOutcome
from harness.types import CaseResult, CategorySummary, Message, Request, Response, Summary, Usage

MONEY_FIELDS = {
    "cost_usd",
    "baseline_cost_usd",
    "cost_per_query",
    "baseline_cost_per_query",
    "monthly_cost",
    "baseline_monthly_cost",
    "eval_cost_usd",
}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def outcome_to_wire(outcome: RunOutcome) -> dict[str, Any]:
    """Plain data (str, int, float, bool, None, lists, dicts) for ``workeroutput``."""
    return {
        "started_at": outcome.started_at,
        "finished_at": outcome.finished_at,
        "summaries": [_plain(asdict(s)) for s in outcome.summaries],
        "results": [_plain(asdict(r)) for r in outcome.results],
        "streamed": outcome.streamed,
        "problems": dict(outcome.problems),
        "calls": outcome.calls,
        "remote_calls": outcome.remote_calls,
        "shared": outcome.shared,
        "redacted": outcome.redacted,
        "spend_usd": str(outcome.spend_usd),
        "goldens_written": dict(outcome.goldens_written),
        "price_snapshot": _plain(outcome.price_snapshot),
        "new_responses": [
            [key, _plain(asdict(request)), _plain(asdict(response))]
            for key, (request, response) in outcome.new_responses.items()
        ],
        "sweeps": [[suite, config, data] for (suite, config), data in outcome.sweeps.items()],
    }


def _summary(data: dict[str, Any]) -> Summary:
    values: dict[str, Any] = {k: Decimal(v) if k in MONEY_FIELDS else v for k, v in data.items()}
    values["reasons"] = tuple(data["reasons"])
    values["categories"] = tuple(CategorySummary(**c) for c in data["categories"])
    values["scorer_warnings"] = tuple(data.get("scorer_warnings", ()))
    return Summary(**values)


def _result(data: dict[str, Any]) -> CaseResult:
    values: dict[str, Any] = {k: Decimal(v) if k in MONEY_FIELDS else v for k, v in data.items()}
    values["usage"] = Usage(**data["usage"])
    return CaseResult(**values)


def _request(data: dict[str, Any]) -> Request:
    values = dict(data)
    values["messages"] = tuple(Message(**m) for m in data["messages"])
    values["params"] = tuple(tuple(p) for p in data["params"])
    return Request(**values)


def _response(data: dict[str, Any]) -> Response:
    values = dict(data)
    values["usage"] = Usage(**data["usage"])
    # A billed cost crosses as its text: every digit kept.
    cost = data.get("cost_usd")
    values["cost_usd"] = None if cost is None else Decimal(cost)
    return Response(**values)


def merge_outcomes(
    base: RunOutcome, wires: list[dict[str, Any]], order: list[tuple[str, str]]
) -> RunOutcome:
    """Fold the workers' outcomes into ``base`` (the controller's run id and metadata).

    Summaries and results are put in ``order`` (suite, configuration), the
    order a serial run gives, so both store identical rows.
    """
    rank = {pair: index for index, pair in enumerate(order)}
    for wire in wires:
        base.summaries.extend(_summary(s) for s in wire["summaries"])
        base.results.extend(_result(r) for r in wire["results"])
        # Streamed results are in the worker's spool; those in the wire are its evidence.
        base.streamed = base.streamed or bool(wire.get("streamed"))
        base.problems.update(wire["problems"])
        base.calls += int(wire["calls"])
        base.remote_calls += int(wire["remote_calls"])
        base.shared += int(wire.get("shared", 0))
        base.redacted += int(wire.get("redacted", 0))
        base.spend_usd += Decimal(wire["spend_usd"])
        for suite, count in wire["goldens_written"].items():
            base.goldens_written[suite] = max(base.goldens_written.get(suite, 0), count)
        base.price_snapshot.update(wire["price_snapshot"])
        for key, request, response in wire["new_responses"]:
            base.new_responses[key] = (_request(request), _response(response))
        for suite, config, data in wire.get("sweeps", []):
            base.sweeps[(suite, config)] = data
        base.started_at = min(base.started_at, wire["started_at"])
        base.finished_at = max(base.finished_at, wire["finished_at"])

    def position(pair: tuple[str, str]) -> int:
        return rank.get(pair, len(rank))

    # Results keep their case order within a pair (sort is stable).
    base.summaries.sort(key=lambda s: position((s.suite, s.config)))
    base.results.sort(key=lambda r: position((r.suite, r.config)))
    return base


def empty_outcome(
    settings: Settings, run_id: str, started_at: str, metadata: dict[str, str]
) -> RunOutcome:
    """A controller's outcome before the workers' parts are merged in."""
    return RunOutcome(
        run_id=run_id,
        started_at=started_at,
        finished_at=started_at,
        settings=settings,
        metadata=metadata,
    )


def absorb(base: RunOutcome, more: RunOutcome) -> None:
    """Add a later evaluation of the same process (other pairs) to ``base``."""
    base.summaries.extend(more.summaries)
    base.results.extend(more.results)
    base.problems.update(more.problems)
    base.calls += more.calls
    base.remote_calls += more.remote_calls
    base.shared += more.shared
    base.redacted += more.redacted
    base.spend_usd += more.spend_usd
    base.new_responses.update(more.new_responses)
    base.price_snapshot.update(more.price_snapshot)
    base.sweeps.update(more.sweeps)
    for suite, count in more.goldens_written.items():
        base.goldens_written[suite] = base.goldens_written.get(suite, 0) + count
    base.finished_at = max(base.finished_at, more.finished_at)


ORPHAN_CHECK_SECONDS = 0.2
"""How often a worker checks that its controller is still alive."""


def _stop_when_orphaned(controller: int, worker: str) -> None:
    """Poll the parent pid; end this worker the moment its controller has gone."""
    while os.getppid() == controller:
        threading.Event().wait(ORPHAN_CHECK_SECONDS)
    sys.stderr.write(
        f"cost-eval: pytest-xdist worker {worker} stopped: its controller (pid {controller}) "
        "is gone, so nothing more is sent. The answers it paid for are in its journal; "
        "the next run folds them in and asks only for the rest.\n"
    )
    sys.stderr.flush()
    os._exit(3)


def watch_controller(worker: str) -> None:
    """In a pytest-xdist worker: stop paying within a fraction of a second of losing the controller.

    A worker whose controller was killed (SIGKILL, a CI timeout) would go on
    sending paid requests whose answers nobody stores. A daemon thread checks
    the parent pid every :data:`ORPHAN_CHECK_SECONDS` and ends the process
    (its journal, flushed per answer, keeps what was paid for).
    """
    thread = threading.Thread(
        target=_stop_when_orphaned,
        args=(os.getppid(), worker),
        name=f"cost-eval-orphan-check-{worker}",
        daemon=True,
    )
    thread.start()
