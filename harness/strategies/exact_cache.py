"""The exact-match cache: answer a request from an earlier answer instead of calling a model.

The ``exact`` cache: two requests hit when their messages are the
same after normalization (case, runs of white space, trailing punctuation).
A cache is stateful: it is evaluated over a suite's cases in order, as traffic,
and a hit serves the answer recorded for the earlier case.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from harness.strategies.base import CallNext, caches
from harness.strategies.options import read_options
from harness.types import Request, Response, Usage

_SPACES = re.compile(r"\s+")


def normalize_prompt(text: str) -> str:
    """A message as the exact cache keys it: lower case, single spaces, no trailing punctuation.

    Punctuation inside the text is kept (``"Is it 2.5?"`` -> ``"is it 2.5"``), unlike
    :func:`harness.scoring.exact.normalize_text`, which deletes all of it to compare answers.
    """
    return _SPACES.sub(" ", text).strip().lower().rstrip("?!.。 ")


class ExactCache:
    """Serve the earlier answer to a request whose normalized messages match."""

    name = "exact"
    lever = "cache"
    """Marks the chain's cache, whose hits and events the report counts."""
    stateful = True

    def __init__(self) -> None:
        self._entries: dict[tuple[tuple[str, str], ...], Response] = {}

    def key(self, request: Request) -> tuple[tuple[str, str], ...]:
        """The normalized messages that identify a cache entry, within a knowledge version.

        Entries are namespaced by ``knowledge_version``: after the facts change,
        an answer recorded under the old version is never served.
        """
        version = ("knowledge_version", request.knowledge_version or "")
        return (version, *((m.role, normalize_prompt(m.content)) for m in request.messages))

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        if request.purpose != "answer":
            return await call_next(request)
        key = self.key(request)
        cached = self._entries.get(key)
        if cached is not None:
            # A hit costs no tokens; its latency is a local lookup.
            return Response(
                text=cached.text, model=cached.model, usage=Usage(), latency_ms=1.0, cache_hit=True
            )
        response = await call_next(request)
        if response.error is None:
            self._entries[key] = response
        return response


@caches.register("exact")
def exact_cache() -> Callable[[Mapping[str, Any], str], ExactCache]:
    """Factory of the ``exact`` cache (it takes no options)."""

    def build(options: Mapping[str, Any], where: str) -> ExactCache:
        read_options(options, kind="exact", where=where)
        return ExactCache()

    return build
