"""N-gram featurisation and linear-model scoring, built so that a message costs a few look-ups.

A message is a bag of *segments*: one per word (its character n-grams inside word boundaries,
the word itself and its consonant skeleton) and one for the word pairs. Counts are sublinear
(1 + log c) inside a segment and add up across segments, and the tf-idf length of a message is
the root of the sum of its segments' squared lengths. Because nothing crosses a segment, what a
word contributes to the class scores (a short dense vector) and to the length (one number)
depends on the word alone: a model remembers it per word (LRU caches of
:data:`WORD_CACHE_SIZE` words and :data:`PAIR_CACHE_SIZE` pairs), and a message costs one
cache hit per word, one per word pair, and a few additions. Training builds exactly the same
vectors from the same segments (:func:`count_matrix`, :func:`tfidf_transform`), so what is
trained is what is served.

Training fits the weights with scikit-learn; parsing needs only this module and numpy
(scikit-learn is never imported when the model cache is warm).
"""

from __future__ import annotations

import math
import mmap
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = [
    "FeatureIndex",
    "Featurizer",
    "LinearModel",
    "SegmentCounts",
    "count_matrix",
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
    # also a consonant-skeleton feature per word ("pls" = "please"; Ge'ez: and its trigrams)
    skeleton: bool = False

    def word_counts(self, word: str) -> Counter[str]:
        """The features of one word's segment -> count. Character n-grams are bare strings
        (they contain no control character); the word starts with WORD ("\\x01"), its
        skeleton with SKEL ("\\x02")."""
        padded = f" {word} "
        n_chars = len(padded)
        grams: list[str] = []
        extend = grams.extend
        for n in range(self.char_min, min(self.char_max, n_chars) + 1):
            extend([padded[i : i + n] for i in range(n_chars - n + 1)])
        if self.word_max >= 1:
            grams.append(WORD + word)
        if self.skeleton:
            sk = skeleton(word)
            if sk:
                grams.append(SKEL + sk)
                if sk[0] >= "\u1200":  # Ge'ez: the root's consonants inside prefixes/suffixes
                    padded_sk = f" {sk} "
                    grams.extend(
                        SKEL + padded_sk[i : i + n]
                        for n in (2, 3)
                        for i in range(len(padded_sk) - n + 1)
                    )
        return Counter(grams)

    def phrases(self, words: Sequence[str]) -> list[str]:
        """The word n-grams (2..word_max) of a message, in order."""
        out: list[str] = []
        for n in range(2, self.word_max + 1):
            out.extend([WORD + " ".join(words[i : i + n]) for i in range(len(words) - n + 1)])
        return out

    def segments(self, text: str) -> list[Counter[str]]:
        """The message's segments: one per word, then one for the word n-grams (if any)."""
        words = text.split()
        segs = [self.word_counts(w) for w in words]
        phrases = self.phrases(words)
        if phrases:
            segs.append(Counter(phrases))
        return segs


WORD = "\x01"
SKEL = "\x02"
_TOKEN_FEATURE = frozenset((WORD, SKEL))
# 1 + log(count) for the usual small counts
_SUBLINEAR = [0.0] + [1.0 + math.log(c) for c in range(1, 64)]


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

# Ge'ez rows spelt alike: ሐ ኀ -> ሀ, ሠ -> ሰ, ዐ -> አ, ፀ -> ጸ, ቐ -> ቀ, ኸ -> ከ
_ETHIOPIC_SAME = {
    0x1210: 0x1200,
    0x1280: 0x1200,
    0x1220: 0x1230,
    0x12D0: 0x12A0,
    0x1340: 0x1338,
    0x1250: 0x1240,
    0x12B8: 0x12A8,
}

_AR_SKELETON_TABLE = str.maketrans({"ا": None, "و": None, "ي": None, "ء": None, "ه": None})


def _ethiopic_skeleton(word: str) -> str:
    """Consonant rows of a Ge'ez word ("ኣለኹ", "አለሁ"...): each syllable to the first order of
    its row (a row is 8 code points), sounds spelt with two letters to one (Amharic writes
    ሀ/ሐ/ኀ, ሰ/ሠ, አ/ዐ, ጸ/ፀ at will; Tigrinya ቐ/ኸ are often typed ቀ/ከ)."""
    out: list[int] = []
    for ch in word:
        cp = ord(ch)
        if not 0x1200 <= cp <= 0x1357:
            return ""
        base = _ETHIOPIC_SAME.get(cp & ~7, cp & ~7)
        if not out or out[-1] != base:
            out.append(base)
    return "".join(map(chr, out)) if len(out) >= 2 else ""


def skeleton(word: str) -> str:
    """Consonant skeleton of a Latin / Arabizi word: "ma7jouz" and "mahjooz" -> "mhjs",
    "please" and "plz" -> "pls"; of an Arabic or Ge'ez word its consonants. Empty for other
    words and very short skeletons."""
    if "\u1200" <= word[:1] <= "\u1357":
        return _ethiopic_skeleton(word)
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
    out: list[str] = []
    for c in w:
        if not out or out[-1] != c:
            out.append(c)
    sk = "".join(out)
    return sk if len(sk) >= 2 else ""


# Words and word pairs whose contribution each model remembers (LRU). The 2,011 held-out
# messages have ~3,500 distinct words and ~8,400 distinct pairs; an entry is ~0.5 KB, so full
# caches hold about 16 MB per model (bench/nlu_bench.py measures the NLU with every cache full).
WORD_CACHE_SIZE = 16_384
PAIR_CACHE_SIZE = 16_384


def segment_values(featurizer: Featurizer, seg: Counter[str]) -> list[tuple[str, float]]:
    """(feature, value) of a segment before idf: sublinear count, word features weighted."""
    ww = featurizer.word_weight
    return [(f, _sublinear(c) * (ww if f[:1] in _TOKEN_FEATURE else 1.0)) for f, c in seg.items()]


def _split_nul(raw: str) -> Iterator[str]:
    """The NUL-separated parts of ``raw``, one at a time (nothing for an empty string)."""
    if not raw:
        return
    start = 0
    while (end := raw.find("\x00", start)) >= 0:
        yield raw[start:end]
        start = end + 1
    yield raw[start:]


def _release_pages(array: np.ndarray) -> None:
    """Let the kernel drop the resident pages of an array mapped from a file (they are read
    back from the file if the array is used again); nothing for an array in memory."""
    mapped = getattr(array, "_mmap", None)
    if isinstance(mapped, mmap.mmap) and hasattr(mapped, "madvise"):
        mapped.madvise(mmap.MADV_DONTNEED)


class FeatureIndex:
    """A model's vocabulary: feature -> column.

    Kept as the features' hashes, sorted, with their columns (about 12 bytes a feature) and the
    features themselves once as UTF-8 for saving: a dict of the ~200,000 feature strings costs
    about 25 MB in every server process. Python's string hash is fixed for the life of a
    process, which is all an index built at load time needs; should two features of the
    vocabulary ever share a hash, the index keeps a plain dict instead (correct, only larger).
    """

    __slots__ = ("_columns", "_exact", "_hashes", "blob")

    def __init__(self, vocabulary: Sequence[str], blob: np.ndarray | None = None) -> None:
        # NUL never occurs in text: it separates the features in column order
        self.blob = (
            blob
            if blob is not None
            else np.frombuffer("\x00".join(vocabulary).encode("utf-8"), dtype=np.uint8)
        )
        hashes = np.fromiter((hash(f) for f in vocabulary), dtype=np.int64, count=len(vocabulary))
        self._index(hashes, vocabulary)

    def _index(self, hashes: np.ndarray, vocabulary: Sequence[str] | None) -> None:
        order = np.argsort(hashes, kind="stable")
        self._hashes = hashes[order]
        self._columns = order.astype(np.int32 if len(order) < 2**31 else np.int64)
        unique = len(hashes) < 2 or bool(np.all(np.diff(self._hashes) != 0))
        if unique:
            self._exact = None
        else:
            words = self.vocabulary() if vocabulary is None else vocabulary
            self._exact = {f: i for i, f in enumerate(words)}

    @classmethod
    def from_blob(cls, blob: np.ndarray) -> FeatureIndex:
        """The index of a saved vocabulary. Each feature string is made, hashed and dropped
        in turn: a list of all of them at once left ~20 MB of freed small objects that a
        server process kept for its life. A vocabulary mapped from the model file is read
        once here and then handed back to the kernel (parsing never reads it; saving would
        read it again from the file): ~7 MB less in every server process."""
        raw = blob.tobytes().decode("utf-8")
        count = raw.count("\x00") + 1 if raw else 0
        hashes = np.fromiter((hash(f) for f in _split_nul(raw)), dtype=np.int64, count=count)
        del raw
        index = cls.__new__(cls)
        index.blob = blob
        index._index(hashes, None)
        _release_pages(blob)
        return index

    def __len__(self) -> int:
        return len(self._hashes)

    def vocabulary(self) -> list[str]:
        """The features in column order."""
        raw = self.blob.tobytes().decode("utf-8")
        return raw.split("\x00") if raw else []

    def get(self, feature: str) -> int | None:
        found, columns = self.lookup([feature])
        return int(columns[0]) if found[0] else None

    def lookup(self, features: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(which of ``features`` are known: a boolean mask, their columns in that order)."""
        if self._exact is not None:
            got = [self._exact.get(f) for f in features]
            mask = np.array([j is not None for j in got], dtype=bool)
            return mask, np.array([j for j in got if j is not None], dtype=np.int64)
        n = len(self._hashes)
        if n == 0 or not features:
            return np.zeros(len(features), dtype=bool), np.zeros(0, dtype=np.int64)
        wanted = np.fromiter((hash(f) for f in features), dtype=np.int64, count=len(features))
        at = np.minimum(np.searchsorted(self._hashes, wanted), n - 1)
        mask = self._hashes[at] == wanted
        return mask, self._columns[at[mask]]


class LinearModel:
    """``scores = x @ W + b`` where ``x`` is the message's feature vector (module docstring).

    ``weighting``: ``"tfidf"`` (sublinear tf x idf over segments, divided by the message's
    length, as fitted by training) or ``"log1p"`` (naive-Bayes style sublinear counts, no idf,
    no length normalisation).

    Per word (and per word pair) the model remembers ``(x_w @ W, |x_w|^2, known, total)``: the
    word's contribution to the scores before normalisation, to the squared length, and how many
    of its features the vocabulary knows / has. A message adds those up.
    """

    __slots__ = (
        "_pair",
        "_word",
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
        vocabulary: Sequence[str] | FeatureIndex,
        weights: np.ndarray,
        bias: np.ndarray,
        classes: Sequence[str],
        idf: np.ndarray | None = None,
        weighting: str = "tfidf",
    ) -> None:
        self.featurizer = featurizer
        known = vocabulary if isinstance(vocabulary, FeatureIndex) else FeatureIndex(vocabulary)
        self.index = known
        # (n_features, n_classes): float32, or float16 where the trainer chose it (a message
        # reads a few rows; half precision, half the pages a server holds)
        dtype = weights.dtype if weights.dtype in (np.float16, np.float32) else np.float32
        self.weights = np.ascontiguousarray(weights, dtype=dtype)
        self.bias = np.asarray(bias, dtype=np.float64)
        self.classes: tuple[str, ...] = tuple(classes)
        self.idf = None if idf is None else np.asarray(idf, dtype=np.float64)
        if weighting == "tfidf" and self.idf is None:
            raise ValueError("tf-idf weighting needs the idf")
        self.weighting = weighting
        self._word = lru_cache(maxsize=WORD_CACHE_SIZE)(self._contribution_of_word)
        self._pair = lru_cache(maxsize=PAIR_CACHE_SIZE)(self._contribution_of_phrase)

    def resize_cache(self, words: int, pairs: int) -> None:
        """Remember at most ``words`` words and ``pairs`` word pairs (emptying the caches)."""
        self._word = lru_cache(maxsize=words)(self._contribution_of_word)
        self._pair = lru_cache(maxsize=pairs)(self._contribution_of_phrase)

    def clear_cache(self) -> None:
        """Forget the remembered words (see :data:`WORD_CACHE_SIZE`)."""
        self._word.cache_clear()
        self._pair.cache_clear()

    def segment_contribution(self, seg: Counter[str]) -> tuple[np.ndarray, float, int, int]:
        """(x_seg @ W, |x_seg|^2, features known, features) of one segment."""
        values = segment_values(self.featurizer, seg)
        known, ind = self.index.lookup([f for f, _ in values])
        if not len(ind):
            return np.zeros(len(self.classes)), 0.0, 0, len(seg)
        x = np.array([v for _, v in values], dtype=np.float64)[known]
        if self.idf is not None and self.weighting == "tfidf":
            x *= self.idf[ind]
        return x @ self.weights[ind].astype(np.float64), float(x @ x), len(ind), len(seg)

    def _contribution_of_word(self, word: str) -> tuple[np.ndarray, float, int, int]:
        return self.segment_contribution(self.featurizer.word_counts(word))

    def _contribution_of_phrase(self, phrase: str) -> tuple[np.ndarray, float, int, int]:
        return self.segment_contribution(Counter((phrase,)))

    def raw(self, text: str) -> tuple[np.ndarray, float, int, int]:
        """(x @ W, |x|^2, known features, features) of ``text``, before length and bias."""
        words = text.split()
        if not words:
            return np.zeros(len(self.classes)), 0.0, 0, 0
        parts = [self._word(w) for w in words]
        if self.featurizer.word_max >= 2 and len(words) > 1:
            phrases = self.featurizer.phrases(words)
            if len(set(phrases)) == len(phrases):
                parts.extend([self._pair(p) for p in phrases])
            else:  # a repeated pair ("help help help"): its count is not 1
                parts.append(self.segment_contribution(Counter(phrases)))
        acc = parts[0][0]
        sq = parts[0][1]
        known = parts[0][2]
        total = parts[0][3]
        for vec, q, k, t in parts[1:]:
            acc = acc + vec
            sq += q
            known += k
            total += t
        return acc, sq, known, total

    def scores(self, text: str) -> tuple[np.ndarray, float]:
        """Class scores and the share of the text's features known to the model."""
        acc, sq, known, total = self.raw(text)
        if self.weighting == "tfidf" and sq > 0:
            acc = acc / math.sqrt(sq)
        return acc + self.bias, known / max(total, 1)

    # ----- (de)serialisation into plain arrays (no pickle) ---------------------------------
    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        f = self.featurizer
        arrays: dict[str, np.ndarray] = {
            f"{prefix}.vocab": self.index.blob,
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
        vocab = FeatureIndex.from_blob(arrays[f"{prefix}.vocab"])
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


@dataclass(frozen=True, slots=True)
class SegmentCounts:
    """The training texts as segments: ``seg`` (segments x features, sublinear counts within
    a segment, word features weighted), ``owner`` (texts x segments, 0/1) and the feature
    names. ``owner @ seg`` is the texts' count matrix."""

    seg: Any
    owner: Any
    names: list[str]

    @property
    def n_texts(self) -> int:
        return int(self.owner.shape[0])

    def rows(self, rows: Any = None) -> Any:
        """The owner matrix of the texts ``rows`` (all when None)."""
        return self.owner if rows is None else self.owner[rows]

    def texts(self, rows: Any = None) -> Any:
        """Count matrix (texts x features) of the texts ``rows``."""
        return (self.rows(rows) @ self.seg).tocsr()


def count_matrix(featurizer: Featurizer, texts: Iterable[str]) -> SegmentCounts:
    """Segment counts of ``texts`` over every feature they have (see :class:`SegmentCounts`).
    Values match what :meth:`LinearModel.segment_contribution` weights at inference."""
    from scipy import sparse

    index: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    own_rows: list[int] = []
    own_cols: list[int] = []
    n_seg = 0
    n_texts = 0
    for t, text in enumerate(texts):
        n_texts = t + 1
        for seg in featurizer.segments(text):
            for f, v in segment_values(featurizer, seg):
                j = index.get(f)
                if j is None:
                    j = index[f] = len(index)
                rows.append(n_seg)
                cols.append(j)
                vals.append(v)
            own_rows.append(t)
            own_cols.append(n_seg)
            n_seg += 1
    seg_matrix = sparse.csr_matrix(
        (np.asarray(vals, dtype=np.float64), (rows, cols)), shape=(n_seg, len(index))
    )
    owner = sparse.csr_matrix(
        (np.ones(len(own_rows)), (own_rows, own_cols)), shape=(n_texts, n_seg)
    )
    return SegmentCounts(seg_matrix, owner, sorted(index, key=index.__getitem__))


def tfidf_fit(counts: SegmentCounts, rows: Any = None, min_df: int = 1) -> tuple[Any, Any]:
    """(selected feature columns, their idf) from the training texts ``rows``."""
    df = np.asarray((counts.texts(rows) > 0).sum(axis=0)).ravel()
    cols = np.flatnonzero(df >= min_df)
    n_docs = counts.rows(rows).shape[0]
    idf = (np.log((1 + n_docs) / (1 + df[cols])) + 1.0).astype(np.float64)
    return cols, idf


def tfidf_transform(counts: SegmentCounts, cols: Any, idf: Any, rows: Any = None) -> Any:
    """Tf-idf rows of the texts ``rows`` over ``cols``: segments summed, divided by the root of
    the sum of the segments' squared lengths (exactly as :meth:`LinearModel.scores`)."""
    from scipy import sparse

    seg = counts.seg[:, cols] @ sparse.diags(idf)
    seg_sq = np.asarray(seg.multiply(seg).sum(axis=1)).ravel()
    owner = counts.rows(rows)
    m = (owner @ seg).tocsr()
    norms = np.sqrt(owner @ seg_sq)
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms) @ m)
