"""Peak memory of ``harness import recordings`` on a large recordings file.

    python benchmarks/bench_import_memory.py --size 20M,100M,200M     # the command, as run
    python benchmarks/bench_import_memory.py [--size 1G] [--models 2] [--mode all]

Generates, in a temporary directory, a JSONL recordings file of about ``--size``
bytes (``K``, ``M``, ``G`` suffixes): distinct cases, each answered by
``--models`` models (the first is the baseline), every line a realistic record
(prompt, response, expected, category, usage, cost, latency, quality). Then a
fresh process imports it with :func:`harness.importers.recordings.import_recordings` and
reports its peak resident set size (``resource.getrusage``, ``ru_maxrss``), the
RSS before the import began, the time and the throughput. Three modes:

* ``command`` (the default): the real ``harness import recordings FILE --suite
  big --baseline ... --out DIR`` command in a fresh process, as a user runs it
  (responses staged on disk and stored in DuckDB in one transaction, cases
  indexed on disk): its peak RSS is the child's ``ru_maxrss`` from
  ``os.wait4``, its CPU the child's user + system time; the load average is
  printed beside it, the machine being shared. Memory stays flat: the target is
  under 300 MB at 200 MB, and ~0 MiB of growth per MiB of input.

* ``collect``: the responses come back in ``ImportResult.responses`` (every
  (case, model) response kept in memory, one per line): memory grows with the
  file, about twice its size;
* ``stream``: ``on_response`` receives each response as it is read (here it
  only counts them; a real caller appends them to the store in batches) and
  goldens go to disk as they arrive: memory grows with the distinct cases
  (each case's row: prompt, expected answer) and a few dozen bytes per line
  (the (case, model) pairs seen, to refuse duplicates), not with the responses.

Several sizes show the growth per MiB of input (see docs/reliability.md).
Only ``command`` stores anything in DuckDB (a file in the temporary folder).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import emit

UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
BASELINE = "openai:gpt-4o"
WORDS = tuple(
    " ".join(
        (
            "refund order shipping invoice account password delivery warranty return exchange",
            "customer support ticket status payment card address subscription plan upgrade",
            "cancel the a of to and for with on is was please when how what why can could would",
        )
    ).split(" ")
)


def parse_size(text: str) -> int:
    text = text.strip().upper().removesuffix("B")
    unit = text[-1] if text and text[-1] in UNITS else ""
    return int(float(text[: len(text) - len(unit)]) * UNITS[unit])


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def generate(path: Path, size: int, models: int, seed: int = 7) -> tuple[int, int]:
    """Write about ``size`` bytes of recordings; returns (lines, cases)."""
    rng = random.Random(seed)
    names = [BASELINE] + [f"openai:model-{k}" for k in range(1, models)]
    lines = cases = written = 0
    with path.open("w", encoding="utf-8") as handle:
        while written < size:
            case_id = f"q-{cases:08d}"
            prompt = sentence(rng, rng.randint(12, 40)).rstrip(".") + "?"
            expected = sentence(rng, rng.randint(3, 8))
            category = rng.choice(("billing", "shipping", "account", "returns"))
            for model in names:
                response = sentence(rng, rng.randint(30, 120))
                record = {
                    "case_id": case_id,
                    "model": model,
                    "prompt": prompt,
                    "response": response,
                    "expected": expected,
                    "category": category,
                    "usage": {
                        "input_tokens": len(prompt) // 4,
                        "output_tokens": len(response) // 4,
                    },
                    "cost_usd": round(rng.uniform(1e-5, 1e-3), 8),
                    "latency_ms": rng.randint(100, 3000),
                    "quality": rng.choice((0.0, 1.0)),
                }
                line = json.dumps(record) + "\n"
                handle.write(line)
                written += len(line)
                lines += 1
            cases += 1
    return lines, cases


def child(path: Path, out: Path, mode: str) -> None:
    """The measured process: import, then print one JSON line of figures."""
    from harness.importers.recordings import import_recordings

    streamed = 0

    def count(request: object, response: object) -> None:
        nonlocal streamed
        streamed += 1

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = import_recordings(
        [path],
        suite="big",
        baseline=BASELINE,
        out_dir=out,
        on_response=count if mode == "stream" else None,
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "rss_before_kib": before,
                "peak_rss_kib": peak,
                "seconds": seconds,
                "cases": result.cases,
                "rows": result.rows,
                "responses": len(result.responses) + streamed,
            }
        )
    )


def measure(size: int, models: int, modes: list[str]) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-import-memory-") as name:
        root = Path(name)
        path = root / "recordings.jsonl"
        started = time.perf_counter()
        lines, cases = generate(path, size, models)
        file_bytes = path.stat().st_size
        print(
            f"generated {file_bytes / 2**20:,.0f} MiB: {lines:,} lines, {cases:,} cases x "
            f"{models} models ({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
        return [
            report_command(measure_command(path, root), file_bytes, lines, cases, models)
            if mode == "command"
            else report(measure_mode(path, root, mode), file_bytes, lines, cases, models, mode)
            for mode in modes
        ]


def measure_command(path: Path, root: Path) -> dict[str, Any]:
    """``harness import recordings`` in a fresh process: its own peak RSS and times."""
    harness = shutil.which("harness")
    command = [harness] if harness else [sys.executable, "-m", "harness.cli"]
    command += ["import", "recordings", str(path), "--suite", "big", "--baseline", BASELINE]
    command += ["--out", str(root / "out-command")]
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    with (root / "command.log").open("w") as log:
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        # wait4, not Popen.wait: the child's own resource usage, peak RSS included.
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"the import failed:\n{(root / 'command.log').read_text()}")
    shutil.rmtree(root / "out-command")
    return {
        "peak_rss_kib": usage.ru_maxrss,
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def report_command(
    figures: dict[str, Any], file_bytes: int, lines: int, cases: int, models: int
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "file_mib": round(file_bytes / 2**20, 1),
        "lines": lines,
        "cases": cases,
        "models": models,
        "mode": "command",
        "peak_rss_mib": round(figures["peak_rss_kib"] / 1024, 1),
        "seconds": round(figures["seconds"], 1),
        "cpu_seconds": round(figures["cpu_seconds"], 1),
        "mib_per_s": round(file_bytes / 2**20 / figures["seconds"], 1),
        "load_before": round(figures["load_before"], 1),
        "load_after": round(figures["load_after"], 1),
    }
    print(
        f"  command: peak RSS {out['peak_rss_mib']:,} MiB, {out['seconds']} s wall, "
        f"{out['cpu_seconds']} s CPU, {out['mib_per_s']} MiB/s (load average "
        f"{out['load_before']} before, {out['load_after']} after)",
        flush=True,
    )
    return out


def measure_mode(path: Path, root: Path, mode: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(path), str(root / f"out-{mode}"), mode],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    if done.returncode != 0:
        raise SystemExit(f"the import failed:\n{done.stdout}\n{done.stderr}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def report(
    figures: dict[str, Any], file_bytes: int, lines: int, cases: int, models: int, mode: str
) -> dict[str, Any]:
    peak = figures["peak_rss_kib"] * 1024
    grown = (figures["peak_rss_kib"] - figures["rss_before_kib"]) * 1024
    out: dict[str, Any] = {
        "file_mib": round(file_bytes / 2**20, 1),
        "lines": lines,
        "cases": cases,
        "models": models,
        "mode": mode,
        "stream": mode == "stream",
        "peak_rss_mib": round(peak / 2**20, 1),
        "import_growth_mib": round(grown / 2**20, 1),
        "growth_per_file_byte": round(grown / file_bytes, 2),
        "seconds": round(figures["seconds"], 1),
        "mib_per_s": round(file_bytes / 2**20 / figures["seconds"], 1),
    }
    print(
        f"  {mode:>7}: peak RSS {out['peak_rss_mib']:,} MiB "
        f"({out['import_growth_mib']:,} MiB above the "
        f"{figures['rss_before_kib'] / 1024:,.0f} MiB before it began; "
        f"{out['growth_per_file_byte']} bytes per byte of input), {out['seconds']} s, "
        f"{out['mib_per_s']} MiB/s",
        flush=True,
    )
    return out


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1G", help="file size(s), comma-separated (1G, 200M)")
    parser.add_argument("--models", type=int, default=2, help="models answering each case")
    parser.add_argument(
        "--mode",
        choices=("command", "collect", "stream", "both", "all"),
        default="command",
        help="what to measure: the command, the function (collect, stream; both), or all",
    )
    args = parser.parse_args()
    modes = {"both": ["collect", "stream"], "all": ["command", "collect", "stream"]}.get(
        args.mode, [args.mode]
    )
    results = [r for s in args.size.split(",") for r in measure(parse_size(s), args.models, modes)]
    for mode in modes:
        runs = [r for r in results if r["mode"] == mode]
        grown = "peak_rss_mib" if mode == "command" else "import_growth_mib"
        for first, last in itertools.pairwise(runs):
            slope = (last[grown] - first[grown]) / (last["file_mib"] - first["file_mib"])
            print(
                f"{mode}: memory grows {slope:.3f} MiB per MiB of input from "
                f"{first['file_mib']:g} to {last['file_mib']:g} MiB"
            )
    emit("import_memory", {"runs": results})


if __name__ == "__main__":
    main()
