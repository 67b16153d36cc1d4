"""Run every benchmark and print one table of the figures (``nox -s bench``).

    python benchmarks/run_all.py [--quick] [--peers] [--only throughput,cpu,...] [--json PATH]

Each benchmark runs as its own process (``benchmarks/bench_*.py``), prints its
lines as it goes and ends with a ``RESULT {json}`` line; this script collects
those into the table. ``--quick`` passes ``--quick`` to each (smaller sizes,
one repetition). The peer comparison (promptfoo and Inspect AI, several
minutes) runs only with ``--peers``; install the peers once with
``python benchmarks/bench_peers.py --setup``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

BENCHES: dict[str, tuple[str, list[str], list[str]]] = {
    # name: (script, args, extra args with --quick)
    "throughput": ("bench_throughput.py", ["--reps", "3"], ["--reps", "1"]),
    # whole commands in fresh processes beside the bare-SDK loop (issue 18)
    "process": ("bench_process.py", ["--reps", "5"], ["--quick"]),
    "cpu": ("bench_cpu.py", [], []),
    "rerun": ("bench_rerun.py", [], []),
    "storage": ("bench_storage.py", [], []),
    "report": ("bench_report.py", [], []),
    # `harness report` / `summary` of a stored 50,000 x 5 run, fresh processes (issue 18)
    "report_command": ("bench_report.py", ["--command"], ["--command", "--quick", "--repeat", "1"]),
    "import": ("bench_import.py", [], []),
    "sweep": ("bench_sweep.py", ["--repeat", "3"], ["--router", "random", "--repeat", "1"]),
    "cache_sweep": ("bench_cache_sweep.py", [], ["--queries", "20000"]),
    "peers": ("bench_peers.py", [], []),
}
DEFAULT = [
    "process",
    "throughput",
    "cpu",
    "rerun",
    "storage",
    "report",
    "report_command",
    "import",
    "sweep",
    "cache_sweep",
]


def run_one(name: str, quick: bool, timeout: float) -> tuple[dict[str, Any] | None, list[str]]:
    script, args, quick_args = BENCHES[name]
    cmd = [sys.executable, str(HERE / script)]
    if quick:
        cmd += quick_args if quick_args else ["--quick"]
        if name in ("throughput",):
            cmd.append("--quick")
    else:
        cmd += args
    print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
    lines: list[str] = []
    result: dict[str, Any] | None = None
    start = time.perf_counter()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("RESULT "):
                result = json.loads(line[len("RESULT ") :])
                continue
            lines.append(line.rstrip("\n"))
            print(line, end="", flush=True)
            if time.perf_counter() - start > timeout:
                proc.kill()
                print(f"--- {name}: stopped after {timeout:.0f} s", flush=True)
                break
    print(f"--- {name}: {time.perf_counter() - start:.0f} s", flush=True)
    return result, lines


# --------------------------------------------------------------------------- table rows


def _s(value: float) -> str:
    return f"{value:.2f} s"


def rows_throughput(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = [
        (
            f"throughput: latency limit, {r['requests']} req x {r['latency_ms']:g} ms / "
            f"{r['concurrency']}",
            _s(r["latency_limit_s"]),
            "",
        )
    ]
    for client in ("httpx", "aiohttp"):
        if client in r:
            c = r[client]
            out.append((f"throughput [{client}]: bare-SDK floor", _s(c["bare_wall_s"]), ""))
            out.append(
                (
                    f"throughput [{client}]: harness (x floor)",
                    f"{_s(c['harness_wall_s'])} ({c['ratio']:.2f}x; pairs "
                    f"{c.get('ratio_of_pairs', c['ratio']):.2f}x)",
                    "<= 1.25x " + ("OK" if c["ratio"] <= 1.25 else "MISSED"),
                )
            )
            out.append(
                (
                    f"throughput [{client}]: every request sent once",
                    "yes" if c["exactly_once"] else "NO",
                    "yes",
                )
            )
    return out


def rows_cpu(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    for client in ("httpx", "aiohttp"):
        if client in r:
            c = r[client]
            ok = "OK" if c["extra_ms"] < 0.5 else "MISSED"
            out.append(
                (
                    f"CPU/request beyond the SDK [{client}] (SDK alone)",
                    f"{c['extra_ms']:+.2f} ms ({c['bare_cpu_ms_per_req']:.2f} ms)",
                    f"< 0.5 ms {ok}",
                )
            )
    ok = "OK" if r["alone_ms"] < 0.5 else "MISSED"
    out.append(("CPU/request, harness alone (no SDK)", f"{r['alone_ms']:.3f} ms", f"< 0.5 ms {ok}"))
    return out


def rows_process(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    bare_wall, bare_cpu = r["bare_wall_s"], r["bare_cpu_s"]
    first = r["first_wall_s"] / bare_wall
    first_cpu = r["first_cpu_s"] / bare_cpu
    return [
        (f"whole process, {r['cases']:,} cases: bare-SDK loop", _s(bare_wall), ""),
        (
            "whole process: pytest --cost-eval, first run (every case sent)",
            f"{_s(r['first_wall_s'])} = {first:.2f}x wall, {first_cpu:.2f}x CPU",
            "<= 1.25x wall, <= 1.5x CPU at 1,000 cases"
            + (
                (": met" if first <= 1.25 and first_cpu <= 1.5 else ": MISSED")
                if r["cases"] == 1000
                else ""
            ),
        ),
        (
            "whole process: pytest --cost-eval, rerun (every answer stored)",
            _s(r["rerun_wall_s"]),
            "< 1.5 s: " + ("met" if r["rerun_wall_s"] < 1.5 else "MISSED"),
        ),
    ]


def rows_rerun(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (
            f"rerun, {r['cases']:,} cases all stored: requests",
            str(r["server_requests"]),
            "0 " + ("OK" if r["zero_requests"] else "MISSED"),
        ),
        (f"rerun, {r['cases']:,} cases: pipeline.run", _s(r["inproc_pipeline_run_s"]), ""),
        (
            f"rerun, {r['cases']:,} cases: load store + run + store + report",
            _s(r["inproc_total_s"]),
            "",
        ),
        (f"rerun, {r['cases']:,} cases: pytest --cost-eval end to end", _s(r["pytest_wall_s"]), ""),
    ]


def rows_storage(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = [
        (
            f"DuckDB: write_run of {r['rows']:,} result rows",
            f"{_s(r['write_s'])} ({r['rows_per_s']:,.0f} rows/s)",
            "",
        ),
        (f"DuckDB: file size, {r['rows']:,} rows", f"{r['file_mb']:.1f} MB", ""),
    ]
    if "load_run_s" in r:
        out.append((f"DuckDB: load_run of {r['rows']:,} rows", _s(r["load_run_s"]), ""))
    if "load_scores_s" in r:
        out.append((f"DuckDB: load_scores of {r['rows']:,} rows", _s(r["load_scores_s"]), ""))
    return out


def rows_report(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (
            f"report of {r['cases']:,} cases (first render)",
            f"{_s(r['first_s'])}, {r['html_kb']:.0f} kB",
            "",
        )
    ]


def rows_report_command(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    for command, target in (("report", "< 2 s, < 300 MB"), ("summary", "")):
        m = r[f"{command}_now"]
        out.append(
            (
                f"`harness {command}` of {r['results']:,} stored results (fresh process)",
                f"{_s(m['wall_s'])} wall, {_s(m['cpu_s'])} CPU, {m['rss_mb']:.0f} MB",
                target,
            )
        )
    return out


def rows_import(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    ok = "OK" if r["isolated_cpu_added_ms"] < 20 else "MISSED"
    return [
        ("plugin import (-X importtime)", f"{r['import_cumulative_us'] / 1000:.1f} ms", "< 20 ms"),
        (
            "pytest --co added by the plugin (CPU, isolated)",
            f"{r['isolated_cpu_added_ms']:+.0f} ms",
            f"< 20 ms {ok}",
        ),
        (
            "pytest --co added by the plugin (wall, as installed)",
            f"{r['installed_wall_added_ms']:+.0f} ms",
            "noisy",
        ),
        ("heavy imports without --cost-eval", ", ".join(r["heavy_imported"]) or "none", "none"),
    ]


def rows_peers(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    for key, v in r["table"].items():
        src = "" if v.get("source") == "measured" else f" [{v['source']}]"
        out.append(
            (f"peer workload {key}{src}", f"wall {v['wall_s']:.1f} s, CPU {v['cpu_s']:.1f} s", "")
        )
    return out


def rows_cache_sweep(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    pairs = [
        (
            f"`harness cache --pairs` on {k[10:-2]} labelled pairs, {r['cli_pairs_embedder']} "
            "embedder, fresh process",
            f"{_s(v)} ({_s(r[k[:-2] + '_cpu_s'])} CPU)",
            "< 60 s: " + ("met" if v < 60 else "missed"),
        )
        for k, v in r.items()
        if k.startswith("cli_pairs_") and k.endswith("_s") and not k.endswith("_cpu_s")
    ]
    return pairs + [
        (f"semantic-cache sweep, 70 thresholds x {k[6:-2]} arrivals", _s(v), "")
        for k, v in r.items()
        if k.startswith("sweep_") and k.endswith("_s")
    ]


ROWS: dict[str, Callable[[dict[str, Any]], list[tuple[str, str, str]]]] = {
    "throughput": rows_throughput,
    "cpu": rows_cpu,
    "process": rows_process,
    "rerun": rows_rerun,
    "storage": rows_storage,
    "report": rows_report,
    "report_command": rows_report_command,
    "import": rows_import,
    "peers": rows_peers,
    "cache_sweep": rows_cache_sweep,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one repetition")
    parser.add_argument("--peers", action="store_true", help="also run the peer comparison")
    parser.add_argument("--only", default="", help=f"comma list of: {', '.join(BENCHES)}")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument("--timeout", type=float, default=1200.0, help="per benchmark, seconds")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or DEFAULT + (["peers"] if args.peers else [])
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    load = os.getloadavg()
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start",
        flush=True,
    )
    started = time.perf_counter()
    results: dict[str, dict[str, Any] | None] = {}
    outputs: dict[str, list[str]] = {}
    for name in names:
        results[name], outputs[name] = run_one(name, args.quick, args.timeout)
    load = os.getloadavg()
    table: list[tuple[str, str, str]] = []
    for name in names:
        result = results[name]
        if name == "sweep" and result is None:
            # bench_sweep.py (not ours) prints lines, not a RESULT line.
            found = [x.strip() for x in outputs[name] if x.startswith(("sweep ", "skipped"))]
            table.extend((f"router {x.split(':')[0]}", x.split(": ", 1)[-1], "") for x in found)
            if not found:
                table.append((name, "FAILED (see its output above)", ""))
        elif result is None:
            table.append((name, "FAILED (no RESULT line; see its output above)", ""))
        elif "skipped" in result:
            table.append((name, f"skipped: {result['skipped']}", ""))
        elif name in ROWS:
            table.extend(ROWS[name](result))
    print(
        f"\n=== results ({'quick' if args.quick else 'full'} sizes; "
        f"{time.perf_counter() - started:.0f} s in all; load average {load[0]:.2f} at the end)"
    )
    width = max(len(r[0]) for r in table) if table else 10
    value_width = max(len(r[1]) for r in table) if table else 10
    print(f"| {'figure':<{width}} | {'measured':<{value_width}} | target |")
    print(f"|{'-' * (width + 2)}|{'-' * (value_width + 2)}|--------|")
    for figure, value, target in table:
        print(f"| {figure:<{width}} | {value:<{value_width}} | {target} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    failed = [n for n in names if results[n] is None and n != "sweep"]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
