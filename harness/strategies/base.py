"""The strategy protocol: middleware in front of a model.

A configuration is a chain ``compress -> cache -> route -> batch -> provider``.
Each link is a :class:`Strategy` that receives the request and ``call_next``,
the rest of the chain. A compressor rewrites the request and calls on; a cache
may answer without calling on; a router picks the model and calls on; the batch
flag marks the request for batch pricing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from harness.registry import Registry
from harness.types import Request, Response

CallNext = Callable[[Request], Awaitable[Response]]
"""The rest of the chain: send the request on, get the response back."""


@runtime_checkable
class Strategy(Protocol):
    """One link of a configuration's chain."""

    name: str
    """Registered name, shown in reports."""

    stateful: bool
    """True when the answer for one case depends on earlier cases (a cache):
    such configurations are run over the cases in suite order, one at a time."""

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        """Handle ``request``, calling ``call_next`` zero or more times."""
        ...


StrategyFactory = Callable[..., Strategy]
"""Builds a strategy from the keyword arguments of its configuration table."""

routers: Registry[StrategyFactory] = Registry("router", "harness.routers")
caches: Registry[StrategyFactory] = Registry("cache", "harness.caches")
compressors: Registry[StrategyFactory] = Registry("compressor", "harness.compressors")
