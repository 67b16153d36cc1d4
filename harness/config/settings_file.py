"""Which file holds a project's settings: the one named, else ``cost-eval.toml``, else
``pyproject.toml``.

``harness import`` writes ``cost-eval.toml`` beside the suites it makes; a project
started by hand keeps its settings in ``pyproject.toml``. Both ``pytest
--cost-eval`` and every ``harness`` command find the file the same way, so a
folder works the same whichever tool is run in it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigError

SETTINGS_FILE = "cost-eval.toml"
"""The project's own settings file, looked for before ``pyproject.toml``."""
SETTINGS_FLAGS = "--cost-eval-settings PATH (pytest) or --settings PATH (harness)"
"""How a user names another settings file, for messages."""


@dataclass(frozen=True, slots=True)
class SettingsFile:
    """The file the settings are read from, and how it was chosen."""

    path: Path
    nested: bool
    """True: the keys sit under ``[tool.cost-eval]`` (pyproject.toml); False: either way."""
    note: str | None = None
    """Why this file when another also holds settings (both cost-eval.toml and a
    pyproject.toml table): printed, so nobody edits the file that is not read."""


def find_settings_file(root: Path, explicit: str | None) -> SettingsFile:
    """The settings file of the project at ``root``.

    Precedence: the file given explicitly (relative to ``root``); else
    ``cost-eval.toml`` in ``root``; else ``pyproject.toml`` in ``root``. A
    dedicated file wins over the shared one (as ``ruff.toml`` does over
    ``pyproject.toml``): when both hold settings, the note says which was read.

    Raises:
        ConfigError: the explicit file does not exist, or neither file is in ``root``.
    """
    if explicit:
        path = Path(explicit)
        if not path.is_absolute():
            path = root / path
        if not path.is_file():
            raise ConfigError(
                f"no settings file at {str(path)!r}. Give the path of a TOML file "
                "with a [tool.cost-eval] table (or the same keys at top level)."
            )
        return SettingsFile(path, nested=False)
    dedicated = root / SETTINGS_FILE
    pyproject = root / "pyproject.toml"
    if dedicated.is_file():
        note = None
        if _has_table(pyproject):
            note = (
                f"settings read from {SETTINGS_FILE}; pyproject.toml's [tool.cost-eval] table "
                f"is ignored ({SETTINGS_FILE} comes first). Remove one, or name the file to "
                f"read with {SETTINGS_FLAGS}."
            )
        return SettingsFile(dedicated, nested=False, note=note)
    if not pyproject.is_file():
        raise ConfigError(
            f"{root}: no settings here: neither {SETTINGS_FILE} nor pyproject.toml. Run from "
            "the project folder, start a project with `harness init`, or give the settings "
            f"file with {SETTINGS_FLAGS}."
        )
    return SettingsFile(pyproject, nested=True)


def _has_table(pyproject: Path) -> bool:
    """Whether ``pyproject`` exists and holds a ``[tool.cost-eval]`` table."""
    try:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False  # not read anyway: cost-eval.toml comes first
    tool = document.get("tool")
    return isinstance(tool, Mapping) and "cost-eval" in tool


__all__ = ["SETTINGS_FILE", "SETTINGS_FLAGS", "SettingsFile", "find_settings_file"]
