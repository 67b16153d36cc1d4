"""A router trained on a suite: TF-IDF features and scikit-learn's logistic regression.

The router predicts, from the question's text alone, the probability that the
weak model's answer scores below the strong model's: the predicted need for the
strong model, which a threshold router compares with its threshold.

- Features: TF-IDF of lower-cased word unigrams and bigrams (numbers become
  ``<num>``), sublinear term frequency (``1 + log tf``), smoothed IDF
  (``log((1 + N) / (1 + df)) + 1``), rows scaled to unit length; the
  vocabulary keeps terms seen in at least ``min_df`` training questions, capped
  at ``max_features`` by document frequency. Stored sparse (CSR arrays), so
  20,000 questions and 20,000 terms take megabytes, not gigabytes.
- Model: L2-regularized logistic regression (``C``: the loss is the sum of
  log-losses plus ``||w||² / (2C)``; the intercept is not penalized), fitted by
  scikit-learn's ``LogisticRegression`` (L-BFGS), deterministic: the seed only
  decides the cross-validation folds.

Why the TF-IDF is ours and not scikit-learn's ``TfidfVectorizer``: the
vectorizer counts the corpus again for every fold, and this module counts it
once (:class:`_Corpus`) and then selects each fold's vocabulary and IDF with
array work. Measured on RouteLLM's MMLU questions (14,037, 5 folds, a busy
two-core machine): scikit-learn end to end (its vectorizer and
``LogisticRegression``) took 80-95 s, 5-6 s per fold in the vectorizer alone;
this module 9.7-11.4 s (11.6-15.0 s with the hand-written Newton-CG fit it had
before). The figures are the same: out-of-fold APGR on GSM8K 0.592, 0.603,
0.611 for seeds 0-2 (scikit-learn end to end: 0.593, 0.604, 0.610) and on MMLU
0.659, 0.652, 0.655 (0.658, 0.654, 0.656); see ``benchmarks/README.md``.

:func:`kfold_scores` gives every case a score from a model that never saw it
(out-of-fold), which is what a sweep over the same suite must use: in-sample
scores would flatter the router.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from harness.errors import CostEvalError, MissingDependency
from harness.strategies.router import last_user_text
from harness.types import Request

__all__ = [
    "TfidfLogisticRouter",
    "TfidfVectorizer",
    "kfold_scores",
    "labels_from_scores",
    "tokenize",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_WORD = re.compile(r"\w+", re.UNICODE)
_NUMBER = re.compile(r"\d[\d_]*")
NUM = "<num>"


def tokenize(text: str) -> list[str]:
    """Unigrams and bigrams of the lower-cased words; numbers become ``<num>``."""
    words = [NUM if _NUMBER.fullmatch(w) else w for w in _WORD.findall(text.lower())]
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


def labels_from_scores(strong: Any, weak: Any) -> npt.NDArray[np.bool_]:
    """The training label of each case: True when the weak answer scored below the strong."""
    s = np.asarray(strong, dtype=np.float64)
    w = np.asarray(weak, dtype=np.float64)
    result: npt.NDArray[np.bool_] = w < s
    return result


@dataclass(frozen=True, slots=True, eq=False)
class _Csr:
    """A sparse matrix as CSR arrays, with the product that scores questions."""

    rows: int
    cols: int
    indptr: IntArray
    indices: IntArray
    data: FloatArray
    row_of: IntArray
    """Row of each stored entry."""

    @property
    def full_rows(self) -> bool:
        """Every row has an entry (``np.add.reduceat`` is then exact and twice as fast)."""
        return self.rows > 0 and bool(np.all(np.diff(self.indptr) > 0))

    def dot(self, v: FloatArray) -> FloatArray:
        products = self.data * v[self.indices]
        if self.full_rows:
            result: FloatArray = np.add.reduceat(products, self.indptr[:-1])
            return result
        return np.bincount(self.row_of, weights=products, minlength=self.rows).astype(np.float64)


@dataclass(frozen=True, slots=True, eq=False)
class _Counts:
    """Raw term counts of tokenized documents: one entry per (document, term) present."""

    rows: int
    row: IntArray
    term: IntArray
    count: FloatArray


def _count(docs: Sequence[Sequence[str]], ids: dict[str, int], *, grow: bool) -> _Counts:
    """Count terms per document; ``grow`` adds unseen terms to ``ids``, else skips them."""
    flat_rows: list[int] = []
    flat_terms: list[int] = []
    for r, tokens in enumerate(docs):
        if grow:
            terms = [ids.setdefault(t, len(ids)) for t in tokens]
        else:
            terms = [ids[t] for t in tokens if t in ids]
        flat_terms.extend(terms)
        flat_rows.extend([r] * len(terms))
    width = max(1, len(ids))
    keys = np.array(flat_rows, dtype=np.int64) * width + np.array(flat_terms, dtype=np.int64)
    unique, counts = np.unique(keys, return_counts=True)
    return _Counts(len(docs), unique // width, unique % width, counts.astype(np.float64))


class TfidfVectorizer:
    """TF-IDF of word unigrams and bigrams with a capped vocabulary (see the module docs)."""

    def __init__(self, *, min_df: int = 2, max_features: int = 20_000) -> None:
        if min_df < 1 or max_features < 1:
            raise CostEvalError("min_df and max_features must be at least 1.")
        self.min_df = min_df
        self.max_features = max_features
        self.vocabulary: dict[str, int] = {}
        """Term -> column."""
        self.idf: FloatArray = np.zeros(0)

    def fit(self, docs: Sequence[Sequence[str]]) -> TfidfVectorizer:
        """Learn the vocabulary and IDF from tokenized documents."""
        corpus = _Corpus(docs)
        self._select(corpus, np.arange(len(docs), dtype=np.int64))
        return self

    def _select(self, corpus: _Corpus, train: IntArray) -> IntArray:
        """Fit on the documents ``train`` of ``corpus``; the corpus term -> column map."""
        counts = corpus.counts
        in_train = np.zeros(counts.rows, dtype=bool)
        in_train[train] = True
        df = np.bincount(counts.term[in_train[counts.row]], minlength=len(corpus.terms))
        kept = np.flatnonzero(df >= self.min_df)
        # Most frequent first, ties by the term's text; then columns in text order.
        kept = kept[np.lexsort((corpus.rank[kept], -df[kept]))][: self.max_features]
        kept = kept[np.argsort(corpus.rank[kept], kind="stable")]
        column = np.full(len(corpus.terms), -1, dtype=np.int64)
        column[kept] = np.arange(kept.size)
        self.vocabulary = {corpus.terms[i]: j for j, i in enumerate(kept.tolist())}
        self.idf = np.log((1.0 + train.size) / (1.0 + df[kept].astype(np.float64))) + 1.0
        return column

    def transform(self, docs: Sequence[Sequence[str]]) -> _Csr:
        """Unit-length TF-IDF rows of tokenized documents (unknown terms ignored)."""
        counts = _count(docs, dict(self.vocabulary), grow=False)
        column = np.arange(len(self.vocabulary), dtype=np.int64)
        return self._matrix(counts, column, np.arange(len(docs), dtype=np.int64))

    def _matrix(self, counts: _Counts, column: IntArray, rows: IntArray) -> _Csr:
        """TF-IDF rows of the documents ``rows`` of ``counts``, in that order."""
        new_row = np.full(counts.rows, -1, dtype=np.int64)
        new_row[rows] = np.arange(rows.size)
        cols = column[counts.term] if column.size else np.full(counts.term.size, -1)
        keep = (new_row[counts.row] >= 0) & (cols >= 0)
        r = new_row[counts.row[keep]]
        c = cols[keep]
        values = (1.0 + np.log(counts.count[keep])) * self.idf[c]
        if r.size > 1 and not bool(np.all(np.diff(r) >= 0)):  # rows not given in order
            order = np.argsort(r, kind="stable")
            r, c, values = r[order], c[order], values[order]
        norms = np.sqrt(np.bincount(r, weights=values * values, minlength=rows.size))
        norms[norms == 0] = 1.0
        values = values / norms[r]
        indptr = np.concatenate(([0], np.cumsum(np.bincount(r, minlength=rows.size))))
        return _Csr(rows.size, len(self.vocabulary), indptr.astype(np.int64), c, values, r)


class _Corpus:
    """Tokenized documents counted once, so each cross-validation fold is array work."""

    def __init__(self, docs: Sequence[Sequence[str]]) -> None:
        ids: dict[str, int] = {}
        self.counts = _count(docs, ids, grow=True)
        self.terms = list(ids)
        rank = np.empty(len(self.terms), dtype=np.int64)
        rank[sorted(range(len(self.terms)), key=self.terms.__getitem__)] = np.arange(
            len(self.terms)
        )
        self.rank = rank


def _sigmoid(z: FloatArray) -> FloatArray:
    result: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))
    return result


def fit_logistic(x: _Csr, y: FloatArray, *, c: float = 1.0) -> tuple[FloatArray, float]:
    """L2-regularized logistic regression (scikit-learn, L-BFGS): ``(weights, intercept)``.

    scikit-learn is imported here (about a second), and is an extra
    (``pip install 'cost-eval-harness[router]'``): only a trained router pays
    for it. BLAS runs on one thread: on a busy two-core machine its threads
    made one MMLU fit take 12.3 s instead of 0.7 s.
    """
    import scipy.sparse

    try:
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise MissingDependency("The trained router", ["scikit-learn"]) from None

    matrix = scipy.sparse.csr_matrix((x.data, x.indices, x.indptr), shape=(x.rows, x.cols))
    with threadpool_limits(limits=1):
        model = LogisticRegression(C=c, max_iter=1000, tol=1e-6).fit(matrix, y)
    return np.asarray(model.coef_[0], dtype=np.float64), float(model.intercept_[0])


class TfidfLogisticRouter:
    """P(weak answer scores below the strong one) from the question's text.

    Args:
        c: Inverse regularization strength (larger: weaker penalty).
        min_df: Keep terms seen in at least this many training questions.
        max_features: Largest vocabulary.
    """

    def __init__(self, *, c: float = 1.0, min_df: int = 2, max_features: int = 20_000) -> None:
        if not c > 0:
            raise CostEvalError(f"c must be > 0, got {c!r}.")
        self.c = c
        self.vectorizer = TfidfVectorizer(min_df=min_df, max_features=max_features)
        self.coef: FloatArray = np.zeros(0)
        self.intercept = 0.0

    def fit(self, texts: Sequence[str], labels: Any) -> TfidfLogisticRouter:
        """Train on questions and labels (True: the weak model scored below the strong)."""
        return self.fit_tokens([tokenize(t) for t in texts], labels)

    def fit_tokens(self, docs: Sequence[Sequence[str]], labels: Any) -> TfidfLogisticRouter:
        """:meth:`fit` on already tokenized questions."""
        y = np.asarray(labels, dtype=np.float64)
        if y.shape != (len(docs),):
            raise CostEvalError(f"{len(docs)} questions but {y.size} labels; give one per case.")
        _check_classes(y, where="training set")
        corpus = _Corpus(docs)
        self._fit_corpus(corpus, np.arange(len(docs), dtype=np.int64), y)
        return self

    def _fit_corpus(self, corpus: _Corpus, train: IntArray, y: FloatArray) -> IntArray:
        column = self.vectorizer._select(corpus, train)
        x = self.vectorizer._matrix(corpus.counts, column, train)
        self.coef, self.intercept = fit_logistic(x, y, c=self.c)
        return column

    def predict(self, texts: Sequence[str]) -> FloatArray:
        """Router scores in [0, 1] for questions."""
        return self.predict_tokens([tokenize(t) for t in texts])

    def predict_tokens(self, docs: Sequence[Sequence[str]]) -> FloatArray:
        """:meth:`predict` on already tokenized questions."""
        x = self.vectorizer.transform(docs)
        return _sigmoid(x.dot(self.coef) + self.intercept)

    def score_function(self) -> Callable[[Request], float]:
        """A router score for :class:`~harness.strategies.router.ThresholdRouter`."""

        def score(request: Request) -> float:
            return float(self.predict([last_user_text(request)])[0])

        return score

    def to_json(self) -> dict[str, Any]:
        """Everything needed to score new questions (vocabulary, IDF, weights)."""
        terms = sorted(self.vectorizer.vocabulary, key=self.vectorizer.vocabulary.__getitem__)
        return {
            "kind": "tfidf-logistic",
            "version": 1,
            "c": self.c,
            "min_df": self.vectorizer.min_df,
            "max_features": self.vectorizer.max_features,
            "terms": terms,
            "idf": [float(v) for v in self.vectorizer.idf],
            "coef": [float(v) for v in self.coef],
            "intercept": self.intercept,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TfidfLogisticRouter:
        """The router :meth:`to_json` described."""
        if data.get("kind") != "tfidf-logistic":
            raise CostEvalError(f"not a tfidf-logistic router: kind {data.get('kind')!r}.")
        router = cls(c=data["c"], min_df=data["min_df"], max_features=data["max_features"])
        router.vectorizer.vocabulary = {t: i for i, t in enumerate(data["terms"])}
        router.vectorizer.idf = np.array(data["idf"], dtype=np.float64)
        router.coef = np.array(data["coef"], dtype=np.float64)
        router.intercept = float(data["intercept"])
        return router

    def save(self, path: Path) -> None:
        """Write :meth:`to_json` to ``path``."""
        path.write_text(json.dumps(self.to_json()), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> TfidfLogisticRouter:
        """Read a router :meth:`save` wrote."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CostEvalError(f"{path}: cannot read the trained router: {exc}.") from None
        return cls.from_json(data)


def _check_classes(y: FloatArray, *, where: str) -> None:
    positive = int(np.sum(y > 0.5))
    if positive == 0 or positive == y.size:
        raise CostEvalError(
            f"the {where} has only one outcome ({positive} of {y.size} cases where the weak "
            "model scored below the strong one): a router needs cases with both outcomes."
        )


def kfold_scores(
    texts: Sequence[str],
    labels: Any,
    k: int = 5,
    seed: int = 0,
    *,
    c: float = 1.0,
    min_df: int = 2,
    max_features: int = 20_000,
) -> FloatArray:
    """Out-of-fold router scores: each case scored by a model trained without it.

    Folds are stratified (each fold gets its share of both outcomes) and drawn
    with ``seed``; the same inputs and seed give the same scores.

    Args:
        texts: The questions.
        labels: Per case, True when the weak model scored below the strong one
            (see :func:`labels_from_scores`).
        k: Number of folds, at least 2.
        seed: Seed of the fold assignment.

    Raises:
        CostEvalError: fewer than ``2 * k`` cases, or an outcome with fewer than
            2 cases (some training fold would lack it).
    """
    y = np.asarray(labels, dtype=np.float64)
    n = len(texts)
    if y.shape != (n,):
        raise CostEvalError(f"{n} questions but {y.size} labels; give one label per case.")
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise CostEvalError(f"k must be a whole number >= 2, got {k!r}.")
    positive = int(np.sum(y > 0.5))
    negative = n - positive
    if n < 2 * k or min(positive, negative) < 2:
        raise CostEvalError(
            f"a trained router with {k}-fold cross-validation needs at least {2 * k} cases "
            f"with both outcomes; has {n} ({positive} where the weak model scored below the "
            f"strong one, {negative} where it did not; each outcome needs at least 2). Add "
            "cases or use fewer folds."
        )
    rng = np.random.default_rng(seed)
    fold = np.empty(n, dtype=np.int64)
    for label in (0.0, 1.0):
        members = np.flatnonzero((y > 0.5) == bool(label))
        members = members[rng.permutation(members.size)]
        # Continue the round-robin across classes so fold sizes stay balanced.
        offset = 0 if label == 0.0 else negative % k
        fold[members] = (np.arange(members.size) + offset) % k
    corpus = _Corpus([tokenize(t) for t in texts])
    scores = np.empty(n, dtype=np.float64)
    for f in range(k):
        test = np.flatnonzero(fold == f)
        train = np.flatnonzero(fold != f)
        model = TfidfLogisticRouter(c=c, min_df=min_df, max_features=max_features)
        column = model._fit_corpus(corpus, train, y[train])
        x = model.vectorizer._matrix(corpus.counts, column, test)
        scores[test] = _sigmoid(x.dot(model.coef) + model.intercept)
    return scores
