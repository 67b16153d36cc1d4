"""Prices: Decimal arithmetic, overrides, genai-prices lookups and the price snapshot."""

from __future__ import annotations

from decimal import Decimal

import pytest

from harness.config.prices import PriceTable, split_model
from harness.config.settings import Price
from harness.config.volume import parse_volume
from harness.errors import ConfigError
from harness.types import Usage

FULL = Price(
    input=Decimal(2),
    output=Decimal(8),
    cached_input=Decimal("0.5"),
    cache_write=Decimal(3),
    batch_discount=Decimal("0.5"),
)


def usage(**tokens: int) -> Usage:
    return Usage(**tokens)


def test_split_model() -> None:
    assert split_model("openai:gpt-4o") == ("openai", "gpt-4o")
    assert split_model("replay:openai:gpt-4o") == ("openai", "gpt-4o")
    assert split_model("replay:replay:sim:small") == ("sim", "small")
    # A bare name (as real logs write it) has no provider; genai-prices finds it by name.
    assert split_model("nocolon") == ("", "nocolon")
    assert split_model("replay:gpt-4o-2024-08-06") == ("", "gpt-4o-2024-08-06")


def test_input_and_output_cost() -> None:
    table = PriceTable({"sim:small": Price(input=Decimal("0.15"), output=Decimal("0.6"))})
    cost = table.cost("sim:small", usage(input_tokens=1000, output_tokens=500))
    assert isinstance(cost, Decimal)
    # (1000 * 0.15 + 500 * 0.6) / 1e6, exactly
    assert cost == Decimal("0.00045")


def test_every_rate() -> None:
    table = PriceTable({"x:m": FULL})
    cost = table.cost(
        "x:m",
        usage(
            input_tokens=1000,
            cached_input_tokens=2000,
            cache_write_tokens=100,
            output_tokens=500,
            reasoning_tokens=200,  # part of output_tokens: not billed twice
        ),
    )
    # (1000 * 2 + 2000 * 0.5 + 100 * 3 + 500 * 8) / 1e6
    assert cost == Decimal("0.0073")


def test_cached_and_write_rates_default_to_input() -> None:
    table = PriceTable({"x:m": Price(input=Decimal(2), output=Decimal(8))})
    cost = table.cost("x:m", usage(cached_input_tokens=1000, cache_write_tokens=1000))
    assert cost == Decimal("0.004")


def test_batch_discount() -> None:
    table = PriceTable(
        {
            "x:half": FULL,
            "x:quarter": Price(input=Decimal(2), output=Decimal(8), batch_discount=Decimal("0.25")),
        }
    )
    tokens = usage(input_tokens=1000, output_tokens=500)
    full = table.cost("x:half", tokens)
    assert full == Decimal("0.006")
    assert table.cost("x:half", tokens, batch=True) == Decimal("0.003")
    assert table.cost("x:quarter", tokens, batch=True) == Decimal("0.0045")


def test_zero_usage_is_free_without_a_price() -> None:
    table = PriceTable({})
    assert table.cost("sim:unpriced", usage()) == Decimal(0)
    assert table.snapshot() == {}


def test_unknown_model_error_text() -> None:
    table = PriceTable({})
    with pytest.raises(ConfigError) as info:
        table.cost("openai:no-such-model-xyz", usage(input_tokens=1))
    assert str(info.value) == (
        "No price for model 'openai:no-such-model-xyz': genai-prices does not know it. Add one, "
        "in USD per million tokens:\n\n"
        '[tool.cost-eval.prices."openai:no-such-model-xyz"]\ninput = 1.0\noutput = 2.0'
    )


def test_sim_models_need_an_override() -> None:
    with pytest.raises(ConfigError, match=r"No price for model 'sim:frontier'"):
        PriceTable({}).price_of("sim:frontier")


def test_genai_prices_lookup_gpt_4o() -> None:
    table = PriceTable({})
    price = table.price_of("openai:gpt-4o")
    assert (price.input, price.output) == (Decimal("2.5"), Decimal("10"))
    assert price.batch_discount == Decimal("0.5")
    million = usage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert table.cost("openai:gpt-4o", million) == Decimal("12.5")
    assert table.cost("openai:gpt-4o", million, batch=True) == Decimal("6.25")


def test_override_wins_over_genai_prices() -> None:
    table = PriceTable({"openai:gpt-4o": Price(input=Decimal(1), output=Decimal(1))})
    assert table.price_of("openai:gpt-4o").input == Decimal(1)


def test_replay_is_priced_as_the_model_it_replays() -> None:
    table = PriceTable({"sim:small": Price(input=Decimal(1), output=Decimal(2))})
    assert table.price_of("replay:sim:small") == table.price_of("sim:small")
    assert table.price_of("replay:openai:gpt-4o").input == Decimal("2.5")


def test_snapshot_lists_used_prices_as_strings() -> None:
    table = PriceTable(
        {
            "sim:small": Price(input=Decimal("0.15"), output=Decimal("0.6")),
            "sim:frontier": FULL,
            "sim:unused": FULL,
        }
    )
    table.cost("sim:small", usage(input_tokens=1))
    table.price_of("sim:frontier")
    assert table.snapshot() == {
        "sim:frontier": {
            "input": "2",
            "output": "8",
            "cached_input": "0.5",
            "cache_write": "3",
            "batch_discount": "0.5",
        },
        "sim:small": {
            "input": "0.15",
            "output": "0.6",
            "cached_input": None,
            "cache_write": None,
            "batch_discount": "0.5",
        },
    }


def test_parse_volume() -> None:
    assert parse_volume("1M/day") == 30_000_000
    assert parse_volume("250000/month") == 250_000
    with pytest.raises(ConfigError, match=r"volume 'lots' is not understood"):
        parse_volume("lots")


def test_embedding_models_are_priced_at_their_input_rate() -> None:
    prices = PriceTable({})
    # genai-prices lists text-embedding-3-small at $0.02 per million input tokens.
    assert prices.embedding_cost("openai:text-embedding-3-small", 1_000_000) == Decimal("0.02")
    assert prices.embedding_cost("openai:text-embedding-3-small", 0) == 0
    assert "openai:text-embedding-3-small" in prices.snapshot()  # stored with the run
    assert prices.embedding_cost("openai:no-such-embedder", 10) is None
    assert prices.embedding_cost("static", 0) == 0  # a local embedder bills nothing
    # An override wins, as for any model.
    override = PriceTable(
        {"openai:text-embedding-3-small": Price(input=Decimal("1"), output=Decimal(0))}
    )
    assert override.embedding_cost("openai:text-embedding-3-small", 500_000) == Decimal("0.5")
    # Chat models still need an output rate: the embedding path does not loosen them.
    with pytest.raises(ConfigError):
        PriceTable({}).price_of("openai:text-embedding-3-small")
