"""What the ``--cost-eval-*`` flags and ini keys say, read once for the session.

The flags are declared in :mod:`harness.plugin` (imported by every pytest run, so
it stays light); reading them needs the settings, so it happens here, after
``--cost-eval`` has pulled the package in.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from harness.config.settings import Settings, load_settings
from harness.config.settings_file import SETTINGS_FILE
from harness.config.suite_names import check_config_suites
from harness.config.suites import Suite
from harness.errors import ConfigError

DEPRECATED_SETTINGS_FLAG = (
    "--cost-eval-config (or the cost_eval_config ini key) is deprecated: it names the "
    "settings file, while `harness --config NAME` names a configuration. Use "
    "--cost-eval-settings PATH (ini key cost_eval_settings)."
)


def option_or_ini(config: pytest.Config, name: str) -> str | None:
    """A flag's value, else its ini key's, else None."""
    value = config.getoption(name)
    if value is None:
        ini = config.getini(name)
        value = ini if ini else None
    return None if value is None else str(value)


def read_settings(config: pytest.Config) -> Settings:
    """The project's settings as the flags say: the settings file, the case limit.

    ``--cost-eval-settings`` (ini ``cost_eval_settings``) names the file; the old
    ``--cost-eval-config`` still works and adds one warning to the run's summary.

    Raises:
        ConfigError: the settings, or the ``cost_eval_limit`` ini value, are invalid, or
            a configuration names a suite the suites folder does not hold.
    """
    path = option_or_ini(config, "cost_eval_settings")
    warnings: tuple[str, ...] = ()
    if path is None:
        path = option_or_ini(config, "cost_eval_config")
        if path is not None:
            warnings = (DEPRECATED_SETTINGS_FLAG,)
    settings = load_settings(project_folder(config), path)
    # A typo in a configuration's `suites = [...]` would skip it without a word.
    check_config_suites(settings)
    limit = case_limit(config)
    if limit is not None:
        warnings += (
            f"this run was limited to the first {limit} case(s) of each suite "
            "(--cost-eval-limit): its verdicts say nothing about the other cases.",
        )
    return replace(settings, case_limit=limit, warnings=(*settings.warnings, *warnings))


def project_folder(config: pytest.Config) -> Path:
    """Where the settings file is looked for: the folder pytest was started in when it holds
    ``cost-eval.toml``, else pytest's rootdir.

    ``cd evals && pytest --cost-eval`` in a folder written by ``harness import`` inside a
    project reads ``evals/cost-eval.toml``, as ``harness`` commands run there do, although
    pytest's rootdir is the project's (the folder of its ``pyproject.toml``).
    """
    here = Path(config.invocation_params.dir)
    return here if (here / SETTINGS_FILE).is_file() else Path(config.rootpath)


def case_limit(config: pytest.Config) -> int | None:
    """``--cost-eval-limit N``, else the ``cost_eval_limit`` ini key, else None (every case).

    Raises:
        ConfigError: the ini value is not a whole number of 1 or more, or goldens are
            to be recorded (they would be recorded for the first N cases only).
    """
    limit: int | None = config.getoption("cost_eval_limit")
    raw = str(config.getini("cost_eval_limit") or "").strip()
    if limit is None and raw:
        if not raw.isdigit() or int(raw) < 1:
            raise ConfigError(
                f"ini key cost_eval_limit: {raw!r} is not a number of cases. Give a whole "
                "number of 1 or more (cost_eval_limit = 10: the first 10 cases of each suite), "
                "or remove the key to evaluate every case."
            )
        limit = int(raw)
    if limit is not None and config.getoption("cost_eval_update_goldens"):
        # A golden file keeps exactly its suite's cases: recorded from a limited suite,
        # it would lose the goldens of every case past the limit.
        raise ConfigError(
            "--cost-eval-update-goldens records the goldens of every case of a suite; with "
            "--cost-eval-limit (or the cost_eval_limit ini key) the other cases' goldens "
            "would be dropped. Record goldens without the limit."
        )
    return limit


def limited(suite: Suite, limit: int | None) -> Suite:
    """``suite`` with only its first ``limit`` cases (all of them when None)."""
    if limit is None or len(suite.cases) <= limit:
        return suite
    return replace(suite, cases=suite.cases[:limit])
