"""Canned replies: ready answers in every enabled language (catalog keys `canned.<name>`).

The console shows each one in English beside the person's language, so an operator who reads
only English knows what a Hausa answer says before sending it; the person's version is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.i18n import Catalogs

# In the order an operator usually needs them during a conversation.
CANNED = (
    "greeting",
    "ask_location",
    "ask_safe",
    "return_registration",
    "office_hours",
    "medical_referral",
    "call_back",
    "closing",
)
TITLES = {
    "greeting": "Greeting",
    "ask_location": "Ask where they are",
    "ask_safe": "Ask if they are safe now",
    "return_registration": "How return registration works",
    "office_hours": "Office hours",
    "medical_referral": "Medical referral",
    "call_back": "We will call you back",
    "closing": "Closing",
}


@dataclass(frozen=True, slots=True)
class CannedReply:
    name: str
    title: str
    language: str
    text: str  # in `language`
    english: str  # its text in the language the operator reads (English by default)
    direction: str


def key(name: str) -> str:
    return f"canned.{name}"


def canned_text(catalogs: Catalogs, canned: str, language: str, /, **values: Any) -> str:
    """`values` fill the texts' placeholders ({name}: the operator, {hours}: opening hours)."""
    if canned not in CANNED:
        raise KeyError(canned)
    return catalogs.text(language, key(canned), **values)


def canned_replies(
    catalogs: Catalogs, language: str | None, *, reader: str | None = None, **values: Any
) -> list[CannedReply]:
    """Every canned reply in `language` (the default language when it is not enabled), each
    beside its text in `reader`, the language the operator reads the console in (English
    unless given)."""
    code = language if catalogs.supports(language) else catalogs.default_language
    assert code is not None
    english = "en" if catalogs.supports("en") else catalogs.default_language
    if reader is not None and catalogs.supports(reader):
        english = reader
    return [
        CannedReply(
            name=name,
            title=TITLES[name],
            language=code,
            text=canned_text(catalogs, name, code, **values),
            english=canned_text(catalogs, name, english, **values),
            direction=catalogs.direction(code),
        )
        for name in CANNED
    ]
