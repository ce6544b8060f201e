"""Loading the Rasa-format training data."""

from __future__ import annotations

from pathlib import Path

from nlu.languages import load_languages
from nlu.training_data import auxiliary_examples, load_examples, parse_annotated, parse_rasa_yaml

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
