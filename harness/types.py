"""The data the harness passes around: frozen dataclasses, nothing else.

Every type here is immutable and holds plain values, so it can be hashed,
compared in tests and sent between pytest-xdist workers. Money is USD as
:class:`~decimal.Decimal`; token counts are ints.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal

SCHEMA_VERSION = 1
"""Version of every persisted row and file (goldens, DuckDB tables)."""

Role = Literal["system", "user", "assistant"]
Reference = Literal["golden", "expected", "both"]
Verdict = Literal["pass", "fail", "inconclusive", "error"]
CostSource = Literal["recorded", "priced", "estimated"]
"""Where an answer's cost came from, most certain first: ``recorded`` (billed, as
recorded with the answer), ``priced`` (its reported usage at the price table's
rates), ``estimated`` (no usage recorded: tokens counted offline, then priced)."""
COST_SOURCES: tuple[CostSource, ...] = ("recorded", "priced", "estimated")
"""Every :data:`CostSource`, most certain first."""

CONTEXT_PREFIX = "Context documents:"
"""First line of the user message that carries a case's context documents.

Compressors recognise that message by it (a history compressor keeps it, a
retrieval compressor rewrites it); the simulated models read passages from it.
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One chat message."""

    role: Role
    """Who speaks: ``system``, ``user`` or ``assistant``."""
    content: str
    """The text of the message."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """One golden query of a suite."""

    id: str
    """Unique within its suite; names the case in reports and goldens."""
    suite: str
    """Name of the suite the case belongs to."""
    prompt: str
    """The final user message: the question being asked."""
    system: str | None = None
    """Optional system prompt sent before everything else."""
    context: tuple[str, ...] = ()
    """Context documents (passages) the answer may depend on, sent with the prompt."""
    history: tuple[Message, ...] = ()
    """Earlier conversation turns, oldest first, sent before the prompt."""
    category: str = "default"
    """Group for per-category checks."""
    tags: tuple[str, ...] = ()
    """Free-form labels."""
    expected: str | None = None
    """The known correct answer, when there is one."""
    paraphrase_of: str | None = None
    """Id of the case this one rephrases (same meaning, same answer)."""
    knowledge_version: str | None = None
    """Version of the facts the answer depends on (cache staleness)."""

    def messages(self) -> tuple[Message, ...]:
        """The chat messages this case sends to a model, in order.

        Context documents go in a user message before the history, each
        passage on its own numbered line, so a compressor can drop passages.
        """
        out: list[Message] = []
        if self.system:
            out.append(Message(role="system", content=self.system))
        if self.context:
            docs = "\n".join(f"[{i + 1}] {doc}" for i, doc in enumerate(self.context))
            out.append(Message(role="user", content=f"{CONTEXT_PREFIX}\n{docs}"))
            out.append(Message(role="assistant", content="Understood."))
        out.extend(self.history)
        out.append(Message(role="user", content=self.prompt))
        return tuple(out)

    def preamble(self) -> str:
        """What the case sends before its question, as plain text: the system prompt,
        the numbered context documents and the earlier turns (empty when none)."""
        parts = [f"system: {self.system}"] if self.system else []
        parts.extend(f"[{i + 1}] {doc}" for i, doc in enumerate(self.context))
        parts.extend(f"{message.role}: {message.content}" for message in self.history)
        return "\n\n".join(parts)


def _request_hash(
    model: str, messages: tuple[Message, ...], params: tuple[tuple[str, Any], ...]
) -> str:
    """:meth:`Request.hash` of these fields: the SHA-256 of the JSON of
    ``{"messages": [[role, content], ...], "model": model, "params": [[k, v], ...]}``
    (keys sorted, no spaces, non-ASCII kept), params in key order.

    The JSON is written out here with the json module's own string encoder rather
    than built as a dict and encoded: half the cost, and every case of every
    configuration hashes its request. The bytes, so the hashes of stored answers,
    are the same; ``tests/unit/test_types.py`` checks it against ``json.dumps``.
    """
    ordered = sorted(params)
    try:
        blob = (
            '{"messages":['
            + ",".join(f"[{_json_str(m.role)},{_json_str(m.content)}]" for m in messages)
            + '],"model":'
            + _json_str(model)
            + ',"params":['
            + ",".join(f"[{_json_str(k)},{_json_value(v)}]" for k, v in ordered)
            + "]}"
        )
    except TypeError:  # a field that is not text: the encoder writes what it can
        blob = _HASH_ENCODER.encode(
            {
                "model": model,
                "messages": [[m.role, m.content] for m in messages],
                "params": [[k, v] for k, v in ordered],
            }
        )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def _json_value(value: Any) -> str:
    """A param's value as :data:`_HASH_ENCODER` writes it (the common scalars directly)."""
    kind = type(value)
    if kind is str:
        return _json_str(value)
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return _HASH_ENCODER.encode(value)


_HASH_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
"""What ``json.dumps`` with these options builds on every call, once."""

_json_str: Callable[[str], str] = json.encoder.encode_basestring
"""A string as JSON with non-ASCII kept, what :data:`_HASH_ENCODER` writes for one;
raises ``TypeError`` for anything else."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """A request to one model: what a provider receives.

    Only ``model``, ``messages`` and ``params`` identify a request; the other
    fields are metadata for strategies and pricing that never change the answer.
    """

    model: str
    """Full model spec, ``provider:model`` (e.g. ``sim:frontier``, ``openai:gpt-4o``)."""
    messages: tuple[Message, ...]
    """The conversation to send."""
    params: tuple[tuple[str, Any], ...] = ()
    """Sampling parameters (``temperature``, ``max_tokens`` ...) as sorted pairs."""
    batch: bool = False
    """Send through a batch API (priced at batch rates); does not change the hash."""
    case_id: str = ""
    """The case this request serves, for error messages and logs."""
    knowledge_version: str | None = None
    """The case's ``knowledge_version``: a cache must not serve answers across versions."""
    timestamp: float | None = None
    """When the query arrives in the traffic stream (seconds), for cache TTLs."""
    purpose: str = "answer"
    """Why the request is sent: ``answer`` (the case's question) or a helper call such
    as ``summarize``. Routers, fixed models and caches pass helper calls through
    untouched: a compressor's summarizer keeps the model it chose."""

    def with_model(self, model: str) -> Request:
        """A copy sent to another model."""
        # Built directly: dataclasses.replace costs 5 us, and every routed case makes one.
        return Request(
            model=model,
            messages=self.messages,
            params=self.params,
            batch=self.batch,
            case_id=self.case_id,
            knowledge_version=self.knowledge_version,
            timestamp=self.timestamp,
            purpose=self.purpose,
        )

    def with_messages(self, messages: tuple[Message, ...]) -> Request:
        """A copy with other messages (what a compressor returns)."""
        return replace(self, messages=messages)

    def with_batch(self, batch: bool) -> Request:
        """A copy flagged for (or not for) batch processing."""
        return replace(self, batch=batch)

    def hash(self) -> str:
        """Stable hash of the normalized request: provider, model, messages, params.

        The key of the response store and of a golden: two requests with the
        same hash get the same answer, so the harness pays for one of them.
        """
        return _request_hash(self.model, self.messages, self.params)


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """Tokens a response consumed, as the provider reported them."""

    input_tokens: int = 0
    """Prompt tokens billed at the full input rate (excludes cache reads and writes)."""
    cached_input_tokens: int = 0
    """Prompt tokens read from the provider's prompt cache (cheaper rate)."""
    cache_write_tokens: int = 0
    """Prompt tokens written to the provider's prompt cache (Anthropic bills these)."""
    output_tokens: int = 0
    """Completion tokens, including reasoning tokens."""
    reasoning_tokens: int = 0
    """Of ``output_tokens``, those spent on hidden reasoning."""

    @property
    def empty(self) -> bool:
        """No tokens at all (a cache hit, a call that billed nothing).

        Read per answer when it is priced: field by field, a third of the cost of
        comparing with ``Usage()`` (the generated ``__eq__`` builds two tuples).
        """
        return not (
            self.input_tokens
            or self.cached_input_tokens
            or self.cache_write_tokens
            or self.output_tokens
            or self.reasoning_tokens
        )

    @property
    def total_input_tokens(self) -> int:
        """Every prompt token, whatever its rate."""
        return self.input_tokens + self.cached_input_tokens + self.cache_write_tokens

    def as_dict(self, *, skip_zero: bool = False) -> dict[str, int]:
        """The token counts by field name (as goldens, labels and journals store them).

        Args:
            skip_zero: Leave out counts that are zero (keeps stored rows short).
        """
        counts = {
            "input_tokens": self.input_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
        }
        return {k: v for k, v in counts.items() if v} if skip_zero else counts

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    """What a model (or a strategy answering for it) returned."""

    text: str
    """The answer text; empty when ``error`` is set."""
    model: str
    """Full spec of the model that produced the text."""
    usage: Usage = field(default_factory=Usage)
    """Tokens consumed by this call (zero for a cache hit)."""
    latency_ms: float = 0.0
    """Wall time of the call as the caller saw it."""
    error: str | None = None
    """Set when the call failed: never scored as a wrong answer."""
    cache_hit: bool = False
    """True when a cache strategy answered without calling a model."""
    batch: bool = False
    """True when the call went (or is priced as going) through a batch API."""
    cost_usd: Decimal | None = None
    """What this answer was billed, as recorded with it (imported recordings); None:
    priced from ``usage``. A recorded cost wins over any price."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Golden:
    """The baseline model's recorded answer to a case."""

    case_id: str
    """The case this answers."""
    model: str
    """Full spec of the baseline model that produced it."""
    request_hash: str
    """Hash of the request it answered; a different hash now means a stale golden."""
    text: str
    """The recorded answer."""
    usage: Usage = field(default_factory=Usage)
    """Tokens it consumed."""
    latency_ms: float = 0.0
    """How long it took when recorded."""
    recorded_at: str = ""
    """ISO-8601 UTC time of recording."""
    cost_usd: Decimal | None = None
    """What it was billed, when recorded with it; None: priced from ``usage``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Score:
    """A scorer's verdict on one output."""

    value: float
    """Quality in [0, 1]; higher is better."""
    rationale: str = ""
    """Why, when the scorer can say (judges)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseResult:
    """One case under one configuration: what happened and how good it was."""

    suite: str
    config: str
    case_id: str
    category: str
    model: str
    """Model(s) that produced the answer, ``+``-joined when several were called."""
    output: str
    reference: str
    """The golden text the output was compared with (or the expected answer)."""
    expected: str | None
    score: float | None
    """None when the case errored."""
    baseline_score: float | None
    delta: float | None
    cost_usd: Decimal
    baseline_cost_usd: Decimal
    usage: Usage
    latency_ms: float
    cache_hit: bool
    calls: int
    """Model calls the configuration made for this case."""
    error: str | None = None
    flagged: bool = False
    """True when the case got worse than the baseline."""
    rationale: str = ""
    """Why the scorer scored it so, when it says (judges)."""
    eval_cost_usd: Decimal = Decimal(0)
    """What scoring this case cost (judge calls): evaluation cost, not the configuration's."""
    cost_source: CostSource | None = None
    """Where ``cost_usd`` came from: the least certain source among the case's model
    calls; None when no model call was billed (a cache hit, a call that failed)."""
    baseline_cost_source: CostSource | None = None
    """Where ``baseline_cost_usd`` came from (None: not said, as in runs stored before)."""
    prompt: str = ""
    """The case's question (its final user message), kept for flagged cases only: the
    report shows what was asked."""
    prompt_context: str = ""
    """What was sent before the question (:meth:`Case.preamble`), flagged cases only."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """The verdict for one (suite, configuration)."""

    suite: str
    config: str
    n: int
    """Cases scored (errors excluded)."""
    errors: int
    quality: float
    baseline_quality: float
    delta: float
    ci_low: float
    ci_high: float
    margin: float
    """The non-inferiority margin (max quality drop) applied."""
    verdict: Verdict
    reasons: tuple[str, ...]
    """Why the verdict is not ``pass``, one sentence each."""
    enforced: bool
    cost_per_query: Decimal
    baseline_cost_per_query: Decimal
    savings_pct: float
    monthly_cost: Decimal
    baseline_monthly_cost: Decimal
    flagged_cases: int
    categories: tuple[CategorySummary, ...] = ()
    p_value: float | None = None
    """Exact McNemar p-value (binary scores); reported, the verdict rests on the CI."""
    test: str = "bootstrap"
    """``mcnemar`` when ``p_value`` is McNemar's, else ``bootstrap``."""
    min_detectable_drop: float | None = None
    """Smallest true drop this n detects at 80 % power (one-sided, the gate's level)."""
    noise: float | None = None
    """Quality change judge noise alone explains, when measured."""
    scorer_problem: str | None = None
    """Why the suite's scorer cannot be trusted (it cannot read the baseline's own
    answers: they score below the gate's ``min_baseline_quality``, or all alike),
    naming the scorer and what to try; the verdict is then never ``pass``. None when
    the scorer passed the check."""
    scorer_warnings: tuple[str, ...] = ()
    """Doubts about the scorer that do not block the gate: word overlap used on
    free-text answers, or the same score for every answer."""
    extras: Mapping[str, Any] = field(default_factory=dict)
    """What the levers did beyond quality: ``cache`` (hit, false-hit and stale-hit
    rates with intervals), ``cache_sweep``, ``compression`` (input tokens saved);
    see :mod:`harness.engine.lever_metrics`."""
    cost_sources: Mapping[str, int] = field(default_factory=dict)
    """Answered cases by where the configuration's cost came from (a :data:`CostSource`
    -> count); cases no model billed (cache hits) are not counted."""
    baseline_cost_sources: Mapping[str, int] = field(default_factory=dict)
    """The same for the baseline's cost of those cases."""

    @property
    def cost_source(self) -> str:
        """Where the cost per query came from: a :data:`CostSource`, ``mixed`` or ``""``."""
        return cost_source_of(self.cost_sources)

    @property
    def baseline_cost_source(self) -> str:
        """Where the baseline's cost per query came from (as :attr:`cost_source`)."""
        return cost_source_of(self.baseline_cost_sources)


def cost_source_of(counts: Mapping[str, int]) -> str:
    """One word for cases counted by cost source: the source they share, ``mixed`` when
    they differ, ``""`` when none is counted (nothing billed, or a run stored before)."""
    present = [source for source, count in counts.items() if count]
    if not present:
        return ""
    return present[0] if len(present) == 1 else "mixed"


@dataclass(frozen=True, slots=True, kw_only=True)
class CategorySummary:
    """Per-category quality for one (suite, configuration)."""

    category: str
    n: int
    quality: float
    baseline_quality: float
    delta: float
    failed: bool
    p_value: float | None = None
    """Holm-adjusted one-sided p-value of a drop beyond the category limit."""
