"""The intent classifier: TF-IDF over character and word n-grams, a linear model, calibrated.

Training uses scikit-learn (imported lazily); inference uses :class:`nlu.features.LinearModel`.
Calibration is temperature scaling of the decision scores, fitted on out-of-fold scores of a
k-fold split so that "confidence 0.6" means roughly "right 6 times in 10".
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .features import (
    Featurizer,
    LinearModel,
    SegmentCounts,
    count_matrix,
    tfidf_fit,
    tfidf_transform,
)

__all__ = [
    "INTENT_FEATURIZER",
    "IntentModel",
    "TrainParams",
    "cross_val_scores",
    "fit_temperature",
    "fold_indices",
    "train_intent_model",
]

INTENT_FEATURIZER = Featurizer(char_min=1, char_max=5, word_max=2, word_weight=1.0, skeleton=True)


DEFAULT_TEMPERATURE = 0.2  # what calibration finds on the project's data; used for tiny sets


@dataclass(slots=True)
class TrainParams:
    c: float = 2.0  # LinearSVC regularisation (chosen by 5-fold CV: 0.2 .. 5)
    min_df: int = 1
    calib_folds: int = 3
    seed: int = 13


@dataclass(slots=True)
class IntentModel:
    linear: LinearModel
    temperature: float

    def probabilities(self, text: str) -> tuple[list[float], float]:
        """Calibrated probability per class (in ``linear.classes`` order) and the share of the
        text's features the model knows. Plain floats: for ~20 classes that is quicker than
        numpy's per-call overhead."""
        scores, known = self.linear.scores(text)
        values = scores.tolist()
        top = max(values)
        t = self.temperature
        exps = [math.exp((v - top) / t) for v in values]
        total = math.fsum(exps)
        return [e / total for e in exps], known


def _fit_linear(
    matrix: object, y: np.ndarray, params: TrainParams, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.svm import LinearSVC

    clf = LinearSVC(C=params.c, class_weight="balanced", random_state=params.seed)
    clf.fit(matrix, y, sample_weight=weights)
    coef = np.asarray(clf.coef_)
    bias = np.asarray(clf.intercept_)
    if coef.shape[0] == 1:  # binary: scikit-learn keeps one row
        coef = np.vstack([-coef, coef]) / 2
        bias = np.array([-bias[0], bias[0]]) / 2
    return coef, bias


def _strata(labels: Sequence[str], groups: Sequence[str] | None, folds: int) -> np.ndarray:
    strat = np.array(
        list(labels)
        if groups is None
        else [f"{lab}|{g}" for lab, g in zip(labels, groups, strict=True)]
    )
    values, counts = np.unique(strat, return_counts=True)
    small = {v for v, c in zip(values, counts, strict=True) if c < folds}
    if small:  # strata too small for the folds are folded into their intent
        strat = np.array([lab if s in small else s for lab, s in zip(labels, strat, strict=True)])
    return strat


def fold_indices(
    labels: Sequence[str], groups: Sequence[str] | None, folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified (by intent, and by group when given) k-fold train/test indices."""
    from sklearn.model_selection import StratifiedKFold

    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    strat = _strata(labels, groups, folds)
    return list(skf.split(np.zeros(len(strat)), strat))


def cross_val_scores(
    texts: Sequence[str],
    labels: Sequence[str],
    classes: Sequence[str],
    folds: int,
    params: TrainParams,
    groups: Sequence[str] | None = None,
    tf: SegmentCounts | None = None,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Out-of-fold decision scores (n_samples x n_classes), stratified by intent (and group)."""
    y = np.array([list(classes).index(lab) for lab in labels])
    if tf is None:
        tf = count_matrix(INTENT_FEATURIZER, texts)
    out = np.zeros((len(texts), len(classes)), dtype=np.float64)
    for train_idx, test_idx in fold_indices(labels, groups, folds, params.seed):
        cols, idf = tfidf_fit(tf, train_idx, params.min_df)
        matrix = tfidf_transform(tf, cols, idf, train_idx)
        fold_weights = None if weights is None else weights[train_idx]
        coef, bias = _fit_linear(matrix, y[train_idx], params, fold_weights)
        full = np.zeros((len(classes), coef.shape[1]))
        fb = np.full(len(classes), -10.0)
        present = np.unique(y[train_idx])
        full[present] = coef
        fb[present] = bias
        out[test_idx] = tfidf_transform(tf, cols, idf, test_idx) @ full.T + fb
    return out


def fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """The T minimising the negative log-likelihood of softmax(scores / T)."""
    best_t, best_nll = 1.0, math.inf
    for t in np.exp(np.linspace(math.log(0.02), math.log(5.0), 80)):
        z = scores / t
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        nll = -float(logp[np.arange(len(y)), y].mean())
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return best_t


def train_intent_model(
    texts: Sequence[str],
    labels: Sequence[str],
    params: TrainParams | None = None,
    groups: Sequence[str] | None = None,
    weights: Sequence[float] | None = None,
) -> tuple[IntentModel, np.ndarray]:
    """Fit on all data; calibrate on out-of-fold scores. Returns (model, oof_scores).
    `weights`: how much each example counts (1 when not given)."""
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    params = params or TrainParams()
    classes = sorted(set(labels))
    y = np.array([classes.index(lab) for lab in labels])
    tf = count_matrix(INTENT_FEATURIZER, texts)
    names = tf.names
    # calibration folds: as many as the rarest intent allows (tiny data sets still train)
    folds = min(params.calib_folds, int(np.bincount(y).min()))
    if folds >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # strata smaller than the folds
            oof = cross_val_scores(texts, labels, classes, folds, params, groups, tf=tf, weights=w)
        temperature = fit_temperature(oof, y)
    else:
        oof = np.zeros((len(texts), len(classes)))
        oof[np.arange(len(texts)), y] = 1.0
        temperature = DEFAULT_TEMPERATURE
    cols, idf = tfidf_fit(tf, None, params.min_df)
    coef, bias = _fit_linear(tfidf_transform(tf, cols, idf), y, params, w)
    linear = LinearModel(
        INTENT_FEATURIZER,
        [names[c] for c in cols],
        coef.T.astype(np.float16),  # scores move by ~1e-3: the intents do not (nlu_bench)
        bias,
        classes,
        idf=idf,
        weighting="tfidf",
    )
    return IntentModel(linear, temperature), oof
