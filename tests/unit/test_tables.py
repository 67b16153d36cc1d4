"""Checked reads from untyped tables: every bad value is reported with where it came from."""

from __future__ import annotations

import math

import pytest

from harness.config_values import check_keys, get_bool, get_float, get_str, get_table
from harness.errors import ConfigError, SuiteError

WHERE = "pyproject.toml [tool.cost-eval.gate]"


def test_check_keys_accepts_known_keys() -> None:
    check_keys({"a": 1, "b": 2}, ["a", "b", "c"], where=WHERE)
    check_keys({}, ["a"], where=WHERE)


def test_check_keys_unknown_key_with_did_you_mean() -> None:
    with pytest.raises(ConfigError) as info:
        check_keys({"confidense": 0.9}, ["confidence", "resamples"], where=WHERE)
    message = str(info.value)
    assert message.startswith(f"{WHERE}: unknown key 'confidense'.")
    assert "Did you mean 'confidence'?" in message
    assert "Valid keys: confidence, resamples." in message


def test_check_keys_unknown_key_without_close_match() -> None:
    with pytest.raises(ConfigError) as info:
        check_keys({"zzz": 1}, ["confidence"], where=WHERE)
    assert "Did you mean" not in str(info.value)


def test_check_keys_error_class_is_configurable() -> None:
    with pytest.raises(SuiteError):
        check_keys({"x": 1}, ["y"], where="suites/a.yaml", error=SuiteError)


def test_get_float_default_and_int() -> None:
    assert get_float({}, "k", 0.5, where=WHERE) == 0.5
    value = get_float({"k": 3}, "k", 0.5, where=WHERE)
    assert value == 3.0 and isinstance(value, float)


@pytest.mark.parametrize("bad", ["95%", True, None, [1]])
def test_get_float_rejects_non_numbers(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"'k' must be a number, got"):
        get_float({"k": bad}, "k", 0.5, where=WHERE)


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan])
def test_get_float_checks_bounds_and_nan(bad: float) -> None:
    with pytest.raises(ConfigError) as info:
        get_float({"k": bad}, "k", 0.5, where=WHERE, low=0.0, high=1.0)
    assert f"{WHERE}: 'k' must be a number between 0.0 and 1.0, got {bad!r}." == str(info.value)


def test_get_float_bounds_are_inclusive() -> None:
    assert get_float({"k": 0}, "k", 0.5, where=WHERE, low=0.0, high=1.0) == 0.0
    assert get_float({"k": 1}, "k", 0.5, where=WHERE, low=0.0, high=1.0) == 1.0


def test_get_str() -> None:
    assert get_str({"k": "v"}, "k", where=WHERE) == "v"
    assert get_str({}, "k", "default", where=WHERE) == "default"
    with pytest.raises(ConfigError, match=r"'k' is required\."):
        get_str({}, "k", where=WHERE)
    with pytest.raises(ConfigError, match=r"'k' must be a non-empty string, got '  '"):
        get_str({"k": "  "}, "k", where=WHERE)
    with pytest.raises(ConfigError, match=r"got 3"):
        get_str({"k": 3}, "k", where=WHERE)


def test_get_bool_rejects_strings() -> None:
    assert get_bool({"k": True}, "k", False, where=WHERE) is True
    assert get_bool({}, "k", False, where=WHERE) is False
    with pytest.raises(ConfigError, match=r"'k' must be true or false, got 'true'"):
        get_bool({"k": "true"}, "k", False, where=WHERE)
    with pytest.raises(ConfigError):
        get_bool({"k": 1}, "k", False, where=WHERE)


def test_get_table() -> None:
    assert get_table({}, "gate", where=WHERE) == {}
    assert get_table({"gate": {"a": 1}}, "gate", where=WHERE) == {"a": 1}
    with pytest.raises(ConfigError, match=r"'gate' must be a table, got 'strict'"):
        get_table({"gate": "strict"}, "gate", where=WHERE)
