"""The peer kit's workload run by promptfoo, Inspect AI and this harness, side by side.

    python benchmarks/bench_peers.py [--workdir /tmp/peerbench] [--setup] [--reps 3]
                                     [--workloads one,two] [--concurrency 64] [--quick]

Same fake server (``../shared/bench/fake_openai_server.py``, 100 ms injected
latency), same workload (``gen_workload.py``: 1,000 "Compute A op B" cases, one
exact-match assertion each against ``ANSWER: N``), same concurrency, in the same
session, reps interleaved. Each tool runs under ``/usr/bin/time -v`` like
``run_bench.py``: wall, CPU (user+sys of the process tree), peak RSS, and the
server's counters (requests, distinct requests, peak in flight).

Workload ``one`` = model gpt-bench-strong (1,000 calls); ``two`` = strong and
gpt-bench-weak (2,000 calls; the weak one is wrong on about 30 %). This harness
runs it as a first run would: ``pytest --cost-eval --cost-eval-update-goldens``
with the strong model as baseline (its 1,000 answers become the goldens, which
also answer the ``strong`` configuration) and, for ``two``, a ``weak``
configuration; goldens and results are deleted before every run, so every run
sends every request. Rows ``ours`` (the SDK's default httpx transport) and
``ours-aiohttp`` (``http_client = "aiohttp"``).

The peers are installed by ``../shared/bench/setup.sh`` into ``--workdir``, a
folder outside the repository (``--setup`` runs it: about 3 minutes). A peer
that is not installed is skipped, and ``../shared/bench/RESULTS.md``'s figures
are printed for it instead, labelled as such.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    REPO,
    SHARED_BENCH,
    emit,
    fake_server,
    fmt_range,
    median,
    read_cases,
    shared_kit_missing,
    write_project,
)

STRONG, WEAK = "gpt-bench-strong", "gpt-bench-weak"
LATENCY_MS = 100.0
RESULTS_MD_FIGURES = {
    # ../shared/bench/RESULTS.md, headline table (2026-11-26, 3 reps, median):
    # (wall s, CPU s, peak RSS MB) at concurrency 64, 100 ms latency.
    ("promptfoo", "one"): (18.0, 16.8, 383),
    ("promptfoo", "two"): (34.5, 32.2, 450),
    ("inspect", "one"): (42.1, 42.2, 203),
    ("inspect", "two"): (83.1, 83.3, 233),
    # 1 case, latency 0: the fixed cost.
    ("promptfoo", "startup"): (2.90, 3.38, 327),
    ("inspect", "startup"): (8.51, 8.51, 164),
}
CALLS = {"one": 1000, "two": 2000, "startup": 1}


def parse_time_v(path: Path) -> dict[str, float | None]:
    """User, system, peak RSS and exit status from ``/usr/bin/time -v`` (as run_bench.py)."""
    text = path.read_text() if path.is_file() else ""
    out: dict[str, float | None] = {}
    for key, pattern in (
        ("user_s", r"User time \(seconds\): ([\d.]+)"),
        ("sys_s", r"System time \(seconds\): ([\d.]+)"),
        ("maxrss_kb", r"Maximum resident set size \(kbytes\): (\d+)"),
    ):
        match = re.search(pattern, text)
        out[key] = float(match.group(1)) if match else None
    return out


class Peers:
    """Commands, environment and outcomes of the tools, as in the peer kit's run_bench.py."""

    def __init__(self, workdir: Path, base_url: str, conc: int, all_plugins: bool) -> None:
        self.workdir = workdir
        self.base_url = base_url
        self.conc = conc
        self.state = workdir / "state-harness-bench"
        self.logs = workdir / "results-harness-bench"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.wl = workdir / "workload-harness-bench"
        self.env = dict(os.environ)
        st = str(self.state) + "/"
        self.env.update(
            {
                "PROMPTFOO_CONFIG_DIR": st + "promptfoo",
                "PROMPTFOO_CACHE_PATH": st + "promptfoo-cache",
                "PROMPTFOO_DISABLE_TELEMETRY": "1",
                "PROMPTFOO_DISABLE_UPDATE": "1",
                "INSPECT_LOG_DIR": st + "inspect-logs",
                "INSPECT_CACHE_DIR": st + "inspect-cache",
                "XDG_DATA_HOME": st + "xdg-data",
                "XDG_CACHE_HOME": st + "xdg-cache",
                "OPENAI_API_KEY": "sk-peerbench-dummy",
                "OPENAI_BASE_URL": base_url,
                "NO_COLOR": "1",
                "PATH": str(workdir / "nodebin") + os.pathsep + os.environ["PATH"],
            }
        )
        self.env.pop("CI", None)  # the harness's record mode would default to 'none'
        self.all_plugins = all_plugins

    def available(self) -> dict[str, str | None]:
        """Tool -> None when runnable, else why not."""
        promptfoo = self.workdir / "node_modules" / ".bin" / "promptfoo"
        inspect = self.workdir / "venv" / "bin" / "inspect"
        node = self.workdir / "nodebin" / "node"
        return {
            "promptfoo": None
            if promptfoo.exists() and node.exists()
            else f"not installed ({promptfoo} or {node} missing)",
            "inspect": None if inspect.exists() else f"not installed ({inspect} missing)",
        }

    def versions(self) -> dict[str, str]:
        def sh(cmd: list[str], cwd: Path | None = None) -> str:
            try:
                done = subprocess.run(
                    cmd, capture_output=True, text=True, env=self.env, cwd=cwd, timeout=120
                )
                return done.stdout.strip() or done.stderr.strip()[-200:]
            except (OSError, subprocess.SubprocessError) as exc:
                return f"unavailable ({exc})"

        package = self.workdir / "node_modules" / "promptfoo" / "package.json"
        promptfoo = json.loads(package.read_text())["version"] if package.is_file() else "-"
        return {
            "promptfoo": promptfoo,
            "node": sh([str(self.workdir / "nodebin" / "node"), "--version"]),
            "inspect_ai": sh(
                [
                    str(self.workdir / "venv" / "bin" / "python"),
                    "-c",
                    "import inspect_ai, openai; print(inspect_ai.__version__, openai.__version__)",
                ]
            ),
        }

    def workload_dir(self, workload: str) -> Path:
        return self.wl / ("startup" if workload == "startup" else "main")

    def prepare(self, n: int) -> None:
        """Workload files (the promptfoo configs carry the server's URL) and our projects."""
        shutil.rmtree(self.wl, ignore_errors=True)
        for workload, size in (("one", n), ("startup", 1)):
            subprocess.run(
                [
                    sys.executable,
                    str(SHARED_BENCH / "gen_workload.py"),
                    "--n",
                    str(size),
                    "--base-url",
                    self.base_url,
                    "--out",
                    str(self.workload_dir(workload)),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        for workload in ("one", "two", "startup"):
            cases = read_cases(self.workload_dir(workload) / "cases.jsonl")
            configs = {"strong": f"openai:{STRONG}"}
            if workload == "two":
                configs["weak"] = f"openai:{WEAK}"
            for client in ("httpx", "aiohttp"):
                write_project(
                    self.project(workload, client),
                    cases,
                    base_url=self.base_url,
                    concurrency=self.conc,
                    configs=configs,
                    baseline=f"openai:{STRONG}",
                    write_goldens=False,
                    http_client=None if client == "httpx" else client,
                )

    def project(self, workload: str, client: str) -> Path:
        return self.workdir / f"ours-{workload}-{client}"

    def command(self, tool: str, workload: str) -> tuple[list[str], Path]:
        if tool == "promptfoo":
            config = "two_models.yaml" if workload == "two" else "one_model.yaml"
            cmd = [
                str(self.workdir / "node_modules" / ".bin" / "promptfoo"),
                "eval",
                "-c",
                config,
                "--max-concurrency",
                str(self.conc),
                "--no-cache",
                "--no-table",
                "--no-progress-bar",
            ]
            return cmd, self.workload_dir(workload) / "promptfoo"
        if tool == "inspect":
            names = [STRONG, WEAK] if workload == "two" else [STRONG]
            models = ",".join(f"openai/{m}" for m in names)
            task = os.path.relpath(
                self.workload_dir(workload) / "inspect" / "peer_task.py", self.workdir
            )
            cmd = [
                str(self.workdir / "venv" / "bin" / "inspect"),
                "eval",
                task,
                "--model",
                models,
                "--max-connections",
                str(self.conc),
                "--display",
                "none",
            ]
            return cmd, self.workdir
        client = "aiohttp" if tool == "ours-aiohttp" else "httpx"
        project = self.project(workload, client)
        shutil.rmtree(project / "goldens", ignore_errors=True)
        shutil.rmtree(project / "results", ignore_errors=True)
        # Only this plugin: the other pytest plugins installed here (hypothesis, xdist,
        # pytest-benchmark, anyio: about 2.5 s of imports) are the dev setup's, not ours.
        plugins = [] if self.all_plugins else ["-p", "harness.plugin"]
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            *plugins,
            "--cost-eval",
            "--cost-eval-update-goldens",
            "--cost-eval-record-mode=new",
            "-q",
            "-p",
            "no:cacheprovider",
        ]
        return cmd, project

    def outcome(self, tool: str, workload: str, log: str, new_logs: list[Path]) -> dict[str, Any]:
        if tool == "promptfoo":

            def count(pattern: str) -> int | None:
                match = re.search(pattern, log)
                return int(match.group(1).replace(",", "")) if match else None

            return {"passed": count(r"([\d,]+) passed"), "failed": count(r"([\d,]+) failed")}
        if tool == "inspect":
            code = (
                "import json, sys\n"
                "from inspect_ai.log import read_eval_log\n"
                "out = []\n"
                "for p in sys.argv[1:]:\n"
                "    log = read_eval_log(p, header_only=True)\n"
                "    acc = log.results.scores[0].metrics['accuracy'].value\n"
                "    out.append([acc, log.results.completed_samples])\n"
                "print(json.dumps(out))\n"
            )
            done = subprocess.run(
                [str(self.workdir / "venv" / "bin" / "python"), "-c", code, *map(str, new_logs)],
                capture_output=True,
                text=True,
            )
            try:
                per = json.loads(done.stdout)
            except json.JSONDecodeError:
                return {"passed": None, "failed": None}
            passed = sum(round(acc * n) for acc, n in per)
            return {"passed": passed, "failed": sum(n for _, n in per) - passed}
        import duckdb

        client = "aiohttp" if tool == "ours-aiohttp" else "httpx"
        db = self.project(workload, client) / "results" / "cost_eval.duckdb"
        if not db.is_file():
            return {"passed": None, "failed": None}
        connection = duckdb.connect(str(db), read_only=True)
        try:
            passed, total = connection.execute(
                "SELECT sum(score), count(*) FROM results"
            ).fetchone() or (0, 0)
        finally:
            connection.close()
        return {"passed": int(passed or 0), "failed": int(total) - int(passed or 0)}

    def run(self, tool: str, workload: str, rep: int, server: Any) -> dict[str, Any]:
        server.reset(0 if workload == "startup" else LATENCY_MS)
        cmd, cwd = self.command(tool, workload)
        env = dict(self.env)
        if tool.startswith("ours") and not self.all_plugins:
            env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        name = f"{tool}_{workload}_r{rep}"
        time_file, log_file = self.logs / f"{name}.time", self.logs / f"{name}.log"
        logs_dir = self.state / "inspect-logs"
        before = set(logs_dir.glob("*.eval")) if logs_dir.is_dir() else set()
        start = time.perf_counter()
        with log_file.open("w") as handle:
            done = subprocess.run(
                ["/usr/bin/time", "-v", "-o", str(time_file), *cmd],
                cwd=cwd,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                timeout=900,
            )
        wall = time.perf_counter() - start
        time.sleep(0.3)
        stats = server.stats()
        tv = parse_time_v(time_file)
        after = set(logs_dir.glob("*.eval")) if logs_dir.is_dir() else set()
        calls = {"one": self.n, "two": 2 * self.n, "startup": 1}[workload]
        result = {
            "tool": tool,
            "workload": workload,
            "rep": rep,
            "rc": done.returncode,
            "wall_s": wall,
            "cpu_s": (tv["user_s"] or 0.0) + (tv["sys_s"] or 0.0),
            "maxrss_mb": (tv["maxrss_kb"] or 0) / 1024,
            "calls": calls,
            "server_requests": stats["total_requests"],
            "server_unique": stats["unique_requests"],
            "max_inflight": stats["max_inflight"],
            "exactly_once": stats["total_requests"] == calls and stats["unique_requests"] == calls,
            "cmd": " ".join(cmd),
            **self.outcome(tool, workload, log_file.read_text(), sorted(after - before)),
        }
        return result

    n = 1000
    """Cases in the workload."""


def run_setup(workdir: Path) -> int:
    """Copy the peer kit into ``workdir`` and run its setup.sh there."""
    workdir.mkdir(parents=True, exist_ok=True)
    for item in SHARED_BENCH.iterdir():
        target = workdir / item.name
        if item.is_file() and not target.exists():
            shutil.copy(item, target)
            target.chmod(0o644)
    print(f"running {SHARED_BENCH / 'setup.sh'} in {workdir} (about 3 minutes)", flush=True)
    return subprocess.run(["bash", str(SHARED_BENCH / "setup.sh"), str(workdir)]).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="/tmp/peerbench", help="where the peers are installed")
    parser.add_argument("--setup", action="store_true", help="install the peers first (setup.sh)")
    parser.add_argument("--reps", type=int, default=None, help="default 3 (--quick 1)")
    parser.add_argument(
        "--workloads", default=None, help="of one,two,startup; default all (--quick: one)"
    )
    parser.add_argument(
        "--all-plugins",
        action="store_true",
        help="run ours with every installed pytest plugin (default: only harness.plugin)",
    )
    parser.add_argument("--tools", default="promptfoo,inspect,ours,ours-aiohttp")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    missing = shared_kit_missing()
    if missing:
        print(f"skipped: {missing}")
        emit("peers", {"skipped": missing})
        return 0
    workdir = Path(args.workdir).resolve()
    if REPO in workdir.parents or workdir == REPO:
        parser.error("--workdir must be outside the repository (the peers' code is not ours)")
    if args.setup and run_setup(workdir) != 0:
        print("setup.sh failed: peers that did not install are skipped")
    reps = args.reps or (1 if args.quick else 3)
    workloads = (args.workloads or ("one" if args.quick else "one,two,startup")).split(",")
    tools = args.tools.split(",")
    rows: list[dict[str, Any]] = []
    with fake_server(LATENCY_MS) as server:
        peers = Peers(workdir, server.base_url, args.concurrency, args.all_plugins)
        peers.n = args.cases
        why_not = peers.available()
        runnable = [t for t in tools if why_not.get(t) is None]
        for tool in tools:
            if why_not.get(tool):
                print(f"{tool}: {why_not[tool]}; RESULTS.md figures are shown for it instead")
        versions = peers.versions()
        print("versions: " + json.dumps(versions), flush=True)
        peers.prepare(args.cases)
        for rep in range(1, reps + 1):
            for workload in workloads:
                for tool in runnable:
                    row = peers.run(tool, workload, rep, server)
                    rows.append(row)
                    print(
                        f"  rep {rep} {tool:13s} {workload}: wall {row['wall_s']:6.2f} s, CPU "
                        f"{row['cpu_s']:6.2f} s, RSS {row['maxrss_mb']:4.0f} MB, server "
                        f"{row['server_requests']} ({row['server_unique']} distinct, peak in "
                        f"flight {row['max_inflight']}), passed {row['passed']}/"
                        f"{(row['passed'] or 0) + (row['failed'] or 0)}, exit {row['rc']}",
                        flush=True,
                    )
    print()
    print(
        f"{args.cases} cases, concurrency {args.concurrency}, {LATENCY_MS:g} ms latency, "
        f"{reps} rep(s): median (min–max)"
    )
    print("| tool | workload | calls | wall s | CPU s | peak RSS MB | exactly once | passed |")
    print("|---|---|---|---|---|---|---|---|")
    table: dict[str, Any] = {}
    for workload in workloads:
        for tool in tools:
            mine = [r for r in rows if r["tool"] == tool and r["workload"] == workload]
            if mine:
                walls = [r["wall_s"] for r in mine]
                cpus = [r["cpu_s"] for r in mine]
                once = all(r["exactly_once"] for r in mine)
                print(
                    f"| {tool} | {workload} | {mine[0]['calls']} | {fmt_range(walls)} | "
                    f"{fmt_range(cpus)} | {median([r['maxrss_mb'] for r in mine]):.0f} | "
                    f"{'yes' if once else 'NO'} | {mine[0]['passed']} |"
                )
                table[f"{tool}/{workload}"] = {
                    "wall_s": median(walls),
                    "cpu_s": median(cpus),
                    "maxrss_mb": median([r["maxrss_mb"] for r in mine]),
                    "exactly_once": once,
                    "passed": mine[0]["passed"],
                    "source": "measured",
                }
            elif (tool, workload) in RESULTS_MD_FIGURES and args.cases == 1000:
                wall, cpu, rss = RESULTS_MD_FIGURES[(tool, workload)]
                print(
                    f"| {tool} (from shared/bench/RESULTS.md, not measured here) | {workload} | "
                    f"{CALLS[workload]} | {wall} | {cpu} | {rss} | yes | – |"
                )
                table[f"{tool}/{workload}"] = {
                    "wall_s": wall,
                    "cpu_s": cpu,
                    "maxrss_mb": rss,
                    "source": "shared/bench/RESULTS.md",
                }
    emit("peers", {"cases": args.cases, "reps": reps, "versions": versions, "table": table})
    with (peers.logs / "rows.jsonl").open("a") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
