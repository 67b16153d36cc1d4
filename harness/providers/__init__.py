"""Providers: where requests go, chosen by the prefix of the model spec.

``sim:`` (offline simulated models), ``replay:`` (recorded responses only).
Each provider module is imported only when a model of its prefix is used.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import UnknownComponent
from .base import Provider
from .replay import Lookup

PROVIDERS = ("sim", "replay")
"""Known model-spec prefixes."""


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
        from .sim import check_model

        try:
            check_model(spec)
        except UnknownComponent as exc:
            raise UnknownComponent(exc.kind, exc.name, _sim_models(), where=where) from None
    if prefix == "replay":
        check_model_spec(name, where=where)


def _sim_models() -> list[str]:
    from .sim import MODELS

    return sorted(MODELS)


def make_provider(prefix: str, *, lookup: Lookup) -> Provider:
    """The provider serving model specs that start with ``prefix:``."""
    factories: dict[str, Callable[[], Provider]] = {
        "sim": _sim,
        "replay": lambda: _replay(lookup),
    }
    factory = factories.get(prefix)
    if factory is None:
        raise UnknownComponent("provider", prefix, PROVIDERS)
    return factory()


def _sim() -> Provider:
    from .sim import SimProvider

    return SimProvider()


def _replay(lookup: Lookup) -> Provider:
    from .replay import ReplayProvider

    return ReplayProvider(lookup)


__all__ = ["PROVIDERS", "Provider", "check_model_spec", "make_provider"]
