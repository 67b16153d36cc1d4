"""Client-side rate limits: async token buckets on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from harness.providers.limits import RateLimiter, TokenBucket, estimate_request_tokens
from harness.types import Message
from tests.fakes.clock import FakeClock


def bucket(per_minute: float, clock: FakeClock, **kwargs: float) -> TokenBucket:
    return TokenBucket(per_minute, clock=clock, sleep=clock.sleep, **kwargs)


def test_starts_full_then_waits_for_refill() -> None:
    clock = FakeClock()
    limit = bucket(60, clock)  # 1 a second, capacity 1

    async def go() -> list[float]:
        return [await limit.acquire() for _ in range(4)]

    waits = asyncio.run(go())
    assert waits[0] == 0
    assert waits[1:] == pytest.approx([1.0, 1.0, 1.0])
    assert clock.elapsed == pytest.approx(3.0)
    assert limit.waited == pytest.approx(3.0)


def test_default_capacity_is_one_second_of_refill() -> None:
    clock = FakeClock()
    assert bucket(600, clock).capacity == 10
    assert bucket(30, clock).capacity == 1  # never below one unit


def test_sustained_rate_matches_the_limit() -> None:
    clock = FakeClock()
    limit = bucket(120, clock)  # 2 a second, capacity 2

    async def go() -> None:
        for _ in range(2 + 120):
            await limit.acquire()

    asyncio.run(go())
    # The burst of 2 is free; 120 more take exactly one minute.
    assert clock.elapsed == pytest.approx(60.0)


def test_refills_while_idle_up_to_capacity() -> None:
    clock = FakeClock()
    limit = bucket(60, clock, capacity=5)

    async def drain() -> None:
        for _ in range(5):
            await limit.acquire()

    asyncio.run(drain())
    assert limit.available == pytest.approx(0)
    clock.now += 3
    assert limit.available == pytest.approx(3)
    clock.now += 100
    assert limit.available == pytest.approx(5)


def test_concurrent_waiters_are_served_in_order() -> None:
    clock = FakeClock()
    limit = bucket(60, clock)
    order: list[int] = []

    async def one(i: int) -> None:
        await limit.acquire()
        order.append(i)

    async def go() -> None:
        await asyncio.gather(*(one(i) for i in range(5)))

    asyncio.run(go())
    assert order == [0, 1, 2, 3, 4]
    assert clock.elapsed == pytest.approx(4.0)


def test_take_larger_than_capacity_goes_into_debt() -> None:
    clock = FakeClock()
    limit = bucket(600, clock)  # 10 a second, capacity 10

    async def go() -> tuple[float, float]:
        first = await limit.acquire(35)  # full bucket: allowed at once, 25 in debt
        second = await limit.acquire(1)  # waits for the debt to be repaid, plus 1
        return first, second

    first, second = asyncio.run(go())
    assert first == 0
    assert second == pytest.approx(2.6)


def test_refund_returns_unused_estimate() -> None:
    clock = FakeClock()
    limit = bucket(6000, clock)  # capacity 100
    asyncio.run(limit.acquire(80))
    limit.refund(50)
    assert limit.available == pytest.approx(70)
    limit.refund(-90)  # used more than estimated
    assert limit.available == pytest.approx(-20)
    limit.refund(10_000)
    assert limit.available == pytest.approx(100)  # never above capacity


def test_zero_amount_is_free() -> None:
    clock = FakeClock()
    limit = bucket(60, clock)
    asyncio.run(limit.acquire())
    assert asyncio.run(limit.acquire(0)) == 0


@pytest.mark.parametrize("bad", [0, -5, float("inf"), float("nan")])
def test_rejects_bad_rates(bad: float) -> None:
    with pytest.raises(ValueError, match="per_minute"):
        TokenBucket(bad)


def test_rate_limiter_combines_requests_and_tokens() -> None:
    clock = FakeClock()
    limiter = RateLimiter(
        requests_per_minute=600, tokens_per_minute=6000, clock=clock, sleep=clock.sleep
    )
    assert limiter.enabled

    async def go() -> None:
        for _ in range(4):
            await limiter.acquire(50)  # tokens bind: 100 capacity, 100 a second

    asyncio.run(go())
    assert clock.elapsed == pytest.approx(1.0)
    limiter.settle(estimated=50, actual=20)
    assert limiter.tokens is not None
    assert limiter.tokens.available == pytest.approx(30)


def test_rate_limiter_off_by_default() -> None:
    limiter = RateLimiter()
    assert not limiter.enabled
    assert asyncio.run(limiter.acquire(10**9)) == 0
    limiter.settle(10, 5)  # no-op


def test_limiter_works_across_event_loops() -> None:
    clock = FakeClock()
    limit = bucket(60, clock)
    asyncio.run(limit.acquire())
    asyncio.run(limit.acquire())  # a new loop: the lock is rebuilt, the level kept
    assert clock.elapsed == pytest.approx(1.0)


def test_estimate_tokens() -> None:
    messages = (Message(role="system", content="x" * 8), Message(role="user", content="abc"))
    assert estimate_request_tokens(messages, 100) == (2 + 4) + (1 + 4) + 100
    assert estimate_request_tokens(messages, -1) == 11
