"""The danger classifier (nlu/danger_model.py): what it learns from, and what it says."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from nlu.danger_model import LEVELS, danger_examples, intent_level, with_intent_examples
from nlu.engine import DEFAULT_DATA_DIR, BuiltinNLU
from nlu.languages import Variant
from nlu.training_data import Example

VARIANTS = [
    Variant("en", "en", "Latn", ("en", "pcm")),
    Variant("ar", "ar", "Arab", ("ar", "ary", "arz")),
    Variant("ar_latn", "ar", "Latn"),
]


def _write(root: Path) -> Path:
    danger = root / "danger"
    (danger / "probes").mkdir(parents=True)
    (danger / "probes" / "pcm.yml").write_text(
        yaml.safe_dump(
            {
                "variant": "pcm",
                "language": "en",
                "messages": [
                    {"text": "dem don stab am", "label": "emergency", "kind": "stabbing"},
                    {"text": "I dey fine now", "label": "none", "kind": "safe"},
                ],
            }
        ),
        encoding="utf-8",
    )
    (danger / "probes" / "en_detector_only.yml").write_text(  # checks the detector only
        yaml.safe_dump(
            {
                "teaches_classifiers": False,
                "variant": "en",
                "language": "en",
                "messages": [{"text": "dem cut am for neck", "label": "emergency", "kind": "x"}],
            }
        ),
        encoding="utf-8",
    )
    (danger / "probes" / "en_danger_only.yml").write_text(  # the danger classifier, no intent
        yaml.safe_dump(
            {
                "teaches_intents": False,
                "variant": "en",
                "language": "en",
                "messages": [{"text": "e don faint for floor", "label": "emergency", "kind": "x"}],
            }
        ),
        encoding="utf-8",
    )
    (danger / "probes" / "so.yml").write_text(  # a language not trained: left out
        yaml.safe_dump(
            {
                "variant": "so",
                "language": "so",
                "messages": [{"text": "waa la i garaacay", "label": "urgent", "kind": "x"}],
            }
        ),
        encoding="utf-8",
    )
    (danger / "dev.yml").write_text(
        yaml.safe_dump(
            [
                {
                    "label": "urgent",
                    "kind": "raid",
                    "en": "police took the men",
                    "ar_ly": "الشرطة خذت الرجالة",
                }
            ]
        ),
        encoding="utf-8",
    )
    (danger / "narratives.yml").write_text(
        yaml.safe_dump([{"variant": "ar_latn", "label": "emergency", "text": "fama 7ari9a"}]),
        encoding="utf-8",
    )
    return root


def test_danger_data_goes_to_the_variant_that_is_trained(tmp_path: Path) -> None:
    examples = danger_examples(_write(tmp_path), VARIANTS)
    got = {(e.variant, e.intent, e.text) for e in examples}
    assert got == {
        ("en", "emergency", "dem don stab am"),  # Pidgin: English's language identification
        ("en", "none", "I dey fine now"),
        ("en", "emergency", "e don faint for floor"),  # teaches_intents: false still teaches it
        ("en", "urgent", "police took the men"),
        ("ar", "urgent", "الشرطة خذت الرجالة"),  # Libyan Arabic: Arabic
        ("ar_latn", "emergency", "fama 7ari9a"),
    }


def test_intent_examples_teach_their_level_and_danger_data_wins() -> None:
    assert [intent_level(i) for i in ("emergency", "detention", "protection", "greet")] == [
        "emergency",
        "urgent",
        "urgent",
        "none",
    ]
    danger = [Example("they took him", "urgent", "en")]
    intents = [Example("They took him", "greet", "en"), Example("hello", "greet", "en")]
    merged = with_intent_examples(danger, intents)
    assert [(e.text, e.intent) for e in merged] == [("they took him", "urgent"), ("hello", "none")]


def test_the_project_data_has_every_level_in_every_language() -> None:
    variants = BuiltinNLU.enabled_variants(DEFAULT_DATA_DIR)
    counts = Counter((e.variant, e.intent) for e in danger_examples(DEFAULT_DATA_DIR, variants))
    for variant in variants:
        for level in LEVELS:
            assert counts[(variant.name, level)] >= 20, (variant.name, level)


def test_the_trained_model_reads_danger_the_lexicon_lacks(builtin_nlu: BuiltinNLU) -> None:
    assert builtin_nlu.danger is not None
    exploitation = builtin_nlu.parse_sync(
        "the owner of the house says we must sleep with him or leave"
    )
    assert exploitation.danger_urgent >= 0.7
    dying = builtin_nlu.parse_sync("please come quickly, my cousin's face is going grey and cold")
    assert dying.danger_emergency >= 0.7
    for ordinary in ("I want to go home", "where is the clinic in Tripoli", "hello", "Mohamed Ali"):
        parse = builtin_nlu.parse_sync(ordinary)
        assert parse.danger_emergency < 0.3 and parse.danger_urgent < 0.3, ordinary


def test_random_keys_are_mostly_unknown_words(builtin_nlu: BuiltinNLU) -> None:
    assert builtin_nlu.parse_sync("oalfdufw wtmfnvh qbblodos").known_share == 0.0
    assert builtin_nlu.parse_sync("my friend is bleeding, plz help").known_share == 1.0
    # a menu digit has no words at all: neither classifier alone may read danger in it
    assert builtin_nlu.parse_sync("1").known_share == 0.0


def test_the_danger_model_is_cached_with_the_nlu(builtin_nlu: BuiltinNLU, tmp_path: Path) -> None:
    path = tmp_path / "nlu.npz"
    builtin_nlu.save(path)
    loaded = BuiltinNLU.from_file(path)
    text = "dem don beat my brother for checkpoint, blood dey comot"
    assert loaded.danger is not None
    before, after = builtin_nlu.parse_sync(text), loaded.parse_sync(text)
    assert (after.danger_emergency, after.danger_urgent) == (
        before.danger_emergency,
        before.danger_urgent,
    )
