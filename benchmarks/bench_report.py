"""The HTML report of a 100,000-case run: ``harness.report.render_report`` of a synthetic StoredRun.

    python benchmarks/bench_report.py [--cases 100000] [--configs 4] [--quick]

The run has ``--cases`` case results in all (spread over ``--configs``
configurations of one suite, ten categories, about 5 % flagged and 0.5 %
errored: ``_synthetic.py``). Prints the time to render and write the page and
its size; the page shows the summaries and at most 200 flagged cases, so its
size should not grow with the run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _synthetic
from _common import emit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=None, help="default 100,000 (--quick 20,000)")
    parser.add_argument("--configs", type=int, default=4)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    total = args.cases or (20_000 if args.quick else 100_000)
    configs = [f"config-{i}" for i in range(args.configs)]
    start = time.perf_counter()
    stored = _synthetic.stored_run(total // len(configs), configs)
    print(
        f"built a run of {len(stored.results):,} case results in "
        f"{time.perf_counter() - start:.1f} s (not part of the figure)"
    )
    from harness.report import render_report

    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp:
        path = Path(tmp) / "report.html"
        # Jinja compiles the template once per process: the first render pays for it.
        start = time.perf_counter()
        render_report(stored, path)
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        render_report(stored, path)
        again_s = time.perf_counter() - start
        size = path.stat().st_size
    n = len(stored.results)
    print(
        f"render_report of {n:,} cases: {first_s:.2f} s (first, with imports and template "
        f"compilation), {again_s:.2f} s (again); page {size / 1e3:.0f} kB"
    )
    emit("report", {"cases": n, "first_s": first_s, "again_s": again_s, "html_kb": size / 1e3})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
