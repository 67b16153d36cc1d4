"""An answer's cost: recorded (billed) first, then priced on its usage, then estimated offline.

And the billed cost travels with the answer: goldens, the response store (a
real DuckDB file), the journal and the pytest-xdist wire.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from harness.config.prices import PriceTable
from harness.config.settings import Price
from harness.config.suites import load_goldens, write_goldens
from harness.engine.costs import answer_cost, calls_cost, cost_counts, golden_cost
from harness.engine.executor import Executor
from harness.engine.prepare import prepare
from harness.errors import ConfigError
from harness.formatting import cost_source_note
from harness.plugin.xdist import empty_outcome, merge_outcomes, outcome_to_wire
from harness.store.journal import Journal, read_journal
from harness.store.responses import load_responses, store_responses
from harness.tokens import count_message_tokens, count_tokens
from harness.types import Golden, Message, Request, Response, Usage, cost_source_of
from tests.unit.tiny_project import make_settings, write_suite

PRICE = Price(input=Decimal(2), output=Decimal(8))
"""USD per million tokens of ``openai:house-model`` (an override: genai-prices lacks it)."""
MODEL = "openai:house-model"


def prices() -> PriceTable:
    return PriceTable({MODEL: PRICE})


def request(model: str = MODEL, *, batch: bool = False) -> Request:
    messages = (
        Message(role="system", content="Answer with a number."),
        Message(role="user", content="A shop sells 3 pens for $4. What do 12 pens cost?"),
    )
    return Request(model=model, messages=messages, batch=batch, case_id="c-1")


ANSWER = "12 pens are 4 packs of 3, so 4 * $4 = $16. The answer is 16."


def test_a_recorded_cost_wins_over_the_price_of_its_usage() -> None:
    usage = Usage(input_tokens=1_000, output_tokens=500)
    billed = Response(text=ANSWER, model=MODEL, usage=usage, cost_usd=Decimal("0.000731"))
    assert answer_cost(prices(), request(), billed, where="w") == (Decimal("0.000731"), "recorded")
    unbilled = Response(text=ANSWER, model=MODEL, usage=usage)
    # 1,000 * $2 + 500 * $8 per million tokens.
    assert answer_cost(prices(), request(), unbilled, where="w") == (Decimal("0.006"), "priced")


def test_an_answer_recorded_without_usage_is_estimated_never_free() -> None:
    bare = Response(text=ANSWER, model=MODEL)
    cost, source = answer_cost(prices(), request(), bare, where="w")
    prompt = count_message_tokens(request().messages)
    output = count_tokens(ANSWER)
    assert prompt > 10 and output > 10
    assert source == "estimated"
    assert cost == (prompt * PRICE.input + output * PRICE.output) / Decimal(1_000_000)
    assert cost > 0


def test_a_batch_configuration_pays_the_batch_share_of_a_recorded_cost() -> None:
    billed = Response(text=ANSWER, model="acme:unlisted", cost_usd=Decimal("0.004"))
    # No price for the model: the usual half price of the batch APIs.
    cost, source = answer_cost(
        PriceTable({}), request("acme:unlisted", batch=True), billed, where=""
    )
    assert (cost, source) == (Decimal("0.002"), "recorded")
    table = PriceTable(
        {MODEL: Price(input=Decimal(1), output=Decimal(1), batch_discount=Decimal("0.25"))}
    )
    cost, _ = answer_cost(table, request(batch=True), billed, where="")
    assert cost == Decimal("0.003")


def test_a_failed_call_bills_nothing_and_says_nothing() -> None:
    failed = Response(text="", model="acme:unlisted", error="HTTP 500")
    assert answer_cost(PriceTable({}), request("acme:unlisted"), failed, where="") == (
        Decimal(0),
        None,
    )


def test_a_case_takes_the_least_certain_source_of_its_calls() -> None:
    recorded = (request(), Response(text="1", model=MODEL, cost_usd=Decimal("0.001")))
    priced = (request(), Response(text="1", model=MODEL, usage=Usage(input_tokens=500)))
    estimated = (request(), Response(text="1", model=MODEL))
    assert calls_cost(prices(), [recorded, priced], where="")[1] == "priced"
    assert calls_cost(prices(), [priced, estimated, recorded], where="")[1] == "estimated"
    total, source = calls_cost(prices(), [recorded, recorded], where="")
    assert (total, source) == (Decimal("0.002"), "recorded")
    assert calls_cost(prices(), [], where="") == (Decimal(0), None)  # a cache hit
    assert cost_counts(["estimated", None, "recorded", "recorded"]) == {
        "recorded": 2,
        "estimated": 1,
    }


def test_an_answer_with_neither_cost_nor_price_names_the_model_and_the_fix() -> None:
    golden = Golden(case_id="c-1", model="acme:unlisted", request_hash="h", text=ANSWER)
    with pytest.raises(ConfigError) as info:
        golden_cost(PriceTable({}), request("replay:acme:unlisted"), golden, where="suites/s.yaml")
    message = str(info.value)
    assert message.startswith("suites/s.yaml: the answer of 'replay:acme:unlisted' carries no")
    assert '[tool.cost-eval.prices."acme:unlisted"]' in message
    billed = Golden(
        case_id="c-1", model="acme:unlisted", request_hash="h", text="", cost_usd=Decimal("0.01")
    )
    assert golden_cost(PriceTable({}), request("replay:acme:unlisted"), billed, where="") == (
        Decimal("0.01"),
        "recorded",
    )


def test_cost_source_words() -> None:
    assert cost_source_of({}) == ""
    assert cost_source_of({"recorded": 3}) == "recorded"
    assert cost_source_of({"recorded": 3, "estimated": 1}) == "mixed"
    assert cost_source_note({"priced": 5}, {"priced": 5}) == ""
    assert cost_source_note({"recorded": 5}, {"recorded": 5}) == "recorded cost"
    assert cost_source_note({"estimated": 5}, {"priced": 5}) == "estimated cost; baseline priced"
    assert cost_source_note({"priced": 5}, {"estimated": 5}) == "baseline estimated"
    assert (
        cost_source_note({"estimated": 10, "recorded": 990}, {"recorded": 1000})
        == "cost: 990 recorded, 10 estimated; baseline recorded"
    )


def test_prepare_lets_unpriced_recorded_models_through(tmp_path: Path) -> None:
    write_suite(tmp_path)
    settings = make_settings(
        tmp_path, configs=[{"name": "house", "model": "replay:acme:unlisted"}], prices={}
    )
    with pytest.raises(ConfigError, match="No price for model 'sim:frontier'"):
        prepare(settings)  # a simulated baseline never carries a billed cost
    plan = prepare(
        make_settings(
            tmp_path,
            baseline="replay:acme:big",
            configs=[{"name": "house", "model": "replay:acme:unlisted"}],
            prices={},
        )
    )
    assert set(plan.unpriced) == {"replay:acme:big", "replay:acme:unlisted"}
    assert '[tool.cost-eval.prices."acme:unlisted"]' in plan.unpriced["replay:acme:unlisted"]


class CountingProvider:
    """A paid provider that must not be called for an unpriced model."""

    name = "acme"

    def __init__(self) -> None:
        self.calls = 0

    async def complete(self, request: Request) -> Response:
        self.calls += 1
        return Response(text="paid", model=request.model, usage=Usage(input_tokens=9))


def test_an_unpriced_model_answers_from_records_and_is_never_called() -> None:
    provider = CountingProvider()
    model = "acme:unlisted"
    known = request(model)
    recorded = Response(text=ANSWER, model=model, cost_usd=Decimal("0.002"))
    executor = Executor(
        {known.hash(): recorded},
        provider_factory=lambda _prefix: provider,
        unpriced={model: "No price for model 'acme:unlisted': add one."},
    )
    assert asyncio.run(executor.send(known)).cost_usd == Decimal("0.002")
    other = Request(model=model, messages=(Message(role="user", content="Hi"),), case_id="c-9")
    with pytest.raises(ConfigError) as info:
        asyncio.run(executor.send(other))
    assert provider.calls == 0
    assert "case 'c-9': 'acme:unlisted' has no recorded answer" in str(info.value)
    assert "No price for model 'acme:unlisted': add one." in str(info.value)


def test_a_billed_cost_survives_goldens_store_journal_and_the_xdist_wire(tmp_path: Path) -> None:
    cost = Decimal("0.001074")
    golden = Golden(case_id="c-1", model="acme:big", request_hash="h1", text=ANSWER, cost_usd=cost)
    plain = Golden(case_id="c-2", model="acme:big", request_hash="h2", text="2")
    path = tmp_path / "goldens" / "s" / "acme_big.jsonl"
    write_goldens(path, [golden, plain])
    loaded = load_goldens(tmp_path / "goldens", "s", "acme:big")
    assert (loaded["c-1"].cost_usd, loaded["c-2"].cost_usd) == (cost, None)
    assert "cost_usd" not in path.read_text().splitlines()[1]  # unbilled lines unchanged

    billed = Response(text=ANSWER, model="acme:big", cost_usd=cost)
    unbilled = Response(text="2", model="acme:big", usage=Usage(input_tokens=4))
    req_a, req_b = request("acme:big"), request("acme:small")
    db = tmp_path / "results.duckdb"
    store_responses(db, [(req_a, billed), (req_b, unbilled)], "2026-01-01T00:00:00+00:00")
    stored = load_responses(db)
    assert (stored[req_a.hash()].cost_usd, stored[req_b.hash()].cost_usd) == (cost, None)

    journal = Journal(db, "run-1")
    journal.append(req_a.hash(), req_a, billed)
    journal.append(req_b.hash(), req_b, unbilled)
    journal.close()
    assert [r.cost_usd for _q, r in read_journal(journal.path)] == [cost, None]

    settings = make_settings(tmp_path)
    worker = empty_outcome(settings, "w", "2026-01-01T00:00:00+00:00", {})
    worker.new_responses = {req_a.hash(): (req_a, billed), req_b.hash(): (req_b, unbilled)}
    base = empty_outcome(settings, "run", "2026-01-01T00:00:00+00:00", {})
    merged = merge_outcomes(base, [outcome_to_wire(worker)], [])
    assert merged.new_responses[req_a.hash()][1] == billed
    assert merged.new_responses[req_b.hash()][1] == unbilled
