"""A semantic cache's verifier stage: a function or an LLM judge checks each candidate hit.

The judge runs through the real OpenAI SDK over HTTP to the fake server, behind
a real :class:`~harness.engine.executor.Executor` (dedupe, the store, record
modes); the fake decides by content (:func:`judge_reply`: serve when the two
questions hold the same numbers), so the order of concurrent calls does not
matter. The sweep's with-verification figures are checked against an
independent replay of the cache rules.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.analysis.cache_sweep import PairVerdict, sweep_cache_thresholds, sweep_verdicts
from harness.analysis.cache_traffic import Query, Stream
from harness.cli import main
from harness.config.prices import PriceTable
from harness.config.settings import ConfigSpec, Price, load_settings, parse_settings
from harness.embedders import SharedEmbeddings
from harness.engine.cache_verify import sweep_with_verifier
from harness.engine.executor import Executor, close_providers
from harness.engine.prepare import prepare
from harness.errors import ConfigError, CostEvalError
from harness.strategies.cache_verifier import (
    VERIFY_PURPOSE,
    FunctionVerifier,
    JudgeVerifier,
    parse_serve,
)
from harness.strategies.chain import build_chain
from harness.strategies.semantic_cache import SemanticCache, semantic_cache
from harness.types import Message, Request, Response, Usage
from tests.fakes import PLANTED_KEY, FakeLLMServer, Reply
from tests.helpers import REPO
from tests.unit.tiny_project import evaluate

pytest_plugins = ["tests.fakes.fixtures"]

JUDGE = "openai:gpt-4o-mini"
PRICES = PriceTable({JUDGE: Price(input=Decimal("1"), output=Decimal("2"))})
JUDGE_USAGE = {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}
JUDGE_CALL_USD = Decimal(100 * 1 + 10 * 2) / 1_000_000
"""What one judge call costs: 100 input tokens at $1/M, 10 output tokens at $2/M."""

_NUMBER = re.compile(r"\d+")


def same_numbers(new_question: str, stored_question: str, stored_answer: str) -> bool:
    """The test verifier: serve only when both questions hold the same numbers."""
    return sorted(_NUMBER.findall(new_question)) == sorted(_NUMBER.findall(stored_question))


def number_overlap(new_question: str, stored_question: str, stored_answer: str) -> float:
    """A scoring verifier: the share of the new question's numbers the stored one has."""
    new = _NUMBER.findall(new_question)
    return sum(n in stored_question for n in new) / len(new) if new else 1.0


async def async_same_numbers(new_question: str, stored_question: str, stored_answer: str) -> bool:
    """:func:`same_numbers`, as a coroutine."""
    return same_numbers(new_question, stored_question, stored_answer)


def broken(new_question: str, stored_question: str, stored_answer: str) -> bool:
    """A verifier that fails."""
    raise ValueError("verifier backend down")


def judge_reply(body: Any) -> Reply:
    """The fake judge: reads the verifier prompt, serves when the numbers agree."""
    prompt = body["messages"][-1]["content"]
    new = prompt.split("[New question]\n", 1)[1].split("\n\n", 1)[0]
    stored = prompt.split("[Stored question]\n", 1)[1].split("\n\n", 1)[0]
    serve = same_numbers(new, stored, "")
    text = json.dumps({"serve": serve, "reason": "numbers compared"})
    return Reply(
        patch={
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": JUDGE_USAGE,
        }
    )


# --- options -------------------------------------------------------------------------


def test_built_from_the_cache_options() -> None:
    build = semantic_cache()
    judged = build(
        {"threshold": 0.8, "verify": {"kind": "judge", "model": JUDGE, "max_tokens": 50}}, "cfg"
    )
    assert isinstance(judged.verifier, JudgeVerifier)
    assert (judged.verifier.model, judged.verifier.max_tokens) == (JUDGE, 50)
    assert judged.models == (JUDGE,)  # checked and priced before a run
    path = f"{__name__}:number_overlap"
    scored = build({"threshold": 0.8, "verify": {"kind": path, "threshold": 0.5}}, "cfg")
    assert isinstance(scored.verifier, FunctionVerifier)
    assert (scored.verifier.name, scored.verifier.threshold) == (path, 0.5)
    plain = build({"threshold": 0.8, "verify": f"{__name__}:same_numbers"}, "cfg")
    assert isinstance(plain.verifier, FunctionVerifier) and plain.models == ()
    assert build({"threshold": 0.8}, "cfg").verifier is None


@pytest.mark.parametrize(
    ("verify", "message"),
    [
        ({"kind": "judge"}, "the judge needs a 'model'"),
        ({"kind": "judge", "model": "sim:frontier"}, "simulated answering model"),
        ({"kind": "judge", "model": "nope:x"}, "nope"),
        ({"kind": "judge", "model": JUDGE, "temperature": 1}, "unknown key 'temperature'"),
        ({"kind": "judge", "model": JUDGE, "max_tokens": 0}, "'max_tokens' must be"),
        ({"kind": "cross-encoder"}, "no cross-encoder ships with the harness"),
        ({"kind": "llm"}, "unknown kind 'llm'"),
        ({"model": JUDGE}, "must be a table with a 'kind'"),
        ({"kind": "no_such_module_xyz:f"}, "cannot import module 'no_such_module_xyz'"),
        ({"kind": f"{__name__}:JUDGE"}, "is not callable"),
        ({"kind": f"{__name__}:same_numbers", "threshold": "high"}, "'threshold' must be"),
    ],
)
def test_bad_verify_options_are_located_config_errors(verify: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        semantic_cache()({"threshold": 0.8, "verify": verify}, "config 'c'.cache")
    assert "config 'c'.cache (semantic) 'verify'" in str(raised.value)


@pytest.mark.parametrize(
    ("text", "serve"),
    [
        ('{"serve": true, "reason": "same"}', True),
        ('```json\n{"serve": false}\n```', False),
        ('Sure. {"serve": "yes"} Done.', True),
        ("No", False),
        ("yes.", True),
    ],
)
def test_judge_replies_are_read(text: str, serve: bool) -> None:
    assert parse_serve(text) is serve


@pytest.mark.parametrize("text", ["maybe", '{"serve": "perhaps"}', "{not json}", '["serve"]'])
def test_unreadable_judge_replies_raise(text: str) -> None:
    with pytest.raises(ValueError):
        parse_serve(text)


# --- the cache at run time --------------------------------------------------------------


class Table:
    """An embedder reading unit vectors from a table."""

    name = "table"
    usage_tokens = 0

    def __init__(self, vectors: dict[str, Sequence[float]]) -> None:
        self.vectors = vectors

    async def embed(self, texts: Sequence[str]) -> Any:
        return np.array([self.vectors[t] for t in texts], dtype=np.float64)


# "Compute 3 + 4." and its near-miss "Compute 3 + 5." look alike to this embedder
# (0.9); the re-typed repeat is the same vector.
VECTORS = {
    "Compute 3 + 4.": [1.0, 0.0],
    "compute 3 + 4": [1.0, 0.0],
    "Compute 3 + 5.": [0.9, float(np.sqrt(1 - 0.81))],
}


class Model:
    """The rest of the chain: answers questions and counts what it is sent."""

    def __init__(self) -> None:
        self.seen: list[Request] = []

    async def __call__(self, request: Request) -> Response:
        self.seen.append(request)
        return Response(
            text=f"answer to {request.messages[-1].content}",
            model=request.model,
            usage=Usage(input_tokens=10, output_tokens=5),
            latency_ms=100.0,
        )


def ask(strategy: SemanticCache, questions: list[str], model: Any) -> list[Response]:
    async def go() -> list[Response]:
        return [
            await strategy(
                Request(
                    model="sim:frontier",
                    messages=(Message(role="user", content=q),),
                    case_id=f"c{i}",
                ),
                model,
            )
            for i, q in enumerate(questions)
        ]

    return asyncio.run(go())


def cache_with(verifier: Any) -> SemanticCache:
    return SemanticCache(
        embeddings=SharedEmbeddings(Table(VECTORS)), threshold=0.85, verifier=verifier
    )


@pytest.mark.parametrize("function", [same_numbers, async_same_numbers])
def test_a_rejected_candidate_falls_through_to_the_model(function: Any) -> None:
    strategy = cache_with(FunctionVerifier(function, path="tests:same_numbers"))
    model = Model()
    _, repeat, near = ask(strategy, ["Compute 3 + 4.", "compute 3 + 4", "Compute 3 + 5."], model)
    assert (repeat.cache_hit, repeat.text) == (True, "answer to Compute 3 + 4.")
    assert (near.cache_hit, near.text) == (False, "answer to Compute 3 + 5.")
    assert [r.messages[-1].content for r in model.seen] == ["Compute 3 + 4.", "Compute 3 + 5."]
    events = strategy.events
    assert [(e.hit, e.verify, e.candidate_case_id) for e in events] == [
        (False, None, None),
        (True, "accepted", "c0"),
        (False, "rejected", "c0"),
    ]
    # Without the verifier the near-miss is served the wrong answer.
    unchecked = ask(cache_with(None), ["Compute 3 + 4.", "Compute 3 + 5."], Model())
    assert unchecked[1].cache_hit and unchecked[1].text == "answer to Compute 3 + 4."


def test_a_rejected_question_becomes_an_entry() -> None:
    strategy = cache_with(FunctionVerifier(same_numbers, path="t"))
    model = Model()
    ask(strategy, ["Compute 3 + 4.", "Compute 3 + 5.", "Compute 3 + 5."], model)
    # The third is served the answer the second got from the model.
    assert [e.hit for e in strategy.events] == [False, False, True]
    assert strategy.events[2].matched_case_id == "c1"
    assert len(model.seen) == 2


def test_a_score_is_compared_with_the_threshold() -> None:
    low = cache_with(FunctionVerifier(number_overlap, path="t", threshold=0.9))
    high = cache_with(FunctionVerifier(number_overlap, path="t", threshold=0.5))
    # "Compute 3 + 5." shares one of its two numbers with "Compute 3 + 4.": 0.5.
    assert not ask(low, ["Compute 3 + 4.", "Compute 3 + 5."], Model())[1].cache_hit
    assert ask(high, ["Compute 3 + 4.", "Compute 3 + 5."], Model())[1].cache_hit


@pytest.mark.parametrize(
    ("verifier", "message"),
    [
        (
            FunctionVerifier(broken, path="myapp.verify:broken"),
            "semantic cache: verifier 'myapp.verify:broken' raised ValueError: verifier "
            "backend down",
        ),
        (
            FunctionVerifier(number_overlap, path="myapp.verify:score"),
            "returned the score 1.0 but the cache's verify table sets no 'threshold'",
        ),
        (
            FunctionVerifier(lambda *_: "yes", path="myapp.verify:text"),
            "verifier 'myapp.verify:text' returned 'yes'; it must return true/false",
        ),
    ],
)
def test_verifier_errors_are_error_rows_never_served(verifier: Any, message: str) -> None:
    strategy = cache_with(verifier)
    model = Model()
    first, repeat = ask(strategy, ["Compute 3 + 4.", "compute 3 + 4"], model)
    assert first.error is None
    assert repeat.error is not None and message in repeat.error
    assert (repeat.text, repeat.cache_hit) == ("", False)
    assert len(model.seen) == 1  # not sent on either: the error is the row
    assert strategy.events[1].verify == "error"


# --- the LLM judge over HTTP -------------------------------------------------------------


def executor_for(
    fake: FakeLLMServer, recorded: dict[str, Response] | None = None, mode: Any = "new"
) -> Executor:
    return Executor(
        recorded or {},
        record_mode=mode,
        provider_options={
            "openai": {"base_url": fake.openai_base_url, "api_key": PLANTED_KEY, "max_retries": 0}
        },
    )


def test_judge_calls_go_through_the_chain_and_are_stored(fake_llm: FakeLLMServer) -> None:
    fake_llm.respond("chat.completions", judge_reply)
    executor = executor_for(fake_llm)
    sent: list[Request] = []

    async def chain_rest(request: Request) -> Response:
        # What the chain does after the cache: the judge's requests go to the executor.
        sent.append(request)
        if request.purpose == VERIFY_PURPOSE:
            return await executor.send(request)
        return await Model()(request)

    def run_once() -> list[Response]:
        strategy = cache_with(JudgeVerifier(JUDGE))

        async def go() -> list[Response]:
            try:
                return [
                    await strategy(
                        Request(
                            model="sim:frontier",
                            messages=(Message(role="user", content=q),),
                            case_id=f"c{i}",
                        ),
                        chain_rest,
                    )
                    for i, q in enumerate(["Compute 3 + 4.", "compute 3 + 4", "Compute 3 + 5."])
                ]
            finally:
                await close_providers(executor)

        return asyncio.run(go())

    first = run_once()
    assert [r.cache_hit for r in first] == [False, True, False]
    verify = [r for r in sent if r.purpose == VERIFY_PURPOSE]
    assert [r.model for r in verify] == [JUDGE, JUDGE]
    assert fake_llm.stats.routes["chat.completions"] == 2
    assert "[Stored answer]\nanswer to Compute 3 + 4." in verify[0].messages[-1].content
    # Recorded: a rerun in record mode 'none' asks the judge nothing and decides the same.
    fake_llm.reset()
    executor = executor_for(fake_llm, dict(executor.recorded), mode="none")
    sent.clear()
    assert [r.cache_hit for r in run_once()] == [False, True, False]
    assert fake_llm.stats.total == 0


def test_a_failed_judge_call_is_an_error_naming_the_cache(fake_llm: FakeLLMServer) -> None:
    fake_llm.script("chat.completions", Reply(status=400, message="bad request"))
    executor = executor_for(fake_llm)
    strategy = cache_with(JudgeVerifier(JUDGE))

    async def go() -> list[Response]:
        async def rest(request: Request) -> Response:
            return await (
                executor.send(request) if request.purpose == VERIFY_PURPOSE else Model()(request)
            )

        try:
            return [
                await strategy(
                    Request(model="sim:frontier", messages=(Message(role="user", content=q),)),
                    rest,
                )
                for q in ["Compute 3 + 4.", "compute 3 + 4"]
            ]
        finally:
            await close_providers(executor)

    _, repeat = asyncio.run(go())
    assert repeat.error is not None
    assert repeat.error.startswith(f"semantic cache: verifier judge {JUDGE}: ")
    assert not repeat.cache_hit and repeat.text == ""


# --- the sweep with verification -----------------------------------------------------------


def synthetic_stream(seed: int = 1) -> tuple[Stream, Any]:
    """60 questions around 12 topics, a fifth with their own answer, then 40 repeats."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(12, 16))
    vectors = np.array([base[i % 12] + 0.6 * rng.normal(size=16) for i in range(60)])
    answers = [f"a{i % 12}" if i % 5 else f"x{i}" for i in range(60)]
    order = list(range(60)) + [int(x) for x in rng.integers(0, 60, 40)]
    queries = tuple(
        Query(case_id=f"c{r}", row=r, answer=answers[r], timestamp=float(k))
        for k, r in enumerate(order)
    )
    texts = tuple(f"question {i}" for i in range(60))
    return Stream(queries=queries, case_ids=tuple(f"c{i}" for i in range(60)), texts=texts), vectors


def noisy_verifier(new: str, stored: str, answer: str) -> bool:
    """Rejects about a third of the pairs, whatever they are (exercises every path)."""
    return sum(map(ord, new + "|" + stored)) % 3 != 0


def replay_with_verifier(
    stream: Stream, vectors: Any, threshold: float, verify: Any
) -> tuple[int, int, int]:
    """The cache's rules written out plainly: (hits, wrong hits, checks)."""
    unit = vectors / np.linalg.norm(vectors, axis=1)[:, None]
    entries: list[int] = []
    hits = wrong = checks = 0
    for i, q in enumerate(stream.queries):
        best, best_sim = -1, -2.0
        for j in entries:  # earliest first: a tie stays with the earlier entry
            sim = float(min(1.0, unit[stream.queries[j].row] @ unit[q.row]))
            if sim > best_sim:
                best, best_sim = j, sim
        if best >= 0 and best_sim >= threshold - 1e-6:
            checks += 1
            stored = stream.queries[best]
            if verify(stream.texts[q.row], stream.texts[stored.row], stored.answer):
                hits += 1
                wrong += stored.answer != q.answer
                continue
        entries.append(i)
    return hits, wrong, checks


def test_the_sweep_with_verification_equals_the_cache_rules() -> None:
    stream, vectors = synthetic_stream()
    asked: list[int] = []

    async def decide(pairs: Any) -> dict[Any, PairVerdict]:
        asked.append(len(pairs))
        return {
            p: PairVerdict(accepted=noisy_verifier(*p), cost_usd=Decimal("0.001")) for p in pairs
        }

    grid = [0.3, 0.5, 0.7, 0.9]
    verdicts = asyncio.run(sweep_verdicts(stream, vectors, decide, thresholds=grid, candidates=3))
    assert sum(asked) == len(verdicts)  # each pair asked once, over a few rounds
    sweep = sweep_cache_thresholds(
        stream, vectors, thresholds=grid, verdicts=verdicts, candidates=3, verifier="noisy"
    )
    for plain, checked, threshold in zip(sweep.points, sweep.verified, grid, strict=True):
        counts = checked.verifier
        assert counts is not None
        hits, wrong, checks = replay_with_verifier(stream, vectors, threshold, noisy_verifier)
        assert (checked.hits, checked.false_hits, counts.checks) == (hits, wrong, checks)
        assert counts.rejected == checks - hits
        assert counts.cost_usd == Decimal("0.001") * checks
        # A verifier that accepts everything changes nothing: the plain figures.
        assert (plain.hits, plain.false_hits) == replay_with_verifier(
            stream, vectors, threshold, lambda *_: True
        )[:2]
    # With verdicts missing, the sweep says so instead of guessing.
    with pytest.raises(CostEvalError, match="no verifier verdict"):
        sweep_cache_thresholds(stream, vectors, thresholds=grid, verdicts={})


def test_a_perfect_verifier_leaves_no_wrong_hit() -> None:
    stream, vectors = synthetic_stream(2)
    answer_of = {stream.texts[q.row]: q.answer for q in stream.queries}

    async def oracle(pairs: Any) -> dict[Any, PairVerdict]:
        return {p: PairVerdict(accepted=answer_of[p[0]] == p[2]) for p in pairs}

    verdicts = asyncio.run(sweep_verdicts(stream, vectors, oracle))
    sweep = sweep_cache_thresholds(stream, vectors, verdicts=verdicts)
    assert any(p.false_hits for p in sweep.points)
    assert all(p.false_hits == 0 for p in sweep.verified)
    for checked in sweep.verified:
        counts = checked.verifier
        assert counts is not None
        # Everything it turned away would have been wrong. (Correct hits can still
        # fall: a rejected near-miss becomes an entry, and a later query whose best
        # candidate it is gets a miss: only the best candidate is checked.)
        assert counts.rejected == counts.rejected_wrong


def test_the_judge_verifier_sweep_prices_each_pair_once(fake_llm: FakeLLMServer) -> None:
    fake_llm.respond("chat.completions", judge_reply)
    questions = ["Compute 3 + 4.", "compute 3 + 4", "Compute 3 + 5.", "Compute 3 + 5."]
    rows = {"Compute 3 + 4.": 0, "compute 3 + 4": 1, "Compute 3 + 5.": 2}
    stream = Stream(
        queries=tuple(
            Query(
                case_id=f"c{rows[q]}",
                row=rows[q],
                answer="7" if "4" in q else "8",
                timestamp=float(k),
            )
            for k, q in enumerate(questions)
        ),
        case_ids=("c0", "c1", "c2"),
        texts=("Compute 3 + 4.", "compute 3 + 4", "Compute 3 + 5."),
    )
    vectors = np.array([VECTORS[t] for t in stream.texts])
    executor = executor_for(fake_llm)

    async def go() -> Any:
        try:
            return await sweep_with_verifier(
                stream, vectors, JudgeVerifier(JUDGE), executor.send, PRICES, thresholds=[0.85]
            )
        finally:
            await close_providers(executor)

    sweep = asyncio.run(go())
    [plain], [checked] = sweep.points, sweep.verified
    # Without: the repeat hits, and both "3 + 5" hit "3 + 4" (two wrong hits).
    assert (plain.hits, plain.false_hits) == (3, 2)
    # With: the repeat hits; the first "3 + 5" is rejected and stored, the second hits it.
    assert (checked.hits, checked.false_hits, checked.correct_hits) == (2, 0, 2)
    counts = checked.verifier
    assert counts is not None
    assert (counts.checks, counts.rejected, counts.rejected_wrong) == (3, 1, 1)
    # Three distinct pairs, one judge call each, priced at the judge's rates per check.
    assert sweep.verified_pairs == 3 == fake_llm.stats.routes["chat.completions"]
    assert counts.cost_usd == 3 * JUDGE_CALL_USD
    assert checked.net_saved_usd == -3 * JUDGE_CALL_USD  # no model cost known to save here


# --- harness cache --verify ----------------------------------------------------------------


class NumberBlind:
    """A test embedder that sees words but not numbers: every "Compute a + b." looks alike."""

    name = "number-blind"
    usage_tokens = 0

    async def embed(self, texts: Sequence[str]) -> Any:
        rows = []
        for text in texts:
            row = np.zeros(16)
            for word in re.findall(r"[a-z]+", text.lower()):
                row[sum(map(ord, word)) % 16] += 1.0
            rows.append(row)
        return np.array(rows)


def number_blind(options: Any, where: str) -> NumberBlind:
    """The ``--embedder`` factory of :class:`NumberBlind`."""
    return NumberBlind()


CLI_PROJECT = """\
[tool.cost-eval]
baseline = "sim:frontier"

[tool.cost-eval.providers.openai]
base_url = "{openai}"
max_retries = 0

[tool.cost-eval.prices."sim:frontier"]
input = 5.0
output = 15.0

[tool.cost-eval.prices."openai:gpt-4o-mini"]
input = 1.0
output = 2.0
"""

CALC = """\
suite: calc
version: 1
scorer: numeric
reference: golden
cases:
  - {id: c1, prompt: "Compute 3 + 4."}
  - {id: c2, prompt: "Compute 6 * 7."}
  - {id: c3, prompt: "compute 3 + 4"}
  - {id: c4, prompt: "Compute 3 + 5."}
  - {id: c5, prompt: "Compute  6 * 7."}
  - {id: c6, prompt: "Compute 6 * 8."}
"""


@pytest.fixture
def calc_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_llm: FakeLLMServer) -> Path:
    (tmp_path / "pyproject.toml").write_text(CLI_PROJECT.format(openai=fake_llm.openai_base_url))
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "calc.yaml").write_text(CALC)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    monkeypatch.delenv("CI", raising=False)
    settings = load_settings(tmp_path)
    evaluate(
        replace(settings, configs=(ConfigSpec(name="f", family="f", model="sim:frontier"),)),
        update_goldens="new",
    )
    return tmp_path


def cache_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert (
        main(
            ["cache", "--suite", "calc", "--embedder", f"{__name__}:number_blind", "--json", *args]
        )
        == 0
    )
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def at(points: list[dict[str, Any]], threshold: float) -> dict[str, Any]:
    return next(p for p in points if abs(p["threshold"] - threshold) < 1e-9)


# To the number-blind embedder all six questions are one: without a verifier c2..c6
# all hit c1, and four of those five hits are wrong. With the verifier, c3 (the
# re-typed c1) is served; c2, c4, c5 and c6 are turned away and answered by the model.
WITHOUT = {"hits": 5, "correct_hits": 1, "false_hits": 4}
WITH = {"hits": 1, "correct_hits": 1, "false_hits": 0}
CHECKS = {"checks": 5, "rejected": 4, "rejected_wrong": 4, "rejected_correct": 0, "errors": 0}


def test_cache_command_with_a_function_verifier(
    calc_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cache_json(capsys, "--verify", f"{__name__}:same_numbers")
    assert result["verifier"] == f"{__name__}:same_numbers"
    assert result["verified_pairs"] == 5 and result["verifier_error"] is None
    plain, checked = at(result["points"], 0.5), at(result["verified_points"], 0.5)
    assert {k: plain[k] for k in WITHOUT} == WITHOUT
    assert {k: checked[k] for k in WITH} == WITH
    assert {k: checked["verifier"][k] for k in CHECKS} == CHECKS
    assert checked["verifier"]["cost_usd"] == "0"  # a function costs nothing
    # The text output puts both side by side.
    assert main(["cache", "--suite", "calc", "--embedder", f"{__name__}:number_blind",
                 "--verify", f"{__name__}:same_numbers"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "with verifier tests.unit.test_cache_verifier:same_numbers" in out
    row = next(line for line in out.splitlines() if line.strip().startswith("0.50") and "|" in line)
    # Exact upper 95 % bounds: 4 wrong of 5 -> 0.975 ** (1 / 5) = 99.49 %; 0 of 1 -> 97.50 %.
    assert row.split() == ["0.50", "5", "4", "99.49", "|", "1", "0", "97.50", "4", "0", "0", "$0"]
    assert "the verifier decided 5 distinct (query, candidate) pairs, each once" in out


def test_cache_command_with_the_judge_verifier(
    calc_project: Path, capsys: pytest.CaptureFixture[str], fake_llm: FakeLLMServer
) -> None:
    fake_llm.respond("chat.completions", judge_reply)
    spec = json.dumps({"kind": "judge", "model": JUDGE})
    result = cache_json(capsys, "--verify", spec)
    assert result["verifier"] == f"judge {JUDGE}"
    # Each distinct (query, candidate) pair asked once, whatever the thresholds.
    assert result["verified_pairs"] == 5 == fake_llm.stats.routes["chat.completions"]
    plain, checked = at(result["points"], 0.5), at(result["verified_points"], 0.5)
    assert {k: plain[k] for k in WITHOUT} == WITHOUT
    assert {k: checked[k] for k in WITH} == WITH
    assert {k: checked["verifier"][k] for k in CHECKS} == CHECKS
    # Five checks at the judge's price, at every threshold (each is one paid call).
    assert Decimal(checked["verifier"]["cost_usd"]) == 5 * JUDGE_CALL_USD
    assert "cost_usd" not in plain.get("verifier", {})  # without: no verifier, no cost
    # The verdicts are in the project's response store: a rerun in CI asks nothing.
    fake_llm.reset()
    again = cache_json(capsys, "--verify", spec, "--record-mode", "none")
    assert fake_llm.stats.total == 0
    assert again["verified_points"] == result["verified_points"]


def test_an_unrecorded_judge_in_record_mode_none_fails_every_check_visibly(
    calc_project: Path, capsys: pytest.CaptureFixture[str], fake_llm: FakeLLMServer
) -> None:
    spec = json.dumps({"kind": "judge", "model": JUDGE})
    result = cache_json(capsys, "--verify", spec, "--record-mode", "none")
    assert fake_llm.stats.total == 0
    checked = at(result["verified_points"], 0.5)
    assert checked["hits"] == 0  # nothing unchecked is served
    assert checked["verifier"]["errors"] == 5
    assert "not recorded" in result["verifier_error"]
    assert "5 of 5 checks failed; they count as rejected" in result["verifier_error"]


@pytest.mark.parametrize(
    ("verify", "message"),
    [
        ("nomodule_xyz:f", "harness cache: --verify: cannot import module 'nomodule_xyz'"),
        ('{"kind": "judge"', "--verify is not valid JSON"),
        ('{"kind": "judge", "model": "openai:gpt-9"}', "openai:gpt-9"),
        ('{"kind": "cross-encoder"}', "no cross-encoder ships with the harness"),
    ],
)
def test_a_bad_verify_is_one_line_and_exit_2(
    calc_project: Path, capsys: pytest.CaptureFixture[str], verify: str, message: str
) -> None:
    assert main(["cache", "--suite", "calc", "--verify", verify]) == 2
    err = capsys.readouterr().err
    # One prefix: "harness:", or the command's own ("harness cache: ...").
    assert err.startswith(("harness: ", "harness cache: ")) and message in err
    assert "harness: harness" not in err
    assert "Traceback" not in err


# --- the documented examples -----------------------------------------------------------


@pytest.mark.parametrize("doc", ["README.md", "docs/caching.md"])
def test_the_documented_verify_example_is_a_working_configuration(doc: str) -> None:
    text = (REPO / doc).read_text()
    blocks = [b for b in re.findall(r"```toml\n(.*?)```", text, re.S) if "verify = {" in b]
    assert blocks, f"{doc} has no TOML example with verify"
    for block in blocks:
        table = {"baseline": "openai:gpt-4o", **tomllib.loads(block)["tool"]["cost-eval"]}
        plan = prepare(parse_settings(table, root=REPO, source=doc))  # models and prices checked
        for spec in plan.configs.values():
            [strategy] = [
                s for s in build_chain(spec, where=doc).strategies if s.name == "semantic"
            ]
            assert isinstance(strategy, SemanticCache)
            assert isinstance(strategy.verifier, JudgeVerifier)
            assert strategy.verifier.model == JUDGE


def test_the_example_verifiers_in_the_docs() -> None:
    path = REPO / "docs" / "examples" / "cache_verifiers.py"
    spec = importlib.util.spec_from_file_location("cache_verifiers_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # The near-miss the docs quote passes a word-level check: "where"/"when" are function words.
    assert module.same_content_words(
        "Where was the wheel invented?", "When was the wheel invented?", ""
    )
    assert not module.same_content_words(
        "How do I lose weight fast?", "How do I gain weight fast?", ""
    )
    assert (
        module.content_overlap("How do I lose weight fast?", "How do I gain weight fast?", "")
        == 0.5
    )
