"""The HTML report of a large run: ``render_report`` in process, and ``harness report`` as a
user runs it (a fresh process reading the run from DuckDB).

    python benchmarks/bench_report.py [--cases 100000] [--configs 4] [--quick]
    python benchmarks/bench_report.py --command [--cases 50000] [--configs 5] [--repeat 3]
        [--before-tree DIR]

Without ``--command``: a synthetic run of ``--cases`` case results in all
(spread over ``--configs`` configurations of one suite, ten categories, about
5 % flagged and 0.5 % errored: ``_synthetic.py``) rendered in this process;
prints the time to render and write the page and its size (the page shows the
summaries and at most 200 flagged cases, so its size should not grow with the
run).

With ``--command`` (issue 18): ``--cases`` cases x ``--configs``
configurations per run, two runs stored in a DuckDB file (so the report
compares with the earlier one), then ``harness report`` and ``harness
summary`` timed in fresh processes, ``--repeat`` times each: wall, CPU (user +
system) and peak RSS from ``os.wait4``, with the load average beside them.
``--before-tree DIR`` (a copy of an older ``harness/`` package, e.g. ``git
archive HEAD harness | tar -x -C DIR``) runs the same commands with that code
first in ``PYTHONPATH``, interleaved with the current code, for a before/after
in one sitting. Wall times move with the machine's load; CPU and RSS are steadier.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import emit

REPO = Path(__file__).resolve().parent.parent


def render_in_process(total: int, configs: list[str]) -> dict[str, Any]:
    """``render_report`` of a synthetic run held in memory (the pytest session's path)."""
    import _synthetic

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
    return {"cases": n, "first_s": first_s, "again_s": again_s, "html_kb": size / 1e3}


def build_database(db: Path, cases: int, configs: list[str]) -> None:
    """Two runs of ``cases`` x ``configs`` results, one second apart (the later is reported).

    Run in a child process (``--build-db``): a child's peak RSS as ``wait4`` reports it
    starts from its parent's at the fork, so the parent that times ``harness report``
    must stay small.
    """
    import _synthetic

    from harness.store.runs import write_run

    for _ in range(2):
        start = time.perf_counter()
        outcome = _synthetic.outcome(db.parent, cases, configs)
        write_run(db, outcome)
        print(
            f"stored run {outcome.run_id}: {len(outcome.results):,} results in "
            f"{time.perf_counter() - start:.1f} s (not part of the figure)"
        )
        del outcome
        time.sleep(1.1)  # run ids and start times differ by a second


def timed_command(argv: list[str], cwd: Path, tree: Path | None) -> dict[str, float]:
    """One fresh ``python -m harness.cli ...``: wall, CPU and peak RSS of that process."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        str(p) for p in (tree, REPO, env.get("PYTHONPATH")) if p is not None and str(p)
    )
    load = os.getloadavg()[0]
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # wait4, not Popen.wait: the child's own resource usage, peak RSS included.
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        stderr = child.stderr.read().decode() if child.stderr else ""
        raise SystemExit(f"`harness {' '.join(argv)}` failed:\n{stderr}")
    if child.stderr:
        child.stderr.close()
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "load": load,
    }


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per figure, the median over repetitions (and the load's range)."""
    out = {key: statistics.median(r[key] for r in runs) for key in ("wall_s", "cpu_s", "rss_mb")}
    out["load_min"] = min(r["load"] for r in runs)
    out["load_max"] = max(r["load"] for r in runs)
    return out


def commands(cases: int, configs: list[str], repeat: int, before: Path | None) -> dict[str, Any]:
    """``harness report`` and ``harness summary`` of a stored run, as fresh processes."""
    figures: dict[str, Any] = {"cases": cases, "configs": len(configs), "results": 0}
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp:
        root = Path(tmp)
        db = root / "cost_eval.duckdb"
        build = [sys.executable, __file__, "--build-db", str(db), "--cases", str(cases)]
        subprocess.run([*build, "--configs", str(len(configs))], check=True)
        figures["results"] = cases * len(configs)
        trees: dict[str, Path | None] = {"now": None}
        if before is not None:
            trees["before"] = before.resolve()
        argvs = {
            "report": ["report", "--db", str(db), "--out", str(root / "report.html")],
            "summary": ["summary", "--db", str(db)],
        }
        samples: dict[str, list[dict[str, float]]] = {
            f"{cmd}_{tree}": [] for cmd in argvs for tree in trees
        }
        for _ in range(repeat):
            for cmd, argv in argvs.items():
                for tree_name, tree in trees.items():  # interleaved: same load for both
                    samples[f"{cmd}_{tree_name}"].append(timed_command(argv, root, tree))
        for key, runs in samples.items():
            m = median_of(runs)
            figures[key] = m
            print(
                f"harness {key.replace('_', ' (')}): wall {m['wall_s']:.2f} s, CPU "
                f"{m['cpu_s']:.2f} s, peak RSS {m['rss_mb']:.0f} MB (median of {repeat}; "
                f"load {m['load_min']:.1f}-{m['load_max']:.1f})"
            )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=None)
    parser.add_argument("--configs", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--command", action="store_true", help="time `harness report` itself")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before-tree", type=Path, default=None)
    parser.add_argument("--build-db", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.build_db:
        build_database(args.build_db, args.cases, [f"config-{i}" for i in range(args.configs)])
        return 0
    if args.command:
        cases = args.cases or (10_000 if args.quick else 50_000)
        configs = [f"config-{i}" for i in range(args.configs or 5)]
        emit("report_command", commands(cases, configs, args.repeat, args.before_tree))
        return 0
    total = args.cases or (20_000 if args.quick else 100_000)
    configs = [f"config-{i}" for i in range(args.configs or 4)]
    emit("report", render_in_process(total, configs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
