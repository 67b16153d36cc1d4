"""The ``heuristic`` judge: a local simulation of the LLM judge, not a language model.

``scorer: {name: judge, model: heuristic}`` answers the same requests as a real
judge (:mod:`harness.scoring.judge`), locally, for free and deterministically,
so the example suites and tests run offline. It reads the two answers from the
judge's prompt and decides by rules, in order:

1. The answers **agree** -- the same final number, or content-word F1 of at
   least :data:`AGREE_F1` -- ``tie``.
2. An expected answer is given: the answer that matches it (same final
   number, else the higher content-word F1 with it, by at least 0.1) wins.
3. The answer sharing at least :data:`CLEAR_MARGIN` more distinct content
   words with the question wins (it engages with the question's specifics).
4. Otherwise it is a **close call**: the winner, A or B, is fixed by SHA-256
   of the request (prompt and nonce included). Like a real judge on a close
   call it can follow the position (the two orders may disagree: a tie) and
   can flip when re-asked with another nonce -- which is what the noise
   measurement then sees.

Its calls never reach the executor (there is no provider to call), cost
nothing and are not stored.
"""

from __future__ import annotations

import hashlib
import json
import re

from harness.scoring.exact import final_number
from harness.scoring.judge_protocol import Winner, read_user_prompt
from harness.types import Request, Response, Usage
from harness.words import FUNCTION_WORDS

__all__ = ["AGREE_F1", "CLEAR_MARGIN", "HEURISTIC", "heuristic_response", "heuristic_verdict"]

HEURISTIC = "heuristic"
"""The ``model`` value of the offline, simulated judge."""
AGREE_F1 = 0.6
"""Content-word F1 at or above which two answers say the same."""
CLEAR_MARGIN = 2
"""Extra shared question words that make one answer clearly better."""

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


def heuristic_response(request: Request) -> Response:
    """The simulated judge's reply to a judge request, as a JSON verdict."""
    prompt = read_user_prompt(request.messages[1].content)
    winner, why = heuristic_verdict(
        prompt.question, prompt.a, prompt.b, prompt.expected, salt=request.hash()
    )
    text = json.dumps({"winner": winner, "rationale": why})
    return Response(text=text, model=HEURISTIC, usage=Usage())
