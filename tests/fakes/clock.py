"""A fake monotonic clock whose sleep advances time instantly (rate-limiter tests)."""

from __future__ import annotations

import asyncio


class FakeClock:
    """``clock()`` returns the fake time; ``await clock.sleep(s)`` advances it by ``s``."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.start = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    @property
    def elapsed(self) -> float:
        """Fake seconds since creation."""
        return self.now - self.start

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)
