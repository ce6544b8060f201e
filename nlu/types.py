"""The values the NLU hands to the rest of the bot (stable interface)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

FALLBACK_INTENT = "nlu_fallback"


@dataclass(frozen=True, slots=True)
class Entity:
    entity: str  # country | city | phone | number | date | case_ref | person_name
    value: str  # canonical value: ISO 3166 alpha-2, canonical city, E.164, digits, ISO date, ...
    start: int
    end: int
    extractor: str = "hotline"
    text: str = ""  # the span as written

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "value": self.value,
            "start": self.start,
            "end": self.end,
            "extractor": self.extractor,
        }


@dataclass(frozen=True, slots=True)
class ParseResult:
    text: str
    language: str  # "en", "ar", "fr", "ha", ... (Arabizi is "ar")
    language_confidence: float
    script: str  # ISO 15924: "Latn", "Arab", "Ethi", "Beng", "Zyyy" (digits/punctuation only)
    intent: str
    confidence: float
    intent_ranking: tuple[tuple[str, float], ...] = ()
    entities: tuple[Entity, ...] = field(default_factory=tuple)
    # The danger classifier's probabilities (nlu/danger_model.py): the triage reads them where
    # the lexicon detector found nothing. None when no danger model is trained.
    danger_emergency: float | None = None
    danger_urgent: float | None = None
    # The share of its words the training data knows: the classifiers' word is worth little on
    # a message that is mostly words they never saw (keys pressed at random, another language)
    # or that has none (a menu digit). 1 where the parse does not say (a test's).
    known_share: float = 1.0

    def entity(self, name: str) -> Entity | None:
        return next((e for e in self.entities if e.entity == name), None)

    def to_rasa_dict(self) -> dict[str, Any]:
        """Rasa's /model/parse answer shape, plus language and script (confidences unrounded,
        as Rasa gives them)."""
        return {
            "text": self.text,
            "intent": {"name": self.intent, "confidence": self.confidence},
            "intent_ranking": [
                {"name": name, "confidence": conf} for name, conf in self.intent_ranking
            ],
            "entities": [e.to_dict() for e in self.entities],
            "language": self.language,
            "language_confidence": self.language_confidence,
            "script": self.script,
        }


class NLUService(Protocol):
    """What the bot calls. The built-in NLU and the Rasa-backed NLU both provide it."""

    async def parse(self, text: str, language_hint: str | None = None) -> ParseResult: ...
