"""[tool.cost-eval]: reading, checking, prices and sweep expansion."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from harness.config.settings import (
    ConfigSpec,
    Price,
    Settings,
    StrategySpec,
    load_settings,
    parse_price,
    parse_settings,
)
from harness.errors import ConfigError
from harness.stats.gates import GateSpec

ROUTER = {"kind": "threshold", "strong": "sim:frontier", "weak": "sim:small"}


def parse(table: dict[str, Any], root: Path = Path("/proj")) -> Settings:
    full = {"baseline": "sim:frontier", **table}
    return parse_settings(full, root=root, source="pyproject.toml")


def configs(*raw: dict[str, Any]) -> tuple[ConfigSpec, ...]:
    return parse({"configs": list(raw)}).configs


def config_error(*raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        configs(*raw)
    return str(info.value)


# --------------------------------------------------------------------------- top level


def test_defaults_resolved_against_root() -> None:
    settings = parse({})
    assert settings.baseline == "sim:frontier"
    assert settings.suites_dir == Path("/proj/suites")
    assert settings.goldens_dir == Path("/proj/goldens")
    assert settings.db == Path("/proj/results/cost_eval.duckdb")
    assert settings.report == Path("/proj/results/report.html")
    assert settings.volume == "100k/day"
    assert settings.seed == 20261126
    assert settings.gate == GateSpec()
    assert settings.configs == ()
    assert settings.prices == {}


def test_absolute_paths_are_kept() -> None:
    settings = parse({"db": "/data/x.duckdb", "suites": "evals/suites"})
    assert settings.db == Path("/data/x.duckdb")
    assert settings.suites_dir == Path("/proj/evals/suites")


def test_baseline_is_required() -> None:
    with pytest.raises(ConfigError, match=r"pyproject.toml \[tool.cost-eval\]: 'baseline' is req"):
        parse_settings({}, root=Path("/proj"), source="pyproject.toml")


def test_unknown_top_level_key_did_you_mean() -> None:
    with pytest.raises(ConfigError) as info:
        parse({"baselin": "sim:small"})
    assert "unknown key 'baselin'. Did you mean 'baseline'?" in str(info.value)


@pytest.mark.parametrize("seed", ["7", 1.5, True])
def test_seed_must_be_an_integer(seed: object) -> None:
    with pytest.raises(ConfigError, match=r"'seed' must be an integer"):
        parse({"seed": seed})


def test_project_gate_is_merged_and_checked() -> None:
    assert parse({"gate": {"max_quality_drop": 0.05}}).gate.max_quality_drop == 0.05
    with pytest.raises(ConfigError, match=r"\[tool.cost-eval\].gate: 'confidence'"):
        parse({"gate": {"confidence": 5}})


def test_configs_must_be_an_array_of_tables() -> None:
    with pytest.raises(ConfigError, match=r"'configs' must be an array of tables"):
        parse({"configs": {"name": "x"}})
    with pytest.raises(ConfigError, match=r"configs\[0\]: must be a table"):
        parse({"configs": ["x"]})


# --------------------------------------------------------------------------- prices


def test_prices_are_decimals() -> None:
    settings = parse({"prices": {"sim:small": {"input": 0.15, "output": 0.6}}})
    price = settings.prices["sim:small"]
    assert price == Price(input=Decimal("0.15"), output=Decimal("0.6"))
    assert price.batch_discount == Decimal("0.5")
    assert price.cached_input is None


def test_price_all_keys() -> None:
    price = parse_price(
        {"input": 2, "output": 8, "cached_input": 0.5, "cache_write": 3, "batch_discount": 0.4},
        where="w",
    )
    assert price == Price(
        input=Decimal(2),
        output=Decimal(8),
        cached_input=Decimal("0.5"),
        cache_write=Decimal(3),
        batch_discount=Decimal("0.4"),
    )


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"input": 1.0}, "'output' is required (USD per million tokens)"),
        ({"input": "cheap", "output": 1}, "'input' must be a number, got 'cheap'"),
        ({"input": True, "output": 1}, "'input' must be a number, got True"),
        ({"input": -1, "output": 1}, "'input' is out of range: -1"),
        ({"input": 1, "output": 1, "batch_discount": 1.5}, "'batch_discount' is out of range"),
        ({"input": 1, "outptu": 1}, "unknown key 'outptu'. Did you mean 'output'?"),
        (5.0, "must be a table like {input = 2.5, output = 10.0}"),
    ],
)
def test_price_errors(entry: Any, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse({"prices": {"sim:small": entry}})
    assert "prices.'sim:small'" in str(info.value)
    assert fragment in str(info.value)


# --------------------------------------------------------------------------- configurations


def test_simple_config() -> None:
    (spec,) = configs({"name": "small-only", "model": "sim:small", "enforce": True})
    assert spec.name == spec.family == "small-only"
    assert spec.model == "sim:small"
    assert spec.router is spec.cache is spec.compress is None
    assert spec.enforce and not spec.batch
    assert spec.sweep == ()
    assert spec.applies_to("anything")


def test_strategy_shorthand_string_and_table() -> None:
    (spec,) = configs(
        {
            "name": "c",
            "model": "sim:frontier",
            "cache": "exact",
            "compress": {"kind": "keep_last", "turns": 2},
        }
    )
    assert spec.cache == StrategySpec(kind="exact", options={})
    assert spec.compress == StrategySpec(kind="keep_last", options={"turns": 2})


def test_strategy_table_needs_a_kind() -> None:
    message = config_error({"name": "c", "model": "sim:small", "cache": {"ttl": 5}})
    assert "'cache' must be a table with a 'kind'" in message
    assert 'cache = { kind = "exact" }' in message


def test_config_suites_restriction() -> None:
    (spec,) = configs({"name": "c", "model": "sim:small", "suites": ["faq"]})
    assert spec.suites == ("faq",)
    assert spec.applies_to("faq") and not spec.applies_to("arithmetic")
    assert "'suites' must be a list of suite names" in config_error(
        {"name": "c", "model": "sim:small", "suites": "faq"}
    )


def test_config_gate_merges_over_project_gate() -> None:
    settings = parse(
        {
            "gate": {"max_quality_drop": 0.05, "confidence": 0.9},
            "configs": [{"name": "c", "model": "sim:small", "gate": {"max_quality_drop": 0.01}}],
        }
    )
    (spec,) = settings.configs
    assert spec.gate.max_quality_drop == 0.01
    assert spec.gate.confidence == 0.9
    assert spec.gate_overrides == {"max_quality_drop": 0.01}


def test_config_bad_gate_names_the_config() -> None:
    message = config_error({"name": "c", "model": "sim:small", "gate": {"margin": 0.1}})
    assert "configs[0] (name 'c').gate: unknown key 'margin'" in message


def test_model_and_router_both_is_an_error() -> None:
    message = config_error({"name": "r", "model": "sim:small", "router": {**ROUTER}})
    assert "configs[0] (name 'r')" in message
    assert "has both 'model' and a router; the router picks the model. Remove one." in message


def test_neither_model_nor_router_is_an_error() -> None:
    message = config_error({"name": "r", "cache": "exact"})
    assert "says neither which model answers nor how to pick one" in message
    assert 'model = "provider:name"' in message


@pytest.mark.parametrize("name", ["has space", "a:b", "route[1]"])
def test_bad_names(name: str) -> None:
    message = config_error({"name": name, "model": "sim:small"})
    assert "names may not contain spaces, ':' or brackets" in message


def test_name_is_required() -> None:
    assert "configs[0]: 'name' is required." in config_error({"model": "sim:small"})


def test_model_must_be_a_nonempty_string() -> None:
    message = config_error({"name": "c", "model": 3})
    assert "'model' must be a model spec like 'sim:small', got 3" in message


def test_unknown_config_key_did_you_mean() -> None:
    message = config_error({"name": "c", "model": "sim:small", "enforced": True})
    assert "configs[0]: unknown key 'enforced'. Did you mean 'enforce'?" in message


def test_bool_keys_are_checked() -> None:
    message = config_error({"name": "c", "model": "sim:small", "batch": "yes"})
    assert "'batch' must be true or false, got 'yes'" in message


def test_duplicate_names() -> None:
    message = config_error({"name": "c", "model": "sim:small"}, {"name": "c", "model": "sim:small"})
    assert "two configurations are named 'c'" in message


def test_baseline_is_reserved() -> None:
    message = config_error({"name": "baseline", "model": "sim:small"})
    assert "'baseline', which is reserved" in message


# --------------------------------------------------------------------------- sweeps


def test_single_sweep_dimension() -> None:
    specs = configs({"name": "route", "router": {**ROUTER, "threshold": [0.3, 0.5, 0.7]}})
    assert [s.name for s in specs] == [
        "route[threshold=0.3]",
        "route[threshold=0.5]",
        "route[threshold=0.7]",
    ]
    assert {s.family for s in specs} == {"route"}
    assert [s.router.options["threshold"] for s in specs if s.router] == [0.3, 0.5, 0.7]
    assert [s.sweep for s in specs] == [
        (("threshold", 0.3),),
        (("threshold", 0.5),),
        (("threshold", 0.7),),
    ]
    # The kind is not an option, and the other options are shared.
    assert all(
        s.router is not None
        and s.router.kind == "threshold"
        and s.router.options["strong"] == "sim:frontier"
        and "kind" not in s.router.options
        for s in specs
    )


def test_cartesian_product_of_two_dimensions() -> None:
    specs = configs(
        {
            "name": "rc",
            "router": {**ROUTER, "threshold": [0.3, 0.6], "score": ["random", "length"]},
        }
    )
    assert [s.name for s in specs] == [
        "rc[threshold=0.3,score=random]",
        "rc[threshold=0.3,score=length]",
        "rc[threshold=0.6,score=random]",
        "rc[threshold=0.6,score=length]",
    ]
    assert len({s.name for s in specs}) == 4
    assert specs[1].router is not None
    assert dict(specs[1].router.options) == {
        "strong": "sim:frontier",
        "weak": "sim:small",
        "threshold": 0.3,
        "score": "length",
    }
    assert specs[1].sweep == (("threshold", 0.3), ("score", "length"))


def test_dimensions_across_slots_in_chain_order() -> None:
    specs = configs(
        {
            "name": "mix",
            "compress": {"kind": "keep_last", "turns": [1, 2]},
            "router": {**ROUTER, "threshold": [0.4, 0.8]},
        }
    )
    assert [s.name for s in specs] == [
        "mix[turns=1,threshold=0.4]",
        "mix[turns=1,threshold=0.8]",
        "mix[turns=2,threshold=0.4]",
        "mix[turns=2,threshold=0.8]",
    ]
    assert [
        (s.compress.options["turns"], s.router.options["threshold"])
        for s in specs
        if s.compress and s.router
    ] == [(1, 0.4), (1, 0.8), (2, 0.4), (2, 0.8)]


def test_same_key_in_two_tables_is_labelled_with_the_slot() -> None:
    specs = configs(
        {
            "name": "twin",
            "cache": {"kind": "semantic", "threshold": [0.9, 0.95]},
            "router": {**ROUTER, "threshold": [0.5]},
        }
    )
    assert [s.name for s in specs] == [
        "twin[cache.threshold=0.9,router.threshold=0.5]",
        "twin[cache.threshold=0.95,router.threshold=0.5]",
    ]
    assert specs[0].sweep == (("cache.threshold", 0.9), ("router.threshold", 0.5))
    assert specs[1].cache is not None and specs[1].cache.options["threshold"] == 0.95
    assert specs[1].router is not None and specs[1].router.options["threshold"] == 0.5


def test_sweep_points_do_not_share_option_tables() -> None:
    specs = configs({"name": "route", "router": {**ROUTER, "threshold": [0.3, 0.5]}})
    assert specs[0].router is not None and specs[1].router is not None
    assert specs[0].router.options is not specs[1].router.options
    assert specs[0].router.options["threshold"] != specs[1].router.options["threshold"]


def test_sweep_shares_the_rest_of_the_config() -> None:
    specs = configs(
        {
            "name": "route",
            "router": {**ROUTER, "threshold": [0.3, 0.5]},
            "enforce": True,
            "batch": True,
            "description": "d",
            "gate": {"max_quality_drop": 0.04},
        }
    )
    for spec in specs:
        assert spec.enforce and spec.batch and spec.description == "d"
        assert spec.gate.max_quality_drop == 0.04


def test_empty_sweep_list_is_an_error() -> None:
    message = config_error({"name": "route", "router": {**ROUTER, "threshold": []}})
    assert "router.threshold is an empty list; give at least one value." in message


def test_sweeps_of_two_configs_with_equal_points_are_distinct_by_family() -> None:
    specs = configs(
        {"name": "a", "router": {**ROUTER, "threshold": [0.5]}},
        {"name": "b", "router": {**ROUTER, "threshold": [0.5]}},
    )
    assert [s.name for s in specs] == ["a[threshold=0.5]", "b[threshold=0.5]"]


# --------------------------------------------------------------------------- files


def test_load_settings_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.cost-eval]\nbaseline = "sim:frontier"\nseed = 3\n\n'
        '[[tool.cost-eval.configs]]\nname = "small"\nmodel = "sim:small"\n'
    )
    settings = load_settings(tmp_path)
    assert settings.source == "pyproject.toml"
    assert settings.root == tmp_path
    assert settings.seed == 3
    assert [c.name for c in settings.configs] == ["small"]


def test_load_settings_without_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path)
    assert "no [tool.cost-eval] table" in str(info.value)
    assert 'baseline = "sim:frontier"' in str(info.value)


def test_load_settings_missing_pyproject(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{tmp_path}: no settings here: neither cost-eval.toml nor ")
    assert "harness init" in message and "--cost-eval-settings PATH" in message


def test_load_settings_invalid_toml(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.cost-eval\nbaseline = 1\n")
    with pytest.raises(ConfigError, match=r"not valid TOML"):
        load_settings(tmp_path)


def test_explicit_config_file_top_level_keys(tmp_path: Path) -> None:
    sub = tmp_path / "conf"
    sub.mkdir()
    (sub / "eval.toml").write_text('baseline = "sim:small"\nsuites = "s"\n')
    settings = load_settings(tmp_path, "conf/eval.toml")
    assert settings.baseline == "sim:small"
    assert settings.source == "eval.toml"
    # Relative paths are resolved against the config file's folder.
    assert settings.suites_dir == sub / "s"


def test_explicit_config_file_with_tool_table(tmp_path: Path) -> None:
    path = tmp_path / "eval.toml"
    path.write_text('[tool.cost-eval]\nbaseline = "sim:small"\n')
    assert load_settings(tmp_path, str(path)).baseline == "sim:small"


def test_explicit_config_file_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path, "nope.toml")
    assert str(info.value).startswith("no settings file at")
    assert "nope.toml" in str(info.value)
