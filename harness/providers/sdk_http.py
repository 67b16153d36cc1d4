"""The SDKs' HTTP layer: a client whose every attempt has a deadline, and the raw
response type their generic ``post()`` returns unparsed.

Both SDKs are built on an httpx-style library (``httpx``, or its fork ``httpx2``
in recent releases); what is here finds that library from the SDK's own client
class rather than importing one by name.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
from collections.abc import AsyncGenerator
from typing import Any

DEADLINE_NOTE = "deadline passed"
"""Marks the timeout of an attempt that outlived its deadline (see :func:`deadline_http_client`)."""


def deadline_message(seconds: float) -> str:
    """The text of an attempt stopped by its deadline (kept in the error row)."""
    return (
        f"{DEADLINE_NOTE}: no complete answer within timeout = {seconds:g} s, which bounds "
        "the whole attempt (connect, send, every byte of the answer); raise the provider's "
        "timeout option if its answers are legitimately this slow"
    )


def deadline_http_client(client_class: type, seconds: float) -> Any:
    """An instance of an SDK's HTTP client class (an httpx-style ``AsyncClient``)
    whose every request has ``seconds`` in all, from connecting to the last byte.

    The SDKs' own ``timeout`` bounds each phase and each gap between bytes, so a
    server sending one byte a second never trips it. Past the deadline the attempt
    fails with the HTTP library's ``ReadTimeout``, which the SDK retries (and
    finally reports) like any timeout; the message starts with :data:`DEADLINE_NOTE`.
    """
    client = _deadline_class(client_class)()
    client.deadline_seconds = float(seconds)
    return client


@functools.cache
def _deadline_class(client_class: type) -> type:
    base: Any = client_class
    http: Any = importlib.import_module(_http_package(client_class))

    class DeadlineStream(http.AsyncByteStream):  # type: ignore[misc]
        """A response body whose every chunk must arrive before the deadline."""

        def __init__(self, stream: Any, deadline: float, seconds: float, request: Any) -> None:
            self._stream, self._deadline = stream, deadline
            self._seconds, self._request = seconds, request

        async def __aiter__(self) -> AsyncGenerator[bytes, None]:
            chunks = self._stream.__aiter__()
            while True:
                timer = asyncio.timeout_at(self._deadline)
                try:
                    async with timer:
                        chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    if not timer.expired():
                        raise
                    raise http.ReadTimeout(
                        deadline_message(self._seconds), request=self._request
                    ) from None
                yield chunk

        async def aclose(self) -> None:
            await self._stream.aclose()

    class DeadlineClient(base):  # type: ignore[misc]
        """The SDK's HTTP client, with a deadline on each request (connect to last byte)."""

        deadline_seconds = 60.0

        async def send(self, request: Any, **kwargs: Any) -> Any:
            seconds = self.deadline_seconds
            deadline = asyncio.get_running_loop().time() + seconds
            timer = asyncio.timeout_at(deadline)
            try:
                async with timer:
                    response = await super().send(request, **kwargs)
            except TimeoutError:
                if not timer.expired():
                    raise
                raise http.ReadTimeout(deadline_message(seconds), request=request) from None
            if kwargs.get("stream"):
                # The body is read after send returns: the deadline follows it there.
                response.stream = DeadlineStream(response.stream, deadline, seconds, request)
            return response

    DeadlineClient.__name__ = DeadlineClient.__qualname__ = f"Deadline{client_class.__name__}"
    return DeadlineClient


def _http_package(client_class: type) -> str:
    """The HTTP library (``httpx2`` or ``httpx``) an SDK's client class is built on."""
    for klass in client_class.__mro__:
        package = klass.__module__.partition(".")[0]
        if package in ("httpx2", "httpx"):
            return package
    raise TypeError(f"{client_class.__name__} is not an httpx AsyncClient")


def http_response_type(client_class: type) -> Any:
    """The ``Response`` class of the HTTP library ``client_class`` is built on.

    Given as ``cast_to`` to an SDK's generic ``post()`` (documented for calls the
    SDK has no method for), it returns the HTTP response unparsed: the provider
    reads the JSON itself (see :func:`json_body`).
    """
    return importlib.import_module(_http_package(client_class)).Response


__all__ = ["DEADLINE_NOTE", "deadline_http_client", "deadline_message", "http_response_type"]
