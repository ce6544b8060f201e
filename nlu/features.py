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
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = [
    "Featurizer",
    "LinearModel",
    "count_matrix",
    "softmax",
    "tfidf_fit",
    "tfidf_transform",
]


@dataclass(frozen=True, slots=True)
class Featurizer:
    """Character n-grams inside word boundaries (like scikit-learn's ``char_wb``) + word n-grams.

    ``text`` must already be normalised (see :mod:`nlu.normalize`): tokens separated by single
    spaces. Word and skeleton features carry a control-character prefix, so the families
    never collide.
    """

    char_min: int = 1
    char_max: int = 5
    word_max: int = 2
    word_weight: float = 1.0
    skeleton: bool = False  # also a consonant-skeleton feature per Latin word ("pls" = "please")

    def counts(self, text: str) -> Counter[str]:
        """Feature -> count. Character n-grams are bare strings (they contain no control
        character); word n-grams start with WORD ("\\x01"), skeletons with SKEL ("\\x02")."""
        words = text.split()
        cmin, cmax = self.char_min, self.char_max
        grams: list[str] = []
        extend = grams.extend
        for w in words:
            padded = f" {w} "
            n_chars = len(padded)
            for n in range(cmin, min(cmax, n_chars) + 1):
                extend([padded[i : i + n] for i in range(n_chars - n + 1)])
        if self.word_max >= 1:
            extend([WORD + w for w in words])
            for n in range(2, self.word_max + 1):
                extend([WORD + " ".join(words[i : i + n]) for i in range(len(words) - n + 1)])
        if self.skeleton:
            for w in words:
                sk = skeleton(w)
                if sk:
                    grams.append(SKEL + sk)
        return Counter(grams)


WORD = "\x01"
SKEL = "\x02"
_TOKEN_FEATURE = frozenset((WORD, SKEL))
# 1 + log(count) for the usual small counts
_SUBLINEAR = [0.0] + [1.0 + math.log(c) for c in range(1, 64)]


_SUBLINEAR_ARRAY = np.array(_SUBLINEAR, dtype=np.float64)
_EMPTY: frozenset[str] = frozenset()


def _sublinear(c: int) -> float:
    return _SUBLINEAR[c] if c < 64 else 1.0 + math.log(c)


_SKELETON_DIGRAPHS = (
    ("ch", "c"),
    ("sh", "c"),
    ("kh", "k"),
    ("gh", "g"),
    ("th", "t"),
    ("dh", "d"),
    ("ph", "f"),
    ("ck", "k"),
    ("qu", "k"),
    ("ou", "u"),
)
_SKELETON_TABLE = str.maketrans(
    {
        "7": "h",
        "5": "k",
        "9": "k",
        "q": "k",
        "6": "t",
        "8": "g",
        "x": "k",
        "z": "s",
        "3": None,
        "2": None,
        "a": None,
        "e": None,
        "i": None,
        "o": None,
        "u": None,
        "y": None,
        "w": None,
    }
)

_AR_SKELETON_TABLE = str.maketrans({"ا": None, "و": None, "ي": None, "ء": None, "ه": None})


def skeleton(word: str) -> str:
    """Consonant skeleton of a Latin / Arabizi word: "ma7jouz" and "mahjooz" -> "mhjs",
    "please" and "plz" -> "pls". Empty for non-Latin words and very short skeletons."""
    if len(word) < 3 or not word.isalnum() or word.isdigit():
        return ""
    if not word.isascii():
        if "\u0621" <= word[0] <= "\u064a":  # Arabic: drop the article and long vowels
            w = word[2:] if word.startswith("ال") and len(word) > 4 else word
            sk = w.translate(_AR_SKELETON_TABLE)
            return "a" + sk if len(sk) >= 2 else ""
        return ""
    w = word
    for a, b in _SKELETON_DIGRAPHS:
        if a in w:
            w = w.replace(a, b)
    w = w.translate(_SKELETON_TABLE)
    out = []
    for c in w:
        if not out or out[-1] != c:
            out.append(c)
    sk = "".join(out)
    return sk if len(sk) >= 2 else ""


def softmax(scores: np.ndarray) -> np.ndarray:
    z = scores - scores.max()
    e = np.exp(z)
    return e / e.sum()


WORD_CACHE_SIZE = 8192  # words whose features each model remembers (a few MB at most)


class LinearModel:
    """``scores = W[idx].T @ values + b`` over a sparse feature vector.

    ``weighting``: ``"tfidf"`` (sublinear tf x idf, L2-normalised, as fitted by training) or
    ``"log1p"`` (naive-Bayes style log-count features, no normalisation).

    The features of one *word* (its character n-grams, the word itself and its skeleton) do
    not depend on the rest of the message, so their vocabulary look-ups are remembered per word
    (an LRU cache of :data:`WORD_CACHE_SIZE` words): a message costs one cache hit per word,
    one look-up per word pair and one small sparse-dense product. The result is the same, to the
    bit, as featurising the whole message with :meth:`Featurizer.counts`: the features are
    counted in the same order and weighted with the same float operations.
    """

    __slots__ = (
        "_token_weights",
        "_word_features",
        "bias",
        "classes",
        "featurizer",
        "idf",
        "index",
        "weighting",
        "weights",
    )

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
        self._token_weights: np.ndarray | None = None
        if featurizer.word_weight != 1.0:  # word / skeleton features weigh differently
            self._token_weights = np.array(
                [featurizer.word_weight if f[:1] in _TOKEN_FEATURE else 1.0 for f in vocabulary],
                dtype=np.float64,
            )
        self._word_features = lru_cache(maxsize=WORD_CACHE_SIZE)(self._features_of_word)

    def clear_cache(self) -> None:
        """Forget the remembered words (see :data:`WORD_CACHE_SIZE`)."""
        self._word_features.cache_clear()

    def _features_of_word(self, word: str) -> tuple[tuple[int, ...], int, int, frozenset[str]]:
        """(indices of the word's known character n-grams in :meth:`Featurizer.counts` order,
        index of the word feature or -1, index of the skeleton feature or -1, the word's
        features that the vocabulary does not know)."""
        f = self.featurizer
        get = self.index.get
        padded = f" {word} "
        n_chars = len(padded)
        known: list[int] = []
        unknown: set[str] = set()
        for n in range(f.char_min, min(f.char_max, n_chars) + 1):
            for i in range(n_chars - n + 1):
                gram = padded[i : i + n]
                j = get(gram)
                if j is None:
                    unknown.add(gram)
                else:
                    known.append(j)
        word_index = -1
        if f.word_max >= 1:
            j = get(WORD + word)
            if j is None:
                unknown.add(WORD + word)
            else:
                word_index = j
        skel_index = -1
        if f.skeleton:
            sk = skeleton(word)
            if sk:
                j = get(SKEL + sk)
                if j is None:
                    unknown.add(SKEL + sk)
                else:
                    skel_index = j
        return tuple(known), word_index, skel_index, frozenset(unknown) if unknown else _EMPTY

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray, int]:
        """(feature indices, values, number of distinct features of the text) for ``text``."""
        f = self.featurizer
        words = text.split()
        per_word = [self._word_features(w) for w in words]
        ind_list: list[int] = []
        extend = ind_list.extend
        unknown: list[frozenset[str]] = []
        for chars, _, _, unk in per_word:
            extend(chars)
            if unk:
                unknown.append(unk)
        if f.word_max >= 1:
            ind_list.extend([wi for _, wi, _, _ in per_word if wi >= 0])
            if f.word_max >= 2 and len(words) > 1:
                get = self.index.get
                extra: set[str] = set()
                for n in range(2, f.word_max + 1):
                    for i in range(len(words) - n + 1):
                        gram = WORD + " ".join(words[i : i + n])
                        j = get(gram)
                        if j is None:
                            extra.add(gram)
                        else:
                            ind_list.append(j)
                if extra:
                    unknown.append(frozenset(extra))
        if f.skeleton:
            ind_list.extend([si for _, _, si, _ in per_word if si >= 0])
        counts = Counter(ind_list)
        n_unknown = len(unknown[0].union(*unknown[1:])) if unknown else 0
        total = len(counts) + n_unknown
        if not counts:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32), total
        n = len(counts)
        ind = np.fromiter(counts.keys(), dtype=np.intp, count=n)
        tf = np.fromiter(counts.values(), dtype=np.intp, count=n)
        if n == len(ind_list):  # every feature once: the common case
            vals = np.full(n, _SUBLINEAR[1])
        elif tf.max() < len(_SUBLINEAR):
            vals = _SUBLINEAR_ARRAY[tf]
        else:
            vals = np.array([_sublinear(int(c)) for c in tf])
        if self._token_weights is not None:
            vals = vals * self._token_weights[ind]
        val = vals.astype(np.float32)
        if self.weighting == "tfidf":
            assert self.idf is not None
            val *= self.idf[ind]
            norm = float(np.sqrt(val @ val))
            if norm > 0:
                val /= norm
        return ind, val, total

    def scores(self, text: str) -> tuple[np.ndarray, float]:
        """Raw class scores and the share of the text's features known to the model."""
        ind, val, total = self.vector(text)
        if not len(ind):
            return self.bias.copy(), 0.0
        return val @ self.weights[ind] + self.bias, len(ind) / max(total, 1)

    # ----- (de)serialisation into plain arrays (no pickle) ---------------------------------
    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        vocab = "\x00".join(sorted(self.index, key=self.index.__getitem__))  # NUL never in text
        f = self.featurizer
        arrays = {
            f"{prefix}.vocab": np.frombuffer(vocab.encode("utf-8"), dtype=np.uint8),
            f"{prefix}.weights": self.weights,
            f"{prefix}.bias": self.bias,
            f"{prefix}.classes": np.array(self.classes, dtype=str),
            f"{prefix}.featurizer": np.array(
                [f.char_min, f.char_max, f.word_max, f.word_weight, float(f.skeleton)],
                dtype=np.float64,
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
        cmin, cmax, wmax, wweight, skel = (float(x) for x in arrays[f"{prefix}.featurizer"])
        featurizer = Featurizer(int(cmin), int(cmax), int(wmax), wweight, bool(skel))
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


def count_matrix(featurizer: Featurizer, texts: Iterable[str]) -> tuple[Any, list[str]]:
    """Sublinear term-frequency matrix (scipy CSR) of ``texts`` over every feature they have,
    and the feature names. Weighting matches :meth:`LinearModel.vector`."""
    from scipy import sparse

    index: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    ww = featurizer.word_weight
    n = 0
    for r, text in enumerate(texts):
        n = r + 1
        for f, c in featurizer.counts(text).items():
            j = index.get(f)
            if j is None:
                j = index[f] = len(index)
            rows.append(r)
            cols.append(j)
            vals.append(_sublinear(c) * (ww if f[0] in _TOKEN_FEATURE else 1.0))
    matrix = sparse.csr_matrix(
        (np.asarray(vals, dtype=np.float64), (rows, cols)), shape=(n, len(index))
    )
    return matrix, sorted(index, key=index.__getitem__)


def tfidf_fit(tf: Any, min_df: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(selected columns, their idf) from the training rows of a tf matrix."""
    df = np.asarray((tf > 0).sum(axis=0)).ravel()
    cols = np.flatnonzero(df >= min_df)
    n_docs = tf.shape[0]
    idf = (np.log((1 + n_docs) / (1 + df[cols])) + 1.0).astype(np.float64)
    return cols, idf


def tfidf_transform(tf: Any, cols: np.ndarray, idf: np.ndarray) -> Any:
    """Rows of ``tf`` restricted to ``cols``, times idf, L2-normalised (as at inference)."""
    from scipy import sparse

    m = tf[:, cols] @ sparse.diags(idf)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms) @ m)
