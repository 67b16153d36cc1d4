"""One million result rows into DuckDB through ``storage.write_run`` (the Arrow insert path).

    python benchmarks/bench_storage.py [--rows 1000000] [--configs 4] [--quick]

Builds a finished run of synthetic case results (``_synthetic.py``: realistic
short answers, Decimal costs, 5 % flagged, 0.5 % errors), then times
``harness.store.runs.write_run`` into a new file, reports the file size, and
times reading the run back with ``storage.load_run`` (``harness report``) and
``storage.load_scores`` (what ``harness compare`` and the report's comparison
with the previous run read), and a SQL aggregate over the results table.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _synthetic
from _common import emit

from harness.store import database
from harness.store import runs as storage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=None, help="default 1,000,000 (--quick 100,000)"
    )
    parser.add_argument("--configs", type=int, default=4, help="configurations sharing the rows")
    parser.add_argument("--no-load", action="store_true", help="skip reading the run back")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    configs = [f"config-{i}" for i in range(args.configs)]
    cases = rows // len(configs)
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp:
        db = Path(tmp) / "cost_eval.duckdb"
        start = time.perf_counter()
        outcome = _synthetic.outcome(Path(tmp), cases, configs)
        build_s = time.perf_counter() - start
        n = len(outcome.results)
        print(f"built {n:,} synthetic case results in {build_s:.1f} s (not part of the figure)")
        # An empty database first: the figure is the rows, not creating the schema.
        with database.connect(db):
            pass
        gc.collect()
        start = time.perf_counter()
        storage.write_run(db, outcome)
        write_s = time.perf_counter() - start
        size = sum(p.stat().st_size for p in Path(tmp).glob("cost_eval.duckdb*"))
        print(
            f"write_run: {n:,} result rows in {write_s:.2f} s "
            f"({n / write_s:,.0f} rows/s); file {size / 1e6:.1f} MB ({size / n:.0f} bytes/row)"
        )
        run_id = outcome.run_id
        del outcome
        gc.collect()
        figures: dict[str, float | int] = {
            "rows": n,
            "write_s": write_s,
            "rows_per_s": n / write_s,
            "file_mb": size / 1e6,
            "bytes_per_row": size / n,
        }
        import duckdb

        connection = duckdb.connect(str(db), read_only=True)
        start = time.perf_counter()
        connection.execute(
            "SELECT config, count(*), avg(score), sum(cost_usd), sum(flagged::INT) "
            "FROM results GROUP BY config ORDER BY config"
        ).fetchall()
        figures["aggregate_s"] = time.perf_counter() - start
        connection.close()
        print(f"SQL aggregate over the results table: {figures['aggregate_s']:.3f} s")
        if not args.no_load:
            start = time.perf_counter()
            stored = storage.load_run(db, run_id)
            figures["load_run_s"] = time.perf_counter() - start
            assert len(stored.results) == n
            print(f"load_run (every row back as CaseResult objects): {figures['load_run_s']:.2f} s")
            del stored
            gc.collect()
            start = time.perf_counter()
            scores = storage.load_scores(db, run_id)
            figures["load_scores_s"] = time.perf_counter() - start
            assert len(scores.results) == n
            print(
                f"load_scores (what a comparison reads: scores, no texts): "
                f"{figures['load_scores_s']:.2f} s"
            )
    emit("storage", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
