"""The ``judge`` scorer: pairwise verdicts in both orders, malformed replies, noise.

The ``openai:`` judge runs through the real SDK over HTTP to the fake server,
behind a real :class:`~harness.engine.executor.Executor` (so dedupe, the store and the
record modes apply); the fake's chat route is scripted with JSON verdicts. The
``heuristic`` judge runs offline.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from harness.config.prices import PriceTable
from harness.config.record_mode import RecordMode
from harness.config.settings import Price
from harness.engine.executor import Executor, close_providers
from harness.errors import ConfigError, CostEvalError
from harness.scoring import JudgeScorer, Scorer, build_scorer, scorers
from harness.scoring.judge import (
    HEURISTIC,
    JUDGE_PURPOSE,
    MAX_TOKENS,
    JudgeItem,
    JudgeScore,
    MalformedVerdict,
    case_question,
    heuristic_verdict,
    judge_suite,
    parse_verdict,
)
from harness.scoring.judge_bias import measure_consistency, position_problem, tie_warning
from harness.types import Case, Message, Request, Response, Usage
from tests.fakes import PLANTED_KEY, FakeLLMServer, Reply

pytest_plugins = ["tests.fakes.fixtures"]

T = TypeVar("T")

QUESTION = "Compute (8 + 1) * 3 - 4."
GOLDEN = "Working through it step by step: 8 + 1 = 9; 9 * 3 = 27; 27 - 4 = 23. The answer is 23."
CANDIDATE = "The answer is 23."
WRONG = "The answer is 29."
WHERE = "suites/faq.yaml: scorer"
PRICES = PriceTable({"openai:gpt-4o": Price(input=Decimal("2.5"), output=Decimal("10"))})


def verdict(winner: str, rationale: str = "because") -> Reply:
    """A chat completion whose text is a JSON verdict."""
    return text_reply(json.dumps({"winner": winner, "rationale": rationale}))


def text_reply(text: str) -> Reply:
    return Reply(
        patch={
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ]
        }
    )


class Counted:
    """An executor's send that counts the requests it is given."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.requests: list[Request] = []

    async def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        return await self.executor.send(request)


def executor_for(
    fake: FakeLLMServer,
    recorded: dict[str, Response] | None = None,
    record_mode: RecordMode = "new",
) -> Executor:
    return Executor(
        recorded or {},
        record_mode=record_mode,
        provider_options={
            "openai": {"base_url": fake.openai_base_url, "api_key": PLANTED_KEY, "max_retries": 0}
        },
    )


def run(executor: Executor, use: Callable[[], Awaitable[T]]) -> T:
    async def go() -> T:
        try:
            return await use()
        finally:
            await close_providers(executor)

    return asyncio.run(go())


def openai_judge(**options: Any) -> JudgeScorer:
    return JudgeScorer(model="openai:gpt-4o", **options)


def user_prompts(fake: FakeLLMServer) -> list[str]:
    return [body["messages"][-1]["content"] for body in fake.stats.bodies["chat.completions"]]


# --- registry and options -----------------------------------------------------------


def test_registered_and_built_from_a_suite_spec() -> None:
    assert "judge" in scorers.names()
    scorer = build_scorer(
        {"name": "judge", "model": "openai:gpt-4o", "repeats": 2, "sample": 0.5}, where=WHERE
    )
    assert isinstance(scorer, JudgeScorer) and isinstance(scorer, Scorer)
    assert (scorer.model, scorer.repeats, scorer.sample, scorer.position_swap) == (
        "openai:gpt-4o",
        2,
        0.5,
        True,
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "needs a 'model'"),
        ({"model": "sim:frontier"}, "cannot read a judge prompt"),
        ({"model": "gpt-4o"}, "Unknown provider"),
        ({"model": "heuristic", "repeats": -1}, "'repeats' must be an integer >= 0"),
        ({"model": "heuristic", "repeats": True}, "'repeats' must be an integer >= 0"),
        ({"model": "heuristic", "sample": 0}, "'sample' must be a number in (0, 1]"),
        ({"model": "heuristic", "sample": 1.5}, "'sample' must be a number in (0, 1]"),
        ({"model": "heuristic", "position_swap": "yes"}, "'position_swap' must be true or false"),
        ({"model": "heuristic", "criteria": ""}, "'criteria' must be a non-empty string"),
        ({"model": "heuristic", "max_tokens": 8}, "'max_tokens' must be an integer >= 16"),
        ({"model": "heuristic", "repeat": 1}, "Did you mean 'repeats'?"),
        (
            {"model": "heuristic", "min_consistency": 1.5},
            "'min_consistency' must be a number in [0, 1]",
        ),
        ({"model": "heuristic", "calibrate": "yes"}, "'calibrate' must be true or false"),
    ],
)
def test_bad_options_are_config_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_scorer({"name": "judge", **options}, where=WHERE)
    assert str(info.value).startswith(f"{WHERE}: ")
    assert message in str(info.value)


def test_position_consistency_counts_agreement_from_the_candidates_side() -> None:
    measured = measure_consistency(
        [("A", "B"), ("B", "A"), ("tie", "tie"), ("A", "A"), ("B", "B"), ("A", "tie"), ("A",), ()]
    )
    # One-order and unjudged cases are left out; (A, B), (B, A), (tie, tie) agree.
    assert (measured.compared, measured.consistent) == (6, 3)
    assert (measured.first, measured.second, measured.ties) == (1, 1, 1)
    assert measured.consistency == 0.5 and measured.first_share == pytest.approx(1 / 6)
    assert position_problem(measured, model="m", minimum=0.5) is None
    problem = position_problem(measured, model="m", minimum=0.8)
    assert problem is not None and problem.startswith("judge 'm' is position-biased")
    assert "agree on only 50% of 6 case(s) (min_consistency 0.8)" in problem
    assert measure_consistency([]).consistency is None
    # Ties everywhere: consistent, but said once there are enough differing answers.
    assert tie_warning(measure_consistency([("tie", "tie")] * 4), model="m") is None
    assert "all 5 differing answers a tie" in str(
        tie_warning(measure_consistency([("tie", "tie")] * 5), model="m")
    )


def test_sync_score_explains_the_judge_is_asynchronous() -> None:
    with pytest.raises(CostEvalError, match="asynchronously") as info:
        JudgeScorer(model=HEURISTIC).score("a", "b")
    assert "judge_case" in str(info.value)


def test_request_shape_openai_has_seed_anthropic_not() -> None:
    request = openai_judge(seed=7).request(case_id="c-1", question=QUESTION, a="x", b="y")
    assert dict(request.params) == {"temperature": 0, "max_tokens": MAX_TOKENS, "seed": 7}
    assert request.purpose == JUDGE_PURPOSE and request.case_id == "c-1"
    assert [m.role for m in request.messages] == ["system", "user"]
    assert '{"winner": "A" | "B" | "tie"' in request.messages[0].content
    claude = JudgeScorer(model="anthropic:claude-sonnet-4-5")
    assert "seed" not in dict(claude.request(case_id="c", question="q", a="x", b="y").params)
    # A replayed OpenAI judge sends what the recorded one sent: same hash behind "replay:".
    replayed = JudgeScorer(model="replay:openai:gpt-4o")
    assert dict(replayed.request(case_id="c", question="q", a="x", b="y").params)["seed"] == 0


def test_nonce_makes_a_distinct_request() -> None:
    judge = openai_judge()
    first = judge.request(case_id="c", question=QUESTION, a="x", b="y")
    again = judge.request(case_id="c", question=QUESTION, a="x", b="y")
    repeat = judge.request(case_id="c", question=QUESTION, a="x", b="y", nonce=1)
    assert first.hash() == again.hash() != repeat.hash()
    assert "(Evaluation 1.)" in repeat.messages[-1].content


def test_case_question_includes_context_and_history() -> None:
    case = Case(
        id="c",
        suite="s",
        prompt="What is the refund window?",
        system="Be brief.",
        context=("Refunds within 30 days.", "Shipping is free."),
        history=(Message(role="user", content="Hi"), Message(role="assistant", content="Hello")),
    )
    text = case_question(case)
    assert "[1] Refunds within 30 days." in text and "[2] Shipping is free." in text
    assert "user: Hi\nassistant: Hello" in text
    assert text.endswith("Question: What is the refund window?")
    assert "Be brief." not in text
    assert case_question(Case(id="c", suite="s", prompt="Hi?")) == "Hi?"


# --- verdict parsing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "winner", "rationale"),
    [
        ('{"winner": "A", "rationale": "more precise"}', "A", "more precise"),
        ('```json\n{"winner": "b", "rationale": "x"}\n```', "B", "x"),
        ('Verdict: {"winner": "Tie"} -- done', "tie", ""),
        ('{"winner": " TIE ", "rationale": "same"}', "tie", "same"),
    ],
)
def test_parse_verdict(text: str, winner: str, rationale: str) -> None:
    parsed = parse_verdict(text)
    assert (parsed.winner, parsed.rationale) == (winner, rationale)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("A is better.", "no JSON object"),
        ('{"winner": "A",}', "not valid JSON"),
        ('{"rationale": "no winner"}', '"winner" must be'),
        ('{"winner": "C"}', '"winner" must be'),
        ('{"winner": 1}', '"winner" must be'),
    ],
)
def test_parse_verdict_rejects(text: str, problem: str) -> None:
    with pytest.raises(MalformedVerdict, match=problem):
        parse_verdict(text)


# --- the openai judge over HTTP -----------------------------------------------------


def judge_once(
    fake: FakeLLMServer,
    judge: JudgeScorer,
    *,
    output: str = CANDIDATE,
    executor: Executor | None = None,
    expected: str | None = None,
) -> tuple[Any, Counted]:
    executor = executor or executor_for(fake)
    send = Counted(executor)

    async def use() -> Any:
        return await judge.judge_case(
            question=QUESTION,
            output=output,
            golden=GOLDEN,
            send=send,
            case_id="m-05",
            expected=expected,
        )

    return run(executor, use), send


@pytest.mark.parametrize(
    ("first", "second", "value"),
    [
        ("tie", "tie", 1.0),
        ("A", "B", 1.0),  # the candidate wins both orders
        ("A", "tie", 1.0),  # wins once, ties once: the orders disagree, a tie
        ("B", "A", 0.0),  # the golden wins both orders
        # The orders disagree (position bias): no evidence either way, a tie.
        ("A", "A", 1.0),  # the first answer always wins
        ("B", "B", 1.0),
        ("tie", "A", 1.0),  # the golden as A wins once, a tie once
    ],
)
def test_both_orders_are_asked_and_combined(
    fake_llm: FakeLLMServer, first: str, second: str, value: float
) -> None:
    fake_llm.script("chat.completions", verdict(first, "r1"), verdict(second, "r2"))
    judged, send = judge_once(fake_llm, openai_judge())
    assert judged.error is None
    assert judged.value == value
    assert judged.verdicts == (first, second)
    assert len(send.requests) == 2 and fake_llm.stats["chat.completions"] == 2
    assert all(r.purpose == "judge" and r.case_id == "m-05" for r in send.requests)
    # Candidate as A first, then the golden as A.
    a_first, b_first = user_prompts(fake_llm)
    assert a_first.index(CANDIDATE) < a_first.index(GOLDEN)
    assert b_first.index(GOLDEN) < b_first.index(CANDIDATE)
    assert "[candidate as A] winner" in judged.score.rationale
    assert "r1" in judged.score.rationale and "r2" in judged.score.rationale
    # Read from the candidate's side the orders agree only for (tie, tie), (A, B), (B, A).
    disagree = (first, second) in {("A", "tie"), ("A", "A"), ("B", "B"), ("tie", "A")}
    assert ("position bias" in judged.score.rationale) == disagree


def test_seed_temperature_and_max_tokens_are_sent(fake_llm: FakeLLMServer) -> None:
    fake_llm.script("chat.completions", verdict("tie"), verdict("tie"))
    judge_once(fake_llm, openai_judge(seed=1234, max_tokens=300))
    bodies = fake_llm.stats.bodies["chat.completions"]
    assert len(bodies) == 2
    for body in bodies:
        assert body["model"] == "gpt-4o"
        assert body["temperature"] == 0
        assert body["seed"] == 1234
        assert body["max_completion_tokens"] == 300
        assert body["messages"][0]["role"] == "system"


def test_without_position_swap_one_order(fake_llm: FakeLLMServer) -> None:
    fake_llm.script("chat.completions", verdict("B"))
    judged, send = judge_once(fake_llm, openai_judge(position_swap=False))
    assert (judged.value, judged.verdicts, len(send.requests)) == (0.0, ("B",), 1)


def test_expected_answer_is_shown_to_the_judge(fake_llm: FakeLLMServer) -> None:
    fake_llm.script("chat.completions", verdict("tie"), verdict("tie"))
    judge_once(fake_llm, openai_judge(), expected="23")
    assert all("[Expected answer, known to be correct]\n23" in p for p in user_prompts(fake_llm))


def test_identical_output_is_not_sent(fake_llm: FakeLLMServer) -> None:
    judged, send = judge_once(fake_llm, openai_judge(), output=f"  {GOLDEN}\n")
    assert judged.value == 1.0 and judged.calls == () and send.requests == []
    assert fake_llm.stats.total == 0


def test_malformed_verdict_is_asked_again_once(fake_llm: FakeLLMServer) -> None:
    fake_llm.script(
        "chat.completions", text_reply("Answer A is better."), verdict("A"), verdict("B")
    )
    judged, send = judge_once(fake_llm, openai_judge())
    assert judged.error is None and judged.value == 1.0
    assert len(send.requests) == 3 and len(judged.calls) == 3
    retry = fake_llm.stats.bodies["chat.completions"][1]["messages"]
    assert [m["role"] for m in retry] == ["system", "user", "assistant", "user"]
    assert retry[2]["content"] == "Answer A is better."
    assert "could not be read" in retry[3]["content"] and "no JSON object" in retry[3]["content"]
    assert retry[3]["content"].count("winner") == 2


def test_malformed_twice_is_an_error_not_a_wrong_answer(fake_llm: FakeLLMServer) -> None:
    fake_llm.script("chat.completions", text_reply("A"), text_reply('{"winner": "maybe"}'))
    judged, send = judge_once(fake_llm, openai_judge())
    assert judged.score is None and judged.value is None
    assert judged.error is not None and "no readable verdict, twice" in judged.error
    assert "'maybe'" in judged.error
    # The second order is not asked once the first failed; the calls made still count.
    assert len(send.requests) == 2 and len(judged.calls) == 2
    assert judged.usage.input_tokens > 0
    assert judged.cost(PRICES) > 0


def test_failed_call_is_an_error(fake_llm: FakeLLMServer) -> None:
    fake_llm.script("chat.completions", Reply(status=400, message="bad judge request"))
    judged, _ = judge_once(fake_llm, openai_judge())
    assert judged.score is None
    assert judged.error is not None and judged.error.startswith("judge call failed:")
    assert "bad judge request" in judged.error
    assert PLANTED_KEY not in judged.error


def test_judge_calls_are_deduped_stored_and_replayed(fake_llm: FakeLLMServer) -> None:
    fake_llm.script("chat.completions", verdict("A"), verdict("A"))
    executor = executor_for(fake_llm)
    first, _ = judge_once(fake_llm, openai_judge(), executor=executor)
    assert fake_llm.stats.total == 2
    assert {r.purpose for r, _ in executor.new_responses.values()} == {"judge"}
    # Same executor: answered from what it recorded, no new HTTP request.
    again, send = judge_once(fake_llm, openai_judge(), executor=executor)
    assert (again.value, len(send.requests), fake_llm.stats.total) == (first.value, 2, 2)
    # A later run in record mode "none", from the store: zero requests, same verdict.
    stored = {key: response for key, (_, response) in executor.new_responses.items()}
    replay = executor_for(fake_llm, recorded=stored, record_mode="none")
    replayed, _ = judge_once(fake_llm, openai_judge(), executor=replay)
    assert fake_llm.stats.total == 2
    assert replayed.score == first.score and replayed.value == 1.0
    # A judge request nobody recorded is an error row in record mode "none".
    missing, _ = judge_once(
        fake_llm,
        openai_judge(),
        output=WRONG,
        executor=executor_for(fake_llm, recorded=stored, record_mode="none"),
    )
    assert fake_llm.stats.total == 2
    assert missing.score is None and missing.error is not None and "not recorded" in missing.error


def test_cost_is_priced_from_usage(fake_llm: FakeLLMServer) -> None:
    fake_llm.script("chat.completions", verdict("tie"), verdict("tie"))
    judged, _ = judge_once(fake_llm, openai_judge())
    usage = judged.usage
    assert usage.input_tokens > 0 and usage.output_tokens > 0
    expected = (usage.input_tokens * Decimal("2.5") + usage.output_tokens * Decimal(10)) / (
        Decimal(1_000_000)
    )
    assert judged.cost(PRICES) == expected


# --- the heuristic judge (offline simulation) ---------------------------------------


async def _never(request: Request) -> Response:
    raise AssertionError(f"the heuristic judge must not send {request!r}")


def heuristic(output: str, golden: str = GOLDEN, **kwargs: Any) -> Any:
    judge = JudgeScorer(model=HEURISTIC)
    return asyncio.run(
        judge.judge_case(question=QUESTION, output=output, golden=golden, send=_never, **kwargs)
    )


def test_heuristic_agreeing_answers_tie() -> None:
    judged = heuristic(CANDIDATE)
    assert judged.value == 1.0 and judged.verdicts == ("tie", "tie")
    assert "both answers give 23" in judged.score.rationale
    assert judged.usage == Usage() and judged.cost(PriceTable({})) == 0


def test_heuristic_wrong_number_loses_both_orders() -> None:
    # The golden works through the question's numbers: it engages with the question.
    judged = heuristic(WRONG)
    assert judged.value == 0.0 and judged.verdicts == ("B", "A")
    # With the expected answer, the rule is the expected answer.
    assert heuristic(WRONG, expected="23").value == 0.0
    assert heuristic("The answer is 23.", golden="The answer is 22.", expected="23").value == 1.0


def test_heuristic_close_calls_can_follow_the_position() -> None:
    golden = "Shipping to Canada takes 5 to 8 business days."
    outputs = [f"Our parcels reach customers soon, option {i}." for i in range(40)]
    values = {heuristic(o, golden=golden).value for o in outputs}
    assert values == {0.0, 1.0}  # hash-decided close calls: both outcomes occur
    # ... some by following the position (scored as a tie).
    rationales = [heuristic(o, golden=golden).score.rationale for o in outputs]
    assert any("position bias" in r for r in rationales)
    # ... and deterministically so.
    again = [heuristic(o, golden=golden).value for o in outputs]
    assert again == [heuristic(o, golden=golden).value for o in outputs]


def test_heuristic_verdict_rules() -> None:
    assert heuristic_verdict("q", "It is 5.", "The value is 5.0", None, "s")[0] == "tie"
    assert heuristic_verdict("q", "red apples", "red apples here", None, "s")[0] == "tie"
    winner, why = heuristic_verdict("q", "about 7", "it is 8", "8", "s")
    assert winner == "B" and "expected 8" in why


# --- noise ----------------------------------------------------------------------------


def items(n: int = 20) -> list[JudgeItem]:
    return [
        JudgeItem(
            case_id=f"c-{i:02d}",
            question=f"Question {i} about shipping?",
            output=f"Candidate answer number {i}.",
            golden=f"Golden answer {i}, quite different.",
        )
        for i in range(n)
    ]


class ScriptedJudge:
    """A local send: the verdict depends on the case and the nonce; counts requests."""

    def __init__(self, flaky: Sequence[str]) -> None:
        self.flaky = set(flaky)
        self.requests: list[Request] = []

    async def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        content = request.messages[-1].content
        winner = "tie"
        if request.case_id in self.flaky and "(Evaluation" in content:
            winner = "B" if "[Answer A]\nCandidate" in content else "A"  # the golden wins
        text = json.dumps({"winner": winner, "rationale": "scripted"})
        return Response(
            text=text, model=request.model, usage=Usage(input_tokens=100, output_tokens=10)
        )


def test_noise_sample_is_seeded_and_order_free() -> None:
    judge = JudgeScorer(model=HEURISTIC, repeats=1, sample=0.25)
    ids = [f"c-{i:02d}" for i in range(20)]
    sample = judge.noise_sample(ids, seed=1)
    assert len(sample) == 5 and list(sample) == [c for c in ids if c in sample]
    assert judge.noise_sample(list(reversed(ids)), seed=1) == tuple(reversed(sample))
    assert judge.noise_sample(ids, seed=1) == sample
    assert judge.noise_sample(ids, seed=2) != sample
    assert JudgeScorer(model=HEURISTIC, sample=0.01).noise_sample(ids, seed=1) != ()


def test_measure_noise_flip_rate_through_send() -> None:
    judge = JudgeScorer(model="openai:gpt-4o", repeats=2, sample=0.5)
    cases = items(20)
    sample = judge.noise_sample([c.case_id for c in cases], seed=42)
    flaky = sample[:2]  # these flip on every repeat
    send = ScriptedJudge(flaky)
    noise = asyncio.run(judge.measure_noise(cases, send, seed=42))
    assert noise is not None
    assert noise.sampled == sample and len(sample) == 10
    # 10 cases x (first + 2 repeats) x 2 orders, every one through `send`.
    assert len(send.requests) == 10 * 3 * 2
    assert len({r.hash() for r in send.requests}) == 60  # nonces: nothing deduped
    assert noise.pairs == 20 and noise.flipped == flaky
    assert noise.flip_rate == pytest.approx(4 / 20)
    assert noise.noise == pytest.approx(0.2)  # every case needed the judge
    assert noise.judged_share == 1.0 and noise.errors == 0
    assert len(noise.calls) == 10 * 2 * 2  # the repeats only
    # Same inputs and seed: the same measurement.
    again = asyncio.run(judge.measure_noise(cases, ScriptedJudge(flaky), seed=42))
    assert again == noise


def test_measure_noise_reuses_first_judgements_and_scales_by_judged_share() -> None:
    judge = JudgeScorer(model="openai:gpt-4o", repeats=1, sample=1.0)
    cases = items(4)
    # Two more cases whose output is the golden: never judged, never flip.
    cases += [
        JudgeItem(case_id=f"same-{i}", question="q", output="x", golden="x") for i in range(2)
    ]
    send = ScriptedJudge(["c-00"])
    first = asyncio.run(judge_suite(judge, cases, send, seed=3))
    assert set(first.scores) == {c.case_id for c in cases}
    assert first.noise is not None
    # 4 judged cases x 2 orders for the scores, then 4 x 1 repeat x 2 orders: no re-asking.
    assert len(send.requests) == 8 + 8
    assert first.noise.flip_rate == pytest.approx(1 / 4)
    assert first.noise.judged_share == pytest.approx(4 / 6)
    assert first.noise.noise == pytest.approx(1 / 4 * 4 / 6)
    costs = PriceTable({"openai:gpt-4o": Price(input=Decimal(1), output=Decimal(1))})
    assert first.eval_cost(costs) == Decimal(16 * 110) / Decimal(1_000_000)


def test_measure_noise_not_measured() -> None:
    send = ScriptedJudge([])
    assert asyncio.run(JudgeScorer(model=HEURISTIC).measure_noise(items(), send, seed=1)) is None
    same = [JudgeItem(case_id="a", question="q", output="x", golden="x")]
    judge = JudgeScorer(model=HEURISTIC, repeats=3)
    assert asyncio.run(judge.measure_noise(same, send, seed=1)) is None


def test_measure_noise_errors_are_left_out() -> None:
    async def failing(request: Request) -> Response:
        return Response(text="", model=request.model, error="boom")

    judge = JudgeScorer(model="openai:gpt-4o", repeats=2, sample=0.2)
    noise = asyncio.run(judge.measure_noise(items(10), failing, seed=1))
    assert noise is not None
    assert (noise.flip_rate, noise.noise, noise.pairs, noise.errors) == (None, None, 0, 4)


def test_heuristic_noise_is_deterministic_and_measurable() -> None:
    judge = JudgeScorer(model=HEURISTIC, repeats=3, sample=1.0)
    cases = [
        JudgeItem(
            case_id=f"c-{i}",
            question="When will my order arrive?",
            output=f"Our parcels reach customers soon, option {i}.",
            golden="Shipping to Canada takes 5 to 8 business days.",
        )
        for i in range(30)
    ]
    first = asyncio.run(judge.measure_noise(cases, _never, seed=9))
    second = asyncio.run(judge.measure_noise(cases, _never, seed=9))
    assert first == second and first is not None
    assert first.flip_rate is not None and 0.0 < first.flip_rate < 1.0
    assert first.calls and all(r.purpose == "judge" for r, _ in first.calls)


def test_noise_over_http_sends_distinct_requests(fake_llm: FakeLLMServer) -> None:
    fake_llm.script("chat.completions", *[verdict("tie") for _ in range(2 * 3)])
    judge = openai_judge(repeats=2, sample=0.5)
    executor = executor_for(fake_llm)
    send = Counted(executor)
    cases = items(2)

    async def use() -> Any:
        return await judge.measure_noise(cases, send, seed=5)

    noise = run(executor, use)
    assert noise is not None and noise.sampled and len(noise.sampled) == 1
    assert fake_llm.stats["chat.completions"] == 6 == len(send.requests)
    assert noise.flip_rate == 0.0 and noise.noise == 0.0
    bodies = fake_llm.stats.bodies["chat.completions"]
    assert {b["messages"][-1]["content"].count("(Evaluation") for b in bodies} == {0, 1}


def test_measure_noise_skips_cases_the_judge_could_not_judge() -> None:
    judge = JudgeScorer(model="openai:gpt-4o", repeats=1, sample=1.0)
    cases = items(3)
    first = {
        "c-00": JudgeScore(case_id="c-00", score=None, error="judge call failed: boom"),
    }
    send = ScriptedJudge([])
    noise = asyncio.run(judge.measure_noise(cases, send, seed=1, first=first))
    assert noise is not None and noise.sampled == ("c-01", "c-02")
    assert {r.case_id for r in send.requests} == {"c-01", "c-02"}
