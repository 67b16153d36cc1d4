"""How many cases a run evaluates at once, so its memory stays bounded.

(suite, configuration) pairs are evaluated concurrently, each holding its
cases' answers and results until its verdict is made. A run of 100,000 cases
under ten configurations would hold a million results at once; the budget lets
pairs start only while the cases in evaluation stay under a ceiling (a pair
larger than the ceiling runs alone). Small runs never wait: every pair of a
run with fewer cases than the ceiling starts at once, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

CASES_AT_ONCE = 50_000
"""Cases (over all pairs) in evaluation at once: about 30 MB of results each 50,000."""

PAIR_WINDOW = 1024
"""Cases of one pair sent at once. Providers' own ``max_concurrency`` (16-64 in
practice) bounds what is in flight; this bounds the coroutines waiting for it."""


class CaseBudget:
    """A weighted semaphore over cases: :meth:`take` waits until ``cases`` fit."""

    def __init__(self, capacity: int = CASES_AT_ONCE) -> None:
        self.capacity = max(1, capacity)
        self._free = self.capacity
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def take(self, cases: int) -> AsyncIterator[None]:
        """Hold room for ``cases`` cases (at most the whole budget) while the block runs."""
        weight = min(max(cases, 1), self.capacity)
        async with self._changed:
            await self._changed.wait_for(lambda: self._free >= weight)
            self._free -= weight
        try:
            yield
        finally:
            async with self._changed:
                self._free += weight
                self._changed.notify_all()


__all__ = ["CASES_AT_ONCE", "PAIR_WINDOW", "CaseBudget"]
