"""The ``judge`` scorer's class: options, judge requests, and the judging of one case.

How a case is judged and scored is documented in :mod:`harness.scoring.judge`,
which is also the import path to use (it re-exports everything here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.errors import ConfigError, CostEvalError, UnknownComponent
from harness.providers import base_model, check_model_spec
from harness.scoring.exact import checked_options, invalid_option_error, require_bool
from harness.scoring.heuristic_judge import HEURISTIC, heuristic_response
from harness.scoring.judge_bias import MIN_CONSISTENCY, candidate_view
from harness.scoring.judge_noise import choose_noise_sample, measure_judge_noise
from harness.scoring.judge_protocol import (
    DEFAULT_CRITERIA,
    JUDGE_PURPOSE,
    RETRY_PROMPT,
    SYSTEM_PROMPT,
    MalformedVerdict,
    Send,
    Verdict,
    parse_verdict,
    user_prompt,
)
from harness.scoring.judge_results import JudgeItem, JudgeNoise, JudgeScore
from harness.types import Message, Request, Response, Score

__all__ = ["MAX_TOKENS", "JudgeScorer"]

MAX_TOKENS = 1024
"""Default ``max_tokens`` of a judge request: a verdict and a short rationale, with room
for a reasoning model's hidden reasoning (billed only for the tokens used)."""


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
        min_consistency: Share of the cases whose two orders must agree for the
            judge's verdicts to decide a gate (default 0.8; see
            :mod:`harness.scoring.judge_bias`); below it the gate is inconclusive.
        calibrate: Before judging, test the judge on a sample: the golden against
            itself (a tie) and against a non-answer (the golden wins), both
            orders (see :mod:`harness.scoring.judge_calibration`).
        extract: Not applicable: the judge weighs whole answers; giving one is an
            error that says so.
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
        min_consistency: float = MIN_CONSISTENCY,
        calibrate: bool = False,
        extract: object = None,
    ) -> None:
        if extract is not None:
            # Judging only the extracted value would hide the reasoning the judge
            # weighs; comparing extracted values is what the text scorers do.
            raise ConfigError(
                f"scorer 'judge' does not take 'extract' (got {extract!r}): the judge compares "
                "whole answers, reasoning included. To score only the final answer use a text "
                "scorer with an extractor, e.g. {name: exact, extract: yes_no}."
            )
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
        if (
            isinstance(min_consistency, bool)
            or not isinstance(min_consistency, (int, float))
            or not 0.0 <= min_consistency <= 1.0
        ):
            raise invalid_option_error(
                self.name, "min_consistency", min_consistency, "a number in [0, 1]"
            )
        self.min_consistency = float(min_consistency)
        self.calibrate = require_bool(self.name, "calibrate", calibrate)
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
                Message(role="user", content=user_prompt(question, a, b, expected, nonce)),
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
        verdicts, error, calls = await self.ask_orders(
            case_id=case_id,
            question=question,
            first=output,
            second=golden,
            expected=expected,
            nonce=nonce,
            send=send,
        )
        if error is not None:
            return JudgeScore(case_id=case_id, score=None, error=error, calls=tuple(calls))
        # Read from the candidate's side; two orders that disagree followed the
        # position, not the answers: no evidence either way, so a tie (scored like
        # the golden against itself). How often that happens is measured per suite
        # (harness.scoring.judge_bias) and keeps a biased judge from deciding a gate.
        views = set(candidate_view([v.winner for v in verdicts]))
        value = 0.0 if views == {"golden"} else 1.0
        return JudgeScore(
            case_id=case_id,
            score=Score(value=value, rationale=_rationale(verdicts, len(views) > 1)),
            verdicts=tuple(v.winner for v in verdicts),
            calls=tuple(calls),
        )

    async def ask_orders(
        self,
        *,
        case_id: str,
        question: str,
        first: str,
        second: str,
        expected: str | None,
        nonce: int,
        send: Send,
    ) -> tuple[list[Verdict], str | None, list[tuple[Request, Response]]]:
        """Ask ``first`` as A against ``second`` as B, then swapped (unless
        ``position_swap = false``): the verdicts, or the error, and every call made."""
        orders = [(first, second)]
        if self.position_swap:
            orders.append((second, first))
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
                return verdicts, error, calls
            verdicts.append(verdict)
        return verdicts, None, calls

    async def judge_item(self, item: JudgeItem, send: Send, *, nonce: int = 0) -> JudgeScore:
        """:meth:`judge_case` for one :class:`~harness.scoring.judge.JudgeItem`."""
        return await self.judge_case(
            question=item.question,
            output=item.output,
            golden=item.golden,
            send=send,
            case_id=item.case_id,
            expected=item.expected,
            nonce=nonce,
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
            # The same request, continued: its unreadable reply, then what to fix.
            retry = request.with_messages(
                (
                    *request.messages,
                    Message(role="assistant", content=response.text),
                    Message(role="user", content=RETRY_PROMPT.format(problem=first)),
                )
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
            return heuristic_response(request)
        return await send(request)

    # -- noise ----------------------------------------------------------------------

    def noise_sample(self, case_ids: Sequence[str], *, seed: int) -> tuple[str, ...]:
        """The cases re-judged: a share ``sample`` (at least one), chosen by ``seed``.

        The choice depends only on the seed and each case id (SHA-256), not on
        the order of ``case_ids``; the sample keeps that order.
        """
        return choose_noise_sample(case_ids, share=self.sample, seed=seed)

    async def measure_noise(
        self,
        items: Sequence[JudgeItem],
        send: Send,
        *,
        seed: int,
        first: Mapping[str, JudgeScore] | None = None,
    ) -> JudgeNoise | None:
        """Re-judge a seeded sample ``repeats`` times; the flip rate and the noise.

        See :mod:`harness.scoring.judge_noise`.

        Args:
            items: Every case of the (suite, configuration), candidate errors left out.
            send: The executor's ``send``.
            seed: Chooses the sample (e.g. ``derive_seed(settings.seed, suite, config)``).
            first: The scored judgements (nonce 0) by case id, when already made;
                missing ones are judged here (the executor dedupes them anyway).

        Returns:
            None when ``repeats`` is 0 or no case needed the judge.
        """
        return await measure_judge_noise(
            lambda item, nonce: self.judge_item(item, send, nonce=nonce),
            items,
            repeats=self.repeats,
            share=self.sample,
            seed=seed,
            first=first,
        )


def _check_model(model: object) -> str:
    if not isinstance(model, str) or not model.strip():
        raise invalid_option_error(
            "judge", "model", model, "a model spec such as 'openai:gpt-4o', or 'heuristic'"
        )
    model = model.strip()
    if model == HEURISTIC:
        return model
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


def _rationale(verdicts: Sequence[Verdict], disagree: bool) -> str:
    labels = ("candidate as A", "candidate as B")
    parts = []
    for i, verdict in enumerate(verdicts):
        reason = f": {verdict.rationale}" if verdict.rationale else ""
        parts.append(f"[{labels[i]}] winner {verdict.winner}{reason}")
    if disagree:
        parts.append("the two orders disagree (position bias): scored as a tie")
    return " | ".join(parts)
