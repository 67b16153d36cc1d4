"""``python -m harness.cache_eval PAIRS.json [options]``: the same as ``harness cache --pairs``.

Kept for scripts written before ``harness cache`` existed; the cache replay and
threshold sweep live in :mod:`harness.analysis.cache_replay` and
:mod:`harness.analysis.cache_sweep`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from harness.cli import main as harness_main

__all__ = ["run_cache_eval"]


def run_cache_eval(argv: Sequence[str] | None = None) -> int:
    """Run ``harness cache --pairs`` with ``argv`` (default: the command line)."""
    args = list(sys.argv[1:] if argv is None else argv)
    return harness_main(["cache", "--pairs", *args] if args[:1] != ["-h"] else ["cache", "-h"])


if __name__ == "__main__":
    raise SystemExit(run_cache_eval())
