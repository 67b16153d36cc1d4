"""The ``minilm_static`` embedder: shipped weights, numpy only, semantic, deterministic.

Also its plain-Python WordPiece tokenizer, and, when the shared data is there,
how it separates real duplicate questions from real near-misses (Quora
Question Pairs) next to the ``static`` embedder.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.embedders import build_embedder, embedders
from harness.embedders.minilm_static import (
    DEFAULT_WEIGHTS,
    FORMAT,
    MiniLMStaticEmbedder,
    load_static_model,
)
from harness.embedders.static import StaticEmbedder
from harness.embedders.wordpiece import WordPiece, bert_normalize, pre_tokenize
from harness.errors import ConfigError, CostEvalError
from tests.helpers import REPO, SHARED_DATA

QQP = SHARED_DATA / "qqp" / "dev_pairs.jsonl"


def embed(texts: list[str]) -> np.ndarray:
    return MiniLMStaticEmbedder().embed_sync(texts)


def cos(a: str, b: str) -> float:
    v = embed([a, b])
    return float(v[0] @ v[1])


def tokens(text: str) -> list[str]:
    model = load_static_model()
    vocabulary = {i: t for t, i in model.tokenizer.ids.items()}
    return [vocabulary[i] for i in model.tokenizer.encode(text)]


# ------------------------------------------------------------------- the weights


def test_shipped_weights_are_small_and_describe_themselves() -> None:
    assert DEFAULT_WEIGHTS.is_file()
    assert DEFAULT_WEIGHTS.stat().st_size < 5_000_000
    model = load_static_model()
    assert model.info["format"] == FORMAT
    assert "all-MiniLM-L6-v2" in str(model.info["teacher"])
    assert model.vectors.shape == (len(model.tokenizer.ids), model.dim)
    assert model.vectors.dtype == np.float32 and model.dim == model.info["dim"]


def test_registered_and_lazy(tmp_path: Path) -> None:
    assert "minilm_static" in embedders.names()
    # Building reads nothing: a missing file fails on the first embedding, not before.
    embedder = build_embedder(
        {"name": "minilm_static", "path": str(tmp_path / "no.npz")}, where="c"
    )
    with pytest.raises(CostEvalError, match=r"no\.npz cannot be used: there is no such file"):
        asyncio.run(embedder.embed(["hello"]))
    with pytest.raises(ConfigError, match=r"unknown key 'dims'"):
        build_embedder({"name": "minilm_static", "dims": 3}, where="c")
    with pytest.raises(ConfigError, match=r"'path' must be a file path, got 3"):
        build_embedder({"name": "minilm_static", "path": 3}, where="c")


def write_weights(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


def text_array(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"vectors": np.zeros((2, 4), np.int8)}, r"it has no info, scales, vocabulary"),
        (
            {
                "vectors": np.ones((2, 4), np.int8),
                "scales": np.ones(2, np.float32),
                "vocabulary": text_array("[UNK]\nhello"),
                "info": text_array(json.dumps({"format": "model2vec"})),
            },
            r"format 'model2vec', expected 'harness-static-embedder/1'",
        ),
        (
            {
                "vectors": np.ones((3, 4), np.int8),
                "scales": np.ones(2, np.float32),
                "vocabulary": text_array("[UNK]\nhello"),
                "info": text_array(json.dumps({"format": FORMAT})),
            },
            r"2 tokens but vectors of shape \(3, 4\)",
        ),
        (
            {
                "vectors": np.ones((2, 4), np.int8),
                "scales": np.ones(2, np.float32),
                "vocabulary": text_array("hello\nworld"),
                "info": text_array(json.dumps({"format": FORMAT})),
            },
            r"the vocabulary has no \[UNK\] token",
        ),
    ],
)
def test_bad_weights_files_say_how_to_fix(
    tmp_path: Path, arrays: dict[str, np.ndarray], message: str
) -> None:
    path = write_weights(tmp_path / "w.npz", **arrays)
    with pytest.raises(CostEvalError, match=message) as caught:
        load_static_model(path)
    assert "benchmarks/distill_minilm_static.py" in str(caught.value)


def test_not_an_npz(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    path.write_text("not a zip")
    with pytest.raises(CostEvalError, match=r"not a readable \.npz file"):
        load_static_model(path)


def test_a_tiny_weights_file_embeds_by_mean_of_token_vectors(tmp_path: Path) -> None:
    vectors = np.array([[0, 0, 1], [127, 0, 0], [0, 127, 0]], np.int8)
    path = write_weights(
        tmp_path / "tiny.npz",
        vectors=vectors,
        scales=np.array([1.0, 1.0, 2.0], np.float32),
        vocabulary=text_array("[UNK]\nred\ncar"),
        info=text_array(json.dumps({"format": FORMAT, "dim": 3})),
    )
    out = MiniLMStaticEmbedder(path=path).embed_sync(["red car", "RED", "car zzz"])
    # "red car": (127, 0, 0) + (0, 254, 0), normalized; unknown "zzz" is left out.
    np.testing.assert_allclose(out[0], np.array([127, 254, 0]) / np.hypot(127, 254), rtol=1e-6)
    np.testing.assert_allclose(out[1], [1, 0, 0])
    np.testing.assert_allclose(out[2], [0, 1, 0])


# ------------------------------------------------------------------- embedding


def test_unit_norm_rows_of_the_shipped_dimension() -> None:
    texts = ["How do I reset my password?", "", "😀", "x" * 500, "Ünïcödé ÇÀFÉ 北京"]
    out = embed(texts)
    assert out.shape == (len(texts), load_static_model().dim)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)


def test_paraphrases_are_closer_than_unrelated_questions() -> None:
    pairs = [
        ("How do I lose weight fast?", "What is the quickest way to lose weight?"),
        ("How much does a new car cost?", "What is the price of a new automobile?"),
        ("How can I learn to code in Python?", "What is the best way to study Python programming?"),
        ("What causes earthquakes?", "Why do earthquakes happen?"),
    ]
    unrelated = ["What is the capital of Australia?", "How do I bake sourdough bread?"]
    for a, b in pairs:
        close = cos(a, b)
        assert close > 0.6, (a, b, close)
        for other in unrelated:
            assert close > cos(a, other) + 0.25, (a, b, other)


def test_synonyms_the_static_embedder_cannot_see() -> None:
    a, b = "How much does a new car cost?", "What is the price of a new automobile?"
    hashed = StaticEmbedder().embed_sync([a, b])
    assert cos(a, b) > float(hashed[0] @ hashed[1]) + 0.3


def test_static_share_mixes_the_two_cosines() -> None:
    texts = ["Is 2 + 2 = 4?", "Is 2 + 2 = 5?", "How do I lose weight fast?"]
    mixed = build_embedder({"name": "minilm_static", "static_share": 0.3}, where="c")
    assert mixed.name == "minilm_static+static:0.3"
    out = asyncio.run(mixed.embed(texts))
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    alone = embed(texts)
    hashed = StaticEmbedder(dim=512).embed_sync(texts)
    for i, j in ((0, 1), (0, 2)):
        want = 0.7 * float(alone[i] @ alone[j]) + 0.3 * float(hashed[i] @ hashed[j])
        assert float(out[i] @ out[j]) == pytest.approx(want, abs=1e-5)
    # The static part sees the changed number: the near-miss drops further than alone.
    assert float(out[0] @ out[1]) < float(alone[0] @ alone[1]) - 0.1
    for bad in (1, -0.1, "0.3", True):
        with pytest.raises(ConfigError, match=r"'static_share' must be a number from 0"):
            build_embedder({"name": "minilm_static", "static_share": bad}, where="c")


def test_text_without_known_tokens_matches_only_itself() -> None:
    out = embed(["😀", "😀", "🎉", ""])
    assert float(out[0] @ out[1]) == pytest.approx(1.0)
    assert abs(float(out[0] @ out[2])) < 0.5
    assert abs(float(out[0] @ out[3])) < 0.5


def test_deterministic_across_processes() -> None:
    """Two fresh processes give the same bytes, and import neither torch nor tokenizers."""
    code = (
        "import sys, hashlib\n"
        "from harness.embedders import build_embedder\n"
        "e = build_embedder('minilm_static', where='t')\n"
        "v = e.embed_sync(['How do I lose weight fast?', 'Why do earthquakes happen?', '😀'])\n"
        "heavy = [m for m in ('torch', 'tokenizers', 'transformers', 'sentence_transformers')"
        " if m in sys.modules]\n"
        "print(hashlib.sha256(v.tobytes()).hexdigest(), heavy)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONHASHSEED": "random"}
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
        )
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip().endswith("[]")
    assert runs[0].stdout == runs[1].stdout
    here = embed(["How do I lose weight fast?", "Why do earthquakes happen?", "😀"])
    assert runs[0].stdout.split()[0] == hashlib.sha256(here.tobytes()).hexdigest()


# ------------------------------------------------------------------- WordPiece


def test_wordpiece_on_the_shipped_vocabulary() -> None:
    """Token strings as Hugging Face ``tokenizers`` gives them for all-MiniLM-L6-v2."""
    assert tokens("How do I reset my password?") == [
        "how", "do", "i", "reset", "my", "password", "?",
    ]  # fmt: skip
    assert tokens("unaffable") == ["una", "##ffa", "##ble"]
    assert tokens("Café déjà-vu!") == ["cafe", "de", "##ja", "-", "vu", "!"]
    assert tokens("GPT-4o costs $2.50/1M tokens") == [
        "gp", "##t", "-", "4", "##o", "costs", "$", "2", ".", "50", "/", "1", "##m",
        "token", "##s",
    ]  # fmt: skip


def test_wordpiece_steps_on_a_small_vocabulary() -> None:
    wp = WordPiece(["[UNK]", "un", "##aff", "##able", "play", "##ing", ",", "北"])
    vocab = ["[UNK]", "un", "##aff", "##able", "play", "##ing", ",", "北"]

    def pieces(text: str) -> list[str]:
        return [vocab[i] for i in wp.encode(text)]

    assert pieces("unaffable") == ["un", "##aff", "##able"]  # longest prefix, then ##
    assert pieces("Playing,PLAY") == ["play", "##ing", ",", "play"]
    assert pieces("playx") == ["[UNK]"]  # one uncovered piece makes the whole word unknown
    assert pieces("北京") == ["北", "[UNK]"]  # each CJK ideograph is a word
    assert pieces("p" + "la" * 60) == ["[UNK]"]  # over 100 characters
    assert bert_normalize("Ünïcödé\tTAB\x00\u200b") == "unicode tab"
    assert pre_tokenize("it's 3.5 (ok)") == ["it", "'", "s", "3", ".", "5", "(", "ok", ")"]
    with pytest.raises(ValueError, match=r"no \[UNK\] token"):
        WordPiece(["a", "b"])
    with pytest.raises(ValueError, match=r"a token twice"):
        WordPiece(["[UNK]", "a", "a"])


# ------------------------------------------------------------- real near-misses


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """P(a duplicate scores above a non-duplicate), by counting every pair (ties half)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + ties / 2) / (len(pos) * len(neg)))


@pytest.mark.skipif(
    not QQP.is_file(),
    reason=f"Quora Question Pairs not found at {QQP} (the shared data folder beside the repo)",
)
def test_separates_real_duplicates_from_real_near_misses_better_than_static() -> None:
    rows = [json.loads(line) for line in QQP.read_text(encoding="utf-8").splitlines()]
    labels = np.array([r["label"] for r in rows])
    a = [r["text_a"] for r in rows]
    b = [r["text_b"] for r in rows]
    aucs = {}
    for name, embedder in (("static", StaticEmbedder()), ("minilm_static", MiniLMStaticEmbedder())):
        va, vb = embedder.embed_sync(a), embedder.embed_sync(b)
        aucs[name] = roc_auc((va * vb).sum(axis=1), labels)
    # Measured (benchmarks/bench_embedders.py): static 0.755, minilm_static 0.768.
    assert aucs["minilm_static"] > 0.76
    assert aucs["minilm_static"] > aucs["static"]
