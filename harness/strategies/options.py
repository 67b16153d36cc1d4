"""Checked reading of a strategy's options table (shared by every reference strategy)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from harness.config_values import check_keys
from harness.errors import ConfigError


def read_options(
    options: Mapping[str, Any],
    *,
    kind: str,
    required: tuple[str, ...] = (),
    optional: tuple[str, ...] = (),
    where: str,
) -> dict[str, Any]:
    """Check that ``options`` has every required key and no unknown key."""
    check_keys(options, (*required, *optional), where=f"{where} ({kind})")
    for key in required:
        if key not in options:
            raise ConfigError(f"{where} ({kind}): {key!r} is required.")
    return dict(options)


def unit_interval(value: Any, *, key: str, where: str) -> float:
    """A number in [0, 1]: thresholds, shares."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ConfigError(f"{where}: {key!r} must be a number between 0 and 1, got {value!r}.")
    if not 0.0 <= float(value) <= 1.0:
        raise ConfigError(
            f"{where}: {key!r} must be between 0 and 1, got {value!r}. Thresholds compare "
            "with the router's score, the predicted need for the strong model in [0, 1]."
        )
    return float(value)


def positive_int(value: Any, *, key: str, where: str, minimum: int = 0) -> int:
    """A whole number at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where}: {key!r} must be a whole number >= {minimum}, got {value!r}.")
    return value
