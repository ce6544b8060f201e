"""The danger detector's own data (nlu/data/danger/) stays apart from every evaluation set:
the danger evaluation set (bench/data/danger_eval, written apart) and the intent held-out sets
(bench/data/heldout*). Compared after normalisation, as the detector reads messages."""

from __future__ import annotations

from pathlib import Path

import yaml

from bench.danger_bench import EVAL_DIR, load_dev, load_eval
from nlu.danger import fold, load_lexicon
from nlu.training_data import load_examples

REPO = Path(__file__).resolve().parent.parent
HELDOUT_DIRS = (REPO / "bench" / "data" / "heldout", REPO / "bench" / "data" / "heldout_long")
VARIANTS = {"en", "pcm", "ar_ly", "ar_sd", "ar_eg", "ar_latn", "fr", "ha"}


def _dev_texts() -> set[str]:
    return {fold(m.text) for m in load_dev()}


def _lexicon_terms() -> set[str]:
    raw = load_lexicon()
    return {
        fold(str(term).rstrip("*"))
        for by_language in raw.values()
        for terms in by_language.values()
        for term in terms
    }


def test_the_dev_set_covers_every_variant_and_label() -> None:
    dev = load_dev()
    assert {m.variant for m in dev} == VARIANTS
    for variant in VARIANTS:
        labels = [m.label for m in dev if m.variant == variant]
        assert labels.count("emergency") >= 15 and labels.count("urgent") >= 8, variant
        assert labels.count("none") >= 10, variant


def test_no_heldout_message_is_in_the_danger_data() -> None:
    heldout = [e for d in HELDOUT_DIRS for e in load_examples(d)]
    assert heldout
    dev = _dev_texts()
    leaked = [e.text for e in heldout if fold(e.text) in dev]
    assert not leaked, leaked[:10]


def test_no_danger_eval_message_is_in_any_training_data() -> None:
    """The evaluation set (when present) shares no message with the detector's dev set, the
    lexicon's terms (a whole message as a term) or the intent training data."""
    evaluation = load_eval(EVAL_DIR)
    training = _dev_texts() | _lexicon_terms()
    training |= {fold(e.text) for e in load_examples(REPO / "nlu" / "data")}
    leaked = [m.text for m in evaluation if fold(m.text) in training]
    assert not leaked, leaked[:10]


def test_the_overlap_check_finds_a_leak(tmp_path: Path) -> None:
    """The same comparison, on an evaluation file that copies a dev message, reports it."""
    copied = next(m for m in load_dev() if m.label == "emergency")
    (tmp_path / "en.yml").write_text(
        yaml.safe_dump(
            {
                "variant": "en",
                "language": "en",
                "messages": [{"text": copied.text.upper() + "!!", "label": "emergency"}],
            }
        ),
        encoding="utf-8",
    )
    evaluation = load_eval(tmp_path)
    assert [m.text for m in evaluation if fold(m.text) in _dev_texts()] == [
        copied.text.upper() + "!!"
    ]
