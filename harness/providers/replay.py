"""The ``replay:`` provider: answers only from recorded responses, never calls a model.

``replay:openai:gpt-4o`` answers a request with what ``openai:gpt-4o`` answered
to the same request before (same hash), from the response store or the
goldens. A request nobody recorded is an error row naming the request, never a
guess.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.types import Request, Response

Lookup = Callable[[str], Response | None]
"""Request hash -> the recorded response, or None."""


class ReplayProvider:
    """Serve recorded responses by request hash."""

    name = "replay"

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup

    async def complete(self, request: Request) -> Response:
        """The recorded answer of the underlying model to ``request``."""
        inner = request.model.partition(":")[2]
        recorded = self.lookup(request.with_model(inner).hash())
        if recorded is None:
            return Response(
                text="",
                model=request.model,
                error=(
                    f"replay: no recorded response of {inner!r} for case {request.case_id!r} "
                    f"(request {request.with_model(inner).hash()}). Record it by running once "
                    f"with {inner!r} instead of {request.model!r}."
                ),
            )
        return Response(
            text=recorded.text,
            model=request.model,
            usage=recorded.usage,
            latency_ms=recorded.latency_ms,
        )
