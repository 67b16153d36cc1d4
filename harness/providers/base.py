"""The provider protocol: send a request to a model, get text and usage back."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from harness.types import Request, Response


@runtime_checkable
class Provider(Protocol):
    """Sends requests to one family of models (``sim:``, ``openai:``, ...).

    A provider never raises for a failed call: it returns a
    :class:`~harness.types.Response` whose ``error`` says what went wrong, so
    the failure is recorded as an error row and never scored as a wrong answer.

    Which providers are local and free (called whatever the record mode) is
    decided by prefix: :data:`harness.providers.LOCAL_PROVIDERS`.
    """

    name: str
    """The prefix of the model specs it serves (``"sim"`` serves ``sim:small``)."""

    async def complete(self, request: Request) -> Response:
        """Answer ``request``; ``request.model`` is the full ``provider:model`` spec."""
        ...
