"""Prices: usage -> USD, from the configuration's override table or genai-prices.

Overrides in ``[tool.cost-eval.prices."provider:model"]`` win; other models are
priced by `genai-prices <https://pypi.org/project/genai-prices/>`_ (offline,
Decimal, with cached-token and batch rates), imported only when needed. A model
neither knows is an error when one of its answers must be priced (it carries no
recorded cost): a run must never report a bill it could not compute.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from harness.config.settings import Price
from harness.errors import ConfigError
from harness.providers import base_model
from harness.types import Usage

MILLION = Decimal(1_000_000)
BATCH_DISCOUNT = Decimal("0.5")
"""OpenAI's and Anthropic's batch APIs both charge half price."""


def split_model(spec: str) -> tuple[str, str]:
    """``"openai:gpt-4o"`` -> ``("openai", "gpt-4o")``; ``replay:`` is looked through.

    A bare name, as recordings of real logs write it (``replay:gpt-4o-2024-08-06``),
    has no provider: ``("", "gpt-4o-2024-08-06")``; genai-prices finds it by name.
    """
    provider, sep, name = base_model(spec).partition(":")
    return (provider, name) if sep else ("", provider)


def _price_key(provider: str, name: str) -> str:
    """The ``[tool.cost-eval.prices]`` key of a model: its spec, or its bare name."""
    return f"{provider}:{name}" if provider else name


class PriceTable:
    """Prices every model a run uses; remembers what it used (the price snapshot)."""

    def __init__(self, overrides: Mapping[str, Price]) -> None:
        self.overrides = dict(overrides)
        self._resolved: dict[str, Price] = {}

    def price_of(self, model: str) -> Price:
        """The price of ``model`` (a full spec).

        Raises:
            ConfigError: no override and genai-prices does not know the model.
        """
        resolved = self._resolved.get(model)
        if resolved is not None:
            return resolved
        provider, name = split_model(model)
        key = _price_key(provider, name)
        price = self.overrides.get(model) or self.overrides.get(key)
        if price is None:
            price = _genai_price(provider, name)
        if price is None:
            raise ConfigError(
                f"No price for model {model!r}: genai-prices does not know it. Add one, in USD "
                f'per million tokens:\n\n[tool.cost-eval.prices."{key}"]\ninput = 1.0\n'
                "output = 2.0"
            )
        self._resolved[model] = price
        return price

    def cost(self, model: str, usage: Usage, *, batch: bool = False) -> Decimal:
        """USD for ``usage`` on ``model``, at batch rates when ``batch``."""
        if usage.empty:
            return Decimal(0)
        price = self.price_of(model)
        total = (
            usage.input_tokens * price.input
            + usage.cached_input_tokens
            * (price.cached_input if price.cached_input is not None else price.input)
            + usage.cache_write_tokens
            * (price.cache_write if price.cache_write is not None else price.input)
            + usage.output_tokens * price.output
        ) / MILLION
        if batch:
            total *= 1 - price.batch_discount
        return total

    def batch_factor(self, model: str) -> Decimal:
        """What a batch call costs relative to a regular one (``1 - batch_discount``).

        For a recorded cost replayed through a batch configuration; a model with
        no price gets the usual discount (:data:`BATCH_DISCOUNT`).
        """
        try:
            return 1 - self.price_of(model).batch_discount
        except ConfigError:
            return 1 - BATCH_DISCOUNT

    def embedding_cost(self, model: str, tokens: int) -> Decimal | None:
        """USD for ``tokens`` embedded by ``model`` at its input rate; None when unpriced.

        Embedding models have no output price, so genai-prices' entry for one
        (``openai:text-embedding-3-small``) is read for its input rate alone.
        An override in ``[tool.cost-eval.prices]`` wins, as for any model.
        """
        if tokens <= 0:
            return Decimal(0)
        price = self._resolved.get(model)
        if price is None:
            provider, name = split_model(model)
            price = (
                self.overrides.get(model)
                or self.overrides.get(_price_key(provider, name))
                or _genai_price(provider, name, input_only=True)
            )
            if price is None:
                return None
            self._resolved[model] = price
        return tokens * price.input / MILLION

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every price used so far, for storing with the run."""
        return {
            model: {
                "input": str(p.input),
                "output": str(p.output),
                "cached_input": None if p.cached_input is None else str(p.cached_input),
                "cache_write": None if p.cache_write is None else str(p.cache_write),
                "batch_discount": str(p.batch_discount),
            }
            for model, p in sorted(self._resolved.items())
        }


def _genai_price(provider: str, name: str, *, input_only: bool = False) -> Price | None:
    """The price genai-prices knows for a model, per million tokens, or None.

    ``input_only``: accept a model with no output rate (an embedding model),
    pricing its output at 0. Never for chat models: a missing output rate
    there would silently undercount.
    """
    if provider == "sim" or not name:
        return None
    try:
        from genai_prices import Usage as GenaiUsage
        from genai_prices import calc_price
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    try:
        probe = calc_price(
            # Only the rates are read; genai-prices counts cache tokens inside
            # input_tokens, so the probe names none.
            GenaiUsage(input_tokens=1_000_000, output_tokens=1_000_000),
            model_ref=name,
            # A bare name (no provider) is matched by genai-prices across providers.
            provider_id=provider if provider not in ("", "openai-compatible") else None,
        )
    except LookupError:
        return None
    except Exception:
        return None
    model_price = probe.model_price

    def rate(value: Any) -> Decimal | None:
        # Tiered prices (by context length) carry their base rate in `.base`.
        value = getattr(value, "base", value)
        try:
            return None if value is None else Decimal(str(value))
        except ArithmeticError:
            return None

    input_rate = rate(getattr(model_price, "input_mtok", None))
    output_rate = rate(getattr(model_price, "output_mtok", None))
    if input_only and output_rate is None:
        output_rate = Decimal(0)
    if input_rate is None or output_rate is None:
        return None
    return Price(
        input=input_rate,
        output=output_rate,
        cached_input=rate(getattr(model_price, "cache_read_mtok", None)),
        cache_write=rate(getattr(model_price, "cache_write_mtok", None)),
        batch_discount=BATCH_DISCOUNT,
    )
