"""Behaviour of the simulated models (``sim:``) and of the shipped example suites.

The sim is what makes the example suites show real trade-offs, so these tests
check the trade-offs themselves: the small model fails hard arithmetic, memory is
lost when a compressor drops the turn holding the fact, near-miss FAQ questions
get different answers, and so on.
"""

from __future__ import annotations

import asyncio
import importlib.util
import math
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.errors import UnknownComponent
from harness.providers import sim, sim_world
from harness.providers.base import Provider
from harness.providers.sim import FRONTIER, SMALL, SimProvider, check_model
from harness.types import Case, Message, Request, Response

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "suites"


def user(text: str) -> Message:
    return Message(role="user", content=text)


def assistant(text: str) -> Message:
    return Message(role="assistant", content=text)


def complete(model: str, *messages: Message, **params: Any) -> Response:
    request = Request(model=model, messages=messages, params=tuple(sorted(params.items())))
    return asyncio.run(SimProvider().complete(request))


def ask(model: str, *messages: Message) -> str:
    return complete(model, *messages).text


def load_suite(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((SUITES / f"{name}.yaml").read_text(encoding="utf-8"))
    return data


def suite_cases(name: str) -> list[tuple[dict[str, Any], Case]]:
    """(raw row, Case) pairs, built the way the harness sends them."""
    data = load_suite(name)
    out = []
    for row in data["cases"]:
        case = Case(
            id=row["id"],
            suite=name,
            prompt=row["prompt"],
            system=row.get("system", data.get("system")),
            context=tuple(row.get("context", ())),
            history=tuple(Message(**turn) for turn in row.get("history", ())),
            category=row.get("category", "default"),
            expected=row.get("expected"),
            paraphrase_of=row.get("paraphrase_of"),
        )
        out.append((row, case))
    return out


def final_number(text: str) -> int:
    return int(re.findall(r"-?\d+", text)[-1])


# --------------------------------------------------------------------------- provider


def test_satisfies_the_provider_protocol() -> None:
    provider = SimProvider()
    assert isinstance(provider, Provider)
    assert provider.name == "sim"


def test_same_request_gives_the_same_response() -> None:
    messages = (user("Compute (3 + 4) * 5 - 6 * 2 + 1. Reply with the final number."),)
    for model in (FRONTIER, SMALL):
        request = Request(model=model, messages=messages, params=(("temperature", 1.0),))
        first = asyncio.run(SimProvider().complete(request))
        second = asyncio.run(SimProvider().complete(request))
        assert first == second
        assert first.model == model
        assert first.error is None


def test_unknown_model_suggests_the_close_name() -> None:
    with pytest.raises(UnknownComponent) as info:
        check_model("sim:frontire")
    assert "Did you mean" in str(info.value)
    assert "sim:frontier" in str(info.value)
    # complete() checks too, before doing anything.
    with pytest.raises(UnknownComponent, match="Did you mean"):
        complete("sim:smal", user("hello"))
    check_model(FRONTIER)
    check_model(SMALL)


def test_latency_is_simulated_not_slept() -> None:
    start = time.perf_counter()
    responses = [complete(FRONTIER, user(f"Compute {i} + {i} * 2.")) for i in range(50)]
    assert time.perf_counter() - start < 2.0  # 50 x ~650 ms would take half a minute
    slow = responses[0]
    fast = complete(SMALL, user("Compute 0 + 0 * 2."))
    assert slow.latency_ms == pytest.approx(
        600 + 8 * slow.usage.output_tokens + 0.05 * slow.usage.input_tokens, abs=0.1
    )
    assert fast.latency_ms == pytest.approx(
        150 + 2 * fast.usage.output_tokens + 0.01 * fast.usage.input_tokens, abs=0.1
    )
    assert fast.latency_ms < slow.latency_ms


def test_batch_flag_is_echoed() -> None:
    request = Request(model=SMALL, messages=(user("hello"),), batch=True)
    assert asyncio.run(SimProvider().complete(request)).batch is True


# --------------------------------------------------------------------------- usage


def test_usage_counts_every_message_and_the_answer() -> None:
    messages = (
        Message(role="system", content="Be brief."),
        user("My order number is NW-12345."),
        assistant("Noted."),
        user("What is my order number?"),
    )
    response = complete(SMALL, *messages)
    expected_input = sum(math.ceil(len(m.content) / 4) + 4 for m in messages)
    assert response.usage.input_tokens == expected_input
    assert response.usage.output_tokens == math.ceil(len(response.text) / 4) + 1


def test_usage_grows_with_message_length_and_count() -> None:
    short = complete(FRONTIER, user("What is my order number?"))
    longer = complete(FRONTIER, user("x" * 400), assistant("Ok."), user("What is my order number?"))
    assert longer.usage.input_tokens > short.usage.input_tokens + 100


def test_verbose_frontier_costs_more_output_than_small() -> None:
    question = user("Compute (17 + 4) * 3 - 8.")
    assert (
        complete(FRONTIER, question).usage.output_tokens
        > complete(SMALL, question).usage.output_tokens
    )


def test_max_tokens_truncates_the_answer() -> None:
    question = user("Compute (17 + 4) * 3 - 8 + 2 * 5.")
    full = complete(FRONTIER, question)
    cut = complete(FRONTIER, question, max_tokens=5)
    assert full.usage.output_tokens > 5
    assert cut.usage.output_tokens == 5
    assert full.text.startswith(cut.text)
    assert len(cut.text) < len(full.text)


# --------------------------------------------------------------------------- arithmetic


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("17 + 4", 21),
        ("(17 + 4) * 3 - 8", 55),
        ("2 + 3 * 4", 14),
        ("10 - 4 - 3", 3),
        ("2 - (3 - 8) * 2", 12),
        ("-5 + 2", -3),
        ("((1 + 2) * (3 + 4)) - 5 * 2", 11),
    ],
)
def test_frontier_is_right_on_arithmetic(expression: str, value: int) -> None:
    text = ask(FRONTIER, user(f"Compute {expression}. Reply with the final number."))
    assert text.endswith(f"The answer is {value}.")
    assert final_number(text) == value


def test_frontier_shows_the_steps_in_evaluation_order() -> None:
    text = ask(FRONTIER, user("Compute (17 + 4) * 3 - 8."))
    assert text == (
        "Working through it step by step: 17 + 4 = 21; 21 * 3 = 63; 63 - 8 = 55. The answer is 55."
    )


def test_evaluate_rejects_what_is_not_arithmetic() -> None:
    with pytest.raises(ValueError):
        sim.evaluate("2 + ")
    with pytest.raises(ValueError):
        sim.evaluate("(2 + 3")
    # Code is never run: a name is just an unreadable expression.
    assert ask(FRONTIER, user("Compute (__import__).")) != ask(FRONTIER, user("Compute 1."))


def test_small_is_terse_and_fails_only_on_many_steps() -> None:
    by_category: dict[str, list[bool]] = {}
    for row, case in suite_cases("arithmetic"):
        text = ask(SMALL, *case.messages())
        assert re.fullmatch(r"The answer is -?\d+\.", text), text
        right = final_number(text) == int(row["expected"])
        if not right:
            # A slip, not nonsense: off by 1 to 9.
            assert 1 <= abs(final_number(text) - int(row["expected"])) <= 9
        by_category.setdefault(row["category"], []).append(right)
    assert all(by_category["one-step"]) and all(by_category["two-step"])
    hard = by_category["four-step"] + by_category["five-step"]
    assert 0 < sum(hard) < len(hard)  # some right, some wrong
    # Error rates ordered by difficulty (0.35 / 0.6 / 0.8 on 12 cases each).
    accuracy = {k: sum(v) / len(v) for k, v in by_category.items()}
    assert accuracy["three-step"] > accuracy["five-step"]


# --------------------------------------------------------------------------- memory

CONVERSATION = (
    user("Hi! My order number is NW-48213. My account email is ana.lopez@example.com."),
    assistant("Noted."),
    user("Thanks!"),
    assistant("Happy to help."),
    user("Can you hurry?"),
    assistant("Sure, one moment."),
    user("Sorry, correction: my shipping city is Porto."),
    assistant("Got it."),
)


@pytest.mark.parametrize("model", [FRONTIER, SMALL])
def test_memory_recalls_facts_stated_earlier(model: str) -> None:
    question = user("What is my order number?")
    assert ask(model, *CONVERSATION, question) == "Your order number is NW-48213."
    email = ask(model, *CONVERSATION, user("What is my account email?"))
    assert email == "Your account email is ana.lopez@example.com."


def test_memory_is_lost_when_the_early_turn_is_dropped() -> None:
    question = user("What is my order number?")
    truncated = CONVERSATION[2:]  # what a "keep recent turns" compressor sends
    assert ask(FRONTIER, *truncated, question) == (
        "I'm sorry, I don't have your order number on record."
    )
    # The recent fact survives the same truncation.
    assert ask(FRONTIER, *truncated, user("What is my shipping city?")) == (
        "Your shipping city is Porto."
    )


def test_memory_latest_statement_wins_and_assistant_turns_are_not_read() -> None:
    messages = (
        user("My shipping city is Lisbon."),
        assistant("Your shipping city is Madrid."),
        user("Update: my shipping city is Denver."),
    )
    assert ask(SMALL, *messages, user("What is my shipping city?")) == (
        "Your shipping city is Denver."
    )
    assert ask(SMALL, messages[1], user("What is my shipping city?")).startswith("I'm sorry")


# --------------------------------------------------------------------------- documents

PASSAGES = (
    "The Zephyr X2 headset weighs 250 grams.",
    "On a full charge the Zephyr X2 headset battery lasts 30 hours.",
    "On a full charge the Aurora T5 speaker battery lasts 12 hours.",
    "Every Zephyr X2 headset is covered by a 2-year warranty against defects.",
)
BATTERY = "How many hours does the Zephyr X2 headset battery last on a full charge?"


def docs_messages(passages: tuple[str, ...], question: str) -> tuple[Message, ...]:
    return Case(id="d", suite="t", prompt=question, context=passages).messages()


def test_context_answer_comes_from_the_best_passage() -> None:
    messages = docs_messages(PASSAGES, BATTERY)
    assert ask(FRONTIER, *messages) == f"According to document [2]: {PASSAGES[1]}"
    assert ask(SMALL, *messages) == PASSAGES[1]


def test_context_answer_changes_when_the_passage_is_removed() -> None:
    without = (PASSAGES[0], PASSAGES[2], PASSAGES[3])
    answer = ask(FRONTIER, *docs_messages(without, BATTERY))
    assert PASSAGES[1] not in answer
    assert answer == f"According to document [2]: {PASSAGES[2]}"  # the look-alike
    # Sharing fewer than 2 words with the question is no answer at all.
    unrelated = ask(FRONTIER, *docs_messages(("The Nimbus 3 tent sleeps three people.",), BATTERY))
    assert unrelated == "The documents do not say."


def test_inline_question_in_the_documents_message() -> None:
    docs = "\n".join(f"[{i + 1}] {p}" for i, p in enumerate(PASSAGES))
    text = ask(FRONTIER, user(f"Context documents:\n{docs}\n{BATTERY}"))
    assert text == f"According to document [2]: {PASSAGES[1]}"


def test_small_picks_wrong_passages_only_in_long_contexts() -> None:
    wrong: Counter[str] = Counter()
    for row, case in suite_cases("docs_qa"):
        passage = row["expected"].split(": ", 1)[1]
        if ask(SMALL, *case.messages()) != passage:
            wrong[row["category"]] += 1
        assert ask(FRONTIER, *case.messages()) == row["expected"]
    assert wrong["short-context"] == 0
    assert 0 < wrong["long-context"] < 15


# --------------------------------------------------------------------------- FAQ


def test_faq_paraphrase_same_answer_near_miss_different() -> None:
    original = ask(FRONTIER, user("How long do I have to return sale items?"))
    paraphrase = ask(FRONTIER, user("What is the return window for clearance items?"))
    near_miss = ask(FRONTIER, user("How long do I have to return items that are not on sale?"))
    assert original == paraphrase == sim_world.FACTS_BY_ID["return_window_sale"].answer
    assert near_miss != original
    assert near_miss == sim_world.FACTS_BY_ID["return_window_full_price"].answer


@pytest.mark.parametrize(
    ("question", "look_alike"),
    [
        ("How much does shipping to Australia cost?", "How much does shipping to Canada cost?"),
        ("Is shipping free on a $50 order?", "Is shipping free on a $100 order?"),
        (
            "Can I return a jacket I bought 90 days ago?",
            "Can I return a jacket I bought 30 days ago?",
        ),
        ("What is the warranty on jackets?", "What is the warranty on tents?"),
        ("Which items can be returned?", "Which items can't be returned?"),
    ],
)
def test_faq_near_misses_change_the_answer(question: str, look_alike: str) -> None:
    assert ask(FRONTIER, user(question)) != ask(FRONTIER, user(look_alike))


def test_faq_suite_paraphrases_and_near_misses_hold() -> None:
    rows = {row["id"]: (row, case) for row, case in suite_cases("faq")}
    answers = {cid: ask(FRONTIER, *case.messages()) for cid, (_, case) in rows.items()}
    near_misses = 0
    for cid, (row, _) in rows.items():
        assert answers[cid] == row["expected"]
        if row.get("paraphrase_of"):
            assert answers[cid] == answers[row["paraphrase_of"]], cid
        for tag in row.get("tags", []):
            if tag.startswith("near-miss-of:"):
                near_misses += 1
                assert answers[cid] != answers[tag.split(":", 1)[1]], cid
    assert near_misses >= 10


def test_small_misses_negation_frontier_does_not() -> None:
    differs = []
    for row, case in suite_cases("faq"):
        small = ask(SMALL, *case.messages())
        negated = sim_world.has_negation(sim_world.normalize_question(row["prompt"]))
        if not negated:
            assert small == row["expected"], row["id"]  # only negation trips it
        elif small != row["expected"]:
            differs.append(row["id"])
            # It answered the question with the negation removed.
            stripped = sim_world.match_fact(row["prompt"], ignore_negation=True)
            assert stripped is not None and small == stripped.answer
    assert differs, "sim:small should miss some negations"


def test_faq_unknown_and_off_topic_questions() -> None:
    assert ask(FRONTIER, user("Do you sell returns insurance for drones?")) == (
        sim_world.NO_MATCH_ANSWER
    )
    assert ask(SMALL, user("What's the weather like?")) == sim.FALLBACK_ANSWER


def test_repeats_behave_like_their_original() -> None:
    # Case, spacing and trailing punctuation change nothing, even for sim:small.
    a = ask(SMALL, user("Which items can't be returned?"))
    b = ask(SMALL, user("  which items CAN'T be returned??"))
    assert a == b


# --------------------------------------------------------------------------- suites

EXPECTED_COUNTS = {
    "arithmetic": {f"{n}-step": 12 for n in ("one", "two", "three", "four", "five")},
    "support": {"recent": 25, "early": 25},
    "faq": {"canonical": 20, "paraphrase": 20, "near-miss": 12, "repeat": 8},
    "docs_qa": {"short-context": 15, "long-context": 15},
}


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_shipped_suite_counts_and_ids(name: str) -> None:
    data = load_suite(name)
    assert data["suite"] == name
    ids = [row["id"] for row in data["cases"]]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert dict(Counter(row["category"] for row in data["cases"])) == EXPECTED_COUNTS[name]
    assert all(row.get("expected") for row in data["cases"])


def test_shipped_suites_total() -> None:
    total = sum(len(load_suite(name)["cases"]) for name in EXPECTED_COUNTS)
    assert total >= 150


def test_support_suite_depths_match_categories() -> None:
    for row, case in suite_cases("support"):
        depth = int(next(t for t in row["tags"] if t.startswith("depth:")).split(":")[1])
        assert (depth <= 2) == (row["category"] == "recent"), row["id"]
        assert 2 <= len(row["history"]) // 2 <= 8
        assert ask(SMALL, *case.messages()) == row["expected"]


def test_faq_suite_repeats_come_after_their_original() -> None:
    data = load_suite("faq")
    position = {row["id"]: i for i, row in enumerate(data["cases"])}
    for row in data["cases"]:
        assert row["knowledge_version"] == sim_world.KNOWLEDGE_VERSION
        if row.get("paraphrase_of"):
            assert position[row["paraphrase_of"]] < position[row["id"]]


def test_arithmetic_prompts_grow_with_steps() -> None:
    lengths: dict[str, list[int]] = {}
    for row in load_suite("arithmetic")["cases"]:
        lengths.setdefault(row["category"], []).append(len(row["prompt"]))
    means = [sum(v) / len(v) for v in (lengths[k] for k in EXPECTED_COUNTS["arithmetic"])]
    assert means == sorted(means)


def test_committed_suites_match_the_generator() -> None:
    """The YAML in suites/ is what suites/_generate.py produces (regenerate if not)."""
    spec = importlib.util.spec_from_file_location("suites_generate", SUITES / "_generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for file_name, text in module.build_all().items():
        committed = (SUITES / file_name).read_text(encoding="utf-8")
        assert committed == text, f"suites/{file_name} is stale: run python suites/_generate.py"
