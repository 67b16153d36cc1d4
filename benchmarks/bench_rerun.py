"""A rerun with every response already in the store: zero requests, and how long 10,000 cases take.

    python benchmarks/bench_rerun.py [--cases 10000] [--configs 1] [--in-process | --pytest-only]
                                     [--scorer exact] [--quick]

A project of N cases (the peer kit's workload) whose configuration calls
``openai:gpt-bench-fast`` on the fake server; every one of those N responses is
put in the project's response store first (``storage.store_responses``), and the
baseline's goldens are on disk. Then, with the fake server up and counting:

* in process: ``load_responses`` + ``run`` (record mode ``new``) with a
  ``ResultSpool`` as the session uses it, then the session's after-run work
  (``write_run`` copying the spool, the report and summary read back in SQL
  through one shared connection), each timed;
* end to end: ``pytest -p harness.plugin --cost-eval`` in the project with
  plugin autoloading off (a fresh process: startup, imports, collection, run,
  storage, report): wall, CPU and peak RSS from ``os.wait4``.

Both must send zero requests: the server's count is printed and checked.
``--configs K`` evaluates K configurations (all on the same stored model, so
the baseline's goldens are scored against K sets of answers: the scale runs of
issue 18 are ``--cases 50000 --configs 5`` and ``--cases 100000 --configs 10
--pytest-only``); ``--in-process`` skips the ``pytest`` run, ``--pytest-only``
the in-process one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import (
    CANDIDATE,
    cpu_seconds,
    emit,
    fake_server,
    generate_workload,
    read_cases,
    run_timed,
    run_worker,
    shared_kit_missing,
    write_project,
)


def fill_store(project: Path) -> int:
    """Put the configuration's answer to every case in the project's response store."""
    from harness.config.settings import load_settings
    from harness.config.suites import load_suite, now_iso
    from harness.store.responses import store_responses
    from harness.types import Response, Usage

    settings = load_settings(project)
    suite = load_suite(settings.suites_dir / "peer.yaml")
    pairs = [
        (
            suite.request(case, CANDIDATE),
            Response(
                text=case.expected or "",
                model=CANDIDATE,
                usage=Usage(input_tokens=30, output_tokens=4),
                latency_ms=100.0,
            ),
        )
        for case in suite.cases
    ]
    return store_responses(settings.db, pairs, now_iso())


def worker(project: Path) -> dict[str, Any]:
    """The rerun in process, step by step, as the session does it."""
    from harness.config.settings import load_settings
    from harness.engine.prepare import load_suites, prepare
    from harness.engine.run import run
    from harness.report import MAX_CASES, render_report, write_markdown_summary
    from harness.store.database import shared_reads
    from harness.store.responses import load_responses
    from harness.store.result_spool import ResultSpool
    from harness.store.run_queries import load_report_run
    from harness.store.runs import write_run

    steps: dict[str, float] = {}
    cpu0 = cpu_seconds()
    start = time.perf_counter()
    settings = load_settings(project)
    plan = prepare(settings)
    suites = load_suites(sorted(settings.suites_dir.glob("*.yaml")), settings)
    steps["load_suites_s"] = time.perf_counter() - start
    mark = time.perf_counter()
    recorded = load_responses(settings.db)
    steps["load_responses_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    selected = [(name, config) for name in suites for config in plan.configs]
    spool = ResultSpool(settings.db, "bench")
    outcome = run(plan, suites, selected, recorded=recorded, record_mode="new", sink=spool)
    steps["pipeline_run_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    spools = []
    if spool.spilled:
        spool.close()
        spools.append(spool.path)
    else:
        outcome.results, outcome.streamed = spool.kept, False
    write_run(settings.db, outcome, spools=spools)
    spool.discard()
    steps["write_run_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    with shared_reads(settings.db):
        stored = load_report_run(settings.db, outcome.run_id, max_cases=MAX_CASES)
        render_report(stored, settings.report, db=settings.db)
        write_markdown_summary(stored, settings.report.with_name("summary.md"))
    steps["report_s"] = time.perf_counter() - mark
    steps["total_s"] = time.perf_counter() - start
    steps["cpu_s"] = cpu_seconds() - cpu0
    steps["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        **steps,
        "calls": outcome.calls,
        "results": sum(s.n + s.errors for s in outcome.summaries),
        "errors": sum(s.errors for s in outcome.summaries),
    }


def pytest_rerun(project: Path) -> dict[str, Any]:
    """``pytest --cost-eval`` in the project, a fresh process: wall, CPU, peak RSS, exit code."""
    # Only this plugin: the other pytest plugins of the dev environment (hypothesis,
    # xdist, pytest-benchmark, anyio: about 2.5 s of imports) are not the harness's.
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    env.pop("CI", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # compiled modules kept, as for a user
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "harness.plugin",
        "--cost-eval",
        "--cost-eval-record-mode=new",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    timed = run_timed(cmd, cwd=project, env=env)
    output, code = timed["output"], timed["exit"]
    if code != 0:
        print(output[-3000:])
    calls = None
    for line in output.splitlines():
        if "provider call(s)" in line:
            calls = int(line.split("provider call(s)")[0].rsplit(" ", 2)[-2])
    return {
        "wall_s": timed["wall_s"],
        "cpu_s": timed["cpu_s"],
        "peak_rss_mb": timed["rss_mb"],
        "exit": code,
        "calls_reported": calls,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=None, help="default 10,000 (--quick 2,000)")
    parser.add_argument("--configs", type=int, default=1, help="configurations (default 1)")
    parser.add_argument("--scorer", default="exact", help="the suite's scorer (default exact)")
    parser.add_argument("--in-process", action="store_true", help="skip the pytest run")
    parser.add_argument(
        "--pytest-only", action="store_true", help="skip the in-process run (large sizes)"
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print("RESULT " + json.dumps(worker(Path(args.worker))), flush=True)
        return 0
    missing = shared_kit_missing()
    if missing:
        print(f"skipped: {missing}")
        emit("rerun", {"skipped": missing})
        return 0
    n = args.cases or (2_000 if args.quick else 10_000)
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp, fake_server(100) as server:
        cases = read_cases(generate_workload(n, Path(tmp) / "workload"))
        configs = (
            {f"candidate-{i + 1}": CANDIDATE for i in range(args.configs)}
            if args.configs > 1
            else None
        )
        project = write_project(
            Path(tmp) / "project",
            cases,
            base_url=server.base_url,
            concurrency=64,
            configs=configs,
            scorer=args.scorer,
        )
        start = time.perf_counter()
        stored = fill_store(project)
        fill_s = time.perf_counter() - start
        print(f"response store filled with {stored:,} responses in {fill_s:.1f} s")
        server.reset(100)
        inproc = (
            {"calls": 0, "pipeline_run_s": 0.0, "cpu_s": 0.0, "peak_rss_mb": 0.0}
            if args.pytest_only
            else run_worker([__file__, "--worker", str(project)], timeout=3600)
        )
        inproc_requests = server.stats()["total_requests"]
        server.reset(100)
        e2e = (
            {"wall_s": 0.0, "cpu_s": 0.0, "exit": None}
            if args.in_process
            else pytest_rerun(project)
        )
        e2e_requests = server.stats()["total_requests"]
    print(
        f"rerun of {n:,} cases x {args.configs} configuration(s), every response stored, "
        f"in process: pipeline.run "
        f"{inproc['pipeline_run_s']:.2f} s, {inproc['calls']} provider calls, "
        f"{inproc_requests} requests at the server"
    )
    print(
        "  steps: "
        + ", ".join(
            f"{k[:-2]} {inproc.get(k, 0.0):.2f} s"
            for k in (
                "load_suites_s",
                "load_responses_s",
                "pipeline_run_s",
                "write_run_s",
                "report_s",
                "total_s",
            )
        )
        + f"; CPU {inproc['cpu_s']:.2f} s; peak RSS {inproc['peak_rss_mb']:.0f} MB"
    )
    print(
        f"end to end, pytest --cost-eval: {e2e['wall_s']:.2f} s wall, {e2e['cpu_s']:.2f} s CPU, "
        f"peak RSS {e2e.get('peak_rss_mb', 0):.0f} MB, exit {e2e['exit']}, "
        f"{e2e_requests} requests at the server"
    )
    ok = inproc_requests == 0 and e2e_requests == 0 and inproc["calls"] == 0
    print(f"zero requests: {'yes' if ok else 'NO'}")
    emit(
        "rerun",
        {
            "cases": n,
            "configs": args.configs,
            "zero_requests": ok,
            "server_requests": inproc_requests + e2e_requests,
            **{f"inproc_{k}": v for k, v in inproc.items()},
            **{f"pytest_{k}": v for k, v in e2e.items()},
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
