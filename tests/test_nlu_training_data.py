"""Loading the Rasa-format training data."""

from __future__ import annotations

from pathlib import Path

import yaml

from nlu.languages import load_languages
from nlu.training_data import (
    auxiliary_examples,
    danger_probe_examples,
    load_examples,
    parse_annotated,
    parse_rasa_yaml,
)

DATA = Path(__file__).resolve().parent.parent / "nlu" / "data"
INTENTS = {
    "greet", "goodbye", "thanks", "affirm", "deny", "register_return", "return_info",
    "ask_services", "health", "protection", "emergency", "detention", "basic_needs",
    "case_status", "talk_to_human", "change_language", "stop", "delete_data", "inform",
}  # fmt: skip


def test_annotations_are_stripped_into_spans() -> None:
    text, spans = parse_annotated("abeg i wan go back [Naija](country) from [Sabha](city)")
    assert text == "abeg i wan go back Naija from Sabha"
    assert [(s.entity, text[s.start : s.end]) for s in spans] == [
        ("country", "Naija"),
        ("city", "Sabha"),
    ]
    text, spans = parse_annotated('ana min [السودان]{"entity": "country", "value": "SD"}')
    assert text == "ana min السودان"
    assert spans[0].entity == "country" and spans[0].value == "SD"
    assert text[spans[0].start : spans[0].end] == "السودان"
    text, spans = parse_annotated("[9ja](country:NG) na my country")
    assert text == "9ja na my country" and spans[0].value == "NG"


def test_rasa_yaml_document() -> None:
    doc = """
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
    - "salam"
- synonym: NG
  examples: |
    - naija
- intent: inform
  examples:
    - text: I am [25](number)
"""
    examples = parse_rasa_yaml(doc, "en")
    assert [(e.text, e.intent) for e in examples] == [
        ("hello", "greet"),
        ("salam", "greet"),
        ("I am 25", "inform"),
    ]
    assert examples[-1].entities[0].entity == "number"


def test_project_data_covers_every_intent_in_every_variant() -> None:
    examples = load_examples(DATA)
    variants = {v.name for lang in load_languages() for v in lang.variants}
    present = {e.variant for e in examples}
    assert {"en", "fr", "ar", "ar_latn", "ha"} <= present <= variants
    for variant in ("en", "fr", "ar", "ar_latn", "ha"):
        intents = {e.intent for e in examples if e.variant == variant}
        assert intents == INTENTS, variant
    assert "nlu_fallback" not in {e.intent for e in examples}


def test_auxiliary_examples_from_gazetteers() -> None:
    gaz = DATA.parent / "gazetteers"
    aux = auxiliary_examples(gaz)
    intents = {e.intent for e in aux}
    assert {"affirm", "deny", "stop", "emergency"} <= intents
    assert all(e.intent in INTENTS for e in aux)


def test_danger_probes_teach_emergencies(tmp_path: Path) -> None:
    (tmp_path / "pcm.yml").write_text(
        "variant: pcm\nlanguage: en\nmessages:\n"
        '  - {text: "my guy dey bleed well well", label: emergency, kind: bleeding}\n'
        '  - {text: "police carry my brother go station", label: urgent, kind: arrest}\n'
        '  - {text: "madam hold my passport", label: urgent, kind: debt_bondage}\n'
        '  - {text: "the fire for kitchen don off", label: none, kind: over}\n',
        encoding="utf-8",
    )
    (tmp_path / "ar_ly.yml").write_text(
        "variant: ar_ly\nlanguage: ar\nmessages:\n"
        '  - {text: "خوي ينزف", label: emergency, kind: bleeding}\n',
        encoding="utf-8",
    )
    (tmp_path / "ar_latn.yml").write_text(
        "variant: ar_latn\nlanguage: ar\nmessages:\n"
        '  - {text: "5ouya yenzef", label: emergency, kind: bleeding}\n',
        encoding="utf-8",
    )
    (tmp_path / "xx.yml").write_text(
        'variant: xx\nlanguage: xx\nmessages:\n  - {text: "zzz", label: emergency}\n',
        encoding="utf-8",
    )
    (tmp_path / "en_detector_only.yml").write_text(  # checks the detector, teaches nothing
        "teaches_classifiers: false\nvariant: en\nlanguage: en\nmessages:\n"
        '  - {text: "he is bleeding from the head", label: emergency, kind: bleeding}\n',
        encoding="utf-8",
    )
    (tmp_path / "en_danger_only.yml").write_text(  # the danger classifier only, no intent
        "teaches_intents: false\nvariant: en\nlanguage: en\nmessages:\n"
        '  - {text: "e don faint for floor", label: emergency, kind: collapse}\n',
        encoding="utf-8",
    )
    trained = ["en", "ar", "ar_latn"]
    taught = {(e.variant, e.text, e.intent) for e in danger_probe_examples(tmp_path, trained)}
    assert taught == {
        ("en", "my guy dey bleed well well", "emergency"),  # Pidgin trains the English model
        ("ar", "خوي ينزف", "emergency"),  # dialects train Arabic
        ("ar_latn", "5ouya yenzef", "emergency"),  # a trained variant trains itself
    }  # urgent probes, hard negatives and languages not trained teach nothing
    # without an Arabizi model, Arabizi probes train Arabic (their language); nothing else does
    only_arabic = {(e.variant, e.text) for e in danger_probe_examples(tmp_path, ["ar"])}
    assert only_arabic == {("ar", "خوي ينزف"), ("ar", "5ouya yenzef")}


def test_every_shipped_emergency_probe_teaches_a_trained_variant() -> None:
    probe_dir = DATA / "danger" / "probes"
    trained = [p.stem for p in DATA.glob("*.yml")]
    probes = danger_probe_examples(probe_dir, trained, weight=0.5)
    files = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in probe_dir.glob("*.yml")]
    emergencies = [
        m
        for doc in files
        if doc.get("teaches_classifiers", True) and doc.get("teaches_intents", True)
        for m in doc["messages"]
        if m["label"] == "emergency"
    ]
    assert len(probes) == len(emergencies) > 1500
    assert {e.intent for e in probes} == {"emergency"}
    assert {e.weight for e in probes} == {0.5}
