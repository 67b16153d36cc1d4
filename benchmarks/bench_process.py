"""Whole commands in fresh processes, side by side with the bare SDK, as a user times them.

    python benchmarks/bench_process.py [--cases 1000] [--concurrency 64] [--latency-ms 100]
                                       [--reps 3] [--installed] [--post] [--quick]

One fake server (the peer kit's, 100 ms injected latency), one workload (the
peer kit's ``Compute A op B`` cases), and, interleaved rep by rep:

* ``bare``: ``benchmarks/fixtures/bare_sdk_loop.py``, the loop a user would write
  by hand: ``AsyncOpenAI``, a semaphore of ``--concurrency``, exact match, the
  answers written to a JSONL file;
* ``first``: ``pytest -p harness.plugin --cost-eval --cost-eval-update-goldens``
  in a project whose goldens and results were deleted, so every case is sent
  once (the baseline's answers become the goldens and answer the one
  configuration, on the same model as ``bare``): same requests, same count;
* ``rerun``: ``pytest -p harness.plugin --cost-eval`` in the same project right
  after, every answer in the store (the server must count 0 requests);
* with ``--installed``, ``first-installed``: ``first`` with pytest's plugin
  autoloading on (whatever else this environment has installed loads too);
* with ``--post``, ``bare-post``: the bare loop calling the SDK as the harness's
  ``openai:`` provider does (its generic ``post()``, the JSON read directly, no
  typed transform or response model): the SDK's own floor, beside which the
  harness's overhead shows apart from the 0.3 ms per call that ``create()`` costs
  the ``bare`` loop.

Plugin autoloading is off (``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1``) for ``first``
and ``rerun``: the dev environment's other plugins (hypothesis, xdist,
pytest-benchmark, anyio) are not the harness's. Wall is measured around the
child; CPU (user + system) and peak RSS are the child's own, from
``os.wait4``. The load average is printed before and after. Medians over
``--reps``; the ratios are of medians. Compiled modules are kept, as on a user's
machine (``PYTHONDONTWRITEBYTECODE`` is unset for the children, and the harness is
compiled once before the first rep, as pip does at install).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    HERE,
    REPO,
    emit,
    fake_server,
    fmt_range,
    generate_workload,
    median,
    read_cases,
    run_timed,
    shared_kit_missing,
    write_project,
)

MODEL = "gpt-bench-strong"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--installed", action="store_true", help="also time pytest as installed")
    parser.add_argument("--post", action="store_true", help="also time the bare loop on post()")
    parser.add_argument("--quick", action="store_true", help="200 cases, one rep")
    args = parser.parse_args(argv)
    if args.quick:
        args.cases, args.reps = 200, 1
    missing = shared_kit_missing()
    if missing:
        print(f"skipped: {missing}")
        return 0
    runners = (
        ["bare"]
        + (["bare-post"] if args.post else [])
        + ["first", "rerun"]
        + (["first-installed"] if args.installed else [])
    )
    figures: dict[str, list[dict[str, Any]]] = {name: [] for name in runners}
    with (
        tempfile.TemporaryDirectory(prefix="bench-process-") as tmp,
        fake_server(args.latency_ms) as server,
    ):
        work = Path(tmp)
        cases_path = generate_workload(args.cases, work / "workload")
        cases = read_cases(cases_path)
        project = write_project(
            work / "project",
            cases,
            base_url=server.base_url,
            concurrency=args.concurrency,
            configs={"strong": f"openai:{MODEL}"},
            baseline=f"openai:{MODEL}",
            write_goldens=False,
        )
        base = dict(os.environ, NO_COLOR="1")
        base.pop("CI", None)
        # As on a user's machine: Python keeps compiled modules. (This sandbox sets
        # PYTHONDONTWRITEBYTECODE=1, which would make every run compile the harness from
        # source, 0.13 s: pip compiles an installed package once, at install.)
        base.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(REPO / "harness")],
            check=True,
            env=base,
        )
        quiet = dict(base, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
        installed = dict(base)
        pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--cost-eval"]
        bare = [
            sys.executable,
            str(HERE / "fixtures" / "bare_sdk_loop.py"),
            str(cases_path),
            server.base_url,
            MODEL,
            "--concurrency",
            str(args.concurrency),
        ]
        commands: dict[str, tuple[list[str], dict[str, str]]] = {
            "bare": (bare, quiet),
            "bare-post": ([*bare, "--post"], quiet),
            "first": (
                [*pytest, "-p", "harness.plugin", "--cost-eval-update-goldens"],
                quiet,
            ),
            "rerun": ([*pytest, "-p", "harness.plugin"], quiet),
            "first-installed": ([*pytest, "--cost-eval-update-goldens"], installed),
        }
        load_before = os.getloadavg()
        print(
            f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}"
        )
        for rep in range(args.reps):
            for name in runners:
                if name.startswith("first"):
                    shutil.rmtree(project / "goldens", ignore_errors=True)
                    shutil.rmtree(project / "results", ignore_errors=True)
                cmd, env = commands[name]
                server.reset(args.latency_ms)
                result = run_timed(cmd, cwd=work if name.startswith("bare") else project, env=env)
                result["tail"] = result.pop("output")[-1500:]
                result["requests"] = server.stats().get("total_requests")
                if result["exit"] != 0:
                    print(f"{name} failed (exit {result['exit']}):\n{result['tail']}")
                    return 1
                figures[name].append(result)
                print(
                    f"rep {rep + 1} {name:16} {result['wall_s']:6.2f} s wall "
                    f"{result['cpu_s']:6.2f} s CPU {result['rss_mb']:6.0f} MB "
                    f"{result['requests']} requests  (load {os.getloadavg()[0]:.2f})",
                    flush=True,
                )
        load_after = os.getloadavg()
        print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    summary: dict[str, Any] = {
        "cases": args.cases,
        "concurrency": args.concurrency,
        "latency_ms": args.latency_ms,
        "latency_limit_s": args.cases / args.concurrency * args.latency_ms / 1000,
        "load_before": load_before[0],
        "load_after": load_after[0],
    }
    bare_wall = median([r["wall_s"] for r in figures["bare"]])
    bare_cpu = median([r["cpu_s"] for r in figures["bare"]])
    print(f"\nlatency limit: {summary['latency_limit_s']:.2f} s")
    for name in runners:
        walls = [r["wall_s"] for r in figures[name]]
        cpus = [r["cpu_s"] for r in figures[name]]
        rss = [r["rss_mb"] for r in figures[name]]
        ratio = f"  = {median(walls) / bare_wall:.2f}x wall, {median(cpus) / bare_cpu:.2f}x CPU"
        print(
            f"{name:16} wall {fmt_range(walls)} s, CPU {fmt_range(cpus)} s, "
            f"RSS {fmt_range(rss, 0)} MB, requests {[r['requests'] for r in figures[name]]}"
            + ("" if name == "bare" else ratio)
        )
        summary[f"{name}_wall_s"] = median(walls)
        summary[f"{name}_cpu_s"] = median(cpus)
        summary[f"{name}_rss_mb"] = median(rss)
        summary[f"{name}_requests"] = [r["requests"] for r in figures[name]]
    emit("process", summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
