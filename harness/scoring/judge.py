"""The ``judge`` scorer: an LLM compares each output with the golden, in both orders.

A suite names it with the judge model::

    scorer: {name: judge, model: "openai:gpt-4o"}
    scorer: {name: judge, model: "openai:gpt-4o", repeats: 2, sample: 0.2}
    scorer: {name: judge, model: heuristic}        # offline simulation, see below

Protocol
    For each case the judge sees the question (with the case's context
    documents and earlier turns), the expected answer when the case has one,
    and two answers, A and B. It is asked twice: the candidate as A and the
    golden as B, then swapped (``position_swap = false`` asks the first order
    only); the two orders are asked one after the other (cases run
    concurrently), and a failed first order spares the second call. Every
    request is ``temperature = 0`` with ``max_tokens`` bounded (option),
    plus ``seed`` for ``openai:`` judges (the Messages API has none). The
    fixed prompt (:data:`SYSTEM_PROMPT`) asks for one JSON object,
    ``{"winner": "A" | "B" | "tie", "rationale": "..."}``.

Score (per case, in [0, 1])
    ``1.0`` when the candidate is judged at least as good as the golden (it
    wins or ties) in both orders; ``0.0`` when the golden wins both; ``0.5``
    when the two orders disagree (position bias: the verdict followed the
    position, not the answers). An output identical to the golden (after
    trimming whitespace) scores ``1.0`` without a call. The golden judged
    against itself is a tie by construction, so the **baseline score is 1.0**
    and a configuration's delta is ``0``, ``-0.5`` or ``-1`` per case: the judge
    measures non-inferiority to the baseline, which is what the gate asks.
    :attr:`Score.rationale` holds both verdicts and the judge's reasons.

Malformed verdicts
    A reply that is not a JSON object with a valid ``winner`` is asked again
    once, with the bad reply and a stricter instruction appended (a distinct,
    deterministic request, so it is recorded and replayed like any other). A
    second malformed reply -- or any failed judge call (HTTP error, not
    recorded in record mode ``none``) -- makes the case an **error row**
    (:attr:`JudgeScore.error`), never a wrong answer.

Calls and cost
    Every judge request goes through the ``send`` the caller passes -- the
    :class:`~harness.engine.executor.Executor`'s -- with ``purpose="judge"`` and the
    case id, so it is deduplicated, stored in the response store, replayed in
    record mode ``none`` and never paid twice. :class:`JudgeScore` keeps the
    calls it made; :meth:`JudgeScore.cost` prices them: that is *evaluation*
    cost, reported apart from what the configuration itself costs.

Noise (:meth:`JudgeScorer.measure_noise`)
    With ``repeats = R > 0``, a seeded share ``sample`` of the judged cases is
    judged ``R`` more times, each with a distinct ``nonce`` line in the prompt
    (so the requests differ and are not deduplicated; any judge that is not
    perfectly stable under an irrelevant prompt change shows it). The **flip
    rate** is the share of (first judgement, repeat) pairs whose scores differ
    (:func:`harness.stats.bootstrap.flip_rate`); the **noise** the gate tolerates is
    ``flip_rate * judged_share * SCORE_RANGE`` -- the expected share of cases
    whose score a re-ask changes, with outputs identical to the golden (never
    sent to the judge, so never flipping) counted as stable. Pass it as
    ``GateInput(noise=...)``: no drop within it fails a gate.

The ``heuristic`` judge (a simulation, not a language model)
    ``model = "heuristic"`` answers the same requests locally, for free and
    deterministically, so the example suites and tests run offline. It reads
    the two answers and decides by rules, in order:

    1. The answers **agree** -- the same final number, or content-word F1 of at
       least :data:`AGREE_F1` -- ``tie``.
    2. An expected answer is given: the answer that matches it (same final
       number, else the higher content-word F1 with it, by at least 0.1) wins.
    3. The answer sharing at least :data:`CLEAR_MARGIN` more distinct content
       words with the question wins (it engages with the question's specifics).
    4. Otherwise it is a **close call**: the winner, A or B, is fixed by SHA-256
       of the request (prompt and nonce included). Like a real judge on a close
       call it can follow the position (the two orders may disagree: 0.5) and
       can flip when re-asked with another nonce -- which is what the noise
       measurement then sees.

    Its calls never reach the executor (there is no provider to call), cost
    nothing and are not stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from harness.errors import ConfigError, CostEvalError, UnknownComponent
from harness.providers import base_model
from harness.scoring.base import scorers
from harness.scoring.exact import checked_options, final_number, invalid_option_error, require_bool
from harness.types import Case, Message, Request, Response, Score, Usage
from harness.words import FUNCTION_WORDS

if TYPE_CHECKING:
    from harness.config.prices import PriceTable

__all__ = [
    "AGREE_F1",
    "CLEAR_MARGIN",
    "HEURISTIC",
    "JUDGE_PURPOSE",
    "SCORE_RANGE",
    "SYSTEM_PROMPT",
    "JudgeItem",
    "JudgeNoise",
    "JudgeScore",
    "JudgeScorer",
    "JudgedSuite",
    "MalformedVerdict",
    "Send",
    "Verdict",
    "case_question",
    "heuristic_verdict",
    "judge_suite",
    "parse_verdict",
]

Send = Callable[[Request], Awaitable[Response]]
"""What sends a judge request: the executor's ``send`` (deduped, stored, replayed)."""

Winner = Literal["A", "B", "tie"]

HEURISTIC = "heuristic"
"""The ``model`` value of the offline, simulated judge."""
JUDGE_PURPOSE = "judge"
"""``Request.purpose`` of every judge request."""
SCORE_RANGE = 1.0
"""Highest minus lowest score the judge gives (1.0 - 0.0)."""
MAX_TOKENS = 1024
"""Default ``max_tokens`` of a judge request: a verdict and a short rationale, with room
for a reasoning model's hidden reasoning (billed only for the tokens used)."""
AGREE_F1 = 0.6
"""Heuristic judge: content-word F1 at or above which two answers say the same."""
CLEAR_MARGIN = 2
"""Heuristic judge: extra shared question words that make one answer clearly better."""
_NOISE_SALT = "judge-noise"

SYSTEM_PROMPT = """\
You are an impartial judge. You compare two answers, A and B, to the same question \
and decide which one serves the person who asked better.

{criteria}
Ignore length and style: a short correct answer is as good as a long correct one. \
Do not favour an answer because of its position. If both answers are equally good, \
equally bad, or say the same thing, the verdict is a tie.

Reply with only a JSON object and no other text:
{{"winner": "A" | "B" | "tie", "rationale": "<one or two sentences>"}}"""
"""The judge's system prompt; ``{criteria}`` is the ``criteria`` option."""

DEFAULT_CRITERIA = (
    "Judge correctness first, then whether the answer fully addresses the question, then clarity."
)
"""What makes an answer better, unless the suite's ``criteria`` option says otherwise."""

_RETRY_PROMPT = (
    "Your reply could not be read: {problem}. Reply again with only a JSON object of the "
    'form {{"winner": "A", "rationale": "..."}} where winner is "A", "B" or "tie", and '
    "nothing before or after it."
)


# --- verdicts -----------------------------------------------------------------------


class MalformedVerdict(ValueError):
    """The judge's reply is not a JSON verdict."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """One judgement of one order: who won, and why."""

    winner: Winner
    rationale: str


_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")


def parse_verdict(text: str) -> Verdict:
    """The verdict in a judge's reply.

    Accepts the JSON object alone, inside a Markdown code fence, or with text
    around it (the outermost ``{...}`` is read). ``winner`` is case-insensitive
    (``"a"``, ``"Tie"``); ``rationale`` is optional.

    Raises:
        MalformedVerdict: no JSON object, or no valid ``winner`` in it.
    """
    stripped = _FENCE.sub("", text.strip())
    start, end = stripped.find("{"), stripped.rfind("}")
    if start < 0 or end <= start:
        raise MalformedVerdict(f"no JSON object in the reply {_clip(text)!r}")
    try:
        data = json.loads(stripped[start : end + 1])
    except json.JSONDecodeError as exc:
        raise MalformedVerdict(
            f"the reply is not valid JSON ({exc.msg}): {_clip(text)!r}"
        ) from None
    if not isinstance(data, dict):
        raise MalformedVerdict(f"the reply is not a JSON object: {_clip(text)!r}")
    winner = data.get("winner")
    normalized = winner.strip().casefold() if isinstance(winner, str) else None
    mapping: dict[str | None, Winner] = {"a": "A", "b": "B", "tie": "tie"}
    if normalized not in mapping:
        raise MalformedVerdict(
            f'"winner" must be "A", "B" or "tie", got {winner!r} in {_clip(text)!r}'
        )
    rationale = data.get("rationale", "")
    return Verdict(
        winner=mapping[normalized],
        rationale=rationale.strip() if isinstance(rationale, str) else json.dumps(rationale),
    )


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- what the judge sees ------------------------------------------------------------


def case_question(case: Case) -> str:
    """The question as the judge sees it: context documents, earlier turns, the prompt.

    The system prompt is left out: it instructs the answering model, not the judge.
    """
    parts: list[str] = []
    if case.context:
        docs = "\n".join(f"[{i + 1}] {doc}" for i, doc in enumerate(case.context))
        parts.append(f"Context documents:\n{docs}")
    if case.history:
        turns = "\n".join(f"{m.role}: {m.content}" for m in case.history)
        parts.append(f"Conversation so far:\n{turns}")
    parts.append(case.prompt if not parts else f"Question: {case.prompt}")
    return "\n\n".join(parts)


def _user_prompt(question: str, a: str, b: str, expected: str | None, nonce: int) -> str:
    sections = [f"[Question]\n{question}"]
    if expected is not None:
        sections.append(f"[Expected answer, known to be correct]\n{expected}")
    sections.append(f"[Answer A]\n{a}")
    sections.append(f"[Answer B]\n{b}")
    sections.append("Which answer is better? Reply with the JSON object only.")
    if nonce:
        # Repeats for the noise measurement: a distinct request, same task.
        sections.append(f"(Evaluation {nonce}.)")
    return "\n\n".join(sections)


# --- results ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class JudgeScore:
    """A judged case: its score (or why there is none) and the judge calls it took."""

    case_id: str
    score: Score | None
    """None when the case could not be judged (see ``error``)."""
    error: str | None = None
    """Why the case could not be judged: record it as an error row, never as a 0."""
    verdicts: tuple[Winner, ...] = ()
    """The winner of each order asked: (candidate as A, candidate as B)."""
    calls: tuple[tuple[Request, Response], ...] = ()
    """Every judge call, retries included (empty for an output identical to the golden)."""

    @property
    def value(self) -> float | None:
        """The score's value, or None."""
        return None if self.score is None else self.score.value

    @property
    def usage(self) -> Usage:
        """Tokens the judge calls consumed."""
        total = Usage()
        for _, response in self.calls:
            total = total + response.usage
        return total

    def cost(self, prices: PriceTable) -> Decimal:
        """USD of the judge calls: evaluation cost, not the configuration's."""
        return sum(
            (prices.cost(r.model, resp.usage, batch=r.batch) for r, resp in self.calls),
            Decimal(0),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class JudgeItem:
    """One case to judge: the candidate's output against the golden."""

    case_id: str
    question: str
    """What the judge is told was asked (see :func:`case_question`)."""
    output: str
    """The candidate configuration's answer."""
    golden: str
    """The baseline's recorded answer."""
    expected: str | None = None
    """The known correct answer, shown to the judge when there is one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JudgeNoise:
    """How often the judge changes its mind when asked again."""

    flip_rate: float | None
    """Share of (first judgement, repeat) pairs whose scores differ; None when no
    pair could be compared (every repeat errored)."""
    noise: float | None
    """Quality change judge noise alone explains, in score units:
    ``flip_rate * judged_share * SCORE_RANGE``; pass to ``GateInput(noise=...)``."""
    repeats: int
    sampled: tuple[str, ...]
    """Case ids re-judged, in suite order."""
    pairs: int
    """(first, repeat) pairs compared."""
    flipped: tuple[str, ...]
    """Case ids whose score changed in at least one repeat."""
    judged_share: float
    """Share of the cases that needed the judge (not identical to the golden)."""
    errors: int = 0
    """Repeats that could not be judged (left out of the pairs)."""
    calls: tuple[tuple[Request, Response], ...] = ()
    """The repeat calls: evaluation cost too."""

    def cost(self, prices: PriceTable) -> Decimal:
        """USD of the repeat calls."""
        return sum(
            (prices.cost(r.model, resp.usage, batch=r.batch) for r, resp in self.calls),
            Decimal(0),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class JudgedSuite:
    """Every case of one (suite, configuration), judged, and the judge's noise."""

    scores: Mapping[str, JudgeScore]
    """By case id."""
    noise: JudgeNoise | None
    """None when ``repeats`` is 0 or nothing needed the judge."""

    def eval_cost(self, prices: PriceTable) -> Decimal:
        """USD of every judge call: the cases' and the noise repeats'."""
        total = sum((s.cost(prices) for s in self.scores.values()), Decimal(0))
        return total + (self.noise.cost(prices) if self.noise is not None else Decimal(0))


# --- the scorer ---------------------------------------------------------------------


@checked_options
class JudgeScorer:
    """Pairwise LLM judge against the golden, both orders (see the module docs).

    Args:
        model: The judge model spec (``openai:gpt-4o``, ``anthropic:...``,
            ``replay:openai:gpt-4o``), or ``heuristic`` for the offline simulation.
        repeats: Extra judgements of each sampled case to measure the judge's
            noise (0: not measured).
        sample: Share of the judged cases re-judged when ``repeats > 0``, in (0, 1].
        position_swap: Ask in both orders (recommended; ``false`` halves the
            judge cost but cannot see position bias).
        criteria: What makes an answer better, in the judge's words
            (default: :data:`DEFAULT_CRITERIA`).
        seed: The ``seed`` sent to judges whose API takes one (OpenAI).
        max_tokens: Output limit of a judge call (raise it for reasoning models,
            whose hidden reasoning counts against it).
    """

    name: str = "judge"

    def __init__(
        self,
        *,
        model: str | None = None,
        repeats: int = 0,
        sample: float = 0.2,
        position_swap: bool = True,
        criteria: str | None = None,
        seed: int = 0,
        max_tokens: int = MAX_TOKENS,
    ) -> None:
        if model is None:
            raise ConfigError(
                "scorer 'judge' needs a 'model': the judge model, e.g. "
                "{name: judge, model: 'openai:gpt-4o'}, or model: heuristic for the offline "
                "simulation."
            )
        self.model = _check_model(model)
        if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 0:
            raise invalid_option_error(self.name, "repeats", repeats, "an integer >= 0")
        if (
            isinstance(sample, bool)
            or not isinstance(sample, (int, float))
            or not 0.0 < sample <= 1.0
        ):
            raise invalid_option_error(self.name, "sample", sample, "a number in (0, 1]")
        if criteria is not None and (not isinstance(criteria, str) or not criteria.strip()):
            raise invalid_option_error(self.name, "criteria", criteria, "a non-empty string")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise invalid_option_error(self.name, "seed", seed, "an integer")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 16:
            raise invalid_option_error(self.name, "max_tokens", max_tokens, "an integer >= 16")
        self.repeats = repeats
        self.sample = float(sample)
        self.position_swap = require_bool(self.name, "position_swap", position_swap)
        self.criteria = (criteria or DEFAULT_CRITERIA).strip()
        self.seed = seed
        self.max_tokens = max_tokens

    # -- the text-only protocol: not applicable ------------------------------------

    def score(self, output: str, reference: str) -> Score:
        """Always raises: the judge calls a model, asynchronously, through the pipeline."""
        raise CostEvalError(
            "the 'judge' scorer asks a model, asynchronously and through the run's executor "
            "(so its calls are recorded and never paid twice); it cannot score a text on its "
            "own. The pipeline scores it with judge_case(...). To score text directly use "
            "another scorer (exact, numeric, fuzzy, rouge_l)."
        )

    # -- requests -------------------------------------------------------------------

    @property
    def is_heuristic(self) -> bool:
        """True for the offline, simulated judge."""
        return self.model == HEURISTIC

    def params(self) -> tuple[tuple[str, Any], ...]:
        """Sampling parameters of a judge request (sorted pairs)."""
        params: dict[str, Any] = {"temperature": 0, "max_tokens": self.max_tokens}
        if base_model(self.model).partition(":")[0] == "openai":
            params["seed"] = self.seed
        return tuple(sorted(params.items()))

    def request(
        self,
        *,
        case_id: str,
        question: str,
        a: str,
        b: str,
        expected: str | None = None,
        nonce: int = 0,
    ) -> Request:
        """The judge request comparing answer ``a`` (shown first) with ``b``."""
        return Request(
            model=self.model,
            messages=(
                Message(role="system", content=SYSTEM_PROMPT.format(criteria=self.criteria)),
                Message(role="user", content=_user_prompt(question, a, b, expected, nonce)),
            ),
            params=self.params(),
            case_id=case_id,
            purpose=JUDGE_PURPOSE,
        )

    # -- judging --------------------------------------------------------------------

    async def judge_case(
        self,
        *,
        question: str,
        output: str,
        golden: str,
        send: Send,
        case_id: str = "",
        expected: str | None = None,
        nonce: int = 0,
    ) -> JudgeScore:
        """Judge ``output`` against ``golden``, in both orders.

        Args:
            question: What was asked (see :func:`case_question`).
            output: The candidate's answer.
            golden: The baseline's answer.
            send: The executor's ``send``; every judge request goes through it
                (unused by the ``heuristic`` judge).
            case_id: Carried on the requests, for logs and error messages.
            expected: The known correct answer, shown to the judge.
            nonce: 0 for the scored judgement; 1, 2 ... for noise repeats.

        Returns:
            The score, or an error (a failed call, or a verdict malformed twice).
        """
        if output.strip() == golden.strip():
            return JudgeScore(
                case_id=case_id,
                score=Score(value=1.0, rationale="identical to the golden; not sent to the judge"),
            )
        orders = [(output, golden)]
        if self.position_swap:
            orders.append((golden, output))
        # One order after the other (cases run concurrently): the calls go out in
        # a fixed order, and a failed first order spares the second call.
        calls: list[tuple[Request, Response]] = []
        verdicts: list[Verdict] = []
        for a, b in orders:
            request = self.request(
                case_id=case_id, question=question, a=a, b=b, expected=expected, nonce=nonce
            )
            verdict, error, made = await self._ask(request, send)
            calls.extend(made)
            if verdict is None:
                return JudgeScore(case_id=case_id, score=None, error=error, calls=tuple(calls))
            verdicts.append(verdict)
        # The candidate is A in the first order, B in the second.
        at_least_as_good = [
            v.winner in ("A", "tie") if i == 0 else v.winner in ("B", "tie")
            for i, v in enumerate(verdicts)
        ]
        if all(at_least_as_good):
            value = 1.0
        elif not any(at_least_as_good):
            value = 0.0
        else:
            value = 0.5
        return JudgeScore(
            case_id=case_id,
            score=Score(value=value, rationale=_rationale(verdicts, value)),
            verdicts=tuple(v.winner for v in verdicts),
            calls=tuple(calls),
        )

    async def _ask(
        self, request: Request, send: Send
    ) -> tuple[Verdict | None, str | None, list[tuple[Request, Response]]]:
        """One order: the verdict, or an error; and the calls made (a retry included)."""
        calls: list[tuple[Request, Response]] = []
        response = await self._send(request, send)
        calls.append((request, response))
        if response.error is not None:
            return None, f"judge call failed: {response.error}", calls
        try:
            return parse_verdict(response.text), None, calls
        except MalformedVerdict as first:
            retry = Request(
                model=request.model,
                messages=(
                    *request.messages,
                    Message(role="assistant", content=response.text),
                    Message(role="user", content=_RETRY_PROMPT.format(problem=first)),
                ),
                params=request.params,
                case_id=request.case_id,
                purpose=JUDGE_PURPOSE,
            )
            again = await self._send(retry, send)
            calls.append((retry, again))
            if again.error is not None:
                return None, f"judge call failed: {again.error}", calls
            try:
                return parse_verdict(again.text), None, calls
            except MalformedVerdict as second:
                return (
                    None,
                    f"the judge {self.model!r} gave no readable verdict, twice: {second}",
                    calls,
                )

    async def _send(self, request: Request, send: Send) -> Response:
        if self.is_heuristic:
            return _heuristic_response(request)
        return await send(request)

    # -- noise ----------------------------------------------------------------------

    def noise_sample(self, case_ids: Sequence[str], *, seed: int) -> tuple[str, ...]:
        """The cases re-judged: a share ``sample`` (at least one), chosen by ``seed``.

        The choice depends only on the seed and each case id (SHA-256), not on
        the order of ``case_ids``; the sample keeps that order.
        """
        if not case_ids:
            return ()
        k = max(1, math.ceil(self.sample * len(case_ids) - 1e-9))

        def rank(case_id: str) -> bytes:
            return hashlib.sha256(f"{_NOISE_SALT}\x1f{seed}\x1f{case_id}".encode()).digest()

        chosen = set(sorted(case_ids, key=rank)[:k])
        return tuple(c for c in case_ids if c in chosen)

    async def measure_noise(
        self,
        items: Sequence[JudgeItem],
        send: Send,
        *,
        seed: int,
        first: Mapping[str, JudgeScore] | None = None,
    ) -> JudgeNoise | None:
        """Re-judge a seeded sample ``repeats`` times; the flip rate and the noise.

        Args:
            items: Every case of the (suite, configuration), candidate errors left out.
            send: The executor's ``send``.
            seed: Chooses the sample (e.g. ``derive_seed(settings.seed, suite, config)``).
            first: The scored judgements (nonce 0) by case id, when already made;
                missing ones are judged here (the executor dedupes them anyway).

        Returns:
            None when ``repeats`` is 0 or no case needed the judge.
        """
        if self.repeats == 0 or not items:
            return None
        judged = [i for i in items if i.output.strip() != i.golden.strip()]
        if not judged:
            return None
        given = first or {}
        # A case the judge could not judge once is not re-asked: nothing to compare.
        candidates = [
            i.case_id for i in judged if getattr(given.get(i.case_id), "error", None) is None
        ]
        sampled = self.noise_sample(candidates, seed=seed)
        by_id = {i.case_id: i for i in judged}

        async def judge(item: JudgeItem, nonce: int) -> JudgeScore:
            if nonce == 0 and item.case_id in given:
                return given[item.case_id]
            return await self.judge_case(
                question=item.question,
                output=item.output,
                golden=item.golden,
                send=send,
                case_id=item.case_id,
                expected=item.expected,
                nonce=nonce,
            )

        rounds = await asyncio.gather(
            *(
                asyncio.gather(*(judge(by_id[c], n) for n in range(self.repeats + 1)))
                for c in sampled
            )
        )
        before: list[float] = []
        after: list[float] = []
        flipped: list[str] = []
        errors = 0
        calls: list[tuple[Request, Response]] = []
        for case_id, (base, *repeats) in zip(sampled, rounds, strict=True):
            for repeat in repeats:
                calls.extend(repeat.calls)
            if base.value is None:
                errors += len(repeats)
                continue
            changed = False
            for repeat in repeats:
                if repeat.value is None:
                    errors += 1
                    continue
                before.append(base.value)
                after.append(repeat.value)
                changed = changed or repeat.value != base.value
            if changed:
                flipped.append(case_id)
        share = len(judged) / len(items)
        rate: float | None = None
        noise: float | None = None
        if before:
            from harness.stats.bootstrap import flip_rate  # numpy: only when noise is measured

            rate = flip_rate(before, after)
            noise = rate * share * SCORE_RANGE
        return JudgeNoise(
            flip_rate=rate,
            noise=noise,
            repeats=self.repeats,
            sampled=sampled,
            pairs=len(before),
            flipped=tuple(flipped),
            judged_share=share,
            errors=errors,
            calls=tuple(calls),
        )


def _check_model(model: object) -> str:
    if not isinstance(model, str) or not model.strip():
        raise invalid_option_error(
            "judge", "model", model, "a model spec such as 'openai:gpt-4o', or 'heuristic'"
        )
    model = model.strip()
    if model == HEURISTIC:
        return model
    from harness.providers import check_model_spec

    try:
        check_model_spec(model, where="scorer 'judge' option 'model'")
    except UnknownComponent as exc:
        raise ConfigError(str(exc)) from None
    if base_model(model).startswith("sim:"):
        raise ConfigError(
            f"scorer 'judge' option 'model': {model!r} is a simulated answering model; it "
            "cannot read a judge prompt. Use a real model (e.g. 'openai:gpt-4o') or "
            "model: heuristic, the offline simulated judge."
        )
    return model


def _rationale(verdicts: Sequence[Verdict], value: float) -> str:
    labels = ("candidate as A", "candidate as B")
    parts = []
    for i, verdict in enumerate(verdicts):
        reason = f": {verdict.rationale}" if verdict.rationale else ""
        parts.append(f"[{labels[i]}] winner {verdict.winner}{reason}")
    if value == 0.5:
        parts.append("the two orders disagree (position bias): 0.5")
    return " | ".join(parts)


async def judge_suite(
    scorer: JudgeScorer,
    items: Sequence[JudgeItem],
    send: Send,
    *,
    seed: int,
) -> JudgedSuite:
    """Judge every case of one (suite, configuration), then measure the judge's noise.

    This is the pipeline's entry point. Cases run concurrently (the executor
    bounds the calls in flight); the noise repeats reuse the scored judgements.

    Args:
        scorer: The suite's judge.
        items: One per case whose candidate answered (leave candidate errors out:
            they are error rows already).
        send: The executor's ``send``.
        seed: Chooses the noise sample; derive it from the run seed, the suite
            and the configuration so it is stable.
    """
    judged = await asyncio.gather(
        *(
            scorer.judge_case(
                question=i.question,
                output=i.output,
                golden=i.golden,
                send=send,
                case_id=i.case_id,
                expected=i.expected,
            )
            for i in items
        )
    )
    scores = {s.case_id: s for s in judged}
    noise = await scorer.measure_noise(items, send, seed=seed, first=scores)
    return JudgedSuite(scores=scores, noise=noise)


@scorers.register("judge")
def judge() -> type[JudgeScorer]:
    """Factory of the ``judge`` scorer."""
    return JudgeScorer


# --- the heuristic judge (simulation) -----------------------------------------------

_STOPWORDS = FUNCTION_WORDS | frozenset(
    [
        "about",
        "also",
        "being",
        "but",
        "could",
        "down",
        "he",
        "here",
        "just",
        "may",
        "might",
        "more",
        "most",
        "must",
        "no",
        "not",
        "only",
        "other",
        "out",
        "over",
        "own",
        "s",
        "same",
        "shall",
        "she",
        "such",
        "t",
        "their",
        "there",
        "they",
        "too",
        "under",
        "up",
        "very",
        "whom",
        "yes",
    ]
)
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")


def _content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.casefold()) if w not in _STOPWORDS]


def _f1(a: str, b: str) -> float:
    wa, wb = _content_words(a), _content_words(b)
    if not wa or not wb:
        return 1.0 if not wa and not wb else 0.0
    common = sum(min(wa.count(w), wb.count(w)) for w in set(wa) & set(wb))
    if common == 0:
        return 0.0
    precision, recall = common / len(wa), common / len(wb)
    return 2 * precision * recall / (precision + recall)


def heuristic_verdict(
    question: str, a: str, b: str, expected: str | None, salt: str
) -> tuple[Winner, str]:
    """The simulated judge's verdict on answers ``a`` and ``b`` (rules in the module docs).

    Args:
        salt: Decides close calls (the request hash: order and nonce included).
    """
    num_a, num_b = final_number(a), final_number(b)
    if num_a is not None and num_a == num_b:
        return "tie", f"both answers give {num_a}"
    agreement = _f1(a, b)
    if agreement >= AGREE_F1:
        return "tie", f"the answers say the same (content-word F1 {agreement:.2f})"
    if expected is not None:
        target = final_number(expected)
        if target is not None and (num_a == target) != (num_b == target):
            side: Winner = "A" if num_a == target else "B"
            return side, f"answer {side} gives the expected {target}"
        fa, fb = _f1(a, expected), _f1(b, expected)
        if abs(fa - fb) >= 0.1:
            side = "A" if fa > fb else "B"
            return side, f"answer {side} is closer to the expected answer (F1 {fa:.2f} vs {fb:.2f})"
    asked = set(_content_words(question))
    shared_a = len(asked & set(_content_words(a)))
    shared_b = len(asked & set(_content_words(b)))
    if abs(shared_a - shared_b) >= CLEAR_MARGIN:
        side = "A" if shared_a > shared_b else "B"
        return side, (
            f"answer {side} engages more with the question "
            f"({max(shared_a, shared_b)} vs {min(shared_a, shared_b)} shared words)"
        )
    pick: Winner = "A" if hashlib.sha256(salt.encode()).digest()[0] % 2 == 0 else "B"
    return pick, f"a close call; answer {pick} reads slightly better"


@dataclass(frozen=True, slots=True)
class _Prompt:
    question: str
    expected: str | None
    a: str
    b: str


def _read_prompt(text: str) -> _Prompt:
    """The sections of a judge prompt built by :func:`_user_prompt`.

    Section headers are searched from the end backwards for the answers (an
    answer that itself contains ``[Answer B]`` cannot hide the real one, which
    comes later), and forwards for the question.
    """
    tail = "\n\nWhich answer is better? Reply with the JSON object only."
    body = text.rpartition(tail)[0]
    head_b = "\n\n[Answer B]\n"
    head_a = "\n\n[Answer A]\n"
    before_b, _, b = body.rpartition(head_b)
    before_a, _, a = before_b.rpartition(head_a)
    head_e = "\n\n[Expected answer, known to be correct]\n"
    expected: str | None = None
    question = before_a.removeprefix("[Question]\n")
    if head_e in before_a:
        question, _, expected = question.rpartition(head_e)
    return _Prompt(question=question, expected=expected, a=a, b=b)


def _heuristic_response(request: Request) -> Response:
    """The simulated judge's reply to a judge request, as a JSON verdict."""
    prompt = _read_prompt(request.messages[1].content)
    winner, why = heuristic_verdict(
        prompt.question, prompt.a, prompt.b, prompt.expected, salt=request.hash()
    )
    text = json.dumps({"winner": winner, "rationale": why})
    return Response(text=text, model=HEURISTIC, usage=Usage())
