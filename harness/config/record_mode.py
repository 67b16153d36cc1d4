"""Record modes: when a run may call a paid provider, and the default for where it runs."""

from __future__ import annotations

import os
from typing import Literal

RecordMode = Literal["none", "new", "all"]
"""``none``: never call a remote provider (a missing response is an error row);
``new``: call only for requests with no recorded response; ``all``: call again
for every request and record the new answers."""

RECORD_MODES: tuple[RecordMode, ...] = ("none", "new", "all")
"""Every record mode, in the order the flags and errors list them."""


def default_record_mode() -> Literal["none", "new"]:
    """``none`` in CI (the ``CI`` environment variable is set), else ``new``."""
    return "none" if os.environ.get("CI") else "new"


__all__ = ["RECORD_MODES", "RecordMode", "default_record_mode"]
