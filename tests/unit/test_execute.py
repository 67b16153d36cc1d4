"""The executor: recorded answers first, each distinct request sent at most once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from harness.engine.executor import Executor
from harness.providers.base import Provider
from harness.types import Message, Request, Response, Usage


class FakeProvider:
    """Counts calls; answers after a short pause so concurrent sends overlap."""

    name = "fake"

    def __init__(self, *, error: str | None = None, raises: Exception | None = None) -> None:
        self.error = error
        self.raises = raises
        self.calls: list[Request] = []
        self.inflight = 0
        self.max_inflight = 0

    async def complete(self, request: Request) -> Response:
        self.calls.append(request)
        self.inflight += 1
        self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            await asyncio.sleep(0.005)
            if self.raises is not None:
                raise self.raises
            if self.error is not None:
                return Response(text="", model=request.model, error=self.error)
            return Response(
                text=f"answer {len(self.calls)} to {request.messages[-1].content}",
                model=request.model,
                usage=Usage(input_tokens=3, output_tokens=2),
                latency_ms=5.0,
            )
        finally:
            self.inflight -= 1


def factory_for(
    provider: FakeProvider, built: list[str] | None = None
) -> Callable[[str], Provider]:
    def factory(prefix: str) -> Provider:
        if built is not None:
            built.append(prefix)
        return provider

    return factory


def req(text: str = "Compute 1 + 1.", model: str = "fake:m", **kw: object) -> Request:
    return Request(model=model, messages=(Message(role="user", content=text),), **kw)  # type: ignore[arg-type]


def test_fake_provider_meets_the_protocol() -> None:
    assert isinstance(FakeProvider(), Provider)


def test_concurrent_identical_requests_share_one_call() -> None:
    provider = FakeProvider()
    executor = Executor({}, provider_factory=factory_for(provider))

    async def main() -> list[Response]:
        return await asyncio.gather(*(executor.send(req()) for _ in range(10)))

    responses = asyncio.run(main())
    assert len(provider.calls) == 1
    assert executor.calls == 1
    assert {r.text for r in responses} == {"answer 1 to Compute 1 + 1."}
    assert list(executor.new_responses) == [req().hash()]
    assert executor.new_responses[req().hash()] == (req(), responses[0])


def test_concurrent_identical_failures_share_one_call_and_are_not_recorded() -> None:
    provider = FakeProvider(error="rate limited")
    executor = Executor({}, provider_factory=factory_for(provider))

    async def main() -> list[Response]:
        first = await asyncio.gather(*(executor.send(req()) for _ in range(5)))
        # An error is not recorded: a later send tries again.
        return [*first, await executor.send(req())]

    responses = asyncio.run(main())
    assert all(r.error == "rate limited" for r in responses)
    assert len(provider.calls) == 2
    assert executor.calls == 2
    assert executor.new_responses == {}
    assert req().hash() not in executor.recorded


def test_metadata_does_not_split_the_deduplication() -> None:
    """Same hash, other case id and batch flag: one call, but each sees its own batch flag."""
    provider = FakeProvider()
    executor = Executor({}, provider_factory=factory_for(provider))

    async def main() -> list[Response]:
        return await asyncio.gather(
            executor.send(req(case_id="a")),
            executor.send(req(case_id="b", batch=True)),
        )

    plain, batched = asyncio.run(main())
    assert len(provider.calls) == 1
    assert plain.text == batched.text
    assert (plain.batch, batched.batch) == (False, True)


def test_distinct_requests_each_call_once() -> None:
    provider = FakeProvider()
    executor = Executor({}, provider_factory=factory_for(provider))

    async def main() -> None:
        await asyncio.gather(*(executor.send(req(f"q{i % 3}")) for i in range(9)))
        await executor.send(req("q0"))  # served from the record made above

    asyncio.run(main())
    assert sorted(r.messages[-1].content for r in provider.calls) == ["q0", "q1", "q2"]
    assert executor.calls == 3
    assert len(executor.new_responses) == 3


def test_recorded_responses_are_served_without_calls() -> None:
    provider = FakeProvider()
    recorded = Response(text="from the store", model="fake:m", usage=Usage(output_tokens=4))
    executor = Executor({req().hash(): recorded}, provider_factory=factory_for(provider))

    async def main() -> tuple[Response, Response]:
        return await executor.send(req()), await executor.send(req(batch=True))

    plain, batched = asyncio.run(main())
    assert plain is recorded
    assert batched.text == "from the store" and batched.batch is True
    assert batched.usage == recorded.usage
    assert provider.calls == []
    assert executor.calls == 0
    assert executor.new_responses == {}


def test_fresh_bypasses_records() -> None:
    provider = FakeProvider()
    old = Response(text="old", model="fake:m")
    executor = Executor({req().hash(): old}, provider_factory=factory_for(provider))

    response = asyncio.run(executor.send(req(), fresh=True))
    assert response.text == "answer 1 to Compute 1 + 1."
    assert executor.calls == 1
    # The new answer replaces the old record and is reported as new.
    assert executor.recorded[req().hash()] is response
    assert executor.new_responses[req().hash()][1] is response


def test_provider_exception_becomes_an_error_response() -> None:
    provider = FakeProvider(raises=RuntimeError("connection reset"))
    executor = Executor({}, provider_factory=factory_for(provider))

    response = asyncio.run(executor.send(req()))
    assert response.error == "RuntimeError: connection reset"
    assert response.text == ""
    assert response.model == "fake:m"
    assert response.latency_ms >= 0
    assert executor.calls == 1
    assert executor.new_responses == {}
    assert req().hash() not in executor.recorded


def test_concurrency_is_bounded() -> None:
    provider = FakeProvider()
    executor = Executor({}, concurrency=2, provider_factory=factory_for(provider))

    async def main() -> None:
        await asyncio.gather(*(executor.send(req(f"q{i}")) for i in range(8)))

    asyncio.run(main())
    assert len(provider.calls) == 8
    assert provider.max_inflight == 2


def test_one_provider_per_prefix() -> None:
    provider = FakeProvider()
    built: list[str] = []
    executor = Executor({}, provider_factory=factory_for(provider, built))

    async def main() -> None:
        await executor.send(req(model="fake:a"))
        await executor.send(req(model="fake:b"))
        await executor.send(req(model="other:c"))

    asyncio.run(main())
    assert built == ["fake", "other"]
    assert [r.model for r in provider.calls] == ["fake:a", "fake:b", "other:c"]


def test_default_factory_uses_the_sim_provider() -> None:
    executor = Executor({})

    async def main() -> tuple[Response, Response]:
        frontier = await executor.send(req("Compute 2 + 3.", model="sim:frontier"))
        small = await executor.send(req("Compute 2 + 3.", model="sim:small"))
        return frontier, small

    frontier, small = asyncio.run(main())
    assert frontier.text.endswith("The answer is 5.") and "step by step" in frontier.text
    assert small.text == "The answer is 5."
    assert frontier.usage.input_tokens > 0
    assert executor.calls == 2


def test_default_factory_replay_answers_from_records() -> None:
    """``replay:`` looks up what the underlying model answered, through the executor's records."""
    inner = req("Compute 2 + 3.", model="sim:small")
    recorded = Response(text="The answer is 5.", model="sim:small", usage=Usage(output_tokens=6))
    executor = Executor({inner.hash(): recorded})

    async def main() -> tuple[Response, Response]:
        hit = await executor.send(req("Compute 2 + 3.", model="replay:sim:small"))
        miss = await executor.send(req("Compute 9 + 9.", model="replay:sim:small", case_id="c9"))
        return hit, miss

    hit, miss = asyncio.run(main())
    assert hit.text == "The answer is 5." and hit.model == "replay:sim:small"
    assert hit.usage == recorded.usage
    assert miss.error is not None and "no recorded response of 'sim:small'" in miss.error
    assert "case 'c9'" in miss.error
