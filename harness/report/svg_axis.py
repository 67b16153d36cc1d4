"""The axes of the report's SVG charts: a range, its scale (linear or log) and round
ticks (1, 2, 2.5 or 5 steps; 1-2-5 per decade on a log scale), and tick formatters."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass


def linear_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round ticks (1, 2, 2.5 or 5 times a power of ten apart), about ``count`` of them."""
    if not high > low:
        return [low]
    raw = (high - low) / count
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [round(k * step, 12) for k in range(first, last + 1)]


def log_ticks(low: float, high: float) -> list[float]:
    """1-2-5 ticks of every decade in ``[low, high]`` (decades alone leave two ticks over
    two decades); decades only when 1-2-5 would crowd the axis."""
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    for subs in ((1.0, 2.0, 5.0), (1.0,)):
        ticks = [
            float(f"{m}e{d}") for d in decades for m in subs if low <= float(f"{m}e{d}") <= high
        ]
        if len(ticks) <= 10:
            break
    return ticks


def percent_text(ticks: Sequence[float]) -> Callable[[float], str]:
    """A formatter of fractions as percentages, with as many decimals as the ticks'
    spacing needs (a 0.5 % step shows one)."""
    decimals = _decimals([t * 100 for t in ticks])
    return lambda value: f"{value * 100:.{decimals}f}%"


def decimal_text(ticks: Sequence[float]) -> Callable[[float], str]:
    """A formatter of plain numbers with as many decimals as the ticks' spacing needs."""
    decimals = _decimals(ticks)
    return lambda value: f"{value:.{decimals}f}"


def _decimals(ticks: Sequence[float]) -> int:
    """The fewest decimals that write every tick exactly (a 2.5 step needs one: 97.5)."""
    for decimals in range(7):
        if all(abs(round(t, decimals) - t) < 1e-9 * max(1.0, abs(t)) for t in ticks):
            return decimals
    return 6


@dataclass(frozen=True, slots=True)
class Axis:
    """One axis: its range, scale and ticks."""

    low: float
    high: float
    log: bool = False

    @classmethod
    def around(cls, values: Sequence[float], *, margin: float = 0.1, log: bool = False) -> Axis:
        """The values' range, padded by ``margin`` of it at each end (in log space on a
        log axis); a single value gets a range around it."""
        finite = [v for v in values if math.isfinite(v) and (v > 0 or not log)]
        if not finite:
            return cls(1e-3, 1.0, log) if log else cls(0.0, 1.0)
        fold = math.log10 if log else float
        low, high = fold(min(finite)), fold(max(finite))
        span = high - low or (0.5 if log else abs(high) * 0.1 or 1.0)
        low, high = low - span * margin, high + span * margin
        return cls(10.0**low, 10.0**high, True) if log else cls(low, high)

    def fraction(self, value: float) -> float:
        """Where ``value`` sits between the ends, 0 to 1."""
        if self.log:
            low = math.log10(self.low)
            return (math.log10(value) - low) / (math.log10(self.high) - low)
        return (value - self.low) / (self.high - self.low)

    def ticks(self) -> list[float]:
        """The tick values inside the range."""
        return log_ticks(self.low, self.high) if self.log else linear_ticks(self.low, self.high)

    def covers(self, value: float) -> bool:
        """True when ``value`` lies within the range (ticks outside it are not drawn)."""
        return min(self.low, self.high) - 1e-12 <= value <= max(self.low, self.high) + 1e-12
