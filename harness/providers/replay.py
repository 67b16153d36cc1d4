"""The ``replay:`` provider: answers only from recorded responses, never calls a model.

``replay:openai:gpt-4o`` answers a request with what ``openai:gpt-4o`` answered
to the same request before (same hash), from the response store or the
goldens. A request nobody recorded is an error row naming the request, never a
guess, and saying what is true of that model: answers imported from someone's
log (an external router the harness cannot call) come only from a recording,
while a model the harness can call can be recorded by running it once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from harness.types import Request, Response

Lookup = Callable[[str], Response | None]
"""Request hash -> the recorded response, or None."""
ImportedSource = Callable[[str], str | None]
"""Model -> where its imported answers are (a labels file), or None when none were imported."""


class ReplayProvider:
    """Serve recorded responses by request hash."""

    name = "replay"

    def __init__(
        self,
        lookup: Lookup,
        *,
        imported: ImportedSource | None = None,
        callable_prefixes: Collection[str] = (),
    ) -> None:
        self.lookup = lookup
        self.imported = imported
        """Asked only when an answer is missing: was the model imported, from where?"""
        self.callable_prefixes = tuple(callable_prefixes)
        """Model-spec prefixes the harness can call (``openai``, ...), for the hint."""

    async def complete(self, request: Request) -> Response:
        """The recorded answer of the underlying model to ``request``."""
        inner = request.model.partition(":")[2]
        recorded = self.lookup(request.with_model(inner).hash())
        if recorded is None:
            return Response(text="", model=request.model, error=self.missing(request, inner))
        return Response(
            text=recorded.text,
            model=request.model,
            usage=recorded.usage,
            latency_ms=recorded.latency_ms,
            cost_usd=recorded.cost_usd,
        )

    def missing(self, request: Request, inner: str) -> str:
        """Why ``inner`` has no recorded answer to ``request``, and what to do about it."""
        head = (
            f"replay: no recorded response of {inner!r} for case {request.case_id!r} "
            f"(request {request.with_model(inner).hash()})."
        )
        source = self.imported(inner) if self.imported is not None else None
        if source is not None:
            # Imported from a log: the harness may have no way to call it
            # ("openai:unify-router"), so only a recording can supply the answer.
            return (
                f"{head} Its answers come from imported recordings ({source}), which have "
                "none for this request: the recording has no line for this case, or the "
                "case's prompt or the suite's params changed since the import. Add the "
                "answer to the recording and import it again, or remove the case from "
                "the suite."
            )
        prefix, sep, _ = inner.partition(":")
        if sep and prefix in self.callable_prefixes:
            return f"{head} Record it by running once with {inner!r} instead of {request.model!r}."
        reason = f"no provider {prefix!r}" if sep else "a name with no provider prefix"
        return (
            f"{head} The harness cannot call {inner!r} ({reason}), so its answers can only "
            "come from recordings: import them with `harness import recordings` (a line "
            "for this case), or remove the case from the suite."
        )
