"""Short commands that work everywhere, in every language: menu, back, cancel, yes, no, stop, …

The words live in nlu/gazetteers/keywords.yml (data that staff extend); a message is a command
when, folded, it is exactly one of them.

STOP, erasure and language change also follow from the intent, but only when the person surely
means them (`meant_command`): a short message the classifier is sure of, carrying no name, place,
number or phone. A name, a city or a story is never one of them; when a command is only likely,
the router asks first ("Do you want to stop receiving messages? 1 Yes 2 No").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.resources import package_path
from flows.base import Turn
from nlu import yamlfile
from nlu.normalize import normalize
from nlu.training_data import load_examples

KEYWORDS_FILE = package_path("nlu", "gazetteers", "keywords.yml")
DATA_DIR = package_path("nlu", "data")

# Digits that mean the same in every language and on every keypad.
_FIXED = {"0": "menu"}


class Commands:
    def __init__(self, table: dict[str, str]) -> None:
        self._table = table

    @classmethod
    def load(cls, path: Path = KEYWORDS_FILE, languages: Iterable[str] | None = None) -> Commands:
        wanted = set(languages) if languages is not None else None
        raw = yamlfile.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
        table: dict[str, str] = {}
        for command, by_language in (raw or {}).items():
            for variant, words in (by_language or {}).items():
                base = variant.split("_")[0]  # ar_latn counts as ar
                if wanted is not None and base not in wanted:
                    continue
                for word in words or []:
                    key = normalize(str(word))
                    # The first meaning wins; a word that means two commands is left to the NLU.
                    if key and key not in table:
                        table[key] = command
        table.update(_FIXED)
        return cls(table)

    def match(self, text: str) -> str | None:
        """The command this message is, or None."""
        return self._table.get(normalize(text))

    def words(self, command: str) -> list[str]:
        return [word for word, name in self._table.items() if name == command]


@lru_cache(maxsize=1)
def default_commands() -> Commands:
    return Commands.load()


# The intents behind the commands that change what happens to a person's messages or data.
GUARDED_INTENTS = {"stop": "stop", "delete_data": "erase", "change_language": "language"}
# "Sure" from the classifier alone: this confident, on a message this short, every word of it
# one that people use for the command (a name or a place is not), nothing in it that answers a
# question (a number, a phone, a city). Otherwise only "likely".
SURE_CONFIDENCE = 0.9
SHORT_WORDS = 6
_ANSWER_ENTITIES = frozenset(
    {"person_name", "city", "country", "phone", "number", "date", "case_ref"}
)
# A cue: a word found in at least this share of the training examples that hold it
# ("daina", "unsubscribe", "langue"), and in at least two of them.
_CUE_SHARE = 0.5
_CUE_MIN_EXAMPLES = 2


@dataclass(frozen=True, slots=True)
class Meant:
    command: str  # stop | erase | language
    sure: bool


@dataclass(frozen=True, slots=True)
class IntentWords:
    words: frozenset[str]  # every word of the intent's training examples and keywords
    cues: frozenset[str]  # words that mostly mean this intent


@lru_cache(maxsize=2)
def intent_words(data_dir: Path = DATA_DIR) -> dict[str, IntentWords]:
    """The words of the guarded intents' training examples (nlu/data), folded."""
    counts: dict[str, Counter[str]] = {intent: Counter() for intent in GUARDED_INTENTS}
    total: Counter[str] = Counter()
    for example in load_examples(data_dir):
        words = set(normalize(example.text).split())
        total.update(words)
        if example.intent in counts:
            counts[example.intent].update(words)
    return {
        intent: IntentWords(
            words=frozenset(found),
            cues=frozenset(
                word
                for word, n in found.items()
                if n >= _CUE_MIN_EXAMPLES and n / total[word] >= _CUE_SHARE
            ),
        )
        for intent, found in counts.items()
    }


def meant_command(
    turn: Turn,
    likely_confidence: float,
    commands: Commands | None = None,
    *,
    needs_cue: bool = False,
) -> Meant | None:
    """Whether this message asks for STOP, erasure or a language change, and how surely.

    Sure: the message is the keyword itself, or a short message the classifier is sure of made
    only of words people use for that command. Likely: the classifier leans that way
    (`likely_confidence`), and with `needs_cue` (an answer to an open question) a word in it
    mostly means that command ("Zainab <script>…" is no STOP): the router asks first.
    """
    if turn.command is not None and turn.command in GUARDED_INTENTS.values():
        return Meant(turn.command, True)
    if turn.command is not None:  # another command's keyword ("إلغاء" is cancel, not STOP)
        return None
    parse = turn.parse
    command = GUARDED_INTENTS.get(parse.intent)
    if command is None or parse.confidence < likely_confidence:
        return None
    known = intent_words()[parse.intent]
    phrases = commands.words(command) if commands is not None else []
    keywords = {word for phrase in phrases for word in phrase.split()}
    words = normalize(turn.text).split()
    sure = (
        parse.confidence >= SURE_CONFIDENCE
        and len(words) <= SHORT_WORDS
        and not any(entity.entity in _ANSWER_ENTITIES for entity in parse.entities)
        and all(word in known.words or word in keywords for word in words)
    )
    if sure or not needs_cue or any(word in known.cues or word in phrases for word in words):
        return Meant(command, sure)
    return None
