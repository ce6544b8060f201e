"""The held-out evaluation sets (bench/data/heldout: short messages; bench/data/heldout_long:
longer real-style ones) must stay unseen: no message of them may occur in the training data,
and none twice in the sets. A language's held-out files may be written before its training data
(Somali, Bengali): the overlap checks cover them at once, the per-intent figures once the
variant is trained (its training file exists), since deduplication against it may drop some."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from nlu.danger_model import danger_examples
from nlu.engine import BuiltinNLU
from nlu.languages import load_languages
from nlu.normalize import normalize
from nlu.training_data import danger_probe_examples, load_examples

REPO = Path(__file__).resolve().parent.parent
HELDOUT_DIR = REPO / "bench" / "data" / "heldout"
LONG_DIR = REPO / "bench" / "data" / "heldout_long"
DATA_DIR = REPO / "nlu" / "data"


def test_the_heldout_sets_are_in_the_repository() -> None:
    assert any(HELDOUT_DIR.glob("*.yml")), "bench/data/heldout/*.yml is missing"
    assert any(LONG_DIR.glob("*.yml")), "bench/data/heldout_long/*.yml is missing"


def test_no_heldout_message_is_in_the_training_data() -> None:
    """Compared after normalisation (case, accents, punctuation, repeated letters, Arabic
    letter variants), which is what the classifier sees: "Merci!!" is "merci"."""
    # the danger probes are trained on too (nlu/engine.py), and all the danger data teaches
    # the danger classifier, whose false alarms the ordinary held-out messages measure
    trained = load_examples(DATA_DIR)
    variants = {e.variant for e in trained}
    examples = [*trained, *danger_probe_examples(DATA_DIR / "danger" / "probes", variants)]
    examples += danger_examples(DATA_DIR, BuiltinNLU.enabled_variants(DATA_DIR))
    training = {normalize(e.text) for e in examples}
    heldout = [*load_examples(HELDOUT_DIR), *load_examples(LONG_DIR)]
    leaked = [(e.variant, e.intent, e.text) for e in heldout if normalize(e.text) in training]
    assert not leaked, f"{len(leaked)} held-out messages are trained on: {leaked[:20]}"


def test_no_message_twice_in_the_heldout_sets() -> None:
    both = [*load_examples(HELDOUT_DIR), *load_examples(LONG_DIR)]
    counts = Counter(normalize(e.text) for e in both)
    repeated = sorted(text for text, n in counts.items() if n > 1)
    assert not repeated, repeated


def _trained_variants() -> set[str]:
    return {p.stem for p in DATA_DIR.glob("*.yml")}


def _table_variants() -> set[str]:
    """Every variant of nlu/languages.yml, trained or not yet."""
    return {v.name for language in load_languages() for v in language.variants}


def _covered(heldout_variants: set[str]) -> set[str]:
    """The variants whose figures are checked: every trained one must have held-out messages,
    and held-out files may exist only for variants of the languages table."""
    trained = _trained_variants()
    assert trained <= heldout_variants, sorted(trained - heldout_variants)
    assert heldout_variants <= _table_variants(), sorted(heldout_variants - _table_variants())
    return heldout_variants & trained


def test_heldout_has_somali_and_bengali_before_their_training_data() -> None:
    for directory in (HELDOUT_DIR, LONG_DIR):
        variants = {e.variant for e in load_examples(directory)}
        assert {"so", "bn"} <= variants, (directory.name, sorted(variants))


def test_heldout_covers_every_variant_and_intent() -> None:
    heldout = load_examples(HELDOUT_DIR)
    assert len(heldout) >= 1300
    for variant in _covered({e.variant for e in heldout}):
        intents = Counter(e.intent for e in heldout if e.variant == variant)
        assert len(intents) >= 19, variant
        assert min(intents.values()) >= 10, (variant, intents)


def test_long_set_covers_every_variant_and_intent_with_longer_messages() -> None:
    long = load_examples(LONG_DIR)
    assert len(long) >= 650
    for variant in _covered({e.variant for e in long}):
        intents = Counter(e.intent for e in long if e.variant == variant)
        assert len(intents) >= 19, variant
        assert min(intents.values()) >= 5, (variant, intents)
    words = sorted(len(e.text.split()) for e in long)
    assert words[len(words) // 2] >= 10  # median: longer than the short set's messages
