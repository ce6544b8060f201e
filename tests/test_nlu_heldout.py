"""The held-out evaluation set (bench/data/heldout) must stay unseen: no message of it may
occur in the training data, and none twice in the set."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from nlu.normalize import normalize
from nlu.training_data import load_examples

REPO = Path(__file__).resolve().parent.parent
HELDOUT_DIR = REPO / "bench" / "data" / "heldout"
DATA_DIR = REPO / "nlu" / "data"


def test_the_heldout_set_is_in_the_repository() -> None:
    assert any(HELDOUT_DIR.glob("*.yml")), "bench/data/heldout/*.yml is missing"


def test_no_heldout_message_is_in_the_training_data() -> None:
    """Compared after normalisation (case, accents, punctuation, repeated letters, Arabic
    letter variants), which is what the classifier sees: "Merci!!" is "merci"."""
    training = {normalize(e.text) for e in load_examples(DATA_DIR)}
    heldout = load_examples(HELDOUT_DIR)
    leaked = [(e.variant, e.intent, e.text) for e in heldout if normalize(e.text) in training]
    assert not leaked, f"{len(leaked)} held-out messages occur in nlu/data/: {leaked[:20]}"


def test_no_message_twice_in_the_heldout_set() -> None:
    counts = Counter(normalize(e.text) for e in load_examples(HELDOUT_DIR))
    repeated = sorted(text for text, n in counts.items() if n > 1)
    assert not repeated, repeated


def test_heldout_covers_every_variant_and_intent() -> None:
    heldout = load_examples(HELDOUT_DIR)
    assert len(heldout) >= 1300
    variants = {p.stem for p in DATA_DIR.glob("*.yml")}
    assert {e.variant for e in heldout} == variants
    for variant in variants:
        intents = Counter(e.intent for e in heldout if e.variant == variant)
        assert len(intents) >= 19, variant
        assert min(intents.values()) >= 10, (variant, intents)
