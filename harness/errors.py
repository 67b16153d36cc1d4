"""Errors the harness raises for problems a person can fix.

Every message says where the problem is (file, case, key), what is wrong
(the value, as ``!r``) and how to fix it. The plugin and the CLI print the
message alone, never a traceback. A quality regression is *not* an error: it is
a failed pytest item and an exit status.

::

    CostEvalError
     ├── ConfigError          [tool.cost-eval] or --cost-eval-* values
     ├── SuiteError           suites/*.yaml and the case files they name
     ├── GoldenError          goldens/<suite>/<model>.jsonl: missing, stale, malformed
     ├── UnknownComponent     a provider, strategy or scorer name nobody registered
     ├── ProviderError        a provider could not be set up (not a failed call:
     │                        failed calls are recorded as error rows)
     ├── MissingDependency    an optional package is not installed
     └── StorageError         the DuckDB file cannot be opened or read
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CostEvalError(Exception):
    """Base of every error the harness reports to a person."""


class ConfigError(CostEvalError):
    """The configuration (``[tool.cost-eval]`` or a flag) is invalid."""


class SuiteError(CostEvalError):
    """A suite file or one of its cases is invalid."""


class GoldenError(CostEvalError):
    """A golden is missing, stale or malformed."""


class ProviderError(CostEvalError):
    """A provider cannot be set up (bad model spec, missing key)."""


class StorageError(CostEvalError):
    """The results database cannot be opened or has no such run."""


class UnknownComponent(CostEvalError):
    """A name that matches no registered provider, strategy or scorer."""

    def __init__(self, kind: str, name: str, available: Iterable[str], where: str = "") -> None:
        names = sorted(available)
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}Unknown {kind} {name!r}.{hint} Available: {', '.join(names)}.")
        self.kind = kind
        self.name = name


class MissingDependency(CostEvalError):
    """An optional package needed for a feature is not installed."""

    def __init__(self, feature: str, packages: list[str]) -> None:
        super().__init__(
            f"{feature} needs {', '.join(packages)}, which is not installed. "
            f"Install it with: pip install {' '.join(packages)}"
        )
