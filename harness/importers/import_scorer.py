"""The scorer an imported suite names, from ``--scorer`` and ``--extract``.

Built once before any line is read, so a misspelt scorer, option or
extractor costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from harness.errors import ConfigError
from harness.scoring import build_scorer

__all__ = ["imported_scorer"]


def imported_scorer(
    scorer: str | Mapping[str, Any] | None, extract: str | None = None
) -> str | Mapping[str, Any] | None:
    """The scorer spec an import writes into its suite, from ``--scorer`` and ``--extract``.

    ``scorer`` is a name (``numeric``), a table (``{"name": "numeric", "tolerance":
    0.01}``) or that table as YAML or JSON text (``'{name: numeric, tolerance: 0.01}'``).
    ``extract`` becomes the scorer's ``extract`` option; alone it gives
    ``{name: exact, extract: <extract>}``. Both None: None (the import's default).
    The spec is built once, so a misspelt scorer, option or extractor fails
    before anything is read.

    Raises:
        ConfigError: the text is not a table with a ``name``, ``extract`` is
            given with the ``recorded`` scorer (which reads labels, not text) or
            disagrees with the table's own, or the scorer cannot be built.
    """
    where = "--scorer" if extract is None else "--scorer/--extract"
    spec: str | dict[str, Any] | None
    if isinstance(scorer, str) and scorer.lstrip().startswith("{"):
        try:
            loaded = yaml.safe_load(scorer)
        except yaml.YAMLError:
            loaded = None
        if not isinstance(loaded, Mapping) or "name" not in loaded:
            raise ConfigError(
                f"--scorer {scorer!r} is not a table with a 'name', like "
                "'{name: numeric, extract: last_number}'."
            )
        spec = dict(loaded)
    elif isinstance(scorer, Mapping):
        spec = dict(scorer)
    else:
        spec = scorer
    if extract is not None:
        table = {"name": spec} if isinstance(spec, str) else dict(spec or {"name": "exact"})
        if table.get("name") == "recorded":
            raise ConfigError(
                "--extract does not apply to the 'recorded' scorer: it reads the quality "
                "recorded with each answer, not the answer's text. Drop --extract, or score "
                "the text with another scorer (--scorer exact --extract ...)."
            )
        if table.get("extract", extract) != extract:
            raise ConfigError(
                f"--extract {extract!r} disagrees with the scorer's own extract "
                f"{table['extract']!r}; give it once."
            )
        table["extract"] = extract
        spec = table
    if spec is not None:
        build_scorer(spec, where=where)
    return spec
