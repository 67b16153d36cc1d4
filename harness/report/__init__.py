"""The self-contained HTML report of a run.

Importing this package is cheap: jinja2 and matplotlib are imported only when
a report is rendered.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..storage import StoredRun

__all__ = ["render_report"]


def render_report(stored: StoredRun, path: Path, *, max_cases: int = 200) -> Path:
    """Write the HTML report of ``stored`` to ``path`` (atomically) and return the path.

    At most ``max_cases`` flagged cases are shown in full; the page says how
    many more there are.

    Raises:
        CostEvalError: the report cannot be written.
    """
    # Imported here: the plugin imports this package in every pytest session,
    # and the renderer pulls in the storage and templating code.
    from .render import render_report as render

    return render(stored, path, max_cases=max_cases)
