"""The run's data model: a prepared plan, a suite with its goldens, a sent case, the outcome.

Everything here is data; the steps that produce it live in :mod:`harness.engine.prepare`,
:mod:`harness.engine.goldens`, :mod:`harness.engine.cases` and :mod:`harness.engine.run`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from harness.config.prices import PriceTable
from harness.config.settings import ConfigSpec, Settings
from harness.config.suites import (
    Suite,
)
from harness.engine.scorer_check import ScorerCheck
from harness.scoring import Scorer
from harness.types import (
    Case,
    CaseResult,
    CostSource,
    Golden,
    Request,
    Response,
    Summary,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparedSuite:
    """A suite with its scorer and the goldens of the baseline model."""

    suite: Suite
    scorer: Scorer
    goldens: Mapping[str, Golden]
    problem: str | None = None
    """Why this suite cannot be evaluated (missing or stale goldens), or None."""
    scorer_check: ScorerCheck | None = None
    """The scorer on the baseline's own answers (:mod:`harness.engine.scorer_check`);
    None until the goldens are complete."""
    shown_path: str = ""
    """The suite's file as messages name it (computed once: every case's may need it)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Everything a run needs, checked: suites, configurations, chains, prices."""

    settings: Settings
    configs: Mapping[str, ConfigSpec]
    prices: PriceTable
    monthly_volume: float
    unpriced: Mapping[str, str] = field(default_factory=dict)
    """Models with no price -> why (the fix): their answers must carry recorded costs,
    and they are never called live (see :mod:`harness.engine.prepare`)."""


class ResultSink(Protocol):
    """Where a run hands its case results, one finished (suite, configuration) at a time.

    With a sink the run keeps only each pair's notable results in memory
    (:data:`NOTABLE_PER_PAIR`): memory stays bounded however many cases there are.
    The store's :class:`~harness.store.result_spool.ResultSpool` writes them to disk.
    """

    def add(self, results: Sequence[CaseResult]) -> None:
        """Keep ``results`` (one pair's, in case order) for storing with the run."""


NOTABLE_PER_PAIR = 20
"""With a :class:`ResultSink`: the results of each pair a run keeps in memory, for the
terminal's and the failed items' evidence: its first errored cases and its worst drops."""


@dataclass(slots=True, kw_only=True)
class RunOutcome:
    """What a run produced, ready to store."""

    run_id: str
    started_at: str
    finished_at: str = ""
    settings: Settings
    metadata: dict[str, str] = field(default_factory=dict)
    summaries: list[Summary] = field(default_factory=list)
    results: list[CaseResult] = field(default_factory=list)
    """Every case result; with a :class:`ResultSink`, each pair's notable ones only (the
    sink holds them all)."""
    streamed: bool = False
    """True when the results went to a :class:`ResultSink` (:attr:`results` is partial)."""
    problems: dict[str, str] = field(default_factory=dict)
    """Suite name -> why it could not be evaluated."""
    calls: int = 0
    """Provider calls made (answers not served from goldens or the store)."""
    remote_calls: int = 0
    """Of ``calls``, those to paid APIs."""
    shared: int = 0
    """Paid answers another process (a concurrent run, another xdist worker) obtained
    while this one waited for the same request: paid once, by that process."""
    spend_usd: Decimal = Decimal(0)
    """What this run paid providers (new paid answers only; recorded ones are free)."""
    new_responses: dict[str, tuple[Request, Response]] = field(default_factory=dict)
    redacted: int = 0
    """API keys (configured ones, or key-shaped strings) replaced in answers before
    anything was stored (see :class:`harness.providers.redact.AnswerRedactor`)."""
    goldens_written: dict[str, int] = field(default_factory=dict)
    """Suite name -> goldens (re)recorded this run."""
    price_snapshot: dict[str, dict[str, str | None]] = field(default_factory=dict)
    sweeps: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """(suite, configuration) -> the threshold sweep of a ``threshold = "sweep"`` router,
    as :func:`harness.engine.router_sweep.sweep_record` gives it."""


@dataclass(frozen=True, slots=True)
class SuiteMemo:
    """What every configuration of a suite shares in one run: filled by the first
    configuration that needs an entry, read by the others.

    The golden, the scorer, the reference and the request a case sends are the
    same under every configuration; at 50,000 cases x 5 configurations, working
    each out again was a tenth of the run.
    """

    baseline_scores: dict[str, float] = field(default_factory=dict)
    """Case id -> its golden's score."""
    golden_costs: dict[str, tuple[Decimal, CostSource]] = field(default_factory=dict)
    """Case id -> its golden's cost and where that figure came from."""
    requests: dict[str, Request] = field(default_factory=dict)
    """Case id -> the request it sends the baseline, before a configuration's chain."""

    def request(self, suite: Suite, case: Case, baseline: str) -> Request:
        """``suite.request(case, baseline)``, built once per case."""
        request = self.requests.get(case.id)
        if request is None:
            request = self.requests[case.id] = suite.request(case, baseline)
        return request


@dataclass(frozen=True, slots=True)
class SentCase:
    """A case's final response and the model calls that produced it."""

    response: Response
    calls: tuple[tuple[Request, Response], ...]
