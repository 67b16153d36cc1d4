"""Client-side rate limits: requests and tokens per minute, as async token buckets.

A provider with ``requests_per_minute`` or ``tokens_per_minute`` set waits
here before each call, so a large run stays under the account's limits instead
of collecting 429s. The SDK's retries (which honour ``retry-after``) remain the
safety net when the estimate is off.

A bucket refills continuously at ``per_minute / 60`` units a second up to its
capacity (by default one second's worth, at least one unit), and starts full. A
take larger than the capacity waits for a full bucket and then leaves it in
debt, so one huge request cannot block forever but still pays for its tokens.
Waiters are served first come, first served. Tokens are estimated before the
call and settled against the usage the response reports.

The clock and the sleep function are injectable, so tests run on a fake clock.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence

from harness.types import Message

Clock = Callable[[], float]
"""Seconds from an arbitrary origin, never going back (``time.monotonic``)."""
Sleep = Callable[[float], Awaitable[None]]
"""Waits the given number of seconds (``asyncio.sleep``)."""

BURST_SECONDS = 1.0
"""Default bucket capacity, in seconds of refill."""


class TokenBucket:
    """Allows ``per_minute`` units a minute, in bursts of at most ``capacity``.

    Args:
        per_minute: Sustained rate. Must be positive.
        capacity: Most units available at once; default one second's worth
            (at least 1).
        clock: Time source.
        sleep: Waits; called with the seconds still missing.
    """

    def __init__(
        self,
        per_minute: float,
        *,
        capacity: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not per_minute > 0 or not math.isfinite(per_minute):
            raise ValueError(f"per_minute must be a positive number, got {per_minute!r}")
        self.per_minute = float(per_minute)
        self.rate = self.per_minute / 60.0
        """Units added per second."""
        self.capacity = (
            float(capacity) if capacity is not None else max(1.0, self.rate * BURST_SECONDS)
        )
        if not self.capacity > 0:
            raise ValueError(f"capacity must be positive, got {capacity!r}")
        self._clock = clock
        self._sleep = sleep
        self._level = self.capacity
        self._updated = clock()
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self.waited = 0.0
        """Total seconds spent waiting in :meth:`acquire`."""

    @property
    def available(self) -> float:
        """Units that could be taken now (negative while in debt)."""
        self._refill()
        return self._level

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._updated = now
        self._level = min(self.capacity, self._level + elapsed * self.rate)

    def _get_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock = asyncio.Lock()
            self._lock_loop = loop
        return self._lock

    async def acquire(self, amount: float = 1.0) -> float:
        """Take ``amount`` units, waiting until they are available; returns the wait in seconds."""
        if amount <= 0:
            return 0.0
        waited = 0.0
        async with self._get_lock():
            need = min(amount, self.capacity)
            while True:
                self._refill()
                if self._level >= need:
                    break
                delay = (need - self._level) / self.rate
                await self._sleep(delay)
                waited += delay
            self._level -= amount
        self.waited += waited
        return waited

    def refund(self, amount: float) -> None:
        """Give back ``amount`` units (negative: take more, e.g. usage above the estimate)."""
        self._refill()
        self._level = min(self.capacity, self._level + amount)


class RateLimiter:
    """Requests-per-minute and tokens-per-minute limits of one provider (either may be off)."""

    def __init__(
        self,
        *,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.requests = (
            TokenBucket(requests_per_minute, clock=clock, sleep=sleep)
            if requests_per_minute
            else None
        )
        self.tokens = (
            TokenBucket(tokens_per_minute, clock=clock, sleep=sleep) if tokens_per_minute else None
        )

    @property
    def enabled(self) -> bool:
        """Whether any limit is set."""
        return self.requests is not None or self.tokens is not None

    async def acquire(self, tokens: int) -> float:
        """Wait for one request and ``tokens`` (an estimate); returns the wait in seconds."""
        waited = 0.0
        if self.requests is not None:
            waited += await self.requests.acquire(1)
        if self.tokens is not None:
            waited += await self.tokens.acquire(tokens)
        return waited

    def settle(self, estimated: int, actual: int) -> None:
        """Correct the token bucket once the response says what the call really used."""
        if self.tokens is not None and actual != estimated:
            self.tokens.refund(estimated - actual)


def estimate_request_tokens(messages: Sequence[Message], max_output_tokens: int) -> int:
    """Tokens a call may count against a tokens-per-minute limit (before the call).

    Prompt: ``ceil(len / 4) + 4`` per message; plus the output allowance, which
    providers count against the limit when the request is admitted.
    """
    prompt = sum(math.ceil(len(m.content) / 4) + 4 for m in messages)
    return prompt + max(0, max_output_tokens)


__all__ = [
    "BURST_SECONDS",
    "Clock",
    "RateLimiter",
    "Sleep",
    "TokenBucket",
    "estimate_request_tokens",
]
