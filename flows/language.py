"""Choosing the language: a numbered menu written in every enabled language."""

from __future__ import annotations

from functools import lru_cache

from babel import Locale

from flows.base import ChangeLanguage, Flow, Option, Turn
from flows.menu import show_main_menu
from nlu.normalize import normalize


@lru_cache(maxsize=8)
def _names(languages: tuple[str, ...]) -> dict[str, str]:
    """Every enabled language's name, in every enabled language (and English), folded."""
    names: dict[str, str] = {}
    for code in languages:
        names[normalize(code)] = code
        for reader in {*languages, "en"}:
            name = Locale.parse(reader).languages.get(code)
            if name:
                names[normalize(name)] = code
    return names


def native_name(code: str) -> str:
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def language_options(languages: tuple[str, ...]) -> tuple[Option, ...]:
    return tuple(
        Option(str(index), label=native_name(code)) for index, code in enumerate(languages, 1)
    )


def choose_language(turn: Turn, text: str) -> str | None:
    """The language this answer names: a menu number or a language's name in any language."""
    languages = turn.enabled_languages
    answer = normalize(text)
    if answer.isdigit() and 1 <= int(answer) <= len(languages):
        return languages[int(answer) - 1]
    return _names(languages).get(answer)


class LanguageFlow(Flow):
    name = "language"

    async def start(self, turn: Turn) -> None:
        turn.state.enter(self.name, "choose")
        turn.say(
            "language.choose",
            options=language_options(turn.enabled_languages),
            every_language=True,
        )

    async def handle(self, turn: Turn) -> bool:
        chosen = choose_language(turn, turn.text)
        if chosen is None:
            await self.start(turn)
            return False
        turn.state.language = chosen
        turn.signal(ChangeLanguage(chosen))
        turn.say("language.changed")
        show_main_menu(turn)
        return True
