"""Peak memory and time of ``harness import traces`` (and ``harness monitor``) on many spans.

    python benchmarks/bench_import_traces.py [--spans 1000000] [--batch 512]
    python benchmarks/bench_import_traces.py --spans 100000,1000000   # growth with size

Writes, in a temporary directory, an OTLP JSON file as a collector's file
exporter does (one ``ExportTraceServiceRequest`` per line, ``--batch`` spans
each), every span a chat call with GenAI semantic-convention attributes (request
and response model, input/output/cache-read tokens, a short prompt in
``gen_ai.input.messages``). Then fresh processes run ``harness import traces``
on it into a new DuckDB file, ``harness import traces`` again (every span
replaced, none added), and ``harness monitor --window day --json``; each is timed
and its peak resident set size read in that process (``resource.getrusage``,
``ru_maxrss``). Bounded memory shows as the same peak for 100 k and 1 M spans.
Not run by ``run_all.py`` (the 1 M-span file is ~0.9 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit

STRONG_SHARE = 0.3
TOPICS = (
    "refund order shipping invoice account password delivery warranty return exchange "
    "customer support ticket status payment card address subscription plan upgrade"
)
WORDS = tuple(TOPICS.split())
DAY_NS = 86_400 * 10**9
START_NS = 1_764_547_200 * 10**9  # 2025-12-01


def attribute(key: str, value: object) -> dict[str, object]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": str(value)}}


def generate(path: Path, spans: int, batch: int, seed: int = 11) -> int:
    """Write ``spans`` chat spans over 14 days; returns the file size in bytes."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for first in range(0, spans, batch):
            items = []
            for index in range(first, min(spans, first + batch)):
                model = "gpt-4o" if rng.random() < STRONG_SHARE else "gpt-4o-mini"
                start = START_NS + (index * 14 * DAY_NS) // spans
                prompt_tokens = rng.randint(20, 2000)
                cached = rng.choice((0, 0, 0, prompt_tokens // 2))
                question = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 16)))
                messages = json.dumps(
                    [{"role": "user", "parts": [{"type": "text", "content": question}]}]
                )
                items.append(
                    {
                        "traceId": f"{index:032x}",
                        "spanId": f"{index + 1:016x}",
                        "name": f"chat {model}",
                        "kind": 3,
                        "startTimeUnixNano": str(start),
                        "endTimeUnixNano": str(start + rng.randint(200, 4000) * 10**6),
                        "attributes": [
                            attribute("gen_ai.operation.name", "chat"),
                            attribute("gen_ai.provider.name", "openai"),
                            attribute("gen_ai.request.model", model),
                            attribute("gen_ai.response.model", model),
                            attribute("gen_ai.usage.input_tokens", prompt_tokens),
                            attribute("gen_ai.usage.output_tokens", rng.randint(5, 600)),
                            attribute("gen_ai.usage.cache_read.input_tokens", cached),
                            attribute("gen_ai.input.messages", messages),
                        ],
                        "status": {},
                    }
                )
            request = {
                "resourceSpans": [
                    {
                        "resource": {"attributes": [attribute("service.name", "support-bot")]},
                        "scopeSpans": [{"scope": {"name": "bench"}, "spans": items}],
                    }
                ]
            }
            handle.write(json.dumps(request, separators=(",", ":")) + "\n")
    return path.stat().st_size


CHILD = (
    "import resource, sys\n"
    "from harness.cli import main\n"
    "status = main(sys.argv[1:])\n"
    "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "sys.stderr.write(f'MAXRSS {peak}\\n')\n"
    "sys.exit(status)\n"
)
"""A fresh ``harness`` process that reports its own peak RSS (KiB on Linux) on stderr."""


def run_child(args: list[str], cwd: Path) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of a fresh ``harness`` process."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"harness {' '.join(args)} failed: {done.stderr}")
    peak_kib = int(done.stderr.rsplit("MAXRSS ", 1)[1].split()[0])
    return wall, peak_kib / 1024, done.stdout


def measure(spans: int, batch: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench_traces_") as folder:
        root = Path(folder)
        file = root / "traces.jsonl"
        started = time.perf_counter()
        size = generate(file, spans, batch)
        generated = time.perf_counter() - started
        db = root / "traffic.duckdb"
        first = run_child(["import", "traces", str(file), "--db", str(db)], root)
        again = run_child(["import", "traces", str(file), "--db", str(db)], root)
        monitor = run_child(["monitor", "--json", "--db", str(db)], root)
        windows = json.loads(monitor[2])["windows"]
        assert sum(w["queries"] for w in windows) == spans, "spans lost or counted twice"
        return {
            "spans": spans,
            "file_mb": round(size / 2**20, 1),
            "generate_s": round(generated, 1),
            "import_s": round(first[0], 1),
            "import_peak_mb": round(first[1], 1),
            "spans_per_s": round(spans / first[0]),
            "reimport_s": round(again[0], 1),
            "reimport_peak_mb": round(again[1], 1),
            "monitor_s": round(monitor[0], 2),
            "monitor_peak_mb": round(monitor[1], 1),
            "db_mb": round(db.stat().st_size / 2**20, 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", default="1000000", help="Span counts, comma-separated.")
    parser.add_argument("--batch", type=int, default=512, help="Spans per line.")
    args = parser.parse_args()
    os.environ.setdefault("COST_EVAL_DB_LOCK_WAIT", "5")
    for spans in sorted(int(s) for s in args.spans.split(",")):
        figures = measure(spans, args.batch)
        for key, value in figures.items():
            print(f"{key:>18}: {value}")
        emit("import_traces", figures)


if __name__ == "__main__":
    main()
