"""Providers: where requests go, chosen by the prefix of the model spec.

``sim:`` (offline simulated models), ``replay:`` (recorded responses only),
``openai:`` and ``anthropic:`` (the real APIs, through their official SDKs).
The provider modules are imported with this package; each one imports its
SDK only when a provider of its prefix is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from harness.errors import ConfigError, UnknownComponent
from harness.providers.anthropic import AnthropicProvider
from harness.providers.base import Provider
from harness.providers.openai import OpenAIProvider
from harness.providers.replay import ImportedSource, Lookup, ReplayProvider
from harness.providers.sim import MODELS as SIM_MODELS
from harness.providers.sim import SimProvider, check_model

PROVIDERS = ("sim", "replay", "openai", "anthropic")
"""Known model-spec prefixes."""
LOCAL_PROVIDERS = ("sim", "replay")
"""Prefixes whose calls are local and free (no key, no network)."""


def base_model(model: str) -> str:
    """The recorded model behind a replayed one: ``replay:openai:gpt-4o`` -> ``openai:gpt-4o``."""
    while model.startswith("replay:"):
        model = model[len("replay:") :]
    return model


def is_remote(prefix: str) -> bool:
    """Whether ``prefix:`` models are paid API calls, without building the provider.

    Building a real provider needs its API key; a run that only replays
    recorded answers (record mode ``none``) can ask this instead.
    """
    return prefix not in LOCAL_PROVIDERS


def check_model_spec(spec: str, *, where: str) -> None:
    """Raise a located error when ``spec`` names no known provider or model.

    Raises:
        UnknownComponent: unknown provider prefix or unknown simulated model.
    """
    prefix, sep, name = spec.partition(":")
    if not sep or not name:
        raise UnknownComponent("provider", spec, PROVIDERS, where=where)
    if prefix not in PROVIDERS:
        raise UnknownComponent("provider", prefix, PROVIDERS, where=where)
    if prefix == "sim":
        try:
            check_model(spec)
        except UnknownComponent as exc:
            raise UnknownComponent(exc.kind, exc.name, sorted(SIM_MODELS), where=where) from None
    if prefix == "replay":
        # Replayed models need only a name: their answers come from recordings
        # (imported ones may name no provider we can call, or no provider at all:
        # "replay:gpt-4o-2024-08-06", as a log wrote it).
        inner_prefix, inner_sep, inner_name = name.partition(":")
        if inner_sep and (not inner_name or not inner_prefix):
            raise UnknownComponent("provider", spec, PROVIDERS, where=where)


REMOTE_OPTIONS = (
    "base_url",
    "api_key",
    "api_key_env",
    "timeout",
    "max_retries",
    "max_concurrency",
    "requests_per_minute",
    "tokens_per_minute",
)
"""Options every real provider takes (``[tool.cost-eval.providers.<prefix>]``)."""
EXTRA_OPTIONS: dict[str, tuple[str, ...]] = {
    "anthropic": ("cache_system_prompt",),
    "openai": ("http_client",),
}
"""Options only some real providers take."""


def make_provider(
    prefix: str,
    *,
    lookup: Lookup,
    options: Mapping[str, Any] | None = None,
    imported: ImportedSource | None = None,
) -> Provider:
    """The provider serving model specs that start with ``prefix:``.

    Args:
        lookup: Recorded responses by request hash (for ``replay:``).
        imported: Where a model's imported answers are, or None (for ``replay:``'s
            message when an answer is missing: an imported model is never to be called).
        options: Keyword options of a real provider (see :data:`REMOTE_OPTIONS`);
            ignored by ``sim:`` and ``replay:``.

    Raises:
        UnknownComponent: unknown prefix.
        ConfigError: an option the provider does not take.
        ProviderError: a real provider cannot be set up (no API key).
        MissingDependency: its SDK is not installed.
    """
    opts = dict(options or {})
    factories: dict[str, Callable[[], Provider]] = {
        "sim": SimProvider,
        "replay": lambda: ReplayProvider(
            lookup,
            imported=imported,
            callable_prefixes=[p for p in PROVIDERS if p not in ("replay",)],
        ),
        "openai": lambda: OpenAIProvider(**opts),
        "anthropic": lambda: AnthropicProvider(**opts),
    }
    factory = factories.get(prefix)
    if factory is None:
        raise UnknownComponent("provider", prefix, PROVIDERS)
    if prefix in ("openai", "anthropic"):
        allowed = REMOTE_OPTIONS + EXTRA_OPTIONS.get(prefix, ())
        unknown = sorted(set(opts) - set(allowed))
        if unknown:
            raise ConfigError(
                f"[tool.cost-eval.providers.{prefix}]: unknown option(s) "
                f"{', '.join(repr(k) for k in unknown)}. Allowed: {', '.join(allowed)}."
            )
    return factory()


__all__ = [
    "LOCAL_PROVIDERS",
    "PROVIDERS",
    "REMOTE_OPTIONS",
    "ImportedSource",
    "Provider",
    "check_model_spec",
    "is_remote",
    "make_provider",
]
