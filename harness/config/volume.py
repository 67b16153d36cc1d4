"""The ``volume`` setting: a query volume such as ``"100k/day"``, as queries per month."""

from __future__ import annotations

import re

from harness.errors import ConfigError

__all__ = ["parse_volume"]

_DAYS_PER_MONTH = 30
_PER_MONTH = {
    "hour": 24 * _DAYS_PER_MONTH,
    "day": _DAYS_PER_MONTH,
    "week": _DAYS_PER_MONTH / 7,
    "month": 1,
}
_UNITS = {"": 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000}
_VOLUME = re.compile(
    r"""
    \s*(?P<number>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)
    \s*(?P<unit>[kmb])?
    \s*(?:/|\s+per\s+)\s*(?P<period>hour|day|week|month)s?\s*
    """,
    re.VERBOSE | re.IGNORECASE,
)


def parse_volume(text: str) -> float:
    """Queries per month from a volume such as ``"1M/day"`` or ``"250000/month"``.

    Args:
        text: A number with optional thousands separators and an optional unit
            (``k``, ``M``, ``B``), a slash (or ``per``) and a period (``hour``,
            ``day``, ``week``, ``month``). A month is 30 days.

    Returns:
        The volume in queries per month.

    Raises:
        ConfigError: ``text`` is not in that form.
    """
    match = _VOLUME.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(
            f"volume {text!r} is not understood. Write it as a number and a period, "
            "e.g. '1M/day' or '250000/month'."
        )
    number = float(match["number"].replace(",", ""))
    unit = _UNITS[(match["unit"] or "").lower()]
    return number * unit * _PER_MONTH[match["period"].lower()]
