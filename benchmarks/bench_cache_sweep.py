"""Wall time of a semantic cache's threshold sweep over replayed traffic with repeats.

    python benchmarks/bench_cache_sweep.py [--queries 20000 100000] [--seed 0]

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
import random
import sys
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not PAIRS.is_file():
        print(f"GPTCache pairs not found at {PAIRS}", file=sys.stderr)
        return 2
    suite = build_cache_suite(load_pairs(PAIRS), seed=0)
    start = time.perf_counter()
    vectors = StaticEmbedder().embed_sync([c.prompt for c in suite.cases])
    embed_s = time.perf_counter() - start
    print(f"embedded {len(suite.cases):,} questions in {embed_s:.2f} s")
    figures: dict[str, float | int | bool] = {"questions": len(suite.cases), "embed_s": embed_s}
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
