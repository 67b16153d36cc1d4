"""Reference strategies (threshold router, exact cache, keep_last compressor) and chains."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import pytest

from harness.config.settings import ConfigSpec, StrategySpec
from harness.errors import ConfigError, UnknownComponent
from harness.strategies.base import Strategy
from harness.strategies.chain import BatchFlag, FixedModel, build_chain
from harness.strategies.compress import KeepLastTurns, keep_last
from harness.strategies.exact_cache import ExactCache, exact_cache, normalize_prompt
from harness.strategies.router import (
    ThresholdRouter,
    last_user_text,
    length_score,
    random_score,
    threshold_router,
)
from harness.types import CONTEXT_PREFIX, Case, Message, Request, Response, Usage


def user(text: str) -> Message:
    return Message(role="user", content=text)


def assistant(text: str) -> Message:
    return Message(role="assistant", content=text)


def req(*messages: Message, model: str = "sim:frontier") -> Request:
    return Request(model=model, messages=messages or (user("Compute 1 + 1."),), case_id="c1")


class Recorder:
    """A ``call_next`` that records what reaches it and answers with the model's name."""

    def __init__(self, error: str | None = None) -> None:
        self.seen: list[Request] = []
        self.error = error

    async def __call__(self, request: Request) -> Response:
        self.seen.append(request)
        if self.error:
            return Response(text="", model=request.model, error=self.error)
        return Response(
            text=f"from {request.model}: {request.messages[-1].content}",
            model=request.model,
            usage=Usage(input_tokens=10, output_tokens=5),
            latency_ms=100.0,
        )


def run(strategy: Strategy, request: Request, call_next: Recorder) -> Response:
    return asyncio.run(strategy(request, call_next))


def constant_score(value: float) -> Callable[[Request], float]:
    return lambda _request: value


def half_score(request: Request) -> float:
    """Imported by path in a test below."""
    return 0.5


def router(score: Callable[[Request], float], threshold: float = 0.5) -> ThresholdRouter:
    return ThresholdRouter(
        strong="sim:frontier", weak="sim:small", threshold=threshold, score=score, score_name="t"
    )


def build_router(**options: Any) -> ThresholdRouter:
    base = {"strong": "sim:frontier", "weak": "sim:small", "threshold": 0.5}
    base.update(options)
    return threshold_router()({k: v for k, v in base.items() if v is not None}, "config 'r'")


# =========================================================================== router


@pytest.mark.parametrize(
    ("score", "model"),
    [(0.5, "sim:frontier"), (0.9, "sim:frontier"), (1.0, "sim:frontier"), (0.49, "sim:small")],
)
def test_threshold_router_picks_strong_at_or_above_threshold(score: float, model: str) -> None:
    recorder = Recorder()
    response = run(router(constant_score(score)), req(model="sim:whatever"), recorder)
    assert [r.model for r in recorder.seen] == [model]
    assert response.model == model
    # Only the model changes.
    assert recorder.seen[0].messages == req().messages and recorder.seen[0].case_id == "c1"


def test_threshold_router_extremes() -> None:
    recorder = Recorder()
    run(router(constant_score(0.0), threshold=0.0), req(), recorder)
    run(router(constant_score(0.999), threshold=1.0), req(), recorder)
    assert [r.model for r in recorder.seen] == ["sim:frontier", "sim:small"]


def test_router_score_that_raises_gives_an_error_response() -> None:
    def broken(request: Request) -> float:
        raise KeyError("feature")

    recorder = Recorder()
    response = run(router(broken), req(), recorder)
    assert recorder.seen == []
    assert response.model == "router" and response.text == ""
    assert response.error == "router score 't' raised KeyError: 'feature'"


@pytest.mark.parametrize("bad", [math.nan, 1.5, -0.1, math.inf])
def test_router_score_outside_unit_interval_gives_an_error_response(bad: float) -> None:
    recorder = Recorder()
    response = run(router(constant_score(bad)), req(), recorder)
    assert recorder.seen == []
    assert response.error == f"router score 't' returned {bad!r}, outside [0, 1]"


def test_router_score_not_a_number_gives_an_error_response() -> None:
    recorder = Recorder()
    response = run(router(lambda _r: "high"), req(), recorder)  # type: ignore[arg-type,return-value]
    assert recorder.seen == []
    assert response.error is not None and "raised ValueError" in response.error


def test_last_user_text() -> None:
    messages = (user("first"), assistant("reply"), user("second"), assistant("trailing"))
    assert last_user_text(req(*messages)) == "second"
    assert last_user_text(req(assistant("only"))) == ""


def test_random_score_is_seeded_and_uniform_ish() -> None:
    requests = [req(user(f"question {i}")) for i in range(200)]
    scores = [random_score(7)(r) for r in requests]
    assert scores == [random_score(7)(r) for r in requests]  # deterministic
    assert scores != [random_score(8)(r) for r in requests]  # depends on the seed
    assert all(0.0 <= s < 1.0 for s in scores)
    assert 0.35 < sum(scores) / len(scores) < 0.65


def test_length_score() -> None:
    score = length_score(100)
    assert score(req(user("x" * 25))) == 0.25
    assert score(req(user("x" * 250))) == 1.0
    # Only the question counts, not earlier messages.
    assert score(req(user("y" * 1000), assistant("ok"), user("x" * 50))) == 0.5


def test_router_factory_builds_each_score() -> None:
    assert build_router().score_name == "random"
    length = build_router(score="length", scale=10)
    assert length.score(req(user("x" * 5))) == 0.5
    by_path = build_router(score="tests.unit.test_strategies:half_score", threshold=0.5)
    assert by_path.score is half_score
    assert by_path.models == ("sim:frontier", "sim:small")
    recorder = Recorder()
    run(by_path, req(), recorder)
    assert recorder.seen[0].model == "sim:frontier"


@pytest.mark.parametrize(
    ("options", "error", "fragment"),
    [
        ({"threshold": None}, ConfigError, "config 'r' (threshold): 'threshold' is required."),
        ({"weak": None}, ConfigError, "'weak' is required."),
        ({"treshold": 0.3}, ConfigError, "unknown key 'treshold'. Did you mean 'threshold'?"),
        ({"threshold": 1.2}, ConfigError, "'threshold' must be between 0 and 1, got 1.2"),
        ({"threshold": True}, ConfigError, "'threshold' must be a number between 0 and 1"),
        ({"threshold": math.nan}, ConfigError, "'threshold' must be a number between 0 and 1"),
        ({"score": "lenght"}, UnknownComponent, "Unknown router score 'lenght'. Did you mean: "),
        ({"score": "length", "scale": 0}, ConfigError, "'scale' must be a whole number >= 1"),
        ({"seed": -1}, ConfigError, "'seed' must be a whole number >= 0, got -1"),
        ({"strong": "frontier"}, ConfigError, "'strong' must be a model spec like 'sim:small'"),
        ({"score": "harness.types:CONTEXT_PREFIX"}, ConfigError, "is not callable"),
        ({"score": "harness.nope_xyz:f"}, ConfigError, "cannot import module 'harness.nope_xyz'"),
    ],
)
def test_router_factory_errors(
    options: dict[str, Any], error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error) as info:
        build_router(**options)
    assert fragment in str(info.value)
    assert "config 'r'" in str(info.value)


# =========================================================================== cache


@pytest.mark.parametrize(
    "variant",
    [
        "What is the refund window?",
        "what is the refund window?",
        "WHAT IS THE REFUND WINDOW",
        "  What   is the\trefund\nwindow?  ",
        "What is the refund window?!",
        "What is the refund window .",
        "What is the refund window",
    ],
)
def test_normalize_text_variants(variant: str) -> None:
    assert normalize_prompt(variant) == "what is the refund window"


def test_normalize_text_keeps_inner_punctuation() -> None:
    assert normalize_prompt("Is it 2.5?") == "is it 2.5"
    assert normalize_prompt("Why? Tell me.") == "why? tell me"


def test_exact_cache_hits_on_normalized_variants() -> None:
    cache = ExactCache()
    recorder = Recorder()

    async def main() -> list[Response]:
        out = []
        for text in (
            "What is the refund window?",
            "what is  the REFUND window",
            "What is the refund window!",
        ):
            out.append(await cache(req(user(text)), recorder))
        return out

    first, second, third = asyncio.run(main())
    assert len(recorder.seen) == 1
    assert not first.cache_hit
    for hit in (second, third):
        assert hit.cache_hit
        assert hit.text == first.text and hit.model == first.model
        assert hit.usage == Usage()  # a hit costs nothing
        assert hit.latency_ms == 1.0


def test_exact_cache_misses_on_other_messages() -> None:
    cache = ExactCache()
    recorder = Recorder()

    async def main() -> None:
        await cache(req(user("What is the refund window?")), recorder)
        await cache(req(user("What is the return window?")), recorder)
        # Same text, other role: another conversation.
        await cache(req(Message(role="system", content="What is the refund window?")), recorder)
        # Same question, other history.
        await cache(req(user("Hi."), user("What is the refund window?")), recorder)

    asyncio.run(main())
    assert len(recorder.seen) == 4


def test_exact_cache_is_stateful_per_instance() -> None:
    assert ExactCache.stateful is True
    recorder = Recorder()
    first, second = ExactCache(), ExactCache()
    asyncio.run(first(req(), recorder))
    assert asyncio.run(first(req(), recorder)).cache_hit
    # A fresh cache knows nothing: the state lives in the instance.
    assert not asyncio.run(second(req(), recorder)).cache_hit
    assert len(recorder.seen) == 2


def test_exact_cache_does_not_store_errors() -> None:
    cache = ExactCache()
    failing = Recorder(error="timeout")
    assert asyncio.run(cache(req(), failing)).error == "timeout"
    working = Recorder()
    response = asyncio.run(cache(req(), working))
    assert not response.cache_hit and response.error is None
    assert len(working.seen) == 1


def test_exact_cache_factory_takes_no_options() -> None:
    assert isinstance(exact_cache()({}, "config 'c'.cache"), ExactCache)
    with pytest.raises(ConfigError, match=r"config 'c'.cache \(exact\): unknown key 'ttl'"):
        exact_cache()({"ttl": 60}, "config 'c'.cache")


# =========================================================================== compress

SYSTEM = Message(role="system", content="Be brief.")


def conversation() -> tuple[Message, ...]:
    case = Case(
        id="c",
        suite="s",
        prompt="What is my name?",
        system="Be brief.",
        context=("Alpha doc.",),
        history=(
            user("My name is Ada."),
            assistant("Nice to meet you."),
            user("I like tea."),
            assistant("Noted."),
            user("I live in Oslo."),
            assistant("Lovely."),
        ),
    )
    return case.messages()


def test_keep_last_keeps_system_context_and_last_turns() -> None:
    messages = conversation()
    kept = KeepLastTurns(turns=1).compress(messages)
    assert kept == (
        SYSTEM,
        messages[1],  # the context documents
        assistant("Understood."),
        user("I live in Oslo."),
        assistant("Lovely."),
        user("What is my name?"),
    )
    assert kept[1].content.startswith(CONTEXT_PREFIX)


def test_keep_last_two_turns() -> None:
    kept = KeepLastTurns(turns=2).compress(conversation())
    assert [m.content for m in kept if m.role == "user"][1:] == [
        "I like tea.",
        "I live in Oslo.",
        "What is my name?",
    ]
    assert assistant("Noted.") in kept and assistant("Nice to meet you.") not in kept


def test_keep_last_zero_turns_keeps_only_system_and_context() -> None:
    messages = conversation()
    kept = KeepLastTurns(turns=0).compress(messages)
    assert kept == (SYSTEM, messages[1], assistant("Understood."), user("What is my name?"))


def test_keep_last_more_turns_than_history_keeps_everything() -> None:
    messages = conversation()
    assert KeepLastTurns(turns=10).compress(messages) == messages
    assert KeepLastTurns(turns=1).compress(()) == ()
    assert KeepLastTurns(turns=0).compress((user("q"),)) == (user("q"),)


def test_keep_last_sends_the_compressed_request_on() -> None:
    recorder = Recorder()
    request = Request(
        model="sim:small", messages=conversation(), params=(("temperature", 0),), case_id="c7"
    )
    run(KeepLastTurns(turns=0), request, recorder)
    (sent,) = recorder.seen
    assert len(sent.messages) == 4
    assert (sent.model, sent.params, sent.case_id) == ("sim:small", (("temperature", 0),), "c7")


def test_keep_last_makes_the_sim_forget_a_dropped_fact() -> None:
    """With the real simulated model: the fact in an old turn is lost when it is dropped."""
    from harness.providers.sim import SimProvider

    provider = SimProvider()
    request = Request(model="sim:frontier", messages=conversation())

    async def call_next(inner: Request) -> Response:
        return await provider.complete(inner)

    full = asyncio.run(call_next(request))
    kept_two = asyncio.run(KeepLastTurns(turns=2)(request, call_next))
    kept_three = asyncio.run(KeepLastTurns(turns=3)(request, call_next))
    assert full.text == "Your name is Ada."
    assert kept_three.text == "Your name is Ada."
    assert "don't have your name" in kept_two.text
    assert kept_two.usage.input_tokens < full.usage.input_tokens


def test_keep_last_factory() -> None:
    built = keep_last()({"turns": 3}, "config 'k'.compress")
    assert isinstance(built, KeepLastTurns) and built.turns == 3
    with pytest.raises(ConfigError, match=r"\(keep_last\): 'turns' is required"):
        keep_last()({}, "config 'k'.compress")
    with pytest.raises(ConfigError, match=r"'turns' must be a whole number >= 0, got -1"):
        keep_last()({"turns": -1}, "config 'k'.compress")
    with pytest.raises(ConfigError, match=r"'turns' must be a whole number >= 0, got True"):
        keep_last()({"turns": True}, "config 'k'.compress")


# =========================================================================== chain


def spec(**fields: Any) -> ConfigSpec:
    return ConfigSpec(name=fields.pop("name", "cfg"), family="cfg", **fields)


ROUTER_SPEC = StrategySpec(
    kind="threshold",
    options={
        "strong": "sim:frontier",
        "weak": "sim:small",
        "threshold": 0.5,
        "score": "length",
        "scale": 20,
    },
)


def test_chain_order_compress_cache_router_batch() -> None:
    chain = build_chain(
        spec(
            model=None,
            compress=StrategySpec(kind="keep_last", options={"turns": 1}),
            cache=StrategySpec(kind="exact"),
            router=ROUTER_SPEC,
            batch=True,
        ),
        where="config 'cfg'",
    )
    assert [s.name for s in chain.strategies] == ["keep_last", "exact", "threshold", "batch"]
    assert chain.stateful
    assert chain.models() == ("sim:frontier", "sim:small")


def test_chain_fixed_model() -> None:
    chain = build_chain(spec(model="sim:small"), where="config 'cfg'")
    assert len(chain.strategies) == 1 and isinstance(chain.strategies[0], FixedModel)
    assert not chain.stateful
    assert chain.models() == ("sim:small",)


def test_chain_send_through_every_link() -> None:
    chain = build_chain(
        spec(
            model=None,
            compress=StrategySpec(kind="keep_last", options={"turns": 0}),
            cache=StrategySpec(kind="exact"),
            router=ROUTER_SPEC,
            batch=True,
        ),
        where="config 'cfg'",
    )
    recorder = Recorder()

    async def main() -> list[Response]:
        return [
            # 6 characters -> score 0.3 -> weak
            await chain.send(req(user("old turn"), assistant("ok"), user("short?")), recorder),
            # same question, other (dropped) history: the compressor makes it a cache hit
            await chain.send(req(user("other turn"), assistant("ok"), user("Short")), recorder),
            # 30 characters -> score 1.0 -> strong
            await chain.send(req(user("a much longer question, surely")), recorder),
        ]

    weak, hit, strong = asyncio.run(main())
    assert [r.model for r in recorder.seen] == ["sim:small", "sim:frontier"]
    assert all(r.batch for r in recorder.seen)
    assert recorder.seen[0].messages == (user("short?"),)  # history dropped before the model
    assert weak.model == "sim:small" and not weak.cache_hit
    assert hit.cache_hit and hit.text == weak.text
    assert strong.model == "sim:frontier"


def test_batch_flag_and_fixed_model_links() -> None:
    recorder = Recorder()
    run(BatchFlag(), req(), recorder)
    run(FixedModel("sim:small"), req(), recorder)
    assert [(r.model, r.batch) for r in recorder.seen] == [
        ("sim:frontier", True),
        ("sim:small", False),
    ]


def test_build_chain_unknown_kind_is_located() -> None:
    with pytest.raises(UnknownComponent) as info:
        build_chain(spec(model="sim:small", cache=StrategySpec(kind="exakt")), where="config 'cfg'")
    assert str(info.value).startswith("config 'cfg'.cache: Unknown cache 'exakt'. Did you mean: ")


def test_build_chain_bad_options_are_located() -> None:
    with pytest.raises(ConfigError) as info:
        build_chain(
            spec(model="sim:small", compress=StrategySpec(kind="keep_last", options={})),
            where="config 'cfg'",
        )
    assert str(info.value) == "config 'cfg'.compress (keep_last): 'turns' is required."


def test_each_chain_gets_its_own_cache() -> None:
    """Two builds of one spec do not share cache state (each pair starts cold)."""
    config = spec(model="sim:small", cache=StrategySpec(kind="exact"))
    recorder = Recorder()
    for _ in range(2):
        chain = build_chain(config, where="config 'cfg'")
        assert not asyncio.run(chain.send(req(), recorder)).cache_hit
    assert len(recorder.seen) == 2
