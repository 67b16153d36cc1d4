"""``[tool.cost-eval.monitor]``: what ``harness monitor`` compares production against.

::

    [tool.cost-eval.monitor]
    config = "route-small-first"   # the configuration the team shipped
    max_tier_drift = 0.10          # share of any model, in points (0.10 = 10 points)
    max_cost_drift = 0.20          # actual cost per query vs projected, relative
    max_prompt_drift = 0.25        # prompt tokens per query vs the suite's, relative
    [tool.cost-eval.monitor.models]  # production model name -> model of the configuration
    "gpt-4o-2024-08-06" = "openai:gpt-4o"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.config.settings import Settings, settings_section
from harness.config_values import check_keys, get_float, get_str, get_table
from harness.errors import ConfigError

__all__ = ["MONITOR_KEYS", "MonitorSettings", "monitor_settings", "parse_monitor"]

MONITOR_KEYS = ("config", "max_tier_drift", "max_cost_drift", "max_prompt_drift", "models")


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorSettings:
    """Drift limits and the shipped configuration."""

    config: str | None = None
    """The configuration whose projection production is held to (``--config`` wins)."""
    max_tier_drift: float = 0.10
    """Largest change of any model's share of traffic, as a fraction (0.10: 10 points)."""
    max_cost_drift: float = 0.20
    """Largest relative change of the cost per query against the projection."""
    max_prompt_drift: float = 0.25
    """Largest relative change of prompt tokens per query against the suite's."""
    models: Mapping[str, str] = field(default_factory=dict)
    """Production model names mapped to the models the configuration names."""


def parse_monitor(table: Mapping[str, Any], *, where: str) -> MonitorSettings:
    """Check a ``[tool.cost-eval.monitor]`` table."""
    check_keys(table, MONITOR_KEYS, where=where)
    models = get_table(table, "models", where=where)
    for name, spec in models.items():
        if not isinstance(spec, str) or not spec:
            raise ConfigError(
                f"{where}.models: {name!r} must map to a model name such as "
                f'"openai:gpt-4o", got {spec!r}.'
            )
    return MonitorSettings(
        config=get_str(table, "config", where=where) if "config" in table else None,
        max_tier_drift=get_float(table, "max_tier_drift", 0.10, where=where, low=0, high=1),
        max_cost_drift=get_float(table, "max_cost_drift", 0.20, where=where, low=0, high=100),
        max_prompt_drift=get_float(table, "max_prompt_drift", 0.25, where=where, low=0, high=100),
        models=dict(models),
    )


def monitor_settings(settings: Settings) -> MonitorSettings:
    """The monitor table of the file ``settings`` came from (defaults when it has none)."""
    table, where = settings_section(settings, "monitor")
    return parse_monitor(table, where=where)
