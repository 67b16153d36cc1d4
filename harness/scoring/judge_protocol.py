"""What the judge is asked and how its reply is read: the prompts and the verdict.

The ``judge`` scorer (:mod:`harness.scoring.judge`) sends each case as a system
prompt (:data:`SYSTEM_PROMPT`, with the suite's criteria) and a user prompt
(:func:`user_prompt`: the question, the expected answer when there is one, and
answers A and B). The judge replies with one JSON object, read by
:func:`parse_verdict`; an unreadable reply is asked again once with
:data:`RETRY_PROMPT`. :func:`read_user_prompt` is the inverse of
:func:`user_prompt`, for the offline ``heuristic`` judge.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from harness.types import Case, Request, Response

__all__ = [
    "DEFAULT_CRITERIA",
    "JUDGE_PURPOSE",
    "RETRY_PROMPT",
    "SYSTEM_PROMPT",
    "JudgePrompt",
    "MalformedVerdict",
    "Send",
    "Verdict",
    "Winner",
    "case_question",
    "parse_verdict",
    "read_user_prompt",
    "user_prompt",
]

Send = Callable[[Request], Awaitable[Response]]
"""What sends a judge request: the executor's ``send`` (deduped, stored, replayed)."""

Winner = Literal["A", "B", "tie"]
"""A verdict's winner: answer A, answer B, or neither."""

JUDGE_PURPOSE = "judge"
"""``Request.purpose`` of every judge request."""

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

RETRY_PROMPT = (
    "Your reply could not be read: {problem}. Reply again with only a JSON object of the "
    'form {{"winner": "A", "rationale": "..."}} where winner is "A", "B" or "tie", and '
    "nothing before or after it."
)
"""Appended, after the unreadable reply, to ask once more; ``{problem}`` says what was wrong."""

_QUESTION = "[Question]\n"
_EXPECTED = "\n\n[Expected answer, known to be correct]\n"
_ANSWER_A = "\n\n[Answer A]\n"
_ANSWER_B = "\n\n[Answer B]\n"
_ASK = "\n\nWhich answer is better? Reply with the JSON object only."


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


def user_prompt(question: str, a: str, b: str, expected: str | None, nonce: int) -> str:
    """The judge's user prompt comparing answer ``a`` (shown first) with ``b``.

    Args:
        question: What was asked (see :func:`case_question`).
        a: Answer A.
        b: Answer B.
        expected: The known correct answer, shown when given.
        nonce: 0 for the scored judgement; 1, 2 ... add a line that makes a
            noise repeat a distinct request for the same task.
    """
    sections = [f"{_QUESTION}{question}"]
    if expected is not None:
        sections.append(f"{_EXPECTED.lstrip()}{expected}")
    sections.append(f"{_ANSWER_A.lstrip()}{a}")
    sections.append(f"{_ANSWER_B.lstrip()}{b}")
    sections.append(_ASK.lstrip())
    if nonce:
        # Repeats for the noise measurement: a distinct request, same task.
        sections.append(f"(Evaluation {nonce}.)")
    return "\n\n".join(sections)


@dataclass(frozen=True, slots=True)
class JudgePrompt:
    """The sections of a user prompt built by :func:`user_prompt`."""

    question: str
    expected: str | None
    a: str
    b: str


def read_user_prompt(text: str) -> JudgePrompt:
    """The sections of a user prompt built by :func:`user_prompt`.

    Section headers are searched from the end backwards for the answers (an
    answer that itself contains ``[Answer B]`` cannot hide the real one, which
    comes later), and forwards for the question.
    """
    body = text.rpartition(_ASK)[0]
    before_b, _, b = body.rpartition(_ANSWER_B)
    before_a, _, a = before_b.rpartition(_ANSWER_A)
    expected: str | None = None
    question = before_a.removeprefix(_QUESTION)
    if _EXPECTED in before_a:
        question, _, expected = question.rpartition(_EXPECTED)
    return JudgePrompt(question=question, expected=expected, a=a, b=b)
