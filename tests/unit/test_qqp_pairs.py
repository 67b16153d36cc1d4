"""Acceptance: ``harness cache --pairs`` on real labelled pairs (Quora Question Pairs).

Reads ``../shared/data/qqp/dev_pairs.jsonl`` (5,000 pairs: 2,000 judged
duplicates, 3,000 judged different by people) where it lies. Label-0 pairs are
real near-misses; the command must use them as they are and generate none.
The counts are recomputed here with plain numpy over the embeddings (no replay
code of the harness), and the recommended threshold is checked on held-out
halves. Figures and commands: docs/caching.md.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from harness.cli import main
from harness.embedders.static import StaticEmbedder
from tests.helpers import SHARED_DATA

PAIRS = SHARED_DATA / "qqp" / "dev_pairs.jsonl"

pytestmark = pytest.mark.skipif(
    not PAIRS.is_file(),
    reason=f"QQP pairs not found at {PAIRS} (the shared data folder is beside the repo in CI)",
)


@cache
def rows() -> tuple[dict[str, Any], ...]:
    lines = PAIRS.read_text(encoding="utf-8").splitlines()
    return tuple(json.loads(line) for line in lines if line.strip())


@cache
def vectors() -> dict[str, npt.NDArray[np.float64]]:
    """Every distinct text's static embedding, unit length, computed once."""
    texts = sorted({r[key] for r in rows() for key in ("text_a", "text_b")})
    raw = StaticEmbedder().embed_sync(texts).astype(np.float64)
    unit = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    return dict(zip(texts, unit, strict=True))


class _MemoStatic:
    """The static embedder's vectors, computed once for the many runs below."""

    name = "static"
    usage_tokens = 0

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        table = vectors()
        return np.stack([table[t] for t in texts]).astype(np.float32)


def memo_static(options: dict[str, Any], where: str) -> _MemoStatic:
    """``--embedder tests.unit.test_qqp_pairs:memo_static``: same vectors, embedded once."""
    return _MemoStatic()


MEMO = "tests.unit.test_qqp_pairs:memo_static"


def similarities(pairs: Sequence[dict[str, Any]]) -> tuple[npt.NDArray[np.float64], npt.NDArray]:
    """Cosine of each pair's two texts, and the labels: plain numpy."""
    table = vectors()
    a = np.stack([table[r["text_a"]] for r in pairs])
    b = np.stack([table[r["text_b"]] for r in pairs])
    labels = np.array([r["label"] for r in pairs])
    return np.einsum("ij,ij->i", a, b), labels


def run_cache(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["cache", *args, "--json"]) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def point(result: dict[str, Any], threshold: float) -> dict[str, Any]:
    return next(p for p in result["points"] if abs(p["threshold"] - threshold) < 1e-9)


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), summed in logs."""
    if k < 0:
        return 0.0
    log = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
        + i * math.log(p) + (n - i) * math.log1p(-p)
        for i in range(k + 1)
    ]  # fmt: skip
    top = max(log)
    return math.exp(top) * sum(math.exp(x - top) for x in log)


def test_real_labelled_pairs_are_swept_with_no_generated_negatives(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = run_cache(capsys, "--pairs", str(PAIRS), "--embedder", "static")
    assert (result["queries"], result["embedder"]) == (10_000, "static")
    assert result["pairs"] == {"pairs": 5000, "same": 2000, "different": 3000}
    assert result["negatives"]["source"] == "labelled"
    assert result["negatives"]["by_kind"] == {"labelled": 3000}  # nothing generated
    assert result["families"] == "isolated"
    sims, labels = similarities(rows())
    for threshold in (0.30, 0.50, 0.70, 0.86, 0.90, 0.99):
        got = point(result, threshold)
        hit = sims >= threshold - 1e-6
        correct, false = int((hit & (labels == 1)).sum()), int((hit & (labels == 0)).sum())
        assert (got["correct_hits"], got["false_hits"]) == (correct, false), threshold
        assert (got["hits"], got["unjudged_hits"], got["stale_hits"]) == (correct + false, 0, 0)
        assert got["recall"] == pytest.approx(correct / 2000)
        assert got["hit_rate"] == pytest.approx((correct + false) / 10_000)
        assert got["wrong_hit_rate"] == pytest.approx(false / (correct + false))
        # The interval is Clopper-Pearson: each bound leaves 2.5 % in its tail.
        low, high = got["wrong_hit_ci"]
        n = correct + false
        assert low <= false / n <= high
        assert binomial_cdf(false, n, high) == pytest.approx(0.025, abs=1e-6)
        assert 1 - binomial_cdf(false - 1, n, low) == pytest.approx(0.025, abs=1e-6)
    # On real near-misses no threshold of the static embedder keeps the wrong-hit
    # share's upper bound under 1 %: no recommendation, and the text says so.
    assert result["recommended"] is None
    relaxed = run_cache(capsys, "--pairs", str(PAIRS), "--embedder", MEMO, "--target", "0.25")
    rec = relaxed["recommended"]
    assert rec is not None and rec["wrong_hit_ci_high"] <= 0.25
    eligible = [p for p in relaxed["points"] if p["hits"] and p["wrong_hit_ci_high"] <= 0.25]
    assert rec["correct_hits"] == max(p["correct_hits"] for p in eligible)


def test_the_terminal_header_names_the_negatives(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cache", "--pairs", str(PAIRS), "--embedder", MEMO]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        "10,000 queries: 5,000 pairs (2,000 same question, 3,000 different); negatives: "
        "3,000 labelled (real near-misses); embedder static; each pair its own family"
    )
    assert "no recommendation" in out


HALVINGS = 30
HALVING_TARGET = 0.35


def test_recommended_threshold_holds_on_the_held_out_half(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Chosen on one half, applied to the other: the wrong-hit share stays in the printed interval.

    The static embedder meets no low target on these pairs (its best wrong-hit
    share is about 18 %), so the target is 35 %, where every half gets a
    recommendation. The held-out share is itself a sample: for two halves of
    equal size it falls inside the first half's 95 % interval about 83 % of the
    time (P(|Z| < 1.96 / sqrt 2)); over 300 halvings it did 87 % of the time.
    So 30 fixed halvings must have at least 20 inside (a 0.3 % chance of
    failing at 85 %, a 2 % chance of passing if only half held), and the
    held-out shares must not exceed the printed upper bounds on average.
    """
    data = rows()
    inside = 0
    held_out: list[float] = []
    bounds: list[float] = []
    for seed in range(HALVINGS):
        order = list(range(len(data)))
        random.Random(seed).shuffle(order)
        first = [data[i] for i in order[: len(data) // 2]]
        second = [data[i] for i in order[len(data) // 2 :]]
        path = tmp_path / f"half-{seed}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in first))
        result = run_cache(
            capsys, "--pairs", str(path), "--target", str(HALVING_TARGET),
            "--embedder", MEMO,
        )  # fmt: skip
        rec = result["recommended"]
        assert rec is not None, f"halving {seed}: no recommendation at {HALVING_TARGET}"
        sims, labels = similarities(second)
        hit = sims >= rec["threshold"] - 1e-6
        share = float((hit & (labels == 0)).sum() / hit.sum())
        low, high = rec["wrong_hit_ci"]
        inside += low <= share <= high
        held_out.append(share)
        bounds.append(high)
    assert inside >= 20, f"only {inside} of {HALVINGS} held-out shares inside the printed interval"
    assert np.mean(held_out) <= np.mean(bounds)
