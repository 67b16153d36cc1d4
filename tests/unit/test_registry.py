"""Registries of named components, import paths, and the errors that name them."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError, MissingDependency, UnknownComponent
from harness.registry import Registry, load_import_path
from harness.strategies.base import caches, compressors, routers

GROUP = "harness.tests-no-such-group"


def make_registry() -> Registry[str]:
    registry: Registry[str] = Registry("widget", GROUP)

    @registry.register("blue_widget")
    def blue() -> str:
        return "blue"

    @registry.register("zebra")
    def zebra() -> str:
        return "zebra"

    return registry


def test_register_and_get_builds_each_time() -> None:
    registry: Registry[list[int]] = Registry("thing", GROUP)
    registry.register("fresh")(list)
    first = registry.get("fresh")
    assert first == []
    assert registry.get("fresh") is not first  # the factory runs per lookup


def test_register_returns_the_factory() -> None:
    registry: Registry[str] = Registry("thing", GROUP)

    def factory() -> str:
        return "x"

    assert registry.register("x")(factory) is factory


def test_names_sorted() -> None:
    assert make_registry().names() == ["blue_widget", "zebra"]


def test_unknown_name_suggests_close_ones() -> None:
    with pytest.raises(UnknownComponent) as info:
        make_registry().get("blue_widgte", where="suites/a.yaml: scorer")
    error = info.value
    assert (error.kind, error.name) == ("widget", "blue_widgte")
    assert str(error) == (
        "suites/a.yaml: scorer: Unknown widget 'blue_widgte'. Did you mean: blue_widget? "
        "Available: blue_widget, zebra."
    )


def test_unknown_name_without_close_match() -> None:
    with pytest.raises(UnknownComponent) as info:
        make_registry().get("qqq")
    assert str(info.value) == "Unknown widget 'qqq'. Available: blue_widget, zebra."


def test_import_path_lookup() -> None:
    registry = make_registry()
    assert registry.get("harness.types:CONTEXT_PREFIX") == "Context documents:"


def test_load_import_path() -> None:
    from harness.types import Request

    assert load_import_path("harness.types:Request") is Request


@pytest.mark.parametrize("path", ["harness.types", ":Request", "harness.types:"])
def test_load_import_path_malformed(path: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_import_path(path, where="config 'r'")
    assert str(info.value) == (
        f"config 'r': {path!r} is not an import path. Write it as 'package.module:name'."
    )


def test_load_import_path_missing_module() -> None:
    with pytest.raises(ConfigError) as info:
        load_import_path("harness.no_such_module_xyz:f")
    message = str(info.value)
    assert message.startswith("cannot import module 'harness.no_such_module_xyz'")
    assert "Check the spelling" in message


def test_load_import_path_missing_attribute() -> None:
    with pytest.raises(ConfigError) as info:
        load_import_path("harness.types:Nope")
    assert str(info.value) == (
        "module 'harness.types' has no attribute 'Nope' (from 'harness.types:Nope')."
    )


def test_builtin_strategies_are_registered() -> None:
    import harness.strategies.chain  # noqa: F401  (registers the built-ins)

    assert "threshold" in routers.names()
    assert "exact" in caches.names()
    assert "keep_last" in compressors.names()
    with pytest.raises(UnknownComponent, match=r"Unknown router 'treshold'\. Did you mean: "):
        routers.get("treshold")


def test_missing_dependency_message() -> None:
    error = MissingDependency("The rouge_l scorer", ["evaluate", "rouge-score"])
    assert str(error) == (
        "The rouge_l scorer needs evaluate, rouge-score, which is not installed. "
        "Install it with: pip install evaluate rouge-score"
    )


def test_entry_points_are_a_fallback() -> None:
    """Names from the registry's entry point group are found (pytest11 lists this plugin)."""
    import harness.plugin

    registry: Registry[object] = Registry("plugin", "pytest11")
    assert "cost_eval" in registry.names()
    assert registry.get("cost_eval") is harness.plugin


def test_registered_name_wins_over_entry_point() -> None:
    registry: Registry[object] = Registry("plugin", "pytest11")
    registry.register("cost_eval")(lambda: "mine")
    assert registry.get("cost_eval") == "mine"
    assert registry.names().count("cost_eval") == 1
    assert registry.get("cost_eval") == "mine"
