"""The danger evaluation set (bench/data/danger_eval/<variant>.yml) judges the danger detector on
language it has not seen: every file has the agreed format and enough messages of each label,
and no message of it occurs in the training data (nlu/data), in any danger training file there,
or as a whole phrase of the danger gazetteer (nlu/gazetteers/danger.yml). Files of languages the
bot does not speak yet (no training file) are checked all the same: format, counts, parallel
labels and overlap do not depend on the language being switched on."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from nlu.languages import load_languages
from nlu.normalize import normalize
from nlu.training_data import load_examples, parse_rasa_yaml

REPO = Path(__file__).resolve().parent.parent
EVAL_DIR = REPO / "bench" / "data" / "danger_eval"
DATA_DIR = REPO / "nlu" / "data"
DANGER_GAZETTEER = REPO / "nlu" / "gazetteers" / "danger.yml"

# variant -> the bot's language code for it
VARIANTS: dict[str, str] = {
    "en": "en",
    "pcm": "en",
    "ar_ly": "ar",
    "ar_sd": "ar",
    "ar_eg": "ar",
    "ar_latn": "ar",
    "fr": "fr",
    "ha": "ha",
    "ti": "ti",
    "am": "am",
    "so": "so",
    "bn": "bn",
}
LABELS = ("emergency", "urgent", "none")
MINIMUM = {"emergency": 45, "urgent": 30, "none": 35}
MIN_TOTAL = 110
# The files written after the first eight are larger: they are held to their own figures.
MINIMUM_BY_VARIANT = {
    v: {"emergency": 50, "urgent": 36, "none": 40} for v in ("ti", "am", "so", "bn")
}
MIN_TOTAL_BY_VARIANT = dict.fromkeys(("ti", "am", "so", "bn"), 132)
MIN_PARALLEL_SITUATIONS = 12
PARALLEL = "parallel_"


@cache  # read-only use: each file is parsed once for all tests
def _load(variant: str) -> dict[str, Any]:
    doc = yaml.safe_load((EVAL_DIR / f"{variant}.yml").read_text(encoding="utf-8"))
    assert isinstance(doc, dict), variant
    return doc


def _messages(variant: str) -> list[dict[str, Any]]:
    return list(_load(variant).get("messages") or [])


def _all_messages() -> Iterator[tuple[str, dict[str, Any]]]:
    for variant in VARIANTS:
        for message in _messages(variant):
            yield variant, message


def _fold(text: str) -> str:
    """What the detector sees, with whitespace folded: "Help!!  now" is "help now"."""
    return " ".join(normalize(text).split())


def _strings(node: Any) -> Iterator[str]:
    """Every string value in a YAML document, at any depth (keys are not phrases)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _lines(text: str) -> Iterator[str]:
    """A string value as phrases: Rasa's block lists ("- a\\n- b") give one phrase per line."""
    for line in text.splitlines() or [text]:
        line = line.strip()
        if line.startswith("- "):
            line = line[2:].strip()
        if len(line) >= 2 and line[0] == line[-1] and line[0] in "\"'":
            line = line[1:-1]
        if line:
            yield line


def _yaml_phrases(path: Path) -> set[str]:
    """Every phrase of a YAML training or gazetteer file, whatever its shape: Rasa examples with
    their entity annotations stripped, and every string value, line by line."""
    content = path.read_text(encoding="utf-8")
    phrases = {e.text for e in parse_rasa_yaml(content, path.stem)}
    for value in _strings(yaml.safe_load(content)):
        phrases.update(_lines(value))
    return phrases


def _danger_training_files() -> list[Path]:
    """nlu/data/danger* (files or folders of files), if the detector keeps training data there."""
    found: list[Path] = []
    for path in sorted(DATA_DIR.glob("danger*")):
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            found.append(path)
    return found


def _unseen_reference() -> set[str]:
    """The folded texts the evaluation set must not contain."""
    texts = {e.text for e in load_examples(DATA_DIR)}
    for path in DATA_DIR.glob("*.y*ml"):
        texts |= _yaml_phrases(path)
    for path in _danger_training_files():
        if path.suffix in {".yml", ".yaml"}:
            texts |= _yaml_phrases(path)
        else:  # plain text, one phrase a line
            texts.update(_lines(path.read_text(encoding="utf-8")))
    if DANGER_GAZETTEER.is_file():
        texts |= _yaml_phrases(DANGER_GAZETTEER)
    return {folded for folded in (_fold(t) for t in texts) if folded}


def test_every_variant_has_its_file_and_nothing_else() -> None:
    assert {p.stem for p in EVAL_DIR.glob("*.yml")} == set(VARIANTS)


def test_every_bot_language_is_a_language_of_the_languages_table() -> None:
    """A variant's bot language must be one the bot can switch on by adding data."""
    codes = {language.code for language in load_languages()}
    assert set(VARIANTS.values()) <= codes, sorted(set(VARIANTS.values()) - codes)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_file_has_the_format(variant: str) -> None:
    doc = _load(variant)
    assert set(doc) == {"variant", "language", "messages"}, variant
    assert doc["variant"] == variant
    assert doc["language"] == VARIANTS[variant]
    assert isinstance(doc["messages"], list) and doc["messages"]
    for i, message in enumerate(doc["messages"]):
        where = f"{variant} #{i}: {message!r}"
        assert isinstance(message, dict), where
        assert set(message) == {"text", "label", "kind"}, where
        assert isinstance(message["text"], str) and message["text"].strip(), where
        assert message["label"] in LABELS, where
        assert isinstance(message["kind"], str) and message["kind"].strip(), where
        assert message["kind"] == message["kind"].strip().lower(), where
        assert " " not in message["kind"], where


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_each_variant_has_enough_messages_of_each_label(variant: str) -> None:
    messages = _messages(variant)
    assert len(messages) >= MIN_TOTAL_BY_VARIANT.get(variant, MIN_TOTAL), (variant, len(messages))
    labels = Counter(m["label"] for m in messages)
    for label, minimum in MINIMUM_BY_VARIANT.get(variant, MINIMUM).items():
        assert labels[label] >= minimum, (variant, label, labels[label])


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_each_variant_has_hard_negatives_not_only_ordinary_requests(variant: str) -> None:
    kinds = Counter(m["kind"] for m in _messages(variant) if m["label"] == "none")
    hard = {"news_far", "past_safe", "safe_now", "fire_work", "police_papers", "lookalike"}
    assert sum(kinds[k] for k in hard) >= 10, (variant, kinds)
    assert all(kinds[k] for k in ("news_far", "past_safe", "safe_now", "fire_work")), variant


def test_parallel_situations_are_in_every_variant_with_the_same_label() -> None:
    """The same situation, written in every variant, must carry the same priority."""
    labels: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for variant, message in _all_messages():
        if message["kind"].startswith(PARALLEL):
            labels[message["kind"]][variant].add(message["label"])
    assert len(labels) >= MIN_PARALLEL_SITUATIONS, sorted(labels)
    for kind, per_variant in labels.items():
        assert set(per_variant) == set(VARIANTS), (kind, sorted(per_variant))
        assert len(set().union(*per_variant.values())) == 1, (kind, dict(per_variant))
    assert {next(iter(next(iter(v.values())))) for v in labels.values()} == set(LABELS)


def test_no_message_twice_in_the_set() -> None:
    counts = Counter(_fold(m["text"]) for _, m in _all_messages())
    repeated = sorted(text for text, n in counts.items() if n > 1)
    assert not repeated, repeated


def test_no_eval_message_is_in_the_training_data_or_the_danger_gazetteer() -> None:
    """Compared after normalisation and whitespace folding, which is what the detector sees."""
    reference = _unseen_reference()
    assert len(reference) > 1000  # the training data was found and read
    leaked = [
        (variant, m["label"], m["text"])
        for variant, m in _all_messages()
        if _fold(m["text"]) in reference
    ]
    assert not leaked, f"{len(leaked)} evaluation messages occur in training data: {leaked[:20]}"
