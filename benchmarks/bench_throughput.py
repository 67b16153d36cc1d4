"""Throughput through the harness's real path against the fake OpenAI server, beside two limits.

    python benchmarks/bench_throughput.py [--requests 5000] [--concurrency 64] [--latency-ms 100]
                                          [--clients httpx,aiohttp] [--reps 1] [--quick]

A suite of N cases (the peer kit's "Compute A op B" workload) goes through
``harness.engine.run.run`` with one configuration whose model is an ``openai:``
model on the fake server (``max_concurrency`` C); the baseline's goldens are
written beforehand, so the run sends exactly N requests. In the same run, the
same SDK with the same client settings is driven by a bare asyncio loop with a
semaphore of C (the floor), and the latency limit N x latency / C is printed
beside both. Every measurement is a fresh process; CPU is that process's
user+sys over the measured span only (imports and suite loading excluded).
The server's counters check that every request was sent exactly once.

With ``--latency-ms 0`` the figure of interest is the harness's CPU per request
beyond the SDK's own: (harness CPU - bare SDK CPU) / N (``bench_cpu.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import (
    API_KEY,
    CANDIDATE,
    cpu_seconds,
    emit,
    fake_server,
    fmt_range,
    generate_workload,
    median,
    read_cases,
    run_worker,
    shared_kit_missing,
    write_project,
)

TARGET_RATIO = 1.25
"""Issue 9: wall time within 1.25x of the bare-SDK floor."""


# --------------------------------------------------------------------------- workers


def gc_timer() -> Callable[[], float]:
    """Start timing the cyclic garbage collector; the returned function gives its seconds."""
    import gc

    spent = [0.0, 0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            spent[1] = time.perf_counter()
        else:
            spent[0] += time.perf_counter() - spent[1]

    gc.callbacks.append(callback)

    def total() -> float:
        gc.callbacks.remove(callback)
        return spent[0]

    return total


def worker_bare(args: argparse.Namespace) -> dict[str, Any]:
    """The floor: the SDK alone, a semaphore, asyncio.gather over every case."""
    import openai
    from openai import AsyncOpenAI

    cases = read_cases(Path(args.cases))
    model = CANDIDATE.partition(":")[2]

    async def main() -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if args.client == "aiohttp":
            extra["http_client"] = openai.DefaultAioHttpClient()
        # The harness's defaults (harness.providers.remote.RemoteProvider).
        client = AsyncOpenAI(
            api_key=API_KEY, base_url=args.base_url, timeout=60.0, max_retries=2, **extra
        )
        semaphore = asyncio.Semaphore(args.concurrency)

        async def one(question: str) -> str:
            async with semaphore:
                completion = await client.chat.completions.create(
                    model=model, messages=[{"role": "user", "content": question}]
                )
                return completion.choices[0].message.content or ""

        gc_time = gc_timer()
        cpu0, start = cpu_seconds(), time.perf_counter()
        answers = await asyncio.gather(*(one(case["question"]) for case in cases))
        wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu0
        await client.close()
        passed = sum(a == c["expected"] for a, c in zip(answers, cases, strict=True))
        return {"wall_s": wall, "cpu_s": cpu, "passed": passed, "errors": 0, "gc_s": gc_time()}

    return asyncio.run(main())


def worker_harness(args: argparse.Namespace) -> dict[str, Any]:
    """The harness's path: settings -> prepare -> pipeline.run (the measured span)."""
    from harness.config.settings import load_settings
    from harness.engine.prepare import load_suites, prepare
    from harness.engine.run import run

    root = Path(args.project)
    # The SDK's import is the SDK's cost, as in worker_bare: not in the measured span.
    import openai  # noqa: F401

    start = time.perf_counter()
    settings = load_settings(root)
    plan = prepare(settings)
    suites = load_suites(sorted(settings.suites_dir.glob("*.yaml")), settings)
    load_s = time.perf_counter() - start
    selected = [(name, config) for name in suites for config in plan.configs]
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    if args.gc == "freeze":
        import gc

        gc.collect()
        gc.freeze()
    elif args.gc == "off":
        import gc

        gc.disable()
    elif args.gc.startswith("threshold"):
        import gc

        gc.collect()
        gc.freeze()
        gc.set_threshold(int(args.gc.split("=")[1]), 50, 1000)
    gc_time = gc_timer()
    cpu0, start = cpu_seconds(), time.perf_counter()
    outcome = run(plan, suites, selected, recorded={}, record_mode="new")
    wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    results = outcome.results
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "load_s": load_s,
        "calls": outcome.calls,
        "passed": sum(1 for r in results if r.score == 1.0),
        "errors": sum(1 for r in results if r.error),
        "first_error": next((r.error for r in results if r.error), None),
        "gc_s": gc_time(),
    }


# --------------------------------------------------------------------------- driver


def measure(args: argparse.Namespace) -> dict[str, Any]:
    n, conc, latency = args.requests, args.concurrency, args.latency_ms
    clients = [c for c in args.clients.split(",") if c]
    rows: dict[str, list[dict[str, Any]]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp,
        fake_server(latency) as server,
    ):
        cases_path = generate_workload(n, Path(tmp) / "workload")
        cases = read_cases(cases_path)
        projects = {
            client: write_project(
                Path(tmp) / f"project-{client}",
                cases,
                base_url=server.base_url,
                concurrency=conc,
                http_client=None if client == "httpx" else client,
            )
            for client in clients
        }
        for rep in range(args.reps):
            for client in clients:
                for kind in ("bare", "harness"):
                    server.reset(latency)
                    cmd = [
                        __file__,
                        "--worker",
                        kind,
                        "--client",
                        client,
                        "--cases",
                        str(cases_path),
                        "--project",
                        str(projects[client]),
                        "--base-url",
                        server.base_url,
                        "--concurrency",
                        str(conc),
                    ]
                    if args.profile and kind == "harness" and rep == 0:
                        cmd += ["--profile", f"{args.profile}.{client}.prof"]
                    result = run_worker(cmd)
                    time.sleep(0.2)  # let the server finish its bookkeeping
                    stats = server.stats()
                    result.update(
                        server_requests=stats["total_requests"],
                        server_unique=stats["unique_requests"],
                        max_inflight=stats["max_inflight"],
                        server_cpu_s=stats["server_cpu_s"],
                        exactly_once=stats["total_requests"] == n and stats["unique_requests"] == n,
                    )
                    rows.setdefault(f"{kind}-{client}", []).append(result)
                    print(
                        f"  rep {rep + 1} {kind:7s} {client:7s}: wall {result['wall_s']:.2f} s, "
                        f"CPU {result['cpu_s']:.2f} s ({result['cpu_s'] / n * 1000:.2f} ms/req), "
                        f"server saw {stats['total_requests']} ({stats['unique_requests']} "
                        f"distinct), peak in flight {stats['max_inflight']}, "
                        f"passed {result['passed']}/{n}, errors {result['errors']}, "
                        f"GC {result['gc_s'] / n * 1000:.2f} ms/req",
                        flush=True,
                    )
                    if result.get("first_error"):
                        print(f"    first error: {result['first_error']}", flush=True)
    limit = n * latency / 1000 / conc
    summary: dict[str, Any] = {"requests": n, "concurrency": conc, "latency_ms": latency}
    summary["latency_limit_s"] = limit
    for client in clients:
        bare, ours = rows[f"bare-{client}"], rows[f"harness-{client}"]
        bare_wall = median([r["wall_s"] for r in bare])
        our_wall = median([r["wall_s"] for r in ours])
        bare_cpu = median([r["cpu_s"] for r in bare])
        our_cpu = median([r["cpu_s"] for r in ours])
        ratios = [o["wall_s"] / b["wall_s"] for o, b in zip(ours, bare, strict=True)]
        summary[client] = {
            "bare_wall_s": bare_wall,
            "harness_wall_s": our_wall,
            "ratio": our_wall / bare_wall,
            "ratios": ratios,
            "ratio_of_pairs": median(ratios),
            "bare_cpu_ms_per_req": bare_cpu / n * 1000,
            "harness_cpu_ms_per_req": our_cpu / n * 1000,
            "extra_cpu_ms_per_req": (our_cpu - bare_cpu) / n * 1000,
            "exactly_once": all(r["exactly_once"] for r in ours),
            "bare_walls": [r["wall_s"] for r in bare],
            "harness_walls": [r["wall_s"] for r in ours],
            "extra_cpu_each_ms": [
                (o["cpu_s"] - b["cpu_s"]) / n * 1000 for o, b in zip(ours, bare, strict=True)
            ],
            "harness_max_inflight": max(r["max_inflight"] for r in ours),
            "harness_load_s": median([r["load_s"] for r in ours]),
        }
    return summary


def print_summary(summary: dict[str, Any], clients: list[str]) -> None:
    n, conc, latency = summary["requests"], summary["concurrency"], summary["latency_ms"]
    print(f"{n} requests, concurrency {conc}, {latency:g} ms injected latency")
    print(f"  latency limit (requests x latency / concurrency): {summary['latency_limit_s']:.2f} s")
    for client in clients:
        s = summary[client]
        verdict = "OK" if s["ratio"] <= TARGET_RATIO else "ABOVE TARGET"
        print(
            f"  [{client}] bare-SDK floor {fmt_range(s['bare_walls'])} s; harness "
            f"{fmt_range(s['harness_walls'])} s = {s['ratio']:.2f}x the floor "
            f"(per interleaved pair: {', '.join(f'{r:.2f}' for r in s['ratios'])}; "
            f"target <= {TARGET_RATIO}: {verdict}); exactly once: "
            f"{'yes' if s['exactly_once'] else 'NO'}; harness peak in flight "
            f"{s['harness_max_inflight']}"
        )
        print(
            f"  [{client}] CPU per request: bare SDK {s['bare_cpu_ms_per_req']:.2f} ms, harness "
            f"{s['harness_cpu_ms_per_req']:.2f} ms, harness beyond the SDK "
            f"{fmt_range(s['extra_cpu_each_ms'])} ms (suite load, not timed: "
            f"{s['harness_load_s']:.2f} s)"
        )


def main(argv: list[str] | None = None, *, name: str = "throughput", latency: float = 100.0) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=None, help="default 5000 (--quick 1000)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=latency)
    parser.add_argument("--clients", default="httpx,aiohttp", help="SDK transports to measure")
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile", default=None, help="cProfile the first harness run to PATH")
    parser.add_argument("--worker", choices=("bare", "harness"), help=argparse.SUPPRESS)
    parser.add_argument("--client", default="httpx", help=argparse.SUPPRESS)
    parser.add_argument("--cases", help=argparse.SUPPRESS)
    parser.add_argument("--project", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--gc", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = worker_bare(args) if args.worker == "bare" else worker_harness(args)
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    missing = shared_kit_missing()
    if missing:
        print(f"skipped: {missing}")
        emit(name, {"skipped": missing})
        return 0
    if args.requests is None:
        args.requests = 1000 if args.quick else 5000
    clients = [c for c in args.clients.split(",") if c]
    summary = measure(args)
    print_summary(summary, clients)
    emit(name, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
