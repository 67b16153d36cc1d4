"""``[tool.cost-eval.tune]``: the search space of ``harness tune``.

::

    [tool.cost-eval.tune]
    routers = [   # strong/weak pairs and router scores; the threshold is searched
      { strong = "sim:frontier", weak = "sim:small", score = "length", scale = 100 },
    ]
    batch = true              # also try every stack through the batch API (priced)
    latency_budget_s = 30     # optional: answers needed within 30 s forbid batch
    confirm_share = 0.5       # share of the cases held out to confirm the winner
    quantiles = 20            # thresholds per router: 0, 5, ..., 100 % strong calls
    suites = ["arithmetic"]   # optional: tune these suites only (default: all)

Caches and compressors are not searched yet: a cache threshold and a compressor
setting need their own replay or new requests, which this first version leaves out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.config.settings import Settings, settings_section
from harness.config_values import check_keys, get_bool, get_float, get_str
from harness.errors import ConfigError

__all__ = [
    "BATCH_LATENCY_S",
    "TUNE_KEYS",
    "RouterCandidate",
    "TuneSettings",
    "parse_tune",
    "tune_settings",
]

TUNE_KEYS = ("routers", "batch", "latency_budget_s", "confirm_share", "quantiles", "suites")
ROUTER_KEYS = ("strong", "weak", "score", "scale", "seed", "folds")
BATCH_LATENCY_S = 24 * 3600.0
"""The batch APIs of OpenAI and Anthropic promise answers within 24 hours: a latency
budget below that cannot be met by a batch call, so it forbids the batch lever."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RouterCandidate:
    """A strong/weak pair and the router score that splits the traffic between them."""

    strong: str
    weak: str
    score: str
    options: Mapping[str, Any] = field(default_factory=dict)
    """The score's own options (``scale``, ``seed``, ``folds``)."""

    @property
    def label(self) -> str:
        """How the candidate reads in a table: ``length(frontier|small)``."""
        return f"{self.score}({self.strong}|{self.weak})"


@dataclass(frozen=True, slots=True, kw_only=True)
class TuneSettings:
    """What ``harness tune`` searches."""

    routers: tuple[RouterCandidate, ...] = ()
    batch: bool = False
    """Try every stack with and without the batch API."""
    latency_budget_s: float | None = None
    """Answers must arrive within this many seconds; below a day it forbids batch."""
    confirm_share: float = 0.5
    quantiles: int = 20
    suites: tuple[str, ...] = ()
    """Suites to tune; empty: every suite."""

    @property
    def batch_allowed(self) -> bool:
        """Whether batch stacks are searched (asked for, and the latency budget allows it)."""
        budget = self.latency_budget_s
        return self.batch and (budget is None or budget >= BATCH_LATENCY_S)


def _router(entry: Any, where: str) -> RouterCandidate:
    if not isinstance(entry, Mapping):
        raise ConfigError(
            f"{where}: each router must be a table such as "
            '{ strong = "openai:gpt-4o", weak = "openai:gpt-4o-mini", score = "length" }, '
            f"got {entry!r}."
        )
    check_keys(entry, ROUTER_KEYS, where=where)
    options = {key: entry[key] for key in ("scale", "seed", "folds") if key in entry}
    return RouterCandidate(
        strong=get_str(entry, "strong", where=where),
        weak=get_str(entry, "weak", where=where),
        score=get_str(entry, "score", where=where),
        options=options,
    )


def parse_tune(table: Mapping[str, Any], *, where: str) -> TuneSettings:
    """Check a ``[tool.cost-eval.tune]`` table.

    Raises:
        ConfigError: an unknown key or a bad value, naming the key.
    """
    check_keys(table, TUNE_KEYS, where=where)
    routers = table.get("routers", [])
    if not isinstance(routers, list):
        raise ConfigError(f"{where}: 'routers' must be a list of tables, got {routers!r}.")
    suites = table.get("suites", [])
    if not isinstance(suites, list) or not all(isinstance(s, str) and s for s in suites):
        raise ConfigError(f"{where}: 'suites' must be a list of suite names, got {suites!r}.")
    quantiles = get_float(table, "quantiles", 20, where=where, low=1, high=1000)
    if quantiles != int(quantiles):
        raise ConfigError(f"{where}: 'quantiles' must be a whole number, got {quantiles!r}.")
    budget = (
        get_float(table, "latency_budget_s", 0, where=where, low=0, high=1e9)
        if "latency_budget_s" in table
        else None
    )
    return TuneSettings(
        routers=tuple(_router(r, f"{where}.routers[{i}]") for i, r in enumerate(routers)),
        batch=get_bool(table, "batch", False, where=where),
        latency_budget_s=budget,
        confirm_share=get_float(table, "confirm_share", 0.5, where=where, low=0.1, high=0.9),
        quantiles=int(quantiles),
        suites=tuple(suites),
    )


def tune_settings(settings: Settings) -> TuneSettings:
    """The tune table of the file ``settings`` came from (defaults when it has none)."""
    table, where = settings_section(settings, "tune")
    return parse_tune(table, where=where)
