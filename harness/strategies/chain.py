"""Build a configuration's chain and send a request through it.

The order is fixed: ``compress -> cache -> route -> batch -> provider``. The
compressor rewrites what the cache and the model see; the cache sits before
the router so a hit skips routing; the batch flag only changes the price.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.config.settings import ConfigSpec, StrategySpec
from harness.errors import ConfigError, CostEvalError
from harness.registry import Registry
from harness.strategies import compress as _compress  # noqa: F401  (registers the built-in compressors)
from harness.strategies import exact_cache as _exact_cache  # noqa: F401  (registers the built-in caches)
from harness.strategies import router as _router  # noqa: F401  (registers the built-in routers)
from harness.strategies import semantic_cache as _semantic_cache  # noqa: F401  (registers "semantic")
from harness.strategies.base import (
    CallNext,
    Strategy,
    StrategyFactory,
    caches,
    compressors,
    routers,
)
from harness.strategies.compress import guard_compressor
from harness.strategies.user_cache import is_cache_backend, user_cache
from harness.types import Request, Response


class BatchFlag:
    """Mark requests for batch processing: priced at batch rates."""

    name = "batch"
    stateful = False

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        return await call_next(request.with_batch(True))


class FixedModel:
    """Send every request to one model (a configuration without a router)."""

    name = "model"
    stateful = False

    def __init__(self, model: str) -> None:
        self.model = model
        self.models = (model,)

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        if request.purpose != "answer":
            return await call_next(request)  # a helper call keeps the model it chose
        return await call_next(request.with_model(self.model))


@dataclass(frozen=True, slots=True)
class Chain:
    """A configuration's strategies, outermost first."""

    strategies: tuple[Strategy, ...]

    @property
    def stateful(self) -> bool:
        """True when any link depends on earlier cases (run the cases in order)."""
        return any(s.stateful for s in self.strategies)

    def models(self) -> tuple[str, ...]:
        """Every model spec the chain may call."""
        found: list[str] = []
        for strategy in self.strategies:
            for model in getattr(strategy, "models", ()):
                if model not in found:
                    found.append(model)
        return tuple(found)

    async def send(self, request: Request, provider: CallNext) -> Response:
        """Send ``request`` through every link, then to ``provider``."""
        return await _call(self.strategies, request, provider)


async def _call(links: Sequence[Strategy], request: Request, provider: CallNext) -> Response:
    if not links:
        return await provider(request)
    head, rest = links[0], links[1:]

    async def call_next(inner: Request) -> Response:
        return await _call(rest, inner, provider)

    return await head(request, call_next)


def strategy_shape(slot: str) -> str:
    """What a strategy named by import path must be, for error messages."""
    shape = (
        "a function or class called as build(options, where) that returns a strategy "
        "(an object with 'name', 'stateful' and async __call__(request, call_next))"
    )
    if slot == "cache":
        shape += ", or a class with lookup(request) and store(request, answer)"
    return shape


def build_imported(
    factory: Any, strategy: StrategySpec, *, slot: str, where: str, key: str
) -> Strategy:
    """Build a strategy named by import path, checking it is one.

    ``where`` is passed to the factory (its options' errors); ``key`` names the
    setting (``config 'x' cache.kind``) in ours.

    Raises:
        ConfigError: the object cannot be called with (options, where), raised
            while being built, or built something that is not a strategy.
    """
    path = strategy.kind
    wrong = f"{key}: {path!r} is not a {slot} strategy"
    fix = f"A {slot} named by import path must be {strategy_shape(slot)}."
    if not callable(factory):
        raise ConfigError(f"{wrong}: it is a {type(factory).__name__}, not callable. {fix}")
    try:
        signature: inspect.Signature | None = inspect.signature(factory)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        try:
            signature.bind(strategy.options, where)
        except TypeError:
            raise ConfigError(
                f"{wrong}: it cannot be called as build(options, where) "
                f"(its signature is {signature}). {fix}"
            ) from None
    try:
        built = factory(strategy.options, where)
    except CostEvalError:
        raise
    except Exception as exc:
        raise ConfigError(
            f"{key}: building {path!r} from the table's other keys raised "
            f"{type(exc).__name__}: {exc}. {fix}"
        ) from None
    if not isinstance(built, Strategy):
        raise ConfigError(
            f"{wrong}: build(options, where) returned a {type(built).__name__}. {fix}"
        )
    return built


def build_cache(strategy: StrategySpec, where: str) -> Strategy:
    """A configuration's cache: a registered one, a factory, or a get/set class by path."""
    factory = caches.get(strategy.kind, where=where)
    if is_cache_backend(factory):
        return user_cache(
            factory,  # type: ignore[arg-type]
            strategy.options,
            path=strategy.kind,
            where=where,
        )
    if ":" in strategy.kind:
        key = f"{where.removesuffix('.cache')} cache.kind"
        return build_imported(factory, strategy, slot="cache", where=where, key=key)
    return factory(strategy.options, where)


def build_chain(spec: ConfigSpec, *, where: str) -> Chain:
    """The chain of ``spec``, each strategy built and its options checked.

    Raises:
        UnknownComponent: a strategy kind nobody registered.
        ConfigError: a strategy option is missing or invalid.
    """
    links: list[Strategy] = []

    def build(registry: Registry[StrategyFactory], strategy: StrategySpec, slot: str) -> Strategy:
        factory = registry.get(strategy.kind, where=f"{where}.{slot}")
        if ":" in strategy.kind:
            return build_imported(
                factory, strategy, slot=slot, where=f"{where}.{slot}", key=f"{where} {slot}.kind"
            )
        return factory(strategy.options, f"{where}.{slot}")

    if spec.compress is not None:
        # User compressors are checked for sending more tokens than they got.
        links.append(guard_compressor(build(compressors, spec.compress, "compress")))
    if spec.cache is not None:
        links.append(build_cache(spec.cache, f"{where}.cache"))
    if spec.router is not None:
        links.append(build(routers, spec.router, "router"))
    elif spec.model is not None:
        links.append(FixedModel(spec.model))
    if spec.batch:
        links.append(BatchFlag())
    return Chain(tuple(links))
