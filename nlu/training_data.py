"""Load Rasa 3 NLU training data (YAML) into plain examples with entity spans."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import yamlfile

__all__ = [
    "EntitySpan",
    "Example",
    "auxiliary_examples",
    "danger_probe_examples",
    "danger_probe_files",
    "load_examples",
    "load_file",
    "parse_annotated",
    "parse_rasa_yaml",
    "teaches_classifiers",
    "teaches_intents",
    "variant_files",
]


@dataclass(frozen=True, slots=True)
class EntitySpan:
    entity: str
    start: int
    end: int
    value: str | None = None  # explicit value from `[text]{"entity": .., "value": ..}`


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    intent: str
    variant: str  # file stem: "en", "ar", "ar_latn", ...
    entities: tuple[EntitySpan, ...] = field(default_factory=tuple)
    weight: float = 1.0  # how much it counts in training (the danger probes count less)


# [text](entity) | [text](entity:value) | [text]{"entity": "...", ...}
_ANNOTATION = re.compile(r"\[(?P<text>[^\[\]]+)\](?:\((?P<paren>[^()]+)\)|(?P<json>\{[^{}]*\}))")


def parse_annotated(raw: str) -> tuple[str, tuple[EntitySpan, ...]]:
    """Strip Rasa entity annotations; return the plain text and the entity spans in it."""
    out: list[str] = []
    spans: list[EntitySpan] = []
    pos = 0
    length = 0
    for m in _ANNOTATION.finditer(raw):
        before = raw[pos : m.start()]
        out.append(before)
        length += len(before)
        surface = m.group("text")
        value: str | None = None
        if m.group("paren") is not None:
            name, _, val = m.group("paren").partition(":")
            name = name.strip()
            value = val.strip() or None
        else:
            try:
                info: Any = json.loads(m.group("json"))
            except json.JSONDecodeError:
                info = {}
            name = str(info.get("entity", "")) if isinstance(info, dict) else ""
            if isinstance(info, dict) and info.get("value") is not None:
                value = str(info["value"])
        if name:
            spans.append(EntitySpan(name, length, length + len(surface), value))
        out.append(surface)
        length += len(surface)
        pos = m.end()
    out.append(raw[pos:])
    return "".join(out), tuple(spans)


def _example_lines(examples: Any) -> Iterable[str]:
    if isinstance(examples, str):
        for line in examples.splitlines():
            line = line.strip()
            if line.startswith("- "):
                yield line[2:].strip()
            elif line == "-":
                continue
            elif line:
                yield line
    elif isinstance(examples, list):
        for item in examples:
            if isinstance(item, dict) and "text" in item:
                yield str(item["text"]).strip()
            elif isinstance(item, str):
                yield item.strip()


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def parse_rasa_yaml(content: str, variant: str) -> list[Example]:
    """Examples of every ``- intent:`` block of a Rasa 3 NLU YAML document."""
    doc = yamlfile.safe_load(content) or {}
    items = doc.get("nlu", []) if isinstance(doc, dict) else []
    result: list[Example] = []
    for item in items or []:
        if not isinstance(item, dict) or "intent" not in item:
            continue
        intent = str(item["intent"]).strip()
        for line in _example_lines(item.get("examples")):
            text, spans = parse_annotated(_unquote(line))
            text = text.strip()
            if text:
                result.append(Example(text, intent, variant, spans))
    return result


def load_file(path: Path) -> list[Example]:
    return parse_rasa_yaml(path.read_text(encoding="utf-8"), path.stem)


def variant_files(data_dir: Path, variants: Iterable[str] | None = None) -> list[Path]:
    """The training files of ``data_dir`` (``<variant>.yml``), optionally restricted."""
    wanted = set(variants) if variants is not None else None
    files = sorted([*data_dir.glob("*.yml"), *data_dir.glob("*.yaml")])
    return [p for p in files if wanted is None or p.stem in wanted]


def load_examples(data_dir: Path, variants: Iterable[str] | None = None) -> list[Example]:
    """All examples of ``data_dir``; duplicates (same variant, text and intent) dropped."""
    seen: set[tuple[str, str, str]] = set()
    result: list[Example] = []
    for path in variant_files(data_dir, variants):
        for ex in load_file(path):
            key = (ex.variant, ex.text, ex.intent)
            if key not in seen:
                seen.add(key)
                result.append(ex)
    return result


# Gazetteer lists that double as short training examples: (file, key) -> intent.
AUXILIARY_SOURCES: dict[tuple[str, str], str] = {
    ("keywords.yml", "yes"): "affirm",
    ("keywords.yml", "no"): "deny",
    ("keywords.yml", "stop"): "stop",
    ("keywords.yml", "language"): "change_language",
    ("keywords.yml", "human"): "talk_to_human",
    ("danger.yml", "emergency"): "emergency",
    ("danger.yml", "self_harm"): "emergency",
    ("danger.yml", "gbv"): "protection",
    ("danger.yml", "trafficking"): "protection",
    ("danger.yml", "detention"): "detention",
}


def auxiliary_examples(gazetteer_dir: Path, variants: Iterable[str] | None = None) -> list[Example]:
    """Short examples from the command keywords and danger phrases (``{key: {variant: [...]}}``):
    "sure" is affirm, "he is bleeding" is emergency. Missing files or keys are skipped."""
    wanted = set(variants) if variants is not None else None
    out: list[Example] = []
    docs: dict[str, Any] = {}
    for (fname, key), intent in AUXILIARY_SOURCES.items():
        if fname not in docs:
            path = gazetteer_dir / fname
            try:
                docs[fname] = (
                    yamlfile.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
                )
            except yamlfile.YAMLError:
                docs[fname] = {}
        section = (docs[fname] or {}).get(key) if isinstance(docs[fname], dict) else None
        if not isinstance(section, dict):
            continue
        for variant, phrases in section.items():
            if wanted is not None and str(variant) not in wanted:
                continue
            if not isinstance(phrases, list):
                continue
            for phrase in phrases:
                text = str(phrase).strip()
                if text and not text.isdigit():
                    out.append(Example(text, intent, str(variant)))
    return out


# The danger detector's development probes (nlu/data/danger/probes/, written blind, kept apart
# from every evaluation set) teach the intent classifier `emergency` too: the triage asks "are
# you in danger right now?" when the classifier alone says emergency, so wordings the lexicon
# lacks still reach a person. Only emergencies: an urgent intent from the classifier alone
# opens a case without asking, and the urgent probes' rarer words (Somali and Bengali in Latin
# letters) made gibberish look like `protection` (measured: "lorem ipsum dolor sit amet", 0.93).
PROBE_TAUGHT = "emergency"  # the one probe label taught, as the intent of the same name


def danger_probe_files(probe_dir: Path) -> list[Path]:
    return sorted(probe_dir.glob("*.yml"))


def teaches_classifiers(probe_file: dict[str, Any]) -> bool:
    """Whether a probe file also trains the intent and danger classifiers, or only checks the
    detector (``teaches_classifiers: false``: a set that, taught, made the classifiers worse
    on the evaluation set; the file says why)."""
    return bool(probe_file.get("teaches_classifiers", True))


def teaches_intents(probe_file: dict[str, Any]) -> bool:
    """Whether a probe file's emergencies also train the intent classifier (``teaches_intents:
    false``: a set that teaches the danger classifier only, because taught as an intent it cost
    held-out intent accuracy; the file says why)."""
    return teaches_classifiers(probe_file) and bool(probe_file.get("teaches_intents", True))


def danger_probe_examples(
    probe_dir: Path, variants: Iterable[str], weight: float = 1.0
) -> list[Example]:
    """Intent examples from the danger probes (``{variant, language, messages: [{text, label,
    kind}]}``) for the training variants `variants`, each counting `weight`. A probe written in
    a variant with no training file of its own (Pidgin, Libyan Arabic) trains its language's."""
    trained = set(variants)
    out: list[Example] = []
    for path in danger_probe_files(probe_dir):
        doc = yamlfile.safe_load(path.read_text(encoding="utf-8")) or {}
        if not teaches_intents(doc):
            continue
        variant = str(doc.get("variant", ""))
        if variant not in trained:
            variant = str(doc.get("language", ""))
        if variant not in trained:
            continue
        for message in doc.get("messages") or []:
            text = str(message.get("text", "")).strip()
            if message.get("label") == PROBE_TAUGHT and text:
                out.append(Example(text, PROBE_TAUGHT, variant, weight=weight))
    return out
