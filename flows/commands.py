"""Short commands that work everywhere, in every language: menu, back, cancel, yes, no, stop, …

The words live in nlu/gazetteers/keywords.yml (data that staff extend); a message is a command
when, folded, it is exactly one of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import yaml

from bot.resources import package_path
from nlu.normalize import normalize

KEYWORDS_FILE = package_path("nlu", "gazetteers", "keywords.yml")

# Digits that mean the same in every language and on every keypad.
_FIXED = {"0": "menu"}


class Commands:
    def __init__(self, table: dict[str, str]) -> None:
        self._table = table

    @classmethod
    def load(cls, path: Path = KEYWORDS_FILE, languages: Iterable[str] | None = None) -> Commands:
        wanted = set(languages) if languages is not None else None
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
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
