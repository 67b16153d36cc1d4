"""What an answer cost, and where that figure came from.

Precedence, per answer:

1. **recorded**: the cost recorded with it (``cost_usd`` of imported recordings),
   what it was billed; a batch configuration pays the batch share of it.
2. **priced**: its recorded usage at the price table's rates (``[tool.cost-eval.prices]``
   or genai-prices).
3. **estimated**: no usage recorded (zero tokens) and no cost: the prompt and the
   answer counted with the offline tokenizer (:mod:`harness.tokens`), then
   priced. Never $0: an answer always cost something.

A model with no price is fine as long as its answers carry recorded costs; an
answer that needs a price its model lacks is a :class:`~harness.errors.ConfigError`
naming the case, the model and the ``[tool.cost-eval.prices]`` table to add.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from harness.config.prices import PriceTable
from harness.errors import ConfigError
from harness.tokens import count_message_tokens, count_tokens
from harness.types import COST_SOURCES, CostSource, Golden, Request, Response, Usage

__all__ = [
    "answer_cost",
    "calls_cost",
    "cost_counts",
    "estimated_usage",
    "golden_cost",
]


def estimated_usage(request: Request, text: str) -> Usage:
    """The usage of an answer recorded without one: its prompt and text counted offline."""
    return Usage(
        input_tokens=count_message_tokens(request.messages),
        output_tokens=count_tokens(text),
    )


def answer_cost(
    prices: PriceTable, request: Request, response: Response, *, where: str
) -> tuple[Decimal, CostSource | None]:
    """What one answer cost and where that came from (see the module docs).

    A failed call that reports no usage bills nothing: ``(0, None)``.

    Raises:
        ConfigError: the answer must be priced and its model has no price;
            the message starts with ``where`` and says how to add one.
    """
    # A batch answer is priced at batch rates, also when the request was not flagged
    # batch (--cost-eval-batch answers the whole run by batch).
    batch = request.batch or response.batch
    if response.cost_usd is not None:
        cost = response.cost_usd
        if batch:
            cost *= prices.batch_factor(request.model)
        return cost, "recorded"
    usage, source = response.usage, "priced"
    if usage.empty:
        if response.error is not None:
            return Decimal(0), None
        usage, source = estimated_usage(request, response.text), "estimated"
    try:
        cost = prices.cost(request.model, usage, batch=batch)
    except ConfigError as exc:
        raise ConfigError(
            f"{where}: the answer of {request.model!r} carries no recorded cost "
            f"(`cost_usd`), so it must be priced. {exc}"
        ) from None
    return cost, "estimated" if source == "estimated" else "priced"


def calls_cost(
    prices: PriceTable, calls: Iterable[tuple[Request, Response]], *, where: str
) -> tuple[Decimal, CostSource | None]:
    """What a case's model calls cost together, and the least certain of their sources.

    None when no call billed anything (a cache hit makes none).

    Raises:
        ConfigError: as :func:`answer_cost`.
    """
    total = Decimal(0)
    worst: CostSource | None = None
    for request, response in calls:
        cost, source = answer_cost(prices, request, response, where=where)
        total += cost
        if source is not None and (
            worst is None or COST_SOURCES.index(source) > COST_SOURCES.index(worst)
        ):
            worst = source
    return total, worst


def golden_cost(
    prices: PriceTable, request: Request, golden: Golden, *, where: str
) -> tuple[Decimal, CostSource]:
    """What the baseline's recorded answer (a golden) to ``request`` cost, and from where.

    Raises:
        ConfigError: as :func:`answer_cost`.
    """
    response = Response(
        text=golden.text, model=golden.model, usage=golden.usage, cost_usd=golden.cost_usd
    )
    cost, source = answer_cost(prices, request, response, where=where)
    return cost, source or "priced"


def cost_counts(sources: Iterable[CostSource | None]) -> dict[str, int]:
    """Cases by cost source, in :data:`~harness.types.COST_SOURCES` order (None not counted)."""
    counts = dict.fromkeys(COST_SOURCES, 0)
    for source in sources:
        if source is not None:
            counts[source] += 1
    return {source: count for source, count in counts.items() if count}
