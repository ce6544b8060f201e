"""The danger classifier: a second linear model that reads a whole message as emergency, urgent
or none, beside the lexicon detector (nlu/danger.py).

The detector finds danger from concepts it has words for; people also write danger in words no
lexicon has yet. This model learns the shape of such messages from everything the project has
written about danger: the danger probes (all three labels, so the hard negatives teach it what
is *not* danger), the detector's dev set and narratives, and the intent examples (emergency is
an emergency, detention and protection are urgent, every other intent is none). The triage
(flows/safety.py) consults it only where the detector found nothing and the story is not one
that is over; a sure emergency from it still only asks "are you in danger right now?".

It is trained with the intent classifier (same features, same calibration) and cached with it,
so the Rasa backend, which takes its language and entities from the built-in parse, gets it too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from . import yamlfile
from .languages import Variant
from .normalize import normalize
from .training_data import Example, danger_probe_files, teaches_classifiers

__all__ = [
    "DANGER_DIR",
    "LEVELS",
    "danger_examples",
    "danger_files",
    "intent_level",
    "with_intent_examples",
]

DANGER_DIR = Path("danger")  # under the data directory: probes/, dev.yml, narratives.yml
LEVELS = ("emergency", "none", "urgent")
_INTENT_LEVELS = {"emergency": "emergency", "detention": "urgent", "protection": "urgent"}


def intent_level(intent: str) -> str:
    """What an intent example teaches the danger model."""
    return _INTENT_LEVELS.get(intent, "none")


def danger_files(data_dir: Path) -> list[Path]:
    base = data_dir / DANGER_DIR
    return [*danger_probe_files(base / "probes"), base / "dev.yml", base / "narratives.yml"]


def _resolver(variants: Sequence[Variant]) -> dict[str, str]:
    """Written variant -> trained variant: itself, or the variant whose language identification
    counts it (Pidgin is English), or its language's (Libyan Arabic is Arabic)."""
    out = {v.name: v.name for v in variants}
    for v in variants:
        for code in v.langid:
            out.setdefault(code, v.name)
    for v in variants:
        out.setdefault(v.language, v.name)
    return out


def _trained(written: str, language: str, names: dict[str, str]) -> str | None:
    return names.get(written) or names.get(language) or names.get(written.split("_")[0])


def danger_examples(data_dir: Path, variants: Sequence[Variant]) -> list[Example]:
    """The danger data of the trained variants, as examples whose intent is the level."""
    names = _resolver(variants)
    out: list[Example] = []

    def add(text: object, label: object, written: str, language: str = "") -> None:
        variant = _trained(written, language, names)
        level = str(label or "")
        if variant and level in LEVELS and str(text or "").strip():
            out.append(Example(str(text).strip(), level, variant))

    base = data_dir / DANGER_DIR
    for path in danger_probe_files(base / "probes"):
        doc = yamlfile.safe_load(path.read_text(encoding="utf-8")) or {}
        if not teaches_classifiers(doc):
            continue
        written, language = str(doc.get("variant", "")), str(doc.get("language", ""))
        for message in doc.get("messages") or []:
            add(message.get("text"), message.get("label"), written, language)
    dev = base / "dev.yml"
    parallel = yamlfile.safe_load(dev.read_text(encoding="utf-8")) if dev.is_file() else None
    for item in parallel or []:
        for written, text in item.items():
            if written not in ("label", "kind"):
                add(text, item.get("label"), str(written))
    stories = base / "narratives.yml"
    raw = yamlfile.safe_load(stories.read_text(encoding="utf-8")) if stories.is_file() else None
    for item in raw or []:
        add(item.get("text"), item.get("label"), str(item.get("variant", "")))
    return out


def with_intent_examples(danger: Iterable[Example], intents: Iterable[Example]) -> list[Example]:
    """The danger examples, then the intent examples as levels (a text written for danger keeps
    its own label)."""
    out = list(danger)
    seen = {(e.variant, normalize(e.text)) for e in out}
    for e in intents:
        key = (e.variant, normalize(e.text))
        if key not in seen:
            seen.add(key)
            out.append(Example(e.text, intent_level(e.intent), e.variant, e.entities))
    return out
