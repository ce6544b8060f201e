"""Safety triage, always on: immediate danger and disclosures reach a person, from any flow.

A message is assessed by danger phrases (nlu/gazetteers/danger.yml, in every language) and by
the NLU intent. The person gets a short safety reply in their language, operators get an urgent
handoff, and the interrupted flow is kept to resume.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.resources import package_path
from flows.base import Flow, Turn
from nlu.normalize import normalize

DANGER_FILE = package_path("nlu", "gazetteers", "danger.yml")


@dataclass(frozen=True, slots=True)
class Category:
    reply: str  # message key
    priority: str  # handoff priority


CATEGORIES: Mapping[str, Category] = {
    "emergency": Category("safety.emergency", "emergency"),
    "self_harm": Category("safety.self_harm", "emergency"),
    "gbv": Category("safety.gbv", "urgent"),
    "trafficking": Category("safety.protection", "urgent"),
    "protection": Category("safety.protection", "urgent"),
    "detention": Category("safety.detention", "urgent"),
}
# The most specific care first: one message may match several (both top ones are emergencies).
ORDER = ("self_harm", "emergency", "gbv", "trafficking", "protection", "detention")
INTENT_CATEGORIES = {"emergency": 0.6, "detention": 0.7, "protection": 0.7}


def _pattern(phrases: list[str]) -> re.Pattern[str] | None:
    latin, other = [], []
    for phrase in phrases:
        folded = normalize(phrase)
        if not folded:
            continue
        (latin if folded.isascii() else other).append(re.escape(folded))
    parts = []
    if latin:  # whole words only: "shot" must not fire on "shotgun wedding"… or "shots"
        parts.append(
            r"(?<![a-z0-9])(?:" + "|".join(sorted(latin, key=len, reverse=True)) + r")(?![a-z0-9])"
        )
    if other:  # Arabic joins prefixes (و، ب، ال) to words, so no boundary there
        parts.append("(?:" + "|".join(sorted(other, key=len, reverse=True)) + ")")
    return re.compile("|".join(parts)) if parts else None


class Triage:
    def __init__(self, patterns: Mapping[str, re.Pattern[str]], flows: Mapping[str, Flow]) -> None:
        self._patterns = patterns
        self._flows = flows

    @classmethod
    def load(cls, flows: Mapping[str, Flow], path: Path = DANGER_FILE) -> Triage:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
        patterns: dict[str, re.Pattern[str]] = {}
        for category, by_language in (raw or {}).items():
            phrases = [str(p) for words in (by_language or {}).values() for p in (words or [])]
            pattern = _pattern(phrases)
            if pattern is not None and category in CATEGORIES:
                patterns[category] = pattern
        return cls(patterns, flows)

    def assess(self, turn: Turn) -> str | None:
        """The safety category of this message, or None. Sets `turn.danger`."""
        folded = normalize(turn.text)
        found = {name for name, pattern in self._patterns.items() if pattern.search(folded)}
        parse = turn.parse
        flow = self._flows.get(turn.state.flow or "")
        # A plain answer to a closed question ("perdu", "monta8i" for the passport) is not
        # taken for danger on the classifier's word alone; danger phrases still count.
        plain = flow is not None and flow.plain_answer(turn.state.step, turn.text)
        if (
            not plain
            and parse.intent in INTENT_CATEGORIES
            and parse.confidence >= INTENT_CATEGORIES[parse.intent]
        ):
            found.add(parse.intent)
        if flow is not None:
            found -= flow.expected_disclosures(turn.state.step) - {"emergency", "self_harm"}
        if turn.state.flow == "safety":
            found -= {"detention", "protection", "trafficking"}  # already with a person
        turn.danger = next((name for name in ORDER if name in found), None)
        return turn.danger


class SafetyFlow(Flow):
    name = "safety"

    async def start(self, turn: Turn) -> None:
        category = CATEGORIES[turn.danger or "emergency"]
        state = turn.state
        if state.flow != self.name:
            state.pause()
        turn.signal("handoff", reason=turn.danger or "emergency", priority=category.priority)
        turn.say(category.reply)
        # The operators have the conversation now; closing the case tells the person how
        # to go back to what they were doing.
        state.enter(None)

    async def handle(self, turn: Turn) -> bool:
        # Only sessions saved before safety cases went to the operators' queue are still in
        # this flow: their messages are acknowledged and wait for a person.
        turn.say("safety.received")
        return True
