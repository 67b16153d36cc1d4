"""Compressors: send fewer input tokens.

The reference compressor is ``keep_last``: keep the system prompt, the context
documents and the last ``turns`` user turns (each with the assistant reply that
follows it) before the question; drop older history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..types import CONTEXT_PREFIX, Message, Request, Response
from .base import CallNext, compressors
from .options import positive_int, read_options


class KeepLastTurns:
    """Drop conversation history older than the last ``turns`` user turns."""

    name = "keep_last"
    stateful = False

    def __init__(self, *, turns: int) -> None:
        self.turns = turns

    def compress(self, messages: tuple[Message, ...]) -> tuple[Message, ...]:
        """The messages kept, in their original order."""
        if not messages:
            return messages
        *earlier, question = messages
        # Walk back from the question, keeping turns until the budget is spent.
        kept_user_turns = 0
        keep = [False] * len(earlier)
        for index in range(len(earlier) - 1, -1, -1):
            message = earlier[index]
            if message.role == "system" or message.content.startswith(CONTEXT_PREFIX):
                keep[index] = True
            elif message.role == "user":
                if kept_user_turns < self.turns:
                    kept_user_turns += 1
                    keep[index] = True
            elif message.role == "assistant":
                # An assistant reply belongs to the user turn before it; keep it
                # when that turn is kept (decided once we reach the user turn).
                keep[index] = kept_user_turns < self.turns
        # Replies directly after a context message ("Understood.") stay with it.
        for index in range(1, len(earlier)):
            if earlier[index].role == "assistant" and earlier[index - 1].content.startswith(
                CONTEXT_PREFIX
            ):
                keep[index] = True
        return (*(m for m, k in zip(earlier, keep, strict=True) if k), question)

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        return await call_next(request.with_messages(self.compress(request.messages)))


@compressors.register("keep_last")
def keep_last() -> Callable[[Mapping[str, Any], str], KeepLastTurns]:
    """Factory of the ``keep_last`` compressor: ``{kind = "keep_last", turns = 2}``."""

    def build(options: Mapping[str, Any], where: str) -> KeepLastTurns:
        opts = read_options(options, kind="keep_last", required=("turns",), where=where)
        return KeepLastTurns(turns=positive_int(opts["turns"], key="turns", where=where))

    return build
