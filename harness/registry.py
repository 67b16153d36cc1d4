"""Named registries of components, loaded lazily.

A registry maps a snake_case name to a factory. Built-in components register
themselves by name; users add their own through an entry point group
(``harness.routers``, ``harness.caches``, ``harness.compressors``,
``harness.embedders``, ``harness.scorers``) or name
one directly by import path, ``"package.module:attribute"``. Nothing is
imported until a name is looked up, so a pytest run without ``--cost-eval``
pays nothing for components it never uses.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from harness.errors import ConfigError, UnknownComponent

T = TypeVar("T")


def load_import_path(path: str, *, where: str = "") -> object:
    """Import ``"package.module:attribute"`` and return the attribute.

    Raises:
        ConfigError: the module or the attribute does not exist.
    """
    module_name, _, attr = path.partition(":")
    prefix = f"{where}: " if where else ""
    if not module_name or not attr:
        raise ConfigError(
            f"{prefix}{path!r} is not an import path. Write it as 'package.module:name'."
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"{prefix}cannot import module {module_name!r} named in {path!r}: {exc}. "
            "Check the spelling and that the package is installed in this environment."
        ) from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(
            f"{prefix}module {module_name!r} has no attribute {attr!r} (from {path!r})."
        ) from None


class Registry(Generic[T]):
    """Name -> factory, with entry points and import paths as fallbacks.

    Args:
        kind: What the registry holds ("scorer"), for error messages.
        group: The entry point group read for user components.
    """

    def __init__(self, kind: str, group: str) -> None:
        self.kind = kind
        self.group = group
        self._factories: dict[str, Callable[[], T]] = {}
        self._entry_points_loaded = False

    def register(self, name: str) -> Callable[[Callable[[], T]], Callable[[], T]]:
        """Decorator: register a zero-argument factory under ``name``."""

        def decorate(factory: Callable[[], T]) -> Callable[[], T]:
            self._factories[name] = factory
            return factory

        return decorate

    def names(self) -> list[str]:
        """Every registered name, entry points included."""
        self._load_entry_points()
        return sorted(self._factories)

    def get(self, name: str, *, where: str = "") -> T:
        """The component registered as ``name`` or found at import path ``name``.

        Raises:
            UnknownComponent: no such name; the message suggests close ones.
        """
        if ":" in name:
            return load_import_path(name, where=where)  # type: ignore[return-value]
        factory = self._factories.get(name)
        if factory is None:
            self._load_entry_points()
            factory = self._factories.get(name)
        if factory is None:
            raise UnknownComponent(self.kind, name, self._factories, where=where)
        return factory()

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=self.group):
            self._factories.setdefault(ep.name, ep.load)
