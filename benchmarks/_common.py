"""Shared by the benchmarks: the fake server, the workload, a harness project, measuring.

Not a benchmark itself (``run_all.py`` runs the ``bench_*.py`` files). Every
benchmark prints human-readable lines and, last, one ``RESULT {json}`` line
that ``run_all.py`` turns into the results table.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED_BENCH = Path(os.environ.get("PEERBENCH_DIR", REPO.parent / "shared" / "bench"))
"""The peer benchmark kit: fake server, workload generator, peer commands (read in place)."""
SERVER_SCRIPT = HERE / "fixtures" / "fake_server.py"

BASELINE = "openai:gpt-bench-strong"
"""The baseline model of the benchmark projects (its goldens are written, not called)."""
CANDIDATE = "openai:gpt-bench-fast"
"""The model the measured configuration sends every case to (answers like the strong one)."""
API_KEY = "sk-harness-bench-dummy"
PRICE = {"input": 2.5, "output": 10.0}


def shared_kit_missing() -> str | None:
    """Why the shared peer kit cannot be used, or None when it is there."""
    for name in ("fake_openai_server.py", "gen_workload.py"):
        if not (SHARED_BENCH / name).is_file():
            return f"{SHARED_BENCH / name} not found (set PEERBENCH_DIR to the peer kit)"
    return None


# --------------------------------------------------------------------------- output


def emit(name: str, figures: Mapping[str, Any]) -> None:
    """Print the machine-readable result line ``run_all.py`` collects."""
    print("RESULT " + json.dumps({"bench": name, **figures}, default=str), flush=True)


def cpu_seconds() -> float:
    """User + system CPU of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu_seconds() -> float:
    """User + system CPU of this process's waited-for children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def fmt_range(values: Sequence[float], digits: int = 2) -> str:
    """``median (min–max)`` of repeated measurements."""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


# --------------------------------------------------------------------------- fake server


@dataclass
class FakeServer:
    """The shared fake OpenAI server, running in a subprocess on 127.0.0.1."""

    process: subprocess.Popen[str]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What an OpenAI client's ``base_url`` is set to."""
        return f"{self.url}/v1"

    def _http(self, path: str, method: str = "GET") -> dict[str, Any]:
        data = b"" if method == "POST" else None
        request = urllib.request.Request(self.url + path, method=method, data=data)
        with urllib.request.urlopen(request, timeout=30) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result

    def reset(self, latency_ms: float) -> None:
        """Zero the counters and set the injected latency."""
        self._http(f"/reset?latency_ms={latency_ms}", "POST")

    def stats(self) -> dict[str, Any]:
        """Counters since the last reset (``total_requests``, ``unique_requests`` ...)."""
        return self._http("/stats")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def fake_server(latency_ms: float = 100.0, max_seconds: float = 1800.0) -> Iterator[FakeServer]:
    """Start the fake server; it stops on leaving the block (and by itself at the deadline)."""
    process = subprocess.Popen(
        [
            sys.executable,
            str(SERVER_SCRIPT),
            "--latency-ms",
            str(latency_ms),
            "--max-seconds",
            str(max_seconds),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    server: FakeServer | None = None
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"fake server did not start (said {line!r})")
        server = FakeServer(process=process, port=int(line.split()[1]))
        for _ in range(50):
            try:
                server._http("/health")
                break
            except OSError:
                time.sleep(0.1)
        yield server
    finally:
        if server is not None:
            server.stop()
        elif process.poll() is None:
            process.kill()
            process.wait()


# --------------------------------------------------------------------------- workload


def generate_workload(n: int, out: Path) -> Path:
    """The peer kit's workload of ``n`` cases (``gen_workload.py``); returns ``cases.jsonl``."""
    subprocess.run(
        [sys.executable, str(SHARED_BENCH / "gen_workload.py"), "--n", str(n), "--out", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out / "cases.jsonl"


def read_cases(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_project(
    root: Path,
    cases: Sequence[Mapping[str, str]],
    *,
    base_url: str,
    concurrency: int,
    configs: Mapping[str, str] | None = None,
    baseline: str = BASELINE,
    write_goldens: bool = True,
    http_client: str | None = None,
    suite: str = "peer",
    scorer: str = "exact",
) -> Path:
    """A harness project over the workload: one suite (exact match against ``ANSWER: N``).

    Args:
        configs: Configuration name -> model; default one configuration sending
            every case to :data:`CANDIDATE`.
        write_goldens: Write the baseline's goldens (the expected answers) so the
            run itself calls only the configurations' model.
        http_client: The ``openai`` provider's ``http_client`` option, when set.
        scorer: The suite's scorer (``exact``; ``numeric`` reads the final number).
    """
    configs = configs or {"candidate": CANDIDATE}
    (root / "suites").mkdir(parents=True, exist_ok=True)
    with (root / "suites" / f"{suite}.jsonl").open("w", encoding="utf-8") as handle:
        for case in cases:
            row = {"id": case["id"], "prompt": case["question"], "expected": case["expected"]}
            handle.write(json.dumps(row) + "\n")
    (root / "suites" / f"{suite}.yaml").write_text(
        f"suite: {suite}\nscorer: {scorer}\nreference: expected\ncases_file: {suite}.jsonl\n",
        encoding="utf-8",
    )
    models = sorted({baseline, *configs.values()})
    lines = [
        "[tool.cost-eval]",
        f'baseline = "{baseline}"',
        'volume = "100k/day"',
        "",
        "[tool.cost-eval.providers.openai]",
        f'base_url = "{base_url}"',
        f'api_key = "{API_KEY}"',
        f"max_concurrency = {concurrency}",
    ]
    if http_client:
        lines.append(f'http_client = "{http_client}"')
    for model in models:
        lines += ["", f'[tool.cost-eval.prices."{model}"]']
        lines += [f"{k} = {v}" for k, v in PRICE.items()]
    for name, model in configs.items():
        lines += ["", "[[tool.cost-eval.configs]]", f'name = "{name}"', f'model = "{model}"']
    (root / "pyproject.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if write_goldens:
        write_baseline_goldens(root, suite)
    return root


def write_baseline_goldens(root: Path, suite_name: str) -> None:
    """The baseline's goldens: the expected answers, with plausible usage (no calls)."""
    sys.path.insert(0, str(REPO))
    from harness.config.settings import load_settings
    from harness.config.suites import goldens_path, load_suite, now_iso, write_goldens
    from harness.types import Golden, Usage

    settings = load_settings(root)
    suite = load_suite(settings.suites_dir / f"{suite_name}.yaml")
    stamp = now_iso()
    goldens = [
        Golden(
            case_id=case.id,
            model=settings.baseline,
            request_hash=suite.request(case, settings.baseline).hash(),
            text=case.expected or "",
            usage=Usage(input_tokens=30, output_tokens=4),
            latency_ms=100.0,
            recorded_at=stamp,
        )
        for case in suite.cases
    ]
    write_goldens(goldens_path(settings.goldens_dir, suite.name, settings.baseline), goldens)


# --------------------------------------------------------------------------- subprocesses


def run_worker(args: Sequence[str], *, timeout: float = 900.0) -> dict[str, Any]:
    """Run a Python worker (a fresh process per measurement); its last ``RESULT`` line."""
    done = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    raise RuntimeError(
        f"worker {' '.join(args)} failed (exit {done.returncode}):\n"
        f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    )


def run_timed(cmd: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """Run ``cmd`` to its end: wall, the child's own CPU and peak RSS, exit code, output."""
    started = time.perf_counter()
    child = subprocess.Popen(
        list(cmd), cwd=cwd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert child.stdout is not None
    output = child.stdout.read()
    # wait4, not Popen.wait: the child's own resource usage, peak RSS included.
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall_s": time.perf_counter() - started,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "exit": child.returncode,
        "output": output.decode("utf-8", "replace"),
    }
