"""Wall time of a semantic cache's threshold sweep: replayed traffic, and labelled pairs.

    python benchmarks/bench_cache_sweep.py [--queries 20000 100000] [--pairs 20000] [--seed 0]

**Labelled pairs** (``--pairs N``, default 20,000; 0 skips): the whole command
``harness cache --pairs FILE --json`` with the default embedder, timed in a
fresh process (imports, reading, embedding every text, the sweep, the JSON).
The pairs are synthesized from the 5,000 real Quora pairs
(``../shared/data/qqp/dev_pairs.jsonl``): the 5,000 as they are, then pairs
of two real pairs asked together (``text_a`` = both first questions, ``text_b``
= both second ones, label 1 only when both pairs are duplicates), each
combination once, until N. Written to a temporary file, never to the repository.

**Traffic**:

Builds the cache suite from GPTCache's pairs (``../shared/data/gptcache``,
beside the repository: 3,603 questions with generated negatives), embeds each
question once with the offline ``static`` embedder, then replays N arrivals
drawn at random from those questions (so most are repeats) and times
``harness.analysis.cache_sweep.sweep_cache_thresholds`` over the default 70
thresholds. For the first N it also times ``simulate`` at the recommended
threshold and checks both agree.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit  # noqa: E402

from harness.analysis.cache_replay import simulate  # noqa: E402
from harness.analysis.cache_sweep import sweep_cache_thresholds  # noqa: E402
from harness.analysis.cache_traffic import TrafficRow, stream_from_cases  # noqa: E402
from harness.embedders.static import StaticEmbedder  # noqa: E402
from harness.importers.paraphrase_pairs import build_cache_suite, load_pairs  # noqa: E402

PAIRS = REPO.parent / "shared" / "data" / "gptcache" / "mock_data.json"
QQP = REPO.parent / "shared" / "data" / "qqp" / "dev_pairs.jsonl"


def synthesize_pairs(n: int, seed: int) -> list[dict[str, object]]:
    """``n`` labelled pairs: QQP's 5,000, then two of them asked together (see above)."""
    rows = [json.loads(line) for line in QQP.read_text(encoding="utf-8").splitlines() if line]
    out: list[dict[str, object]] = [
        {"text_a": r["text_a"], "text_b": r["text_b"], "label": r["label"]} for r in rows
    ]
    rng = random.Random(seed)
    seen: set[tuple[int, int]] = set()
    while len(out) < n:
        i, j = rng.sample(range(len(rows)), 2)
        if (i, j) in seen:
            continue
        seen.add((i, j))
        a, b = rows[i], rows[j]
        out.append(
            {
                "text_a": f"{a['text_a']} {b['text_a']}",
                "text_b": f"{a['text_b']} {b['text_b']}",
                "label": int(a["label"] == 1 and b["label"] == 1),
            }
        )
    return out[:n]


def time_pairs_command(n: int, seed: int) -> dict[str, float | int | bool | str]:
    """``harness cache --pairs`` on ``n`` synthesized pairs, whole command, fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"pairs-{n}.jsonl"
        pairs = synthesize_pairs(n, seed)
        path.write_text("".join(json.dumps(p) + "\n" for p in pairs), encoding="utf-8")
        cmd = [sys.executable, "-m", "harness.cli", "cache", "--pairs", str(path), "--json"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        raise SystemExit(f"harness cache --pairs failed with exit code {done.returncode}")
    result = json.loads(done.stdout)
    rec = result["recommended"]
    print(
        f"harness cache --pairs, {n:,} labelled pairs ({result['queries']:,} questions, "
        f"{result['pairs']['different']:,} real negatives, none generated: "
        f"{result['negatives']['source']}), embedder {result['embedder']}, fresh process: "
        f"{elapsed:.2f} s wall, {cpu:.2f} s CPU; recommended at {result['target']:.0%}: "
        + (f"{rec['threshold']:.2f}" if rec else "none")
    )
    return {
        f"cli_pairs_{n}_s": elapsed,
        f"cli_pairs_{n}_cpu_s": cpu,
        "cli_pairs_embedder": result["embedder"],
        "cli_pairs_queries": result["queries"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--queries", type=int, nargs="*", default=[20_000, 100_000], help="arrivals (none: skip)"
    )
    parser.add_argument("--pairs", type=int, default=20_000, help="labelled pairs (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    figures: dict[str, float | int | bool | str] = {}
    if args.pairs:
        if not QQP.is_file():
            print(f"QQP pairs not found at {QQP}", file=sys.stderr)
            return 2
        figures.update(time_pairs_command(args.pairs, args.seed))
    if not args.queries:
        emit("cache_sweep", figures)
        return 0
    if not PAIRS.is_file():
        print(f"GPTCache pairs not found at {PAIRS}", file=sys.stderr)
        return 2
    suite = build_cache_suite(load_pairs(PAIRS), seed=0)
    start = time.perf_counter()
    vectors = StaticEmbedder().embed_sync([c.prompt for c in suite.cases])
    embed_s = time.perf_counter() - start
    print(f"embedded {len(suite.cases):,} questions in {embed_s:.2f} s")
    figures.update({"questions": len(suite.cases), "embed_s": embed_s})
    rng = random.Random(args.seed)
    for index, n in enumerate(args.queries):
        traffic = [
            TrafficRow(case_id=rng.choice(suite.cases).id, timestamp=float(i)) for i in range(n)
        ]
        stream = stream_from_cases(suite.cases, traffic=traffic)
        start = time.perf_counter()
        result = sweep_cache_thresholds(stream, vectors, judge=suite.judge)
        elapsed = time.perf_counter() - start
        figures[f"sweep_{n}_s"] = elapsed
        print(f"sweep of {len(result.points)} thresholds x {n:,} arrivals: {elapsed:.2f} s")
        rec = result.recommended
        if index == 0 and rec is not None:
            start = time.perf_counter()
            one = simulate(stream, vectors, threshold=rec.threshold, judge=suite.judge)
            figures["simulate_one_s"] = time.perf_counter() - start
            same = (one.hits, one.correct_hits, one.false_hits) == (
                rec.hits,
                rec.correct_hits,
                rec.false_hits,
            )
            figures["agree"] = same
            print(
                f"  simulate at the recommended {rec.threshold:.2f}: "
                f"{figures['simulate_one_s']:.2f} s; same hits as the sweep: {same}"
            )
    emit("cache_sweep", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
