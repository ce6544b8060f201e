"""Fast n-gram featurisation and linear-model scoring without scikit-learn at run time.

Training builds the vocabulary and fits the weights with scikit-learn; parsing needs only this
module and numpy: a message becomes a handful of (feature index, value) pairs and a score vector
is one small sparse-dense product. This keeps a parse well under a millisecond and the loaded
model small (scikit-learn is never imported when the cache is warm).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Featurizer", "LinearModel", "softmax"]


@dataclass(frozen=True, slots=True)
class Featurizer:
    """Character n-grams inside word boundaries (like scikit-learn's ``char_wb``) + word n-grams.

    ``text`` must already be normalised (see :mod:`nlu.normalize`): tokens separated by single
    spaces. Feature keys are prefixed so that the two families never collide.
    """

    char_min: int = 1
    char_max: int = 5
    word_max: int = 2
    word_weight: float = 1.0

    def counts(self, text: str) -> Counter[str]:
        feats: Counter[str] = Counter()
        words = text.split()
        cmin, cmax = self.char_min, self.char_max
        for w in words:
            padded = f" {w} "
            n_chars = len(padded)
            for n in range(cmin, cmax + 1):
                if n > n_chars:
                    break
                for i in range(n_chars - n + 1):
                    feats["c" + padded[i : i + n]] += 1
        if self.word_max >= 1:
            for w in words:
                feats["w" + w] += 1
            for n in range(2, self.word_max + 1):
                for i in range(len(words) - n + 1):
                    feats["w" + " ".join(words[i : i + n])] += 1
        return feats


def softmax(scores: np.ndarray) -> np.ndarray:
    z = scores - scores.max()
    e = np.exp(z)
    return e / e.sum()


class LinearModel:
    """``scores = W[idx].T @ values + b`` over a sparse feature vector.

    ``weighting``: ``"tfidf"`` (sublinear tf x idf, L2-normalised, as fitted by training) or
    ``"log1p"`` (naive-Bayes style log-count features, no normalisation).
    """

    __slots__ = ("bias", "classes", "featurizer", "idf", "index", "weighting", "weights")

    def __init__(
        self,
        featurizer: Featurizer,
        vocabulary: Sequence[str],
        weights: np.ndarray,
        bias: np.ndarray,
        classes: Sequence[str],
        idf: np.ndarray | None = None,
        weighting: str = "tfidf",
    ) -> None:
        self.featurizer = featurizer
        self.index: dict[str, int] = {f: i for i, f in enumerate(vocabulary)}
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)  # (n_features, n_classes)
        self.bias = np.asarray(bias, dtype=np.float32)
        self.classes: tuple[str, ...] = tuple(classes)
        self.idf = None if idf is None else np.asarray(idf, dtype=np.float32)
        self.weighting = weighting

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray, int]:
        """(feature indices, values, number of features of the text) for ``text``."""
        counts = self.featurizer.counts(text)
        index = self.index
        idx: list[int] = []
        vals: list[float] = []
        ww = self.featurizer.word_weight
        for feat, c in counts.items():
            j = index.get(feat)
            if j is not None:
                idx.append(j)
                vals.append((1.0 + math.log(c)) * (ww if feat[0] == "w" else 1.0))
        ind = np.fromiter(idx, dtype=np.intp, count=len(idx))
        val = np.fromiter(vals, dtype=np.float32, count=len(vals))
        if self.weighting == "tfidf" and len(ind):
            assert self.idf is not None
            val *= self.idf[ind]
            norm = float(np.sqrt(val @ val))
            if norm > 0:
                val /= norm
        return ind, val, len(counts)

    def scores(self, text: str) -> tuple[np.ndarray, float]:
        """Raw class scores and the share of the text's features known to the model."""
        ind, val, total = self.vector(text)
        if not len(ind):
            return self.bias.copy(), 0.0
        return val @ self.weights[ind] + self.bias, len(ind) / max(total, 1)

    # ----- (de)serialisation into plain arrays (no pickle) ---------------------------------
    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        vocab = "\x00".join(sorted(self.index, key=self.index.__getitem__))
        f = self.featurizer
        arrays = {
            f"{prefix}.vocab": np.frombuffer(vocab.encode("utf-8"), dtype=np.uint8),
            f"{prefix}.weights": self.weights,
            f"{prefix}.bias": self.bias,
            f"{prefix}.classes": np.array(self.classes, dtype=str),
            f"{prefix}.featurizer": np.array(
                [f.char_min, f.char_max, f.word_max, f.word_weight], dtype=np.float64
            ),
            f"{prefix}.weighting": np.array([self.weighting], dtype=str),
        }
        if self.idf is not None:
            arrays[f"{prefix}.idf"] = self.idf
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> LinearModel:
        raw = arrays[f"{prefix}.vocab"].tobytes().decode("utf-8")
        vocab = raw.split("\x00") if raw else []
        cmin, cmax, wmax, wweight = (float(x) for x in arrays[f"{prefix}.featurizer"])
        featurizer = Featurizer(int(cmin), int(cmax), int(wmax), wweight)
        idf = arrays.get(f"{prefix}.idf")
        return cls(
            featurizer,
            vocab,
            arrays[f"{prefix}.weights"],
            arrays[f"{prefix}.bias"],
            [str(c) for c in arrays[f"{prefix}.classes"]],
            idf=idf,
            weighting=str(arrays[f"{prefix}.weighting"][0]),
        )


def build_matrix(
    featurizer: Featurizer,
    texts: Iterable[str],
    min_df: int = 1,
    vocabulary: dict[str, int] | None = None,
    idf: np.ndarray | None = None,
    weighting: str = "tfidf",
) -> tuple[object, dict[str, int], np.ndarray | None]:
    """Document-feature matrix (scipy CSR) for training, with the same weighting as inference.

    Returns ``(matrix, vocabulary, idf)``; pass ``vocabulary``/``idf`` to transform new texts
    with a fitted vocabulary (cross-validation).
    """
    from scipy import sparse

    docs = [featurizer.counts(t) for t in texts]
    fit = vocabulary is None
    if fit:
        df: Counter[str] = Counter()
        for d in docs:
            df.update(d.keys())
        vocabulary = {f: i for i, f in enumerate(sorted(f for f, n in df.items() if n >= min_df))}
        if weighting == "tfidf":
            n_docs = len(docs)
            idf = np.zeros(len(vocabulary), dtype=np.float32)
            for f, j in vocabulary.items():
                idf[j] = math.log((1 + n_docs) / (1 + df[f])) + 1.0
    assert vocabulary is not None
    ww = featurizer.word_weight
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for r, d in enumerate(docs):
        row_cols: list[int] = []
        row_vals: list[float] = []
        for f, c in d.items():
            j = vocabulary.get(f)
            if j is not None:
                row_cols.append(j)
                row_vals.append((1.0 + math.log(c)) * (ww if f[0] == "w" else 1.0))
        if weighting == "tfidf" and row_cols:
            assert idf is not None
            v = np.asarray(row_vals, dtype=np.float64) * idf[row_cols]
            v /= max(float(np.sqrt(v @ v)), 1e-12)
            row_vals = v.tolist()
        rows.extend([r] * len(row_cols))
        cols.extend(row_cols)
        vals.extend(row_vals)
    matrix = sparse.csr_matrix(
        (np.asarray(vals, dtype=np.float64), (rows, cols)), shape=(len(docs), len(vocabulary))
    )
    return matrix, vocabulary, idf
