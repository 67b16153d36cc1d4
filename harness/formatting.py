"""How numbers read in terminal output, failure texts and the report."""

from __future__ import annotations

from decimal import Decimal


def money(value: Decimal | float) -> str:
    """USD, with enough digits to tell small per-query prices apart."""
    amount = float(value)
    if amount == 0:
        return "$0"
    if abs(amount) >= 100:
        return f"${amount:,.0f}"
    if abs(amount) >= 1:
        return f"${amount:,.2f}"
    return f"${amount:.6f}".rstrip("0")


def points(value: float) -> str:
    """A quality difference in points (0.01 = 1 point), signed."""
    text = f"{value * 100:+.1f}"
    return "+0.0" if text == "-0.0" else text


def cost_change(savings_pct: float) -> str:
    """``-50% cost`` for a 50 % saving; ``same cost`` when it rounds to zero."""
    change = -savings_pct
    if round(change) == 0:
        return "same cost"
    return f"{change:+.0f}% cost"
