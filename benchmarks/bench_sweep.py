"""Wall time of a router threshold sweep over RouteLLM's 14,037 MMLU cases.

    python benchmarks/bench_sweep.py [--router trained|random] [--thresholds 1000]

Imports the MMLU recordings (``../shared/data/routellm``, beside the repository)
into a temporary folder, scores the router (out-of-fold TF-IDF + logistic
regression, or random), then times
``harness.analysis.router_sweep.sweep_router_thresholds`` with that many
thresholds (at the quantiles of the router scores) and the default 20-quantile
sweep. Prints one line per step, e.g.::

    sweep 1000 thresholds x 14037 cases: 0.8 s
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.analysis.router_input import sweep_input_from_labels  # noqa: E402
from harness.analysis.router_sweep import sweep_router_thresholds  # noqa: E402
from harness.config.suites import load_suite  # noqa: E402
from harness.importers.routellm import ROUTELLM_STRONG, ROUTELLM_WEAK, import_routellm  # noqa: E402
from harness.scoring.recorded import RecordedQuality  # noqa: E402
from harness.stats.gates import GateSpec  # noqa: E402
from harness.strategies.trained_router import kfold_scores, labels_from_scores  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "routellm"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--router", choices=("trained", "random"), default="trained")
    parser.add_argument("--thresholds", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="sweep runs; the best is shown")
    args = parser.parse_args()
    csv_path = DATA / "mmlu_responses_all_domains.csv"
    if not csv_path.is_file():
        print(f"skipped: RouteLLM data not found at {DATA}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = import_routellm(
            csv_path,
            suite="routellm-mmlu",
            out_dir=Path(tmp),
            benchmark="mmlu",
            contaminated=DATA / "mmlu_contaminated_prompts.jsonl",
        )
        print(f"import {result.cases} cases: {time.perf_counter() - start:.2f} s")
        start = time.perf_counter()
        store = RecordedQuality.load(result.recorded_path)
        inp = sweep_input_from_labels(store, strong=ROUTELLM_STRONG, weak=ROUTELLM_WEAK)
        print(f"load recorded labels: {time.perf_counter() - start:.2f} s")
        start = time.perf_counter()
        if args.router == "trained":
            prompts = {case.id: case.prompt for case in load_suite(result.suite_path).cases}
            labels = labels_from_scores(inp.strong_score, inp.weak_score)
            scores = kfold_scores([prompts[c] for c in inp.case_ids], labels, k=5, seed=0)
        else:
            scores = np.random.default_rng(0).random(inp.n)
        print(f"router scores ({args.router}, out-of-fold): {time.perf_counter() - start:.2f} s")
    inp = inp.with_router_score(scores)
    thresholds = np.quantile(scores, np.linspace(0.0, 1.0, args.thresholds))
    gate = GateSpec()
    for label, kwargs in (
        (f"{args.thresholds} thresholds", {"thresholds": thresholds}),
        ("20 quantiles", {}),
    ):
        times = []
        for _ in range(max(1, args.repeat)):
            start = time.perf_counter()
            out = sweep_router_thresholds(inp, gate=gate, seed=0, **kwargs)  # type: ignore[arg-type]
            times.append(time.perf_counter() - start)
        with_ci = sum(p.ci_low is not None for p in out.points)
        judged = sum(p.verdict is not None for p in out.points)
        print(f"sweep {label} x {inp.n} cases: {min(times):.2f} s")
        print(
            f"  {len(out.points)} distinct points, {with_ci} with CIs, {judged} with verdicts, "
            f"{len(out.pareto)} on the Pareto frontier; APGR {out.apgr:.3f} "
            f"(oracle {out.oracle_apgr:.3f}); {out.recommendation_reason}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
