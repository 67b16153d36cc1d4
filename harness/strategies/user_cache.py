"""Your own cache, by import path: any object with ``lookup`` and ``store``.

A team's production cache (a Redis-backed semantic cache, a GPTCache
instance, a vendor SDK) usually has a get/set interface, not the harness's
middleware one. Name its class in the configuration and the harness adapts it::

    [[tool.cost-eval.configs]]
    name = "our-cache"
    model = "openai:gpt-4o"
    cache = { kind = "myapp.cache:TeamCache", threshold = 0.9 }

``TeamCache(threshold=0.9)`` is built with the table's other keys, then, for
each request in stream order:

- ``lookup(request) -> str | None``: the cached answer, or None (a miss);
- ``store(request, answer) -> None``: after a miss, the model's answer.

Either may be ``async``. The request is a :class:`harness.types.Request`:
``messages`` (the question is the last one), ``knowledge_version``,
``timestamp``, ``case_id``. The harness scores every hit like any answer, so
false hits show as quality drops; a hit whose answer was stored only under
other knowledge versions is counted as **stale**. A lookup or store that
raises is an error row for that case, with the cache's name and the error.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from harness.errors import ConfigError
from harness.strategies.base import CallNext
from harness.strategies.semantic_cache import HIT_LATENCY_MS, CacheEvent
from harness.types import Request, Response, Usage

__all__ = ["CacheBackend", "UserCache", "is_cache_backend", "user_cache"]


@runtime_checkable
class CacheBackend(Protocol):
    """A cache with a get/set interface (methods may be ``async``)."""

    def lookup(self, request: Request) -> Any:
        """The cached answer for ``request`` (a ``str``), or None."""
        ...

    def store(self, request: Request, answer: str) -> Any:
        """Remember ``answer`` for ``request``."""
        ...


def is_cache_backend(obj: Any) -> bool:
    """Whether ``obj`` is a class of get/set caches (not a strategy factory)."""
    return (
        isinstance(obj, type)
        and callable(getattr(obj, "lookup", None))
        and callable(getattr(obj, "store", None))
    )


async def _settle(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class UserCache:
    """The middleware around a :class:`CacheBackend`."""

    stateful = True
    lever = "cache"

    def __init__(self, backend: CacheBackend, *, name: str) -> None:
        self.backend = backend
        self.name = name
        self.events: list[CacheEvent] = []
        # What was stored, to tell stale hits and the model that wrote an answer.
        self._versions: dict[str, set[str | None]] = {}
        self._models: dict[str, str] = {}

    def _error(self, request: Request, what: str, exc: BaseException) -> Response:
        return Response(
            text="",
            model=request.model,
            error=f"cache {self.name!r}: {what} raised {type(exc).__name__}: {exc}",
        )

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        if request.purpose != "answer":
            return await call_next(request)
        try:
            answer = await _settle(self.backend.lookup(request))
        except Exception as exc:  # user code: an error row, not a crash of the run
            return self._error(request, "lookup", exc)
        if answer is not None and not isinstance(answer, str):
            return Response(
                text="",
                model=request.model,
                error=f"cache {self.name!r}: lookup must return a str or None, got "
                f"{type(answer).__name__}.",
            )
        if answer is not None:
            versions = self._versions.get(answer, set())
            stale = bool(versions) and request.knowledge_version not in versions
            self.events.append(
                CacheEvent(
                    case_id=request.case_id,
                    hit=True,
                    knowledge_version=request.knowledge_version,
                    stale=stale,
                )
            )
            return Response(
                text=answer,
                model=self._models.get(answer, self.name),
                usage=Usage(),
                latency_ms=HIT_LATENCY_MS,
                cache_hit=True,
            )
        response = await call_next(request)
        if response.error is None:
            try:
                await _settle(self.backend.store(request, response.text))
            except Exception as exc:
                return self._error(request, "store", exc)
            self._versions.setdefault(response.text, set()).add(request.knowledge_version)
            self._models[response.text] = response.model
        self.events.append(
            CacheEvent(
                case_id=request.case_id, hit=False, knowledge_version=request.knowledge_version
            )
        )
        return response


def user_cache(
    backend_class: type, options: Mapping[str, Any], *, path: str, where: str
) -> UserCache:
    """Build ``backend_class(**options)`` and wrap it.

    Raises:
        ConfigError: the class does not accept the options (its own message kept).
    """
    try:
        backend = backend_class(**dict(options))
    except TypeError as exc:
        raise ConfigError(
            f"{where}: cache {path!r} cannot be built with {sorted(options) or 'no options'}: "
            f"{exc}."
        ) from None
    return UserCache(backend, name=path)
