"""Cross-validation and held-out evaluation of the built-in NLU."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .classifier import fold_indices
from .engine import BuiltinNLU
from .languages import load_languages
from .training_data import Example, load_examples
from .types import FALLBACK_INTENT

__all__ = [
    "EvalReport",
    "Prediction",
    "cross_validate",
    "evaluate",
    "heldout_examples",
    "prf",
]

REPO_DIR = Path(__file__).resolve().parent.parent
HELDOUT_DIR = REPO_DIR / "bench" / "data" / "heldout"


@dataclass(frozen=True, slots=True)
class Prediction:
    text: str
    variant: str
    language: str  # gold language
    intent: str  # gold intent
    predicted_intent: str
    confidence: float
    predicted_language: str
    predicted_variant: str | None  # e.g. "ar_latn"; None for digits-only messages

    @property
    def words(self) -> int:
        return len(self.text.split())


def prf(preds: Sequence[Prediction], intent: str) -> tuple[float, float, float, int]:
    """Precision, recall, F1 and support of one intent."""
    tp = sum(1 for p in preds if p.intent == intent and p.predicted_intent == intent)
    fp = sum(1 for p in preds if p.intent != intent and p.predicted_intent == intent)
    fn = sum(1 for p in preds if p.intent == intent and p.predicted_intent != intent)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f1, tp + fn


@dataclass(slots=True)
class EvalReport:
    predictions: list[Prediction] = field(default_factory=list)

    def accuracy(self, preds: Sequence[Prediction] | None = None) -> float:
        ps = self.predictions if preds is None else preds
        return sum(p.intent == p.predicted_intent for p in ps) / len(ps) if ps else 0.0

    def by_variant(self) -> dict[str, list[Prediction]]:
        out: dict[str, list[Prediction]] = {}
        for p in self.predictions:
            out.setdefault(p.variant, []).append(p)
        return out

    def intents(self) -> list[str]:
        return sorted({p.intent for p in self.predictions})

    def macro_f1(self, preds: Sequence[Prediction] | None = None) -> float:
        ps = self.predictions if preds is None else preds
        intents = sorted({p.intent for p in ps})
        return sum(prf(ps, i)[2] for i in intents) / len(intents) if intents else 0.0

    def fallback_rate(self, preds: Sequence[Prediction] | None = None) -> float:
        ps = self.predictions if preds is None else preds
        return sum(p.predicted_intent == FALLBACK_INTENT for p in ps) / len(ps) if ps else 0.0

    def langid_accuracy(
        self, max_words: int | None = 6, preds: Sequence[Prediction] | None = None
    ) -> tuple[float, int]:
        ps = self.predictions if preds is None else preds
        sel = [
            p
            for p in ps
            if (max_words is None or p.words <= max_words) and p.predicted_variant is not None
        ]
        if not sel:
            return 0.0, 0
        ok = sum(p.predicted_variant == p.variant for p in sel)
        return ok / len(sel), len(sel)

    def confusions(self, top: int = 15) -> list[tuple[str, str, int]]:
        c = Counter(
            (p.intent, p.predicted_intent)
            for p in self.predictions
            if p.intent != p.predicted_intent
        )
        return [(a, b, n) for (a, b), n in c.most_common(top)]

    def language_confusions(self, top: int = 10) -> list[tuple[str, str, int]]:
        c = Counter(
            (p.variant, p.predicted_variant or "-")
            for p in self.predictions
            if p.predicted_variant is not None and p.predicted_variant != p.variant
        )
        return [(a, b, n) for (a, b), n in c.most_common(top)]

    def errors(self) -> list[Prediction]:
        return [p for p in self.predictions if p.intent != p.predicted_intent]


def _variant_language() -> dict[str, str]:
    return {v.name: lang.code for lang in load_languages() for v in lang.variants}


def evaluate(nlu: BuiltinNLU, examples: Iterable[Example], hint: bool = False) -> EvalReport:
    """Parse every example (no language hint unless ``hint``) and collect the predictions."""
    lang_of = _variant_language()
    report = EvalReport()
    for ex in examples:
        gold_lang = lang_of.get(ex.variant, ex.variant.split("_")[0])
        r = nlu.parse_sync(ex.text, gold_lang if hint else None)
        guess = nlu.identify_language(ex.text, gold_lang if hint else None)
        report.predictions.append(
            Prediction(
                ex.text,
                ex.variant,
                gold_lang,
                ex.intent,
                r.intent,
                r.confidence,
                r.language,
                guess.variant,
            )
        )
    return report


def cross_validate(
    data_dir: Path | None = None,
    folds: int = 5,
    seed: int = 7,
    languages: Iterable[str] | None = None,
    use_auxiliary: bool = True,
) -> EvalReport:
    """Stratified k-fold cross-validation of the whole pipeline (langid + intent).

    Each fold trains on the other folds (plus the gazetteer keyword examples) and is tested
    on its own examples of ``nlu/data`` only."""
    ddir = data_dir or Path(__file__).resolve().parent / "data"
    variants = BuiltinNLU.enabled_variants(ddir, languages)
    examples = load_examples(ddir, [v.name for v in variants])
    labels = [e.intent for e in examples]
    groups = [e.variant for e in examples]
    report = EvalReport()
    for train_idx, test_idx in fold_indices(labels, groups, folds, seed):
        nlu = BuiltinNLU.train(
            ddir,
            languages,
            examples=[examples[i] for i in train_idx],
            use_auxiliary=use_auxiliary,
            with_danger=False,  # intents only: the danger model is measured by danger_bench
        )
        report.predictions.extend(evaluate(nlu, [examples[i] for i in test_idx]).predictions)
    return report


def heldout_examples(heldout_dir: Path | None = None) -> list[Example]:
    hdir = heldout_dir or HELDOUT_DIR
    return load_examples(hdir) if hdir.is_dir() else []
