"""Checked reads from untyped tables (TOML, YAML, JSON) with located errors.

Every reader names where the value came from, so a bad value is reported as
``pyproject.toml [tool.cost-eval.gate]: 'confidence' must be a number in
(0, 1), got '95%'`` rather than as a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from harness.errors import ConfigError, CostEvalError


def check_keys(
    table: Mapping[str, Any],
    allowed: Iterable[str],
    *,
    where: str,
    error: type[CostEvalError] = ConfigError,
) -> None:
    """Raise ``error`` naming the first key of ``table`` not in ``allowed``."""
    allowed = sorted(allowed)
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise error(f"{where}: unknown key {key!r}.{hint} Valid keys: {', '.join(allowed)}.")


def get_float(
    table: Mapping[str, Any],
    key: str,
    default: float,
    *,
    where: str,
    low: float | None = None,
    high: float | None = None,
    error: type[CostEvalError] = ConfigError,
) -> float:
    """A number from ``table`` (ints accepted), optionally within [low, high]."""
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise error(f"{where}: {key!r} must be a number, got {value!r}.")
    try:
        number = float(value)
    except OverflowError:  # an int beyond any float
        raise error(f"{where}: {key!r} is out of range, got {value!r}.") from None
    if (
        number != number
        or (low is not None and number < low)
        or (high is not None and number > high)
    ):
        bounds = f" between {low} and {high}" if low is not None and high is not None else ""
        raise error(f"{where}: {key!r} must be a number{bounds}, got {value!r}.")
    return number


def get_str(
    table: Mapping[str, Any],
    key: str,
    default: str | None = None,
    *,
    where: str,
    error: type[CostEvalError] = ConfigError,
) -> str:
    """A non-empty string from ``table``; missing and no default is an error."""
    value = table.get(key, default)
    if value is None:
        raise error(f"{where}: {key!r} is required.")
    if not isinstance(value, str) or not value.strip():
        raise error(f"{where}: {key!r} must be a non-empty string, got {value!r}.")
    return value


def get_bool(
    table: Mapping[str, Any],
    key: str,
    default: bool,
    *,
    where: str,
    error: type[CostEvalError] = ConfigError,
) -> bool:
    """A boolean from ``table`` (``true``/``false``, not strings)."""
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise error(f"{where}: {key!r} must be true or false, got {value!r}.")
    return value


def get_table(
    table: Mapping[str, Any],
    key: str,
    *,
    where: str,
    error: type[CostEvalError] = ConfigError,
) -> Mapping[str, Any]:
    """A nested table from ``table``; missing gives an empty one."""
    value = table.get(key, {})
    if not isinstance(value, Mapping):
        raise error(f"{where}: {key!r} must be a table, got {value!r}.")
    return value
