"""The intent classifier: TF-IDF over character and word n-grams, a linear model, calibrated.

Training uses scikit-learn (imported lazily); inference uses :class:`nlu.features.LinearModel`.
Calibration is temperature scaling of the decision scores, fitted on out-of-fold scores of a
k-fold split so that "confidence 0.6" means roughly "right 6 times in 10".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .features import Featurizer, LinearModel, build_matrix

__all__ = [
    "INTENT_FEATURIZER",
    "IntentModel",
    "TrainParams",
    "cross_val_scores",
    "fit_temperature",
    "train_intent_model",
]

INTENT_FEATURIZER = Featurizer(char_min=1, char_max=5, word_max=2, word_weight=1.0)


@dataclass(slots=True)
class TrainParams:
    c: float = 0.5  # LinearSVC regularisation
    min_df: int = 1
    calib_folds: int = 3
    seed: int = 13


@dataclass(slots=True)
class IntentModel:
    linear: LinearModel
    temperature: float

    def probabilities(self, text: str) -> tuple[np.ndarray, float]:
        scores, known = self.linear.scores(text)
        z = scores.astype(np.float64) / self.temperature
        z -= z.max()
        e = np.exp(z)
        return e / e.sum(), known


def _fit_linear(matrix: object, y: np.ndarray, params: TrainParams) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.svm import LinearSVC

    clf = LinearSVC(C=params.c, class_weight="balanced", random_state=params.seed)
    clf.fit(matrix, y)
    coef = np.asarray(clf.coef_)
    bias = np.asarray(clf.intercept_)
    if coef.shape[0] == 1:  # binary: scikit-learn keeps one row
        coef = np.vstack([-coef, coef]) / 2
        bias = np.array([-bias[0], bias[0]]) / 2
    return coef, bias


def cross_val_scores(
    texts: Sequence[str],
    labels: Sequence[str],
    classes: Sequence[str],
    folds: int,
    params: TrainParams,
    groups: Sequence[str] | None = None,
) -> np.ndarray:
    """Out-of-fold decision scores (n_samples x n_classes), stratified by intent (and group)."""
    from sklearn.model_selection import StratifiedKFold

    y = np.array([list(classes).index(lab) for lab in labels])
    strat = y if groups is None else np.array([f"{lab}|{g}" for lab, g in zip(labels, groups, strict=True)])
    # strata too small for the folds are folded into their intent
    _, counts = np.unique(strat, return_counts=True)
    if counts.min() < folds:
        small = {s for s, c in zip(*np.unique(strat, return_counts=True), strict=True) if c < folds}
        strat = np.array([str(y[i]) if s in small else s for i, s in enumerate(strat)])
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=params.seed)
    out = np.zeros((len(texts), len(classes)), dtype=np.float64)
    for train_idx, test_idx in skf.split(np.zeros(len(y)), strat):
        tr = [texts[i] for i in train_idx]
        m, vocab, idf = build_matrix(INTENT_FEATURIZER, tr, min_df=params.min_df)
        coef, bias = _fit_linear(m, y[train_idx], params)
        full = np.zeros((len(classes), coef.shape[1]))
        fb = np.full(len(classes), -10.0)
        present = np.unique(y[train_idx])
        full[present] = coef
        fb[present] = bias
        te, _, _ = build_matrix(INTENT_FEATURIZER, [texts[i] for i in test_idx], vocabulary=vocab, idf=idf)
        out[test_idx] = te @ full.T + fb
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
) -> tuple[IntentModel, np.ndarray]:
    """Fit on all data; calibrate on out-of-fold scores. Returns (model, oof_scores)."""
    params = params or TrainParams()
    classes = sorted(set(labels))
    y = np.array([classes.index(lab) for lab in labels])
    oof = cross_val_scores(texts, labels, classes, params.calib_folds, params, groups)
    temperature = fit_temperature(oof, y)
    matrix, vocab, idf = build_matrix(INTENT_FEATURIZER, texts, min_df=params.min_df)
    coef, bias = _fit_linear(matrix, y, params)
    linear = LinearModel(
        INTENT_FEATURIZER,
        sorted(vocab, key=vocab.__getitem__),
        coef.T,
        bias,
        classes,
        idf=idf,
        weighting="tfidf",
    )
    return IntentModel(linear, temperature), oof
