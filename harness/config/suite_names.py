"""The suite names a project has, and configurations whose ``suites = [...]`` name others.

A configuration restricted to ``suites = ["suport"]`` would otherwise match no
suite and be skipped without a word: the typo is a configuration error, found
before anything runs. Only each suite file's ``suite:`` key is read (not its
cases, cases file or dataset), so the check costs a YAML parse per file.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from pathlib import Path

import yaml

from harness.config.settings import Settings
from harness.config.suite_limits import load_suite_yaml
from harness.config.suites import display_path, suite_files
from harness.errors import ConfigError, CostEvalError


def declared_suite_names(suites_dir: Path) -> set[str]:
    """The ``suite:`` name of every suite file in ``suites_dir``.

    A file that cannot be read, or has no name, counts under its file name: its
    own error is reported when the suite is loaded, not here.
    """
    names: set[str] = set()
    for path in suite_files(suites_dir):
        try:
            data = load_suite_yaml(path, where=display_path(path))
        except (CostEvalError, yaml.YAMLError, UnicodeDecodeError, OSError, RecursionError):
            data = None
        name = data.get("suite") if isinstance(data, Mapping) else None
        names.add(name if isinstance(name, str) and name else path.stem)
    return names


def unknown_suite_problems(settings: Settings, suite_names: Collection[str]) -> list[str]:
    """One sentence per configuration naming a suite that is not in ``suite_names``."""
    existing = sorted(suite_names)
    problems: list[str] = []
    seen: set[str] = set()
    for spec in settings.configs:
        if spec.suites is None or spec.family in seen:
            continue
        seen.add(spec.family)  # the points of a sweep share one `suites` list
        for name in spec.suites:
            if name in suite_names:
                continue
            close = difflib.get_close_matches(name, existing, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            problems.append(
                f"{settings.source} [tool.cost-eval] configuration {spec.family!r}: suites "
                f"names {name!r}, but no suite in {display_path(settings.suites_dir)}/ has "
                f"that name.{hint} Suites: {', '.join(existing) or 'none'}."
            )
    return problems


def check_config_suites(settings: Settings) -> None:
    """Every suite a configuration names exists in the project's suites folder.

    Raises:
        ConfigError: naming each configuration, its unknown suite, the suites that
            exist and the closest one.
    """
    problems = unknown_suite_problems(settings, declared_suite_names(settings.suites_dir))
    if problems:
        raise ConfigError("\n".join(problems))
