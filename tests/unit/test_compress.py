"""Compressors: the added-tokens check, retrieve, summarize, instructions, llmlingua."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from typing import Any

import pytest

from harness.config.suites import load_suite
from harness.engine.lever_metrics import compression_metrics
from harness.errors import ConfigError, CostEvalError, MissingDependency
from harness.providers.sim import SimProvider
from harness.strategies.base import CallNext, compressors
from harness.strategies.chain import Chain, FixedModel
from harness.strategies.compress import (
    SUMMARY_HEADER,
    Compressor,
    GuardedCompressor,
    Instructions,
    KeepLastTurns,
    LLMLingua,
    Retrieve,
    Summarize,
    _terms,
    bm25_scores,
    guard_compressor,
)
from harness.tokens import count_message_tokens
from harness.types import CONTEXT_PREFIX, Case, Message, Request, Response, Usage

ROOT = Path(__file__).resolve().parents[2]


def user(text: str) -> Message:
    return Message(role="user", content=text)


def assistant(text: str) -> Message:
    return Message(role="assistant", content=text)


class Recorder:
    def __init__(self, text: str = "ok") -> None:
        self.seen: list[Request] = []
        self.text = text

    async def __call__(self, request: Request) -> Response:
        self.seen.append(request)
        return Response(
            text=self.text, model=request.model, usage=Usage(input_tokens=7, output_tokens=3)
        )


def run(strategy: Any, request: Request, call_next: CallNext) -> Response:
    response: Response = asyncio.run(strategy(request, call_next))
    return response


def built(kind: str, options: dict[str, Any]) -> Any:
    """A compressor from its factory, untyped (the registry erases the class)."""
    return compressors.get(kind)(options, "w")


def test_every_builtin_is_registered() -> None:
    assert {"keep_last", "summarize", "retrieve", "instructions", "llmlingua"} <= set(
        compressors.names()
    )
    assert isinstance(compressors.get("keep_last")({"turns": 1}, "w"), KeepLastTurns)


# ------------------------------------------------------------ added-tokens check


class Padding(Compressor):
    name = "padding"

    def compress(self, messages: tuple[Message, ...]) -> tuple[Message, ...]:
        return (Message(role="system", content="Be very careful. " * 20), *messages)


def test_a_compressor_that_adds_tokens_raises() -> None:
    request = Request(model="m", messages=(user("What is 2 + 2?"),), case_id="c9")
    with pytest.raises(CostEvalError, match=r"compressor 'padding' returned \d+ prompt tokens on "):
        run(Padding(), request, Recorder())


def test_guard_checks_user_compressors_but_not_their_side_calls() -> None:
    class UserCompressor:
        """A user's strategy: summarizes through call_next, then pads the question."""

        name = "mine"
        stateful = False

        def __init__(self, pad: bool) -> None:
            self.pad = pad

        async def __call__(self, request: Request, call_next: CallNext) -> Response:
            await call_next(Request(model="m", messages=(user("side call " * 50),)))
            extra = (user("filler " * 40),) if self.pad else ()
            return await call_next(request.with_messages((*extra, *request.messages)))

    request = Request(model="m", messages=(user("hi"), assistant("hello"), user("q?")))
    guarded = guard_compressor(UserCompressor(pad=False))
    assert isinstance(guarded, GuardedCompressor)
    recorder = Recorder()
    run(guarded, request, recorder)
    assert len(recorder.seen) == 2 and len(guarded.stats) == 1
    with pytest.raises(CostEvalError, match=r"compressor 'mine' returned"):
        run(guard_compressor(UserCompressor(pad=True)), request, Recorder())
    builtin = KeepLastTurns(turns=1)
    assert guard_compressor(builtin) is builtin


def test_stats_record_the_ratio() -> None:
    messages = (user("My name is Ada."), assistant("Hi Ada."), user("Thanks."), user("Bye?"))
    strategy = KeepLastTurns(turns=0)
    run(strategy, Request(model="m", messages=messages), Recorder())
    (stats,) = strategy.stats
    assert stats.before == count_message_tokens(messages)
    assert stats.after == count_message_tokens((messages[-1],))
    assert 0 < stats.ratio < 1 and stats.saved == stats.before - stats.after


# ------------------------------------------------------------------- retrieve

KESTREL = Case(
    id="kestrel",
    suite="docs",
    prompt="Which color options does the Kestrel GPS watch come in?",
    context=(
        "Buyers can order the Kestrel GPS watch in slate or sand.",
        "The Kestrel GPS watch first reached stores in 2019.",
        "Color options for the Tundra 25 cooler include graphite and glacier blue.",
        "Every Kestrel GPS watch is assembled in Slovenia by a partner factory.",
        "Weighing just 61 grams, the Kestrel GPS watch is built to be carried all day.",
    ),
)


def test_retrieve_keeps_the_needed_passage_at_top_3_not_at_top_1() -> None:
    """BM25 ranks the look-alike "Color options ..." passage first (rare words);
    the simulated model needs passage [1], which top 3 keeps and top 1 drops."""
    provider = SimProvider()
    request = Request(model="sim:frontier", messages=KESTREL.messages())
    full = asyncio.run(provider.complete(request))
    top3 = run(Retrieve(top_k=3), request, provider.complete)
    top1 = run(Retrieve(top_k=1), request, provider.complete)
    assert (
        full.text
        == "According to document [1]: Buyers can order the Kestrel GPS watch in slate or sand."
    )
    assert top3.text == full.text
    assert top1.text.startswith("According to document [3]: Color options for the Tundra")
    assert top1.usage.input_tokens < top3.usage.input_tokens < full.usage.input_tokens


def test_retrieve_keeps_numbers_and_order() -> None:
    retrieve = Retrieve(top_k=2)
    kept = retrieve.compress(KESTREL.messages())
    context = kept[0].content.splitlines()
    assert context[0] == CONTEXT_PREFIX
    assert context[1:] == [
        "[1] Buyers can order the Kestrel GPS watch in slate or sand.",
        "[3] Color options for the Tundra 25 cooler include graphite and glacier blue.",
    ]
    assert kept[1:] == KESTREL.messages()[1:]
    # Nothing to drop: unchanged.
    assert Retrieve(top_k=5).compress(KESTREL.messages()) == KESTREL.messages()
    no_docs = (user("Hi?"),)
    assert retrieve.compress(no_docs) == no_docs


def test_retrieve_on_the_docs_suite_keeps_every_answer_at_top_3() -> None:
    suite = load_suite(ROOT / "suites" / "docs_qa.yaml")
    provider = SimProvider()
    for case in suite.cases:
        request = suite.request(case, "sim:frontier")
        full = asyncio.run(provider.complete(request))
        kept = run(Retrieve(top_k=3), request, provider.complete)
        assert kept.text == full.text, case.id
        assert kept.usage.input_tokens < full.usage.input_tokens


def test_bm25() -> None:
    scores = bm25_scores("red apples", ["red apples and red pears", "green pears", "apples"])
    assert scores[1] == 0.0 and scores[0] > scores[2] > 0
    assert bm25_scores("x", []) == []


def test_bm25_is_lucene_bm25_as_bm25s_computes_it() -> None:
    # Ours is kept for speed (see bm25_scores); its scores must be the library's.
    bm25s = pytest.importorskip("bm25s")
    docs = [f"passage {i} on topic {i % 3}: red apples, {i} pears" for i in range(12)]
    docs += ["green pears only", "a much longer passage " * 5 + "about red apples"]
    for query in ("red apples topic 2", "green pears", "nothing matches"):
        index = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
        index.index([_terms(d) for d in docs], show_progress=False)
        expected = index.get_scores(_terms(query)) * 2.5  # bm25s leaves out (k1 + 1)
        assert bm25_scores(query, docs) == pytest.approx(list(expected), rel=1e-5, abs=1e-6)


def test_retrieve_factory() -> None:
    assert built("retrieve", {"top_k": 3}).top_k == 3
    with pytest.raises(ConfigError, match=r"'top_k' must be a whole number >= 1, got 0"):
        compressors.get("retrieve")({"top_k": 0}, "w")


# ------------------------------------------------------------------ summarize

HISTORY = (
    Message(role="system", content="You are a support assistant."),
    user("My name is Ada Lovelace and my order number is 55123. " * 6),
    assistant("Thanks, noted."),
    user("I also want to change the delivery address. " * 6),
    assistant("Sure."),
    user("Okay."),
    assistant("Anything else?"),
    user("What is my order number?"),
)


class Summarizer:
    """A provider: summaries for summarizer calls, answers for the rest."""

    def __init__(self) -> None:
        self.seen: list[Request] = []

    async def __call__(self, request: Request) -> Response:
        self.seen.append(request)
        if request.messages[-1].content.endswith("Summarize it."):
            text = "My name is Ada Lovelace. My order number is 55123."
        else:
            text = "Your order number is 55123."
        return Response(
            text=text, model=request.model, usage=Usage(input_tokens=100, output_tokens=20)
        )


def test_summarize_makes_a_model_call_that_is_counted() -> None:
    provider = Summarizer()
    strategy = Summarize(model="sim:small", keep_last=1, max_summary_tokens=50)
    chain = Chain((strategy,))
    response = asyncio.run(chain.send(Request(model="sim:frontier", messages=HISTORY), provider))
    summary_call, answer_call = provider.seen
    assert summary_call.model == "sim:small"
    assert dict(summary_call.params)["max_tokens"] == 50
    assert "55123" in summary_call.messages[-1].content
    sent = answer_call.messages
    assert sent[0] == HISTORY[0]
    assert sent[1].content.startswith(SUMMARY_HEADER) and "55123" in sent[1].content
    assert sent[-3:] == HISTORY[-3:]
    assert response.text == "Your order number is 55123." and strategy.calls == 1
    assert count_message_tokens(sent) < count_message_tokens(HISTORY)


def test_summarize_through_a_chain_reaches_the_provider() -> None:
    """Both calls go to the provider, so the pipeline prices both."""
    provider = Summarizer()
    chain = Chain((Summarize(keep_last=1, max_summary_tokens=30), FixedModel("sim:frontier")))
    asyncio.run(chain.send(Request(model="sim:frontier", messages=HISTORY), provider))
    assert len(provider.seen) == 2


def test_summarize_skips_short_history_and_failed_summaries() -> None:
    provider = Summarizer()
    short = (user("Hi."), assistant("Hello."), user("Bye."), assistant("Bye."), user("Q?"))
    strategy = Summarize(keep_last=1)
    run(strategy, Request(model="m", messages=short), provider)
    assert strategy.calls == 0 and provider.seen[0].messages == short

    async def failing(request: Request) -> Response:
        if request.messages[-1].content.endswith("Summarize it."):
            return Response(text="", model=request.model, error="rate limited")
        return Response(text="ok", model=request.model)

    recorder: list[Request] = []

    async def recording(request: Request) -> Response:
        recorder.append(request)
        return await failing(request)

    run(
        Summarize(keep_last=1, max_summary_tokens=20),
        Request(model="m", messages=HISTORY),
        recording,
    )
    assert recorder[-1].messages == HISTORY  # history kept rather than silently lost


def test_summarize_cuts_a_long_summary() -> None:
    strategy = Summarize(keep_last=1, max_summary_tokens=10)
    provider = Recorder(text="word " * 200)
    run(strategy, Request(model="m", messages=HISTORY), provider)
    summary = provider.seen[-1].messages[1].content
    assert summary.startswith(SUMMARY_HEADER) and len(summary) < 120


def test_summarize_factory() -> None:
    made = built("summarize", {"model": "sim:small", "keep_last": 3})
    assert (made.model, made.keep.turns, made.max_summary_tokens) == ("sim:small", 3, 200)
    with pytest.raises(ConfigError, match=r"'model' must be a model spec"):
        compressors.get("summarize")({"model": "small"}, "w")


# --------------------------------------------------------------- instructions


def test_instructions_dedupes_and_normalizes() -> None:
    system = "Be brief.\n  Answer   in English.  \nBe brief.\n\n\n\nNever guess.\nbe  BRIEF."
    messages = (
        Message(role="system", content=system),
        assistant("Sure.   Sure."),
        user("What   is\tthe\n\n\n\nrefund window?"),
    )
    out = Instructions().compress(messages)
    assert out[0].content == "Be brief.\n  Answer in English.\n\nNever guess."
    assert out[1] == messages[1]
    assert out[2].content == "What is the\n\nrefund window?"
    strategy = compressors.get("instructions")({}, "w")
    recorder = Recorder()
    run(strategy, Request(model="m", messages=messages), recorder)
    assert recorder.seen[0].messages == out


# ------------------------------------------------------------------ llmlingua


class FakeLingua:
    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []

    def compress_prompt(self, text: str, rate: float) -> dict[str, Any]:
        self.calls.append((text, rate))
        words = text.split()
        return {"compressed_prompt": " ".join(words[: max(1, int(len(words) * rate))])}


def test_llmlingua_adapter_compresses_all_but_the_question() -> None:
    fake = FakeLingua()
    strategy = LLMLingua(rate=0.5, compressor=fake)
    out = strategy.compress(HISTORY)
    assert out[-1] == HISTORY[-1] and out[2] == HISTORY[2]  # question and replies untouched
    assert len(out[1].content) < len(HISTORY[1].content)
    assert all(rate == 0.5 for _, rate in fake.calls)
    docs = strategy.compress(KESTREL.messages())
    assert docs[0].content.startswith(CONTEXT_PREFIX + "\n")
    run(strategy, Request(model="m", messages=HISTORY), Recorder())
    assert strategy.stats[-1].requested_ratio == 0.5


def test_llmlingua_requested_rate_beside_the_achieved_one() -> None:
    # The figure stored for the report: the rate asked for and the rate reached (#21).
    strategy = LLMLingua(rate=0.5, compressor=FakeLingua())
    run(strategy, Request(model="m", messages=HISTORY), Recorder())
    figures = compression_metrics(Chain((strategy, FixedModel("sim:small"))), [], {})
    assert figures is not None and figures["requested_rate"] == 0.5
    record = strategy.stats[-1]
    assert figures["achieved_rate"] == pytest.approx(record.after / record.before)
    assert 0.5 < figures["achieved_rate"] < 1  # the question and the replies are kept whole


def test_llmlingua_factory() -> None:
    with pytest.raises(ConfigError, match=r"'rate' is the share of tokens to keep"):
        compressors.get("llmlingua")({"rate": 0}, "w")
    if importlib.util.find_spec("llmlingua") is None:
        with pytest.raises(MissingDependency, match=r"pip install llmlingua"):
            compressors.get("llmlingua")({"rate": 0.5}, "w")


@pytest.mark.skipif(
    importlib.util.find_spec("llmlingua") is None,
    reason="optional: llmlingua is not installed (it needs torch and a model download)",
)
def test_llmlingua_real() -> None:  # pragma: no cover - optional extra
    strategy = built("llmlingua", {"rate": 0.5})
    out = strategy.compress(HISTORY)
    assert count_message_tokens(out) < count_message_tokens(HISTORY)
